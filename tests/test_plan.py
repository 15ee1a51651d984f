"""The plan: ramp semantics of DESIGN.md, as properties over generated scenarios and as exact examples."""

from __future__ import annotations

import math
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gradual import plan
from gradual.configs import ScenarioConfig, load
from gradual.plan import Batch, Step

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def scenario(lo: int = 1, hi: int = 5, *, multiply: tuple[float, ...] | None = None,
             add: tuple[int, ...] | None = None, wait: tuple[float, ...] = (1.0,), run_once: bool = False,
             ) -> ScenarioConfig:
    return ScenarioConfig(name="s", requests=(), min_concurrency=lo, max_concurrency=hi, ramp_up_multiply=multiply,
                          ramp_up_add=add, ramp_up_wait=wait, run_once=run_once)


def pairs(steps: list[Step]) -> list[tuple[float, int]]:
    return [(s.offset, s.target) for s in steps]


# --- exact examples ------------------------------------------------------------------------------------------

def test_readme_example_multiply() -> None:
    scen = scenario(1, 5, multiply=(1, 2, 3), wait=(2, 2, 2))
    assert pairs(plan.ramp(scen)) == [(0, 1), (2, 1), (4, 2), (6, 5)]  # the ×1 step takes its wait too
    steps = plan.timeline(scen, 10)
    assert pairs(steps) == [(0, 1), (4, 2), (6, 5)]
    assert plan.describe(steps) == "t=0s:1 → t=4s:2 → t=6s:5"


def test_add_ramp_scalar_repeats() -> None:
    assert pairs(plan.timeline(scenario(2, 8, add=(2,), wait=(1,)), 6)) == [(0, 2), (1, 4), (2, 6), (3, 8)]


def test_add_list_last_values_repeat_and_cap_at_max() -> None:
    steps = plan.timeline(scenario(0, 10, add=(1, 3), wait=(1, 0.5)), 60)
    assert pairs(steps) == [(0, 0), (1, 1), (1.5, 4), (2.0, 7), (2.5, 10)]


def test_fractional_multiply_rounds_up_and_exact_products_do_not() -> None:
    assert [s.target for s in plan.timeline(scenario(1, 10, multiply=(1.5,)), 60)] == [1, 2, 3, 5, 8, 10]
    assert [s.target for s in plan.timeline(scenario(3, 100, multiply=(2.0,)), 60)] == [3, 6, 12, 24, 48, 96, 100]
    assert [s.target for s in plan.timeline(scenario(10, 40, multiply=(1.1,)), 60)][:3] == [10, 11, 13]


def test_no_ramp_holds_min() -> None:
    assert pairs(plan.timeline(scenario(3, 10), 30)) == [(0, 3)]
    assert plan.run_once_batches(scenario(3, 10, run_once=True)) == [Batch(0.0, 3)]


def test_min_equal_max_has_a_single_step() -> None:
    assert pairs(plan.timeline(scenario(4, 4, multiply=(2,)), 30)) == [(0, 4)]


def test_timeline_is_cut_at_run_time() -> None:
    steps = plan.timeline(scenario(1, 100, add=(1,), wait=(1,)), 5)
    assert pairs(steps) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]  # the step at t=5 is after the phase


def test_timeline_of_a_huge_slow_ramp_stops_at_run_time_quickly() -> None:
    started = time.perf_counter()
    steps = plan.timeline(scenario(1, 10**9, add=(1,), wait=(1,)), 10)
    assert len(steps) == 10 and steps[-1] == Step(9, 10)
    assert time.perf_counter() - started < 1


def test_zero_waits_put_every_step_at_phase_start() -> None:
    steps = plan.timeline(scenario(1, 8, multiply=(2,), wait=(0,)), 5)
    assert pairs(steps) == [(0, 1), (0, 2), (0, 4), (0, 8)]


def test_run_once_batches_sizes_and_waits() -> None:
    assert plan.run_once_batches(scenario(2, 6, add=(2,), wait=(1,), run_once=True)) == [
        Batch(0.0, 2), Batch(1.0, 4), Batch(1.0, 6)]
    # a ×1 step launches a batch of the same size again, after its own wait
    assert plan.run_once_batches(scenario(1, 4, multiply=(1, 2), wait=(3, 1), run_once=True)) == [
        Batch(0.0, 1), Batch(3.0, 1), Batch(1.0, 2), Batch(1.0, 4)]


def test_build_gives_steps_for_closed_scenarios_and_batches_for_run_once() -> None:
    run = load(EXAMPLES / "yaml_test_config.yaml", EXAMPLES / "request_config.yaml")
    (phase,) = plan.build(run)
    assert phase.name == "shop" and phase.run_time == 8
    buyers, signups = phase.scenarios
    assert pairs(list(buyers.steps)) == [(0, 1), (1, 2), (2, 4), (3, 10)] and buyers.batches == ()
    assert signups.steps == () and list(signups.batches) == [Batch(0, 2), Batch(1, 4), Batch(1, 6)]


