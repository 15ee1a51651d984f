"""Master-side aggregation: merges workers' StatsBatches losslessly into per-key totals,
and derives the numbers reports and thresholds read (latency in ms, error lists, time series).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gradual.stats.batch import KeyDelta, StatsBatch, add_error
from gradual.stats.histogram import Histogram

AGGREGATED = "Aggregated"
# RunStats compacts the per-second windows of a phase's seconds this far behind the phase's newest
# second: each becomes a SecondRows row (count, failures, p50/p95/p99 of the window at 2 significant
# digits), for every key, every scenario and the whole phase, and its histogram is dropped. A long
# run's memory then grows by a few dozen bytes per key and second, not by a histogram.
LIVE_WINDOW_S = 120
# RunStats folds a key's window into its whole-run histogram once the window is this many seconds
# behind the key's newest second (a worker's batch straddles at most two seconds). Until then the
# window is "pending": reads add it on the fly. Folding happens at full precision, before the
# window is compacted.
SEAL_LAG_S = 2
assert 0 < SEAL_LAG_S < LIVE_WINDOW_S
# A whole-run histogram (folded part, service times) is compacted once it holds this many parts: each
# part of a decoded batch is a view that keeps the whole batch's buffer alive.
TOTAL_PARTS = 32
_SEALED_ALL = 1 << 62  # every window is already in the folded histogram
_SEALED_NONE = -(1 << 62)  # no window is
_LATENCY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
_WINDOW_PERCENTILES = (50.0, 95.0, 99.0)


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


# The window of one compacted second: (count, failures, latencies recorded, (p50, p95, p99) in µs or
# None when it recorded none).
Row = tuple[int, int, int, "tuple[float, float, float] | None"]


class SecondRows:
    """Compacted per-second windows, one row per second in ascending order, in typed arrays (about
    40 bytes a row): count, failures, latencies recorded, and the p50/p95/p99 (µs) of the second's
    histogram at 2 significant digits (Histogram.coarsened), which is what the time series read.

    Counts stay exact when a late batch lands on a compacted second (add); its percentiles are those
    of the window when it was compacted, unless the second had no row yet (then the late histogram's).
    """

    __slots__ = ("sec", "count", "failures", "recorded", "p50", "p95", "p99")

    def __init__(self) -> None:
        self.sec = array("q")
        self.count = array("q")
        self.failures = array("q")
        self.recorded = array("q")
        # Percentiles are whole µs in [1, 3.6e9]; 0 means "no latency recorded".
        self.p50 = array("I")
        self.p95 = array("I")
        self.p99 = array("I")

    def __len__(self) -> int:
        return len(self.sec)

    def _columns(self) -> tuple[array, ...]:
        return (self.sec, self.count, self.failures, self.recorded, self.p50, self.p95, self.p99)

    def append(self, sec: int, count: int, failures: int, hist: Histogram) -> None:
        """A row for ``sec`` (after every row so far) from its window: ``hist`` already coarsened."""
        assert not self.sec or sec > self.sec[-1]
        self._insert(len(self.sec), sec, count, failures, hist)

    def _insert(self, i: int, sec: int, count: int, failures: int, hist: Histogram) -> None:
        p50, p95, p99 = (int(v) for v in hist.percentiles(_WINDOW_PERCENTILES)) if hist else (0, 0, 0)
        for column, value in zip(self._columns(), (sec, count, failures, hist.total, p50, p95, p99), strict=True):
            column.insert(i, value)

    def add(self, sec: int, count: int, failures: int, hist: Histogram) -> None:
        """A late window of a compacted second: counts added to its row (or a new row, in order)."""
        i = bisect_left(self.sec, sec)
        if i < len(self.sec) and self.sec[i] == sec:
            self.count[i] += count
            self.failures[i] += failures
            if hist and not self.recorded[i]:  # the second had no latency yet: these are its percentiles
                for column, value in zip((self.p50, self.p95, self.p99),
                                         hist.coarsened().percentiles(_WINDOW_PERCENTILES), strict=True):
                    column[i] = int(value)
            self.recorded[i] += hist.total
        else:
            self._insert(i, sec, count, failures, hist.coarsened() if hist else hist)

    def get(self, sec: int) -> Row | None:
        i = bisect_left(self.sec, sec)
        if i == len(self.sec) or self.sec[i] != sec:
            return None
        return self.row(i)

    def row(self, i: int) -> Row:
        pcts = (float(self.p50[i]), float(self.p95[i]), float(self.p99[i])) if self.recorded[i] else None
        return self.count[i], self.failures[i], self.recorded[i], pcts

    def last(self) -> int:
        """The newest second with a row, -1 if none."""
        return self.sec[-1] if self.sec else -1

    def copy(self) -> SecondRows:
        out = SecondRows()
        for name in self.__slots__:
            setattr(out, name, array(getattr(self, name).typecode, getattr(self, name)))
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecondRows):
            return NotImplemented
        return self._columns() == other._columns()

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


@dataclass(slots=True, eq=False)
class RequestTotals(KeyDelta):
    """KeyDelta fields accumulated over a whole run (windows merged by second), with report helpers.

    ``hist`` (the whole-run latency histogram) is a read-only view: a folded histogram plus the
    pending windows, those of seconds >= ``_sealed_before`` (RunStats merges a worker's windows-only
    entry into the windows alone and folds each second once, when it is sealed). Every read is exact.
    Built with an explicit hist, the totals have no pending window: hist is that histogram, and the
    windows are only the time series. Built with hist=None, hist starts as the windows' sum.
    Equality (inherited from KeyDelta) compares the view.
    """

    # The slot KeyDelta.hist holds the folded part (see the hist property below the class).
    # Seconds that RunStats compacted: windows holds only the seconds from _compacted_before on.
    rows: SecondRows = field(default_factory=SecondRows, init=False, repr=False, compare=False)
    _compacted_before: int = field(default=_SEALED_NONE, init=False, repr=False, compare=False)
    _sealed_before: int = field(default=_SEALED_ALL, init=False, repr=False, compare=False)
    _pending: dict[int, list[Any]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _view: Histogram | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._adopt(_FOLDED.__get__(self))

    def _adopt(self, hist: Histogram | None) -> None:
        """Make `hist` the whole-run histogram (None: the sum of the windows, all of them pending)."""
        if hist is None:
            _FOLDED.__set__(self, Histogram())
            self._sealed_before = _SEALED_NONE
            self._pending = dict(self.windows)
        else:
            _FOLDED.__set__(self, hist)
            self._sealed_before = _SEALED_ALL
            self._pending = {}
        self._view = None

    def _build_view(self) -> Histogram:
        view = _FOLDED.__get__(self).copy()
        for w in self._pending.values():
            # Sum the window's packed parts in place: the next view then only sums what came since.
            w[2].compact()
            view.merge(w[2])
        return view

    def _seal(self, before: int) -> None:
        """Fold the pending windows of seconds < before; later windows of those seconds go to both.

        Only moves counts from the pending windows to the folded part, so a cached view stays right.
        """
        if before <= self._sealed_before:
            return
        self._sealed_before = before
        pending = self._pending
        if pending:
            due = [sec for sec in pending if sec < before]
            if due:
                folded = _FOLDED.__get__(self)
                for sec in due:
                    window = pending.pop(sec)[2]
                    # A sealed window is one compact pair of arrays from now on (time series,
                    # compaction), not a thousand workers' parts.
                    window.compact()
                    folded.merge(window)
                folded.compact_over(TOTAL_PARTS)

    def _merge_latencies(self, src: KeyDelta, windows: bool) -> None:
        self._view = None
        folded: Histogram = _FOLDED.__get__(self)
        src_windows = src.windows
        # The raw slot: never None in a RequestTotals, and reading it builds no view.
        if _FOLDED.__get__(src) is None:  # a KeyDelta whose hist is the sum of its windows
            if not windows:
                for w in src_windows.values():
                    folded.merge(w[2])
                return
            dws = self.windows
            pending = self._pending
            before = self._sealed_before
            compacted = self._compacted_before
            for sec, (n, failures, h) in src_windows.items():
                if sec < compacted:  # a late window of a compacted second: its row, and the folded part
                    self.rows.add(sec, n, failures, h)
                    folded.merge(h)
                    continue
                dw = dws.get(sec)
                if dw is None:
                    dw = dws[sec] = [n, failures, h.copy()]
                    if sec >= before:
                        pending[sec] = dw
                else:
                    dw[0] += n
                    dw[1] += failures
                    dw[2].merge(h)
                if sec < before:  # sealed second (a late resend): into the folded part too
                    folded.merge(h)
            folded.compact_over(TOTAL_PARTS)
            return
        # An explicit hist goes to the folded part, so src's windows must land on sealed seconds only
        # (folding them later would count them twice): seal up to src's newest second first.
        for part in _hist_parts(src):
            folded.merge(part)
        folded.compact_over(TOTAL_PARTS)
        if windows and src_windows:
            self._seal(max(src_windows) + 1)
            compacted = self._compacted_before
            if min(src_windows) < compacted:
                for sec, (n, failures, h) in src_windows.items():
                    if sec < compacted:
                        self.rows.add(sec, n, failures, h)
                src_windows = {sec: w for sec, w in src_windows.items() if sec >= compacted}
            _merge_windows(self.windows, src_windows)

    def _compact(self, sec: int) -> list[Any] | None:
        """Turn the window of ``sec`` into a row (RunStats compacts a phase's seconds in order, every
        key at once); returns the window at 2 significant digits, or None if the key had none."""
        self._seal(sec + 1)
        w = self.windows.pop(sec, None)
        if w is None:
            return None
        n, failures, h = w
        h = h.coarsened()
        self.rows.append(sec, n, failures, h)
        return [n, failures, h]

    def compacted_before(self) -> int:
        """Seconds below this are rows (SecondRows), no longer windows; 0 or less: none are."""
        return max(self._compacted_before, 0)

    def newest_second(self) -> int:
        """The newest second with requests (a window or a row), -1 if none."""
        return max(max(self.windows, default=-1), self.rows.last())

    def seconds(self) -> list[int]:
        """Every second with requests, ascending: the rows', then the windows'."""
        return [*self.rows.sec, *sorted(self.windows)]

    def second(self, sec: int) -> tuple[int, int, Histogram | None, tuple[float, float, float] | None] | None:
        """One second: (count, failures, its histogram, None) while it is a window, (count, failures,
        None, (p50, p95, p99) in µs or None) once it is a row; None when it had no requests."""
        w = self.windows.get(sec)
        if w is not None:
            return w[0], w[1], w[2], None
        if sec < self._compacted_before:
            row = self.rows.get(sec)
            if row is not None:
                return row[0], row[1], None, row[3]
        return None

    def __getstate__(self) -> dict[str, Any]:
        # For copy and pickle: the whole-run hist as a plain, explicit histogram (never the cached view),
        # and windows of its own even in a shallow copy (pending windows are part of the hist here).
        state = {name: getattr(self, name) for name in KeyDelta.__dataclass_fields__ if name != "hist"}
        state["hist"] = self._build_view()
        state["windows"] = {sec: [n, failures, h.copy()] for sec, (n, failures, h) in self.windows.items()}
        state["service"] = None if self.service is None else self.service.copy()
        state["rows"] = self.rows.copy()
        state["_compacted_before"] = self._compacted_before
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            if name != "hist":
                object.__setattr__(self, name, value)
        self._adopt(state["hist"])

    def latency_ms(self) -> dict[str, float]:
        """Latency from each request's intended start (corrected for coordinated omission where it applies)."""
        return _summary_ms(self.hist)

    def settled_hist(self) -> Histogram:
        """The whole-run histogram without the pending windows: every second but the newest SEAL_LAG_S
        of a key still receiving them. Read-only; reading it builds no view, so a live display can read
        it every second for many keys."""
        return _FOLDED.__get__(self)

    def service_ms(self) -> dict[str, float]:
        """Service time, send -> last byte; the latencies themselves where no correction applies."""
        return _summary_ms(self.hist if self.service is None else self.service)

    def service_hist(self) -> Histogram:
        return self.hist if self.service is None else self.service

    def errors_list(self) -> list[dict[str, Any]]:
        items = sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"kind": kind, "message": message, "count": n} for (kind, message), n in items]

    def within_expected_ratio(self) -> float | None:
        completed = self.count - self.interrupted
        return self.within_expected / completed if completed > 0 else None

    def status_codes(self) -> dict[str, int]:
        return {str(code): self.status[code] for code in sorted(self.status)}

    def window_series(self) -> list[dict[str, Any]]:
        series = []
        for sec in self.seconds():
            got = self.second(sec)
            assert got is not None
            n, failures, h, pcts = got
            p50, p95, p99 = h.percentiles(_WINDOW_PERCENTILES) if h is not None else pcts or (0.0, 0.0, 0.0)
            series.append(
                {
                    "t": sec,
                    "count": n,
                    "failures": failures,
                    "p50": _ms(p50),
                    "p95": _ms(p95),
                    "p99": _ms(p99),
                }
            )
        return series


