"""The plan: pure functions from a scenario's config to its timeline of user targets.

Closed model (DESIGN.md): start at min_concurrency; for step k wait ramp_up_wait[k], then multiply by
ramp_up_multiply[k] (or add ramp_up_add[k]), capped at max_concurrency; a list's last value repeats.
A ramp-down (min above max, a multiply below 1 or a negative add) steps down the same way and stops at
max. ``run_once`` scenarios run the same sequence of sizes as one-shot batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from .configs.model import RunConfig, ScenarioConfig

# A rate that ramps by a factor toward 0 never gets there: rates are kept to this many decimals, so
# it does (and the ramp ends). Also the most steps a ramp may have, whatever its values.
RATE_DECIMALS = 6
MAX_STEPS = 100_000


@dataclass(frozen=True)
class Step:
    offset: float  # seconds since phase start
    target: float  # users (an int) in the closed model, arrivals per second in the open model


@dataclass(frozen=True)
class Batch:
    wait: float  # seconds to wait after the previous batch finished (0 for the first)
    size: int  # one-shot users launched together


def _at(values: tuple, k: int) -> float:
    return values[k] if k < len(values) else values[-1]


def next_target(target: int, hi: int, multiply: tuple | None, add: tuple | None, k: int) -> int:
    """The target after step ``k``: toward ``hi`` (up when below it, down when above it), never past it."""
    if multiply is not None:
        # Rounded away from the start so a fractional factor still moves small targets (1 x 1.5 -> 2,
        # 3 x 0.5 -> 1); the epsilon keeps exact products (3 x 2.0) from rounding through float error.
        product = target * _at(multiply, k)
        moved = math.floor(product + 1e-9) if target > hi else math.ceil(product - 1e-9)
    elif add is not None:
        moved = target + int(_at(add, k))
    else:
        moved = target
    # A value pointing away from hi (validation rejects it) moves nothing: the ramp never backs off.
    return max(hi, min(target, moved)) if target > hi else min(hi, max(target, moved))


def next_rate(rate: float, hi: float, multiply: tuple | None, add: tuple | None, k: int) -> float:
    """The open model's rate after step ``k``: as next_target, without rounding to whole users."""
    if multiply is not None:
        factor = _at(multiply, k)
        moved = round(rate * factor, RATE_DECIMALS)
        if moved == rate and factor != 1:  # a factor too small for the rate's precision: the ramp is done
            moved = hi
    elif add is not None:
        moved = round(rate + _at(add, k), RATE_DECIMALS)
    else:
        moved = rate
    return max(hi, min(rate, moved)) if rate > hi else min(hi, max(rate, moved))


def _steps(scenario: ScenarioConfig) -> Iterator[Step]:
    """The ramp's steps one by one, so a caller can stop early (timeline at run_time)."""
    if scenario.open:
        assert scenario.min_rate is not None and scenario.max_rate is not None
        lo, hi, step = scenario.min_rate, scenario.max_rate, next_rate
    else:
        lo, hi, step = scenario.min_concurrency, scenario.max_concurrency, next_target  # type: ignore[assignment]
    multiply, add = scenario.ramp_up_multiply, scenario.ramp_up_add
    yield Step(0.0, lo)
    if multiply is None and add is None:
        return
    target, offset, k = lo, 0.0, 0
    while target != hi and k < MAX_STEPS:
        nxt = step(target, hi, multiply, add, k)
        if nxt == target and k >= max(len(multiply or ()), len(add or ())):
            return  # stalled past the list's end (multiply 1, add 0): it holds, validation warned
        offset += _at(scenario.ramp_up_wait, k)
        yield Step(offset, nxt)
        target, k = nxt, k + 1


def ramp(scenario: ScenarioConfig) -> list[Step]:
    """Every step of the ramp, from t=0 until the target reaches max (or holds: no ramp, or a stalled one).

    No-op steps (multiply 1, add 0 inside a list) are kept: they take their wait like any other.
    """
    return list(_steps(scenario))


def timeline(scenario: ScenarioConfig, run_time: float) -> list[Step]:
    """Closed model: the (offset, target) changes that fall inside the phase.

    Steps at or after ``run_time`` are cut (the phase is over by then); a step that does not change
    the target is left out. Generation stops at ``run_time``, so a slow ramp to a huge max costs only
    the steps that fit in the phase.
    """
    out: list[Step] = []
    for step in _steps(scenario):
        if step.offset >= run_time and out:
            break
        if not out or step.target != out[-1].target:
            out.append(step)
    return out


def run_once_batches(scenario: ScenarioConfig) -> list[Batch]:
    """run_once: the batch sizes in launch order, each with its wait; done after the batch at max."""
    steps = ramp(scenario)
    batches = [Batch(0.0, steps[0].target)]
    for prev, step in zip(steps, steps[1:], strict=False):
        batches.append(Batch(step.offset - prev.offset, step.target))
    return batches


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario's plan: ``steps`` for the closed model, ``batches`` for run_once (the other is empty)."""

    scenario: ScenarioConfig
    steps: tuple[Step, ...] = ()
    batches: tuple[Batch, ...] = ()


@dataclass(frozen=True)
class PhasePlan:
    name: str
    run_time: float
    scenarios: tuple[ScenarioPlan, ...]


def build(run: RunConfig) -> list[PhasePlan]:
    """Per phase, per scenario: its timeline [(offset_s, target)] or its run_once batches (DESIGN.md)."""
    phases = []
    for phase in run.phases:
        scenarios = tuple(
            ScenarioPlan(s, batches=tuple(run_once_batches(s))) if s.run_once
            else ScenarioPlan(s, steps=tuple(timeline(s, phase.run_time)))
            for s in phase.scenarios
        )
        phases.append(PhasePlan(phase.name, phase.run_time, scenarios))
    return phases


def describe(steps: list[Step], rate: bool = False) -> str:
    """``t=0s:1 → t=2s:2 → t=4s:6`` (users) or ``t=0s:10/s → t=2s:20/s`` (rates) for `gradual validate`."""
    unit = "/s" if rate else ""
    return " → ".join(f"t={s.offset:g}s:{s.target:g}{unit}" for s in steps)
