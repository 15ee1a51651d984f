"""The run's time series of controller samples, one per tick, kept in columns.

A tick's sample used to be a dataclass holding three dicts (users, requests and failures per
scenario): about 350 bytes a tick, 20 KB a minute, which alone kept the master's memory growing
with time over a long run (issue 16). Here each phase keeps arrays instead: the tick's time as a
double and one 64-bit integer per scenario of the phase for users, requests and failures, so a
tick costs 8 + 24 bytes per scenario. Reading builds a Sample on demand; nothing keeps it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of the run's time series, taken every tick."""

    t: float  # seconds since the phase started
    phase: str
    users: dict[str, int]
    counts: dict[str, int]  # requests completed per scenario since the previous sample
    failures: dict[str, int]


class _Samples(Sequence[Sample]):
    """Indexing and slicing over ``_sample(i)``, which subclasses define for 0 <= i < len(self)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def _sample(self, i: int) -> Sample:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Sample: ...
    @overload
    def __getitem__(self, index: slice) -> list[Sample]: ...
    def __getitem__(self, index: int | slice) -> Sample | list[Sample]:
        if isinstance(index, slice):
            return [self._sample(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("sample index out of range")
        return self._sample(index)


class PhaseSamples(_Samples):
    """One phase's samples in time order (ticks append): times, and per scenario users, requests, failures."""

    def __init__(self, phase: str, scenarios: Sequence[str]) -> None:
        self.phase = phase
        self.scenarios = tuple(scenarios)
        self.times = array("d")
        self._users = array("q")
        self._counts = array("q")
        self._failures = array("q")

    def add(self, t: float, users: dict[str, int], counts: dict[str, int], failures: dict[str, int]) -> None:
        """One tick. A scenario the phase does not have is not stored (no stats key can name one)."""
        self.times.append(t)
        for column, values in ((self._users, users), (self._counts, counts), (self._failures, failures)):
            column.extend(values.get(name, 0) for name in self.scenarios)

    def __len__(self) -> int:
        return len(self.times)

    def users(self, index: int) -> dict[str, int]:
        """The users of one sample (negative indexes count from the end), without building the rest of it."""
        return self._row(self._users, index + len(self) if index < 0 else index)

    def at_or_before(self, t: float) -> int:
        """The index of the newest sample taken at or before ``t`` (a bisection), or -1."""
        return bisect_right(self.times, t + 1e-6) - 1

    def nearest(self, t: float) -> int | None:
        """The index of the sample whose time is closest to ``t`` (a bisection), or None when there is none."""
        times = self.times
        i = bisect_left(times, t)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
        if not candidates:
            return None
        return min(candidates, key=lambda j: abs(times[j] - t))

    def _row(self, column: array, index: int) -> dict[str, int]:
        n = len(self.scenarios)
        return dict(zip(self.scenarios, column[index * n:(index + 1) * n], strict=True))

    def _sample(self, i: int) -> Sample:
        return Sample(self.times[i], self.phase, self._row(self._users, i), self._row(self._counts, i),
                      self._row(self._failures, i))


class SampleSeries(_Samples):
    """Every phase's samples, in the order they were taken: the controller's ``samples``."""

    def __init__(self) -> None:
        self._phases: list[PhaseSamples] = []
        self._by_name: dict[str, PhaseSamples] = {}
        self._starts: list[int] = []  # index of each phase's first sample in the whole series

    def add(self, t: float, phase: str, users: dict[str, int], counts: dict[str, int],
            failures: dict[str, int]) -> None:
        """One tick of ``phase``; its scenarios are those the phase's first tick has users for (the
        controller's users name every scenario of the phase)."""
        current = self._phases[-1] if self._phases else None
        if current is None or current.phase != phase:
            current = PhaseSamples(phase, list(users))
            self._starts.append(len(self))
            self._phases.append(current)
            self._by_name.setdefault(phase, current)
        current.add(t, users, counts, failures)

    def of_phase(self, phase: str) -> PhaseSamples:
        """The samples of one phase (empty when it has none yet)."""
        return self._by_name.get(phase) or PhaseSamples(phase, ())

    def __len__(self) -> int:
        return self._starts[-1] + len(self._phases[-1]) if self._phases else 0

    def _sample(self, i: int) -> Sample:
        k = bisect_right(self._starts, i) - 1
        return self._phases[k]._sample(i - self._starts[k])

    def __iter__(self) -> Iterator[Sample]:
        for phase in self._phases:
            yield from phase