def summary_ms(h: Histogram) -> dict[str, float]:
    """min, mean, p50 ... p99.9, max of ``h`` in ms, as latency_ms() gives them."""
    return _summary_ms(h)


def _summary_ms(h: Histogram) -> dict[str, float]:
    p50, p90, p95, p99, p99_9 = h.percentiles(_LATENCY_PERCENTILES)
    return {
        "min": _ms(h.min),
        "mean": _ms(h.mean),
        "p50": _ms(p50),
        "p90": _ms(p90),
        "p95": _ms(p95),
        "p99": _ms(p99),
        "p99_9": _ms(p99_9),
        "max": _ms(h.max),
    }


_FOLDED = KeyDelta.__dict__["hist"]  # KeyDelta's slot; in a RequestTotals, the folded histogram


def _get_hist(self: RequestTotals) -> Histogram:
    folded: Histogram = _FOLDED.__get__(self)
    if not self._pending:
        return folded
    view = self._view
    if view is None:  # cached until the next merge
        view = self._view = self._build_view()
    return view


def _set_hist(self: RequestTotals, hist: Histogram | None) -> None:
    _FOLDED.__set__(self, hist)
    try:
        self._pending  # noqa: B018
    except AttributeError:  # in __init__: __post_init__ finishes the job once windows are set
        return
    self._adopt(hist)


