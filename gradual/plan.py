"""The plan: pure functions from a scenario's config to its timeline of user targets.

Closed model (DESIGN.md): start at min_concurrency; for step k wait ramp_up_wait[k], then multiply by
ramp_up_multiply[k] (or add ramp_up_add[k]), capped at max_concurrency; a list's last value repeats.
``run_once`` scenarios run the same sequence of sizes as one-shot batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .configs.model import ScenarioConfig


@dataclass(frozen=True)
class Step:
    offset: float  # seconds since phase start
    target: int  # users


@dataclass(frozen=True)
class Batch:
    wait: float  # seconds to wait after the previous batch finished (0 for the first)
    size: int  # one-shot users launched together


def _at(values: tuple, k: int) -> float:
    return values[k] if k < len(values) else values[-1]


def next_target(target: int, hi: int, multiply: tuple | None, add: tuple | None, k: int) -> int:
    """The target after step ``k``."""
    if multiply is not None:
        # ceil so that a fractional factor still moves small targets (1 x 1.5 -> 2); the epsilon keeps
        # exact products (3 x 2.0) from rounding up through float error.
        grown = math.ceil(target * _at(multiply, k) - 1e-9)
    elif add is not None:
        grown = target + int(_at(add, k))
    else:
        grown = target
    return min(hi, grown)


def ramp(scenario: ScenarioConfig) -> list[Step]:
    """Every step of the ramp, from t=0 until the target reaches max (or holds, with no ramp)."""
    lo, hi = scenario.min_concurrency, scenario.max_concurrency
    multiply, add = scenario.ramp_up_multiply, scenario.ramp_up_add
    steps = [Step(0.0, lo)]
    if multiply is None and add is None:
        return steps
    target, offset, k = lo, 0.0, 0
    while target < hi:
        nxt = next_target(target, hi, multiply, add, k)
        if nxt == target and k >= max(len(multiply or ()), len(add or ())):
            break  # stalled past the list's end; validation rejects such configs
        offset += _at(scenario.ramp_up_wait, k)
        steps.append(Step(offset, nxt))
        target, k = nxt, k + 1
    return steps


def timeline(scenario: ScenarioConfig, run_time: float) -> list[Step]:
    """Closed model: the (offset, target) changes that fall inside the phase."""
    out: list[Step] = []
    for step in ramp(scenario):
        if step.offset >= run_time and out:
            break
        if not out or step.target != out[-1].target:
            out.append(step)
    return out


def run_once_batches(scenario: ScenarioConfig) -> list[Batch]:
    """run_once: the batch sizes in launch order, each with its wait; done after the batch at max."""
    steps = ramp(scenario)
    batches = [Batch(0.0, steps[0].target)]
    for prev, step in zip(steps, steps[1:]):
        batches.append(Batch(step.offset - prev.offset, step.target))
    return batches


def describe(steps: list[Step]) -> str:
    """``t=0s:1 → t=2s:2 → t=4s:6`` for `gradual validate`."""
    return " → ".join(f"t={s.offset:g}s:{s.target}" for s in steps)
