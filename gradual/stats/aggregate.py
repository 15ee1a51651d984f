"""Master-side aggregation: merges workers' StatsBatches losslessly into per-key totals,
and derives the numbers reports and thresholds read (latency in ms, error lists, time series).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gradual.stats.batch import KeyDelta, StatsBatch, add_error
from gradual.stats.histogram import Histogram

AGGREGATED = "Aggregated"
# Per-second windows this far behind a key's newest second are kept at 2 significant digits.
WINDOW_FULL_PRECISION_S = 120
# RunStats folds a key's window into its whole-run histogram once the window is this many seconds
# behind the key's newest second (a worker's batch straddles at most two seconds). Until then the
# window is "pending": reads add it on the fly. Folding must happen at full precision, before
# _age_windows coarsens the window.
SEAL_LAG_S = 2
assert 0 < SEAL_LAG_S < WINDOW_FULL_PRECISION_S
_SEALED_ALL = 1 << 62  # every window is already in the folded histogram
_SEALED_NONE = -(1 << 62)  # no window is
_LATENCY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
_WINDOW_PERCENTILES = (50.0, 95.0, 99.0)


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


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
                    # coarsening), not a thousand workers' parts.
                    window.compact()
                    folded.merge(window)

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
            for sec, (n, failures, h) in src_windows.items():
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
            return
        # An explicit hist goes to the folded part, so src's windows must land on sealed seconds only
        # (folding them later would count them twice): seal up to src's newest second first.
        for part in _hist_parts(src):
            folded.merge(part)
        if windows and src_windows:
            self._seal(max(src_windows) + 1)
            _merge_windows(self.windows, src_windows)

    def __getstate__(self) -> dict[str, Any]:
        # For copy and pickle: the whole-run hist as a plain, explicit histogram (never the cached view),
        # and windows of its own even in a shallow copy (pending windows are part of the hist here).
        state = {name: getattr(self, name) for name in KeyDelta.__dataclass_fields__ if name != "hist"}
        state["hist"] = self._build_view()
        state["windows"] = {sec: [n, failures, h.copy()] for sec, (n, failures, h) in self.windows.items()}
        state["service"] = None if self.service is None else self.service.copy()
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
        for sec in sorted(self.windows):
            n, failures, h = self.windows[sec]
            p50, p95, p99 = h.percentiles(_WINDOW_PERCENTILES)
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


class RunStats:
    """Everything the master knows about a run's requests, merged from every worker's batches."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str, str], RequestTotals] = {}
        self.requests_by_source: dict[str, int] = {}
        self.users_by_source: dict[str, dict[tuple[str, str], int]] = {}
        self._newest: dict[tuple[str, str, str], int] = {}  # newest window second seen per key
        # Open model, (phase, scenario) -> [scheduled, dropped]: scheduled == started + dropped, exactly.
        self.arrival_counts: dict[tuple[str, str], list[int]] = {}

    def merge(self, batch: StatsBatch, source: str | None = None) -> None:
        n = 0
        totals = self._totals
        for entry in batch.entries:
            key = (entry.phase, entry.scenario, entry.request)
            dst = totals.get(key)
            if dst is None:
                # hist=None: the whole-run hist starts as the sum of the windows, folded as they seal.
                dst = totals[key] = RequestTotals(*key, hist=None)
            merge_into(dst, entry)
            n += entry.count
            if entry.windows:
                self._age_windows(key, dst, max(entry.windows))
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
        """Seal the windows SEAL_LAG_S behind the key's newest second, then coarsen those that fell
        WINDOW_FULL_PRECISION_S behind it.

        Charts and ``for:`` thresholds read old seconds at 2 significant digits; the whole-run
        histogram keeps full precision, because a window is folded into it (sealed) long before it
        is coarsened, and a late resend of a sealed second is folded from its own full-precision
        histogram (it is merged into the window too).
        """
        before = self._newest.get(key, -1)
        if newest <= before:
            return
        self._newest[key] = newest
        dst._seal(newest - SEAL_LAG_S)
        windows = dst.windows
        lo, hi = max(0, before - WINDOW_FULL_PRECISION_S + 1), newest - WINDOW_FULL_PRECISION_S + 1
        # A jump far ahead (a skewed clock) walks the windows, not every second in between.
        seconds = range(lo, hi) if hi - lo <= len(windows) else [s for s in windows if lo <= s < hi]
        for sec in seconds:
            w = windows.get(sec)
            if w is not None:
                w[2] = w[2].coarsened()

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
        out = RequestTotals(phase, "", AGGREGATED)
        for (p, _, _), t in self._totals.items():
            if p == phase:
                merge_into(out, t)
        return out

    def scenario_totals(self, phase: str, scenario: str) -> RequestTotals:
        out = RequestTotals(phase, scenario, AGGREGATED)
        for (p, s, _), t in self._totals.items():
            if p == phase and s == scenario:
                merge_into(out, t)
        return out