# After the class: dataclass(slots=True) drops class attributes named like a field.
RequestTotals.hist = property(  # type: ignore[assignment]
    _get_hist, _set_hist, doc="Whole-run latency histogram (read-only view: folded + pending windows)."
)


def _hist_parts(src: KeyDelta) -> Iterable[Histogram]:
    """Histograms whose sum is src's whole latency histogram, without building it for a KeyDelta.

    A RequestTotals gives its view: built once and cached, it serves every reader until the next merge.
    """
    hist = src.hist
    return [w[2] for w in src.windows.values()] if hist is None else (hist,)


def _merge_windows(dws: dict[int, list[Any]], src: dict[int, list[Any]]) -> None:
    for sec, (n, failures, h) in src.items():
        dw = dws.get(sec)
        if dw is None:
            dws[sec] = [n, failures, h.copy()]
        else:
            dw[0] += n
            dw[1] += failures
            dw[2].merge(h)


def merge_into(dst: KeyDelta, src: KeyDelta, windows: bool = True) -> None:
    """Add src's counters to dst (src is left untouched); windows=False skips the time series.

    Either side's hist may be None ("the sum of its windows") or a RequestTotals' view.
    """
    dst.count += src.count
    dst.failures += src.failures
    dst.interrupted += src.interrupted
    dst.within_expected += src.within_expected
    dst.bytes += src.bytes
    status = dst.status
    for code, n in src.status.items():
        status[code] = status.get(code, 0) + n
    for (kind, message), n in src.errors.items():
        add_error(dst.errors, kind, message, n)
    if src.service is not None or dst.service is not None:
        _merge_service(dst, src)
    if isinstance(dst, RequestTotals):
        dst._merge_latencies(src, windows)
        return
    hist = dst.hist
    if hist is None:
        if windows and _FOLDED.__get__(src) is None:  # dst stays "the sum of its windows"
            _merge_windows(dst.windows, src.windows)
            return
        hist = dst.hist = dst.whole_hist()
    for part in _hist_parts(src):
        hist.merge(part)
    if windows:
        _merge_windows(dst.windows, src.windows)


