"""The open model's arrival schedule: when each arrival is due, from phase start, for a rate that steps.

Pure arithmetic (no I/O, no clock of its own), so it can be tested exactly. Uniform arrivals keep
fractional spacing: the k-th arrival is due when the cumulative rate Λ(t) = ∫ rate dt reaches k + θ,
so a rate step changes the spacing from that moment on, never the arrivals already passed, and a
worker with phase ``θ`` (its share's offset in the cluster) interleaves with the others. Poisson
arrivals draw exponential gaps at the current rate (memoryless: a step simply draws the next gap at
the new rate).
"""

from __future__ import annotations

import random

UNIFORM = "uniform"
POISSON = "poisson"
NEVER = float("inf")


class ArrivalSchedule:
    """Due times in seconds since phase start; ``set_rate`` at time ``t`` takes effect from ``t``."""

    def __init__(self, kind: str = UNIFORM, seed: int | None = None) -> None:
        self.kind = kind
        self.rate = 0.0
        self.theta = 0.0  # uniform: this schedule's phase within one spacing, in [0, 1)
        self._base_t = 0.0  # time of the last rate change
        self._base_lambda = 0.0  # arrivals "owed" by then: Λ(_base_t)
        self._k = 0  # index of the next uniform arrival
        self._next = NEVER  # poisson: the next due time
        self._random = random.Random(seed)

    def set_rate(self, t: float, rate: float, theta: float = 0.0) -> None:
        """From time ``t`` on, ``rate`` arrivals per second (``theta``: see the class)."""
        t = max(t, self._base_t)
        self._base_lambda += self.rate * (t - self._base_t)
        self._base_t = t
        self.rate = max(0.0, rate)
        if self.kind == UNIFORM:
            self.theta = theta % 1.0
            # The next arrival is the first one not owed yet: none is skipped, none comes twice.
            while self._k + self.theta < self._base_lambda - 1e-9:
                self._k += 1
        else:
            self._next = t + self._random.expovariate(self.rate) if self.rate > 0 else NEVER

    def next_due(self) -> float:
        """When the next arrival is due (NEVER at rate 0); it stays the next until ``advance()``."""
        if self.rate <= 0:
            return NEVER
        if self.kind == UNIFORM:
            return self._base_t + (self._k + self.theta - self._base_lambda) / self.rate
        return self._next

    def advance(self) -> None:
        """The next arrival was handled (started or dropped): move to the one after it."""
        if self.kind == UNIFORM:
            self._k += 1
        elif self.rate > 0:
            self._next += self._random.expovariate(self.rate)
