"""Stats batches: what a worker sends the master every second, and their msgpack-safe wire form.

from_wire() is the trust boundary for data arriving from workers, so it checks every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradual.stats.histogram import Histogram, WireError, merged

# Distinct (kind, message) pairs kept per key; error messages can embed ids or URLs and would
# otherwise grow without bound on the worker and on the master.
ERRORS_CAP = 100
OTHER_MESSAGE = "(other)"


def add_error(errors: dict[tuple[str, str], int], kind: str, message: str, n: int = 1) -> None:
    """Count `n` errors, folding new messages into (kind, "(other)") once ERRORS_CAP is reached."""
    key = (kind, message)
    if key not in errors and len(errors) >= ERRORS_CAP:
        key = (kind, OTHER_MESSAGE)
    errors[key] = errors.get(key, 0) + n


@dataclass(slots=True)
class KeyDelta:
    """Counters of one (phase, scenario, request) key; in a batch, since the previous batch.

    count = successes + failures + interrupted; interrupted requests have no latency, so the
    latency histogram's total is count - interrupted. windows maps the second since phase start to
    [count, failures, Histogram]. hist None means "the sum of the windows' histograms" (what a
    decoded worker batch carries, so the master never builds it); whole_hist() gives it either way.

    The latencies are measured from each request's intended start (DESIGN.md, coordinated omission).
    ``service`` (send -> last byte) is there only for keys where the two differ (open model, pacing);
    None means "the same as the latencies". A paced key's latency histogram also holds the samples its
    overruns filled in, so its total can exceed count - interrupted; the service histogram's cannot.
    """

    phase: str
    scenario: str
    request: str
    count: int = 0
    failures: int = 0
    interrupted: int = 0
    within_expected: int = 0
    bytes: int = 0
    status: dict[int, int] = field(default_factory=dict)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    hist: Histogram | None = field(default_factory=Histogram)
    windows: dict[int, list[Any]] = field(default_factory=dict)
    service: Histogram | None = None

    def whole_hist(self) -> Histogram:
        """The latency histogram of every request in the delta (built when hist is None: don't mutate)."""
        hist = self.hist
        return merged(w[2] for w in self.windows.values()) if hist is None else hist

    def __eq__(self, other: object) -> bool:
        # By value: hist None and an explicit hist equal to the windows' sum are the same delta.
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, KeyDelta)
        return (
            self.phase == other.phase
            and self.scenario == other.scenario
            and self.request == other.request
            and self.count == other.count
            and self.failures == other.failures
            and self.interrupted == other.interrupted
            and self.within_expected == other.within_expected
            and self.bytes == other.bytes
            and self.status == other.status
            and self.errors == other.errors
            and self.windows == other.windows
            and self.whole_hist() == other.whole_hist()
            and self.service == other.service
        )

    __hash__ = None  # type: ignore[assignment]

    def to_wire(self) -> dict[str, Any]:
        """Str-keyed map; "hist" is None when it equals the sum of the windows' histograms."""
        return {
            "phase": self.phase,
            "scenario": self.scenario,
            "request": self.request,
            "count": self.count,
            "failures": self.failures,
            "interrupted": self.interrupted,
            "within_expected": self.within_expected,
            "bytes": self.bytes,
            "status": [[code, n] for code, n in self.status.items()],
            "errors": [[kind, message, n] for (kind, message), n in self.errors.items()],
            "hist": None if self.hist is None or self._hist_is_windows_sum() else self.hist.to_wire(),
            "windows": [[sec, w[0], w[1], w[2].to_wire()] for sec, w in self.windows.items()],
            **({} if self.service is None else {"service": self.service.to_wire()}),
        }

    def _hist_is_windows_sum(self) -> bool:
        # Every latency is recorded in exactly one window, so a recorder's hist is the sum of its
        # windows: sending it too would double the batch and the master's decoding work.
        return bool(self.windows) and self.whole_hist() == merged(w[2] for w in self.windows.values())

    @classmethod
    def from_wire(cls, obj: Any) -> KeyDelta:
        delta, wires = cls._parse(obj)
        delta._attach(Histogram.from_wire_many(wires))
        return delta

    @classmethod
    def _parse(cls, obj: Any) -> tuple[KeyDelta, list[Any]]:
        """The delta with its histograms left out, and their wire forms (windows' in order, then hist's):
        a StatsBatch decodes every histogram of the batch in one call."""
        if not isinstance(obj, dict):
            raise ValueError("entry: expected a map")
        d = cls(
            phase=_str(obj, "phase"),
            scenario=_str(obj, "scenario"),
            request=_str(obj, "request"),
            count=_count(obj, "count"),
            failures=_count(obj, "failures"),
            interrupted=_count(obj, "interrupted"),
            within_expected=_count(obj, "within_expected"),
            bytes=_count(obj, "bytes"),
            hist=None,
        )
        if d.failures + d.interrupted > d.count or d.within_expected > d.count:
            raise ValueError("entry: failures, interrupted or within_expected exceed count")
        for item in _list(obj, "status"):
            code, n = _tuple(item, 2, "status")
            if not _is_count(code) or not _is_count(n):
                raise ValueError("entry.status: expected [code, count] ints")
            if code in d.status:
                raise ValueError("entry.status: duplicate code")
            d.status[code] = n
        for item in _list(obj, "errors"):
            kind, message, n = _tuple(item, 3, "errors")
            if type(kind) is not str or type(message) is not str or not _is_count(n):
                raise ValueError("entry.errors: expected [kind, message, count]")
            if (kind, message) in d.errors:
                raise ValueError("entry.errors: duplicate (kind, message)")
            d.errors[(kind, message)] = n
        if "hist" not in obj:
            raise ValueError("entry: missing 'hist'")
        wires = []
        windows = d.windows
        for item in _list(obj, "windows"):
            sec, n, failures, whist = _tuple(item, 4, "windows")
            if not _is_count(sec) or not _is_count(n) or not _is_count(failures) or failures > n:
                raise ValueError("entry.windows: expected [second, count, failures, hist]")
            if sec in windows:
                raise ValueError("entry.windows: duplicate second")
            windows[sec] = [n, failures, None]
            wires.append(whist)
        # None stays None ("the sum of the windows"): merge_into() and RunStats.merge() consume the
        # windows directly, so rebuilding the sum here would be wasted work on every batch.
        hist = obj["hist"]
        if hist is not None:
            wires.append(hist)
        service = obj.get("service")  # optional: only keys whose service times differ from latencies
        if service is not None:
            wires.append(service)
            d.service = Histogram()  # a placeholder _attach() replaces with the decoded one
        return d, wires

    def _attach(self, hists: list[Histogram]) -> None:
        """Put the histograms decoded from _parse()'s wire forms in their places."""
        if self.service is not None:
            self.service, hists = hists[-1], hists[:-1]
        for w, h in zip(self.windows.values(), hists, strict=False):
            w[2] = h
        if len(hists) > len(self.windows):
            self.hist = hists[-1]