def _merge_service(dst: KeyDelta, src: KeyDelta) -> None:
    """Add src's service times to dst's, before src's latencies are merged.

    Only keys whose latencies were corrected carry a service histogram; where one side has none, its
    service times are its latencies (a sum over keys of both kinds, such as the run's totals).
    """
    if dst.service is None:
        dst.service = dst.whole_hist().copy() if dst.count else Histogram()
    if src.service is not None:
        dst.service.merge(src.service)
    else:
        for part in _hist_parts(src):
            dst.service.merge(part)
    if isinstance(dst, RequestTotals):
        dst.service.compact_over(TOTAL_PARTS)


# Told of each second RunStats compacts: (phase, second, {key: [count, failures, histogram at 2
# significant digits]} for the keys that had requests that second), before the histograms are dropped.
CompactWatcher = Callable[[str, int, "dict[tuple[str, str, str], list[Any]]"], None]


class RunStats:
    """Everything the master knows about a run's requests, merged from every worker's batches.

    Memory grows with the number of keys, not with the run's length: a phase's seconds more than
    LIVE_WINDOW_S behind its newest one are compacted (RequestTotals.rows) for every key, and rows of
    the same seconds are kept for every scenario and the whole phase (their series merge the keys'
    histograms, which a row no longer has). ``for:`` thresholds judge those seconds as they compact,
    through ``watch``.
    """

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str, str], RequestTotals] = {}
        self.requests_by_source: dict[str, int] = {}
        self.users_by_source: dict[str, dict[tuple[str, str], int]] = {}
        self._newest: dict[tuple[str, str, str], int] = {}  # newest window second seen per key
        # Open model, (phase, scenario) -> [scheduled, dropped]: scheduled == started + dropped, exactly.
        self.arrival_counts: dict[tuple[str, str], list[int]] = {}
        self._phase_keys: dict[str, list[tuple[tuple[str, str, str], RequestTotals]]] = {}
        self._phase_newest: dict[str, int] = {}  # newest window second seen per phase
        self._compacted: dict[str, int] = {}  # per phase: seconds below this are rows
        # (phase,) and (phase, scenario) -> rows of the compacted seconds, all their keys together.
        self._group_rows: dict[tuple[str, ...], SecondRows] = {}
        self._watchers: list[CompactWatcher] = []
        self.second_streaks: Any = None  # thresholds.watch(): for: verdicts of the compacted seconds

    def watch(self, watcher: CompactWatcher) -> None:
        """Call ``watcher`` with the windows of each second as it is compacted (thresholds.SecondStreaks)."""
        self._watchers.append(watcher)

    def compacted_before(self, phase: str) -> int:
        """Seconds of ``phase`` below this are compacted rows; 0: none are."""
        return self._compacted.get(phase, 0)

    def merge(self, batch: StatsBatch, source: str | None = None) -> None:
        n = 0
        totals = self._totals
        compacted = self._compacted
        for entry in batch.entries:
            key = (entry.phase, entry.scenario, entry.request)
            dst = totals.get(key)
            if dst is None:
                # hist=None: the whole-run hist starts as the sum of the windows, folded as they seal.
                dst = totals[key] = RequestTotals(*key, hist=None)
                self._phase_keys.setdefault(entry.phase, []).append((key, dst))
                if entry.phase in compacted:
                    dst._compacted_before = compacted[entry.phase]
            windows = entry.windows
            if windows and entry.phase in compacted and min(windows) < compacted[entry.phase]:
                self._late_rows(entry, compacted[entry.phase])
            merge_into(dst, entry)
            n += entry.count
            if windows:
                newest = max(windows)
                self._age_windows(key, dst, newest)
                if newest > self._phase_newest.get(entry.phase, -1):
                    self._phase_newest[entry.phase] = newest
                    self._compact(entry.phase, newest - LIVE_WINDOW_S + 1)
        for key, (scheduled, dropped) in batch.arrivals.items():
            counts = self.arrival_counts.get(key)
            if counts is None:
                counts = self.arrival_counts[key] = [0, 0]
            counts[0] += scheduled
            counts[1] += dropped
        src = "" if source is None else source
        if source is not None:
            self.requests_by_source[src] = self.requests_by_source.get(src, 0) + n
        # Every batch carries the full gauge, so the latest one replaces what we had.
        self.users_by_source[src] = dict(batch.users)

    def _age_windows(self, key: tuple[str, str, str], dst: RequestTotals, newest: int) -> None:
        """Seal the windows SEAL_LAG_S behind the key's newest second: from then on they are part of
        its whole-run histogram at full precision (a late resend of a sealed second is folded from its
        own histogram, and merged into the window too)."""
        if newest <= self._newest.get(key, -1):
            return
        self._newest[key] = newest
        dst._seal(newest - SEAL_LAG_S)

    def _compact(self, phase: str, before: int) -> None:
        """Compact the seconds of ``phase`` below ``before``, every key at once, into rows of each key,
        each scenario and the phase; watchers see each second's windows first."""
        done = self._compacted.get(phase, 0)
        if before <= done:
            return
        keys = self._phase_keys.get(phase, [])
        if before - done <= LIVE_WINDOW_S:
            seconds: Iterable[int] = range(done, before)
        else:  # a jump far ahead (a skewed clock) walks the windows, not every second in between
            seconds = sorted({sec for _, t in keys for sec in t.windows if done <= sec < before})
        phase_rows = self._group_rows.setdefault((phase,), SecondRows())
        for sec in seconds:
            found: dict[tuple[str, str, str], list[Any]] = {}
            for key, t in keys:
                w = t._compact(sec)
                if w is not None:
                    found[key] = w
            if not found:
                continue
            for watcher in self._watchers:
                watcher(phase, sec, found)
            by_scenario: dict[str, list[Any]] = {}
            everything = [0, 0, Histogram()]
            for key, (n, failures, h) in found.items():
                acc = by_scenario.setdefault(key[1], [0, 0, Histogram()])
                for part in (acc, everything):
                    part[0] += n
                    part[1] += failures
                    part[2].merge(h)
            for scenario, (n, failures, h) in by_scenario.items():
                self._group_rows.setdefault((phase, scenario), SecondRows()).append(sec, n, failures, h)
            phase_rows.append(sec, everything[0], everything[1], everything[2])
        for _, t in keys:
            t._compacted_before = before
        self._compacted[phase] = before

    def _late_rows(self, entry: KeyDelta, before: int) -> None:
        """A late batch's windows of compacted seconds: counted in the scenario's and phase's rows
        (merge_into counts them in the key's)."""
        for sec, (n, failures, h) in entry.windows.items():
            if sec < before:
                for group in ((entry.phase,), (entry.phase, entry.scenario)):
                    self._group_rows.setdefault(group, SecondRows()).add(sec, n, failures, h)

    def users(self, phase: str, scenario: str) -> int:
        key = (phase, scenario)
        return sum(users.get(key, 0) for users in self.users_by_source.values())

    def arrivals(self, phase: str, scenario: str) -> tuple[int, int] | None:
        """(scheduled, dropped) arrivals of an open-model scenario so far; None when it has none (closed)."""
        counts = self.arrival_counts.get((phase, scenario))
        return None if counts is None else (counts[0], counts[1])

    def forget_users(self, source: str) -> None:
        """A lost worker's users are no longer running; its requests stay counted."""
        self.users_by_source.pop(source, None)

    def get(self, phase: str, scenario: str, request: str) -> RequestTotals | None:
        return self._totals.get((phase, scenario, request))

    def keys(self) -> list[tuple[str, str, str]]:
        return list(self._totals)

    def totals(self) -> RequestTotals:
        """Sum over every key. No windows: seconds count from each phase's own start, so
        adding them across phases would mix unrelated moments."""
        out = RequestTotals("", "", AGGREGATED)
        for t in self._totals.values():
            merge_into(out, t, windows=False)
        return out

    def phase_totals(self, phase: str) -> RequestTotals:
        """Sum over the phase's keys; its compacted seconds are the phase's rows (read-only)."""
        out = RequestTotals(phase, "", AGGREGATED)
        for (p, _, _), t in self._totals.items():
            if p == phase:
                merge_into(out, t)
        self._attach_rows(out, (phase,))
        return out

    def scenario_totals(self, phase: str, scenario: str) -> RequestTotals:
        """Sum over the scenario's keys; its compacted seconds are the scenario's rows (read-only)."""
        out = RequestTotals(phase, scenario, AGGREGATED)
        for (p, s, _), t in self._totals.items():
            if p == phase and s == scenario:
                merge_into(out, t)
        self._attach_rows(out, (phase, scenario))
        return out

    def _attach_rows(self, out: RequestTotals, group: tuple[str, ...]) -> None:
        before = self._compacted.get(group[0], 0)
        if before:
            out.rows = self._group_rows.get(group) or SecondRows()
            out._compacted_before = before