def test_examples_timelines() -> None:
    run = load(EXAMPLES / "test_config.yaml")
    by_name = {(p.name, s.name): plan.timeline(s, p.run_time) for p in run.phases for s in p.scenarios}
    assert plan.describe(by_name["api_testing", "user_operations"]) == "t=0s:1 → t=4s:2 → t=6s:5"
    assert plan.describe(by_name["browse", "catalogue"]) == "t=0s:2 → t=1s:4 → t=2s:6 → t=3s:8"
    assert plan.describe(by_name["browse", "live_updates"]) == "t=0s:1 → t=1s:2 → t=2s:4"


# --- properties ----------------------------------------------------------------------------------------------

_waits = st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5]), min_size=1, max_size=4).map(tuple)


@st.composite
def scenarios(draw: st.DrawFn) -> ScenarioConfig:
    kind = draw(st.sampled_from(["none", "multiply", "add"]))
    lo = draw(st.integers(1 if kind == "multiply" else 0, 30))
    hi = draw(st.integers(max(lo, 1), 80))
    multiply = add = None
    if kind == "multiply":
        head = draw(st.lists(st.floats(1, 4), max_size=3))
        multiply = (*head, draw(st.floats(1.05, 4)))  # the last value grows the target: validation demands it
    elif kind == "add":
        head = draw(st.lists(st.integers(0, 5), max_size=3))
        add = (*head, draw(st.integers(1, 5)))
    if kind == "none" and lo == 0:
        lo = 1
    return scenario(lo, max(hi, lo), multiply=multiply, add=add, wait=draw(_waits), run_once=draw(st.booleans()))


_run_times = st.sampled_from([0.5, 1.0, 2.0, 3.0, 7.5, 30.0, 600.0])


def _at(values: tuple, k: int) -> float:
    return values[min(k, len(values) - 1)]


@settings(max_examples=300, deadline=None)
@given(scen=scenarios(), run_time=_run_times)
def test_timeline_properties(scen: ScenarioConfig, run_time: float) -> None:
    steps = plan.timeline(scen, run_time)
    lo, hi = scen.min_concurrency, scen.max_concurrency
    assert steps[0] == Step(0.0, lo)  # starts at min when the phase starts
    assert all(lo <= s.target <= hi for s in steps)  # never exceeds max
    for prev, nxt in zip(steps, steps[1:], strict=False):  # monotone: later and higher
        assert nxt.offset >= prev.offset and nxt.target > prev.target
    assert all(s.offset < run_time for s in steps)  # nothing after run_time
    # the timeline is the ramp's target changes, cut at run_time
    changes = [s for i, s in enumerate(plan.ramp(scen)) if i == 0 or s.target != plan.ramp(scen)[i - 1].target]
    assert steps == [s for s in changes if s.offset < run_time or s.offset == 0]


@settings(max_examples=300, deadline=None)
@given(scen=scenarios())
def test_ramp_follows_the_lists_and_their_last_value_repeats(scen: ScenarioConfig) -> None:
    steps = plan.ramp(scen)
    factors = scen.ramp_up_multiply or scen.ramp_up_add
    if factors is None:
        assert steps == [Step(0.0, scen.min_concurrency)]
        return
    assert steps[-1].target == scen.max_concurrency  # a non-stalling ramp ends at max ...
    assert all(s.target < scen.max_concurrency for s in steps[:-1])  # ... and stops there
    for k, (prev, nxt) in enumerate(zip(steps, steps[1:], strict=False)):
        value = _at(factors, k)  # past the list's end, its last value
        grown = math.ceil(prev.target * value - 1e-9) if scen.ramp_up_multiply else prev.target + value
        assert nxt.target == min(scen.max_concurrency, grown)
        assert math.isclose(nxt.offset - prev.offset, _at(scen.ramp_up_wait, k), abs_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(scen=scenarios())
def test_run_once_batches_properties(scen: ScenarioConfig) -> None:
    batches = plan.run_once_batches(scen)
    steps = plan.ramp(scen)
    assert batches[0] == Batch(0.0, scen.min_concurrency)
    assert [b.size for b in batches] == [s.target for s in steps]
    assert all(b.wait >= 0 for b in batches)
    assert all(b.size <= scen.max_concurrency for b in batches)
    assert math.isclose(sum(b.wait for b in batches), steps[-1].offset, abs_tol=1e-6)
    if scen.ramp_up_multiply or scen.ramp_up_add:
        assert batches[-1].size == scen.max_concurrency  # done after the batch at max


@settings(max_examples=100, deadline=None)
@given(scen=scenarios(), run_time=_run_times)
def test_a_longer_phase_only_appends_steps(scen: ScenarioConfig, run_time: float) -> None:
    short, long = plan.timeline(scen, run_time), plan.timeline(scen, run_time * 2)
    assert long[: len(short)] == short
