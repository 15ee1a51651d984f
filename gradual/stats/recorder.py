"""Per-process stats recorder: the load engine calls Slot.record() once per finished request,
and the worker drains it into a StatsBatch (a delta) every second.

Not thread-safe: it relies on gevent's cooperative scheduling, which never switches greenlets
inside record() or drain() because neither does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gradual.stats.batch import KeyDelta, StatsBatch, add_error
from gradual.stats.histogram import Histogram

# Long messages (exception text, response snippets) would bloat every batch and the report.
MAX_ERROR_MESSAGE = 256
# Impossible second index, so the one-window cache in Slot misses after a reset.
_NO_SECOND = -(1 << 62)
# Samples one overrun may fill in (expected-interval correction): a 1 h stall at a 1 ms pacing is
# 3.6 M of them; past this many the rest are left out rather than stalling the user's greenlet.
MAX_FILL_IN = 100_000


class Slot:
    """Accumulators of one (phase, scenario, request) key; the engine keeps a reference to it."""

    __slots__ = (
        "phase",
        "scenario",
        "request",
        "expected_response_time",
        "count",
        "failures",
        "interrupted_count",
        "within_expected",
        "bytes",
        "status",
        "errors",
        "windows",
        "corrected",
        "service",
        "_expected_ns",
        "_t0",
        "_clock",
        "_last_sec",
        "_last_window",
    )

    def __init__(
        self,
        phase: str,
        scenario: str,
        request: str,
        t0: float,
        clock: Callable[[], float],
        expected_response_time: float | None = None,
        corrected: bool = False,
    ) -> None:
        self.phase = phase
        self.scenario = scenario
        self.request = request
        # corrected: latencies are measured from an intended start (open model, pacing), so the raw
        # service times are kept beside them; otherwise the two are the same numbers, stored once.
        self.corrected = corrected
        self._t0 = t0
        self._clock = clock
        self.expected_response_time: float | None = None
        self._expected_ns = -1
        self.set_expected(expected_response_time)
        self._reset()

    def set_expected(self, expected_response_time: float | None) -> None:
        self.expected_response_time = expected_response_time
        # -1 when unset: latency_ns <= -1 is never true, so record() needs no None test.
        self._expected_ns = -1 if expected_response_time is None else int(expected_response_time * 1e9)

    def _reset(self) -> None:
        self.count = 0
        self.failures = 0
        self.interrupted_count = 0
        self.within_expected = 0
        self.bytes = 0
        self.status: dict[int, int] = {}
        self.errors: dict[tuple[str, str], int] = {}
        # second -> [count, failures, Histogram]; the key's whole-interval histogram is the merge
        # of these, built at drain time so record() only touches one histogram.
        self.windows: dict[int, list[Any]] = {}
        self.service: Histogram | None = Histogram() if self.corrected else None
        self._last_sec = _NO_SECOND
        self._last_window: list[Any] = []

    def _set_origin(self, t0: float) -> None:
        self._t0 = t0
        self._last_sec = _NO_SECOND

    def _window(self, sec: int) -> list[Any]:
        raw = sec
        if sec < 0:
            sec = 0
        w = self.windows.get(sec)
        if w is None:
            w = self.windows[sec] = [0, 0, Histogram()]
        self._last_sec = raw
        self._last_window = w
        return w

    def record(
        self,
        latency_ns: int,
        end: float,
        status: int | None = None,
        nbytes: int = 0,
        error_kind: str | None = None,
        error_message: str | None = None,
        service_ns: int = -1,
    ) -> None:
        """One finished request; error_kind None means success. `end` is on the recorder's clock.

        ``latency_ns`` is measured from the request's intended start; ``service_ns`` (send -> last byte)
        is given only to a corrected slot, whose latency differs from it.
        """
        sec = int(end - self._t0)
        # Requests of one key end in the same second almost every time: skip the windows dict.
        w = self._last_window if sec == self._last_sec else self._window(sec)
        w[0] += 1
        self.count += 1
        if error_kind is None:
            if latency_ns <= self._expected_ns:
                self.within_expected += 1
        else:
            w[1] += 1
            self.failures += 1
            self._error(error_kind, error_message)
        if status is not None:
            st = self.status
            st[status] = st.get(status, 0) + 1
        if nbytes:
            self.bytes += nbytes
        w[2].record(latency_ns // 1000)
        if service_ns >= 0:
            self.service.record(service_ns // 1000)  # type: ignore[union-attr]

    def fill_in(self, latency_ns: int, interval_ns: int) -> None:
        """HdrHistogram's recordValueWithExpectedInterval, after record(): a request that took
        ``latency_ns`` where one should start every ``interval_ns`` hid the requests it delayed; add the
        latencies they would have seen (latency - interval, latency - 2 x interval, ... while >= interval)."""
        if interval_ns <= 0 or latency_ns < 2 * interval_ns:
            return
        hist = self._last_window[2]
        missing = latency_ns - interval_ns
        n = 0
        while missing >= interval_ns and n < MAX_FILL_IN:
            hist.record(missing // 1000)
            missing -= interval_ns
            n += 1

    def _error(self, kind: str, message: str | None) -> None:
        if message is None:
            message = ""
        elif len(message) > MAX_ERROR_MESSAGE:
            message = message[: MAX_ERROR_MESSAGE - 1] + "…"
        add_error(self.errors, kind, message)

    def interrupted(self, n: int = 1, end: float | None = None) -> None:
        """n requests killed at stop: counted, but not failures and without a latency."""
        if n <= 0:
            return
        if end is None:
            end = self._clock()
        sec = int(end - self._t0)
        w = self._last_window if sec == self._last_sec else self._window(sec)
        w[0] += n
        self.count += n
        self.interrupted_count += n

    def _take(self) -> KeyDelta:
        hist = Histogram()
        for w in self.windows.values():
            hist.merge(w[2])
        delta = KeyDelta(
            phase=self.phase,
            scenario=self.scenario,
            request=self.request,
            count=self.count,
            failures=self.failures,
            interrupted=self.interrupted_count,
            within_expected=self.within_expected,
            bytes=self.bytes,
            status=self.status,
            errors=self.errors,
            hist=hist,
            windows=self.windows,
            service=self.service,
        )
        self._reset()
        return delta

    def __repr__(self) -> str:
        return f"Slot({self.phase!r}, {self.scenario!r}, {self.request!r}, count={self.count})"


class ArrivalCounts:
    """Open model, one (phase, scenario): arrivals due and those dropped (no journey free) since the last drain."""

    __slots__ = ("scheduled", "dropped")

    def __init__(self) -> None:
        self.scheduled = 0
        self.dropped = 0


class Recorder:
    """All slots of one process, plus the users gauge; drain() hands over what accumulated."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._slots: dict[tuple[str, str, str], Slot] = {}
        self._origins: dict[str, float] = {}
        self._users: dict[tuple[str, str], int] = {}
        self._arrivals: dict[tuple[str, str], ArrivalCounts] = {}
        # Plugins put msgpack-safe data here; it travels with the next batch and is then cleared.
        self.custom: dict[str, Any] = {}

    def set_phase_origin(self, phase: str, t0: float) -> None:
        """Window seconds of `phase` count from t0 (a value of the recorder's clock)."""
        self._origins[phase] = t0
        for slot in self._slots.values():
            if slot.phase == phase:
                slot._set_origin(t0)

    def slot(self, phase: str, scenario: str, request: str, expected_response_time: float | None = None,
             corrected: bool = False) -> Slot:
        """The Slot of this key, created on first use; the same object on every later call."""
        key = (phase, scenario, request)
        slot = self._slots.get(key)
        if slot is None:
            t0 = self._origins.get(phase)
            if t0 is None:
                t0 = self._origins[phase] = self._clock()
            slot = self._slots[key] = Slot(phase, scenario, request, t0, self._clock, expected_response_time,
                                           corrected)
        elif expected_response_time is not None and expected_response_time != slot.expected_response_time:
            slot.set_expected(expected_response_time)
        return slot

    def slots(self) -> list[Slot]:
        return list(self._slots.values())

    def arrivals(self, phase: str, scenario: str) -> ArrivalCounts:
        """The arrival counters of an open scenario, created on first use; the same object afterwards."""
        counts = self._arrivals.get((phase, scenario))
        if counts is None:
            counts = self._arrivals[(phase, scenario)] = ArrivalCounts()
        return counts

    def set_users(self, phase: str, scenario: str, n: int) -> None:
        self._users[(phase, scenario)] = n

    def drain(self) -> StatsBatch:
        """Everything recorded since the previous drain; keys without records are left out."""
        entries = [slot._take() for slot in self._slots.values() if slot.count]
        custom, self.custom = self.custom, {}
        arrivals = {}
        for key, counts in self._arrivals.items():
            if counts.scheduled or counts.dropped:
                arrivals[key] = (counts.scheduled, counts.dropped)
                counts.scheduled = counts.dropped = 0
        return StatsBatch(entries=entries, users=dict(self._users), custom=custom, arrivals=arrivals)