@dataclass(slots=True)
class StatsBatch:
    """One drain of a worker's recorder: per-key deltas, the current users gauge, plugin data."""

    entries: list[KeyDelta] = field(default_factory=list)
    # (phase, scenario) -> users running now; a gauge, so it is the latest value, not a delta.
    users: dict[tuple[str, str], int] = field(default_factory=dict)
    # Free-form msgpack-safe data from plugins (str keys at the top level).
    custom: dict[str, Any] = field(default_factory=dict)
    # Open model, (phase, scenario) -> (scheduled, dropped) since the previous batch: deltas.
    arrivals: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    # --records: this node's completion records since the last batch, and how many it dropped (not in to_wire:
    # they travel beside the batch, in the Stats message).
    records: list[dict[str, Any]] = field(default_factory=list)
    records_dropped: int = 0

    def is_empty(self) -> bool:
        """True when the batch carries nothing at all: no entries, no users gauge, no custom data."""
        return not self.entries and not self.users and not self.custom and not self.arrivals

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "entries": [e.to_wire() for e in self.entries],
            "users": [[phase, scenario, n] for (phase, scenario), n in self.users.items()],
            "custom": dict(self.custom),
        }
        if self.arrivals:  # optional: only open scenarios have arrivals
            wire["arrivals"] = [[phase, scenario, s, d] for (phase, scenario), (s, d) in self.arrivals.items()]
        return wire

    @classmethod
    def from_wire(cls, obj: Any) -> StatsBatch:
        """Decode and validate; raises ValueError with a short reason on anything malformed."""
        if not isinstance(obj, dict):
            raise ValueError("stats batch: expected a map")
        batch = cls()
        parsed: list[tuple[KeyDelta, int]] = []
        wires: list[Any] = []
        owners: list[int] = []  # entry index of each histogram in wires
        for i, entry in enumerate(_list(obj, "entries")):
            try:
                delta, entry_wires = KeyDelta._parse(entry)
            except ValueError as exc:
                raise ValueError(f"stats batch: entries[{i}]: {exc}") from None
            parsed.append((delta, len(entry_wires)))
            wires += entry_wires
            owners += [i] * len(entry_wires)
        # All of the batch's histograms in one call: their buckets are checked in a few vectorized passes.
        try:
            hists = Histogram.from_wire_many(wires)
        except WireError as exc:
            raise ValueError(f"stats batch: entries[{owners[exc.index]}]: {exc}") from None
        start = 0
        for delta, n in parsed:
            delta._attach(hists[start : start + n])
            start += n
            batch.entries.append(delta)
        for item in _list(obj, "users"):
            phase, scenario, n = _tuple(item, 3, "users")
            if type(phase) is not str or type(scenario) is not str or not _is_count(n):
                raise ValueError("stats batch: users: expected [phase, scenario, count]")
            batch.users[(phase, scenario)] = n
        for item in obj.get("arrivals") or []:
            phase, scenario, scheduled, dropped = _tuple(item, 4, "arrivals")
            if (type(phase) is not str or type(scenario) is not str or not _is_count(scheduled)
                    or not _is_count(dropped) or dropped > scheduled):
                raise ValueError("stats batch: arrivals: expected [phase, scenario, scheduled, dropped <= scheduled]")
            if (phase, scenario) in batch.arrivals:
                raise ValueError("stats batch: arrivals: duplicate (phase, scenario)")
            batch.arrivals[(phase, scenario)] = (scheduled, dropped)
        custom = obj.get("custom", {})
        if not isinstance(custom, dict) or not all(type(k) is str for k in custom):
            raise ValueError("stats batch: custom must be a map with str keys")
        batch.custom = custom
        return batch


def _is_count(x: Any) -> bool:
    # bool is an int subclass and msgpack decodes true/false to it; a count is never a bool.
    return type(x) is int and x >= 0


def _count(obj: dict[str, Any], name: str) -> int:
    x = obj.get(name)
    if not _is_count(x):
        raise ValueError(f"'{name}' must be an int >= 0")
    return x  # type: ignore[no-any-return]


def _str(obj: dict[str, Any], name: str) -> str:
    x = obj.get(name)
    if type(x) is not str:
        raise ValueError(f"'{name}' must be a string")
    return x


def _list(obj: dict[str, Any], name: str) -> list[Any]:
    x = obj.get(name)
    if not isinstance(x, list):
        raise ValueError(f"'{name}' must be a list")
    return x


def _tuple(item: Any, n: int, name: str) -> list[Any]:
    if not isinstance(item, list) or len(item) != n:
        raise ValueError(f"'{name}': expected items of {n} elements")
    return item
