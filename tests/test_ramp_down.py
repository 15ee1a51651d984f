"""Ramp-down and ramps that cannot move: plans (properties and examples), the warnings they earn, a real run.

A negative ramp_up_add or a ramp_up_multiply below 1 steps from min_concurrency down to max_concurrency;
a ramp that stops short of max holds where it stopped, with a warning naming file, line and key path.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from support.gradual_run import HTTP_BASE, REPO_ROOT, gradual_env, run_gradual, write_run_config
from support.target import TargetProcess

from gradual import plan
from gradual.configs import ScenarioConfig, load
from gradual.configs.errors import display_path
from gradual.plan import Step

WARNINGS = Path(__file__).resolve().parent / "configs" / "warnings"
SCEN = "runs.phases.p1.scenarios.s1"
EDGE_S = 0.15  # a sample taken next to a step may land on either side of it


def scenario(lo: int, hi: int, *, multiply: tuple[float, ...] | None = None, add: tuple[int, ...] | None = None,
             wait: tuple[float, ...] = (1.0,)) -> ScenarioConfig:
    return ScenarioConfig(name="s", requests=(), min_concurrency=lo, max_concurrency=hi, ramp_up_multiply=multiply,
                          ramp_up_add=add, ramp_up_wait=wait)


def pairs(steps: list[Step]) -> list[tuple[float, int]]:
    return [(s.offset, s.target) for s in steps]


def test_negative_add_steps_down_to_max_and_stops_there() -> None:
    assert pairs(plan.timeline(scenario(10, 0, add=(-3,)), 60)) == [(0, 10), (1, 7), (2, 4), (3, 1), (4, 0)]


def test_multiply_below_one_rounds_down_and_stops_at_max() -> None:
    assert [s.target for s in plan.timeline(scenario(10, 2, multiply=(0.5,)), 60)] == [10, 5, 2]
    assert [s.target for s in plan.timeline(scenario(9, 1, multiply=(0.9,)), 60)] == [9, 8, 7, 6, 5, 4, 3, 2, 1]


def test_run_once_batches_ramp_down_too() -> None:
    assert [b.size for b in plan.run_once_batches(scenario(6, 2, add=(-2,)))] == [6, 4, 2]


@st.composite
def ramps_down(draw: st.DrawFn) -> ScenarioConfig:
    hi = draw(st.integers(0, 30))
    lo = draw(st.integers(hi + 1, 90))
    waits = tuple(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5]), min_size=1, max_size=3)))
    if draw(st.booleans()):
        head = draw(st.lists(st.floats(0.05, 1.0), max_size=3))
        return scenario(lo, hi, multiply=(*head, draw(st.floats(0.05, 0.95))), wait=waits)
    head = draw(st.lists(st.integers(-6, 0), max_size=3))
    return scenario(lo, hi, add=(*head, draw(st.integers(-6, -1))), wait=waits)


@settings(max_examples=300, deadline=None)
@given(scen=ramps_down(), run_time=st.sampled_from([0.5, 2.0, 7.5, 600.0]))
def test_a_ramp_down_is_monotone_toward_max_and_never_past_it(scen: ScenarioConfig, run_time: float) -> None:
    lo, hi = scen.min_concurrency, scen.max_concurrency
    ramp = plan.ramp(scen)
    assert ramp[0] == Step(0.0, lo) and ramp[-1].target == hi  # from min, all the way down to max
    assert all(hi <= s.target <= lo for s in ramp)
    assert all(s.target > hi for s in ramp[:-1])  # it stops once it is there
    for k, (prev, nxt) in enumerate(zip(ramp, ramp[1:], strict=False)):
        assert nxt.target <= prev.target and nxt.offset >= prev.offset
        factors = scen.ramp_up_multiply or scen.ramp_up_add
        assert factors is not None
        value = factors[min(k, len(factors) - 1)]
        moved = math.floor(prev.target * value + 1e-9) if scen.ramp_up_multiply else prev.target + value
        assert nxt.target == max(hi, moved)
    steps = plan.timeline(scen, run_time)
    assert steps[0] == Step(0.0, lo) and all(s.offset < run_time for s in steps[1:])
    assert all(b.target < a.target for a, b in zip(steps, steps[1:], strict=False))  # strictly down, no repeats


@settings(max_examples=200, deadline=None)
@given(lo=st.integers(0, 40), hi=st.integers(0, 40), value=st.integers(-5, 5))
def test_any_add_moves_only_toward_max(lo: int, hi: int, value: int) -> None:
    for step in plan.timeline(scenario(lo, hi, add=(value,), wait=(0.5,)), 100):
        assert min(lo, hi) <= step.target <= max(lo, hi)


# --- warnings: the file runs, and says what it does instead -----------------------------------------------

def where(name: str) -> str:
    return display_path(WARNINGS / name)


def _loaded(name: str) -> tuple[ScenarioConfig, list[str]]:
    """The scenario and its warnings as a user reads them, with the file's path as the test names it."""
    run = load(WARNINGS / name)
    (scen,) = run.phases[0].scenarios
    for warning in run.warnings:
        assert Path(warning.file) == WARNINGS / name
    return scen, [str(w) for w in run.warnings]


def test_a_ramp_that_cannot_grow_holds_min_with_a_warning() -> None:
    scen, warnings = _loaded("multiply_one.yaml")
    assert plan.describe(plan.timeline(scen, 10)) == "t=0s:2"
    assert warnings == [f"{where('multiply_one.yaml')}:13: {SCEN}.ramp_up_multiply: ramp_up_multiply 1 "
                        "cannot grow the target, so the scenario holds 2 users and never reaches max_concurrency (5)"]


def test_a_list_ending_on_a_no_op_holds_where_it_stopped() -> None:
    scen, warnings = _loaded("stalled_multiply.yaml")
    assert [s.target for s in plan.timeline(scen, 10)] == [1, 2]
    assert warnings == [f"{where('stalled_multiply.yaml')}:13: {SCEN}.ramp_up_multiply: the ramp stops at "
                        "2 users: its last value is 1, so the scenario holds 2 users and never reaches "
                        "max_concurrency (5)"]
    scen, warnings = _loaded("stalled_add.yaml")
    assert [s.target for s in plan.timeline(scen, 10)] == [1]
    assert warnings == [f"{where('stalled_add.yaml')}:13: {SCEN}.ramp_up_add: ramp_up_add 0 cannot grow the "
                        "target, so the scenario holds 1 user and never reaches max_concurrency (5)"]


def test_multiply_from_zero_starts_at_one_user_with_a_warning() -> None:
    scen, warnings = _loaded("multiply_min_zero.yaml")
    assert scen.min_concurrency == 1
    assert [s.target for s in plan.timeline(scen, 10)] == [1, 2, 4, 5]
    assert warnings == [f"{where('multiply_min_zero.yaml')}:13: {SCEN}.ramp_up_multiply: multiplying from "
                        "min_concurrency 0 would stay at 0 users: the scenario starts at 1 user instead"]


def test_validate_prints_each_warning_once_and_exits_0() -> None:
    proc = subprocess.run([sys.executable, "-m", "gradual", "validate", str(WARNINGS / "multiply_one.yaml")],
                          capture_output=True, text=True, env=gradual_env(), cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(lines) == 1 and "multiply_one.yaml:13: runs.phases.p1.scenarios.s1.ramp_up_multiply: " in lines[0]
    assert "plan: t=0s:2" in proc.stdout


def test_warnings_are_shown_beside_errors() -> None:
    proc = subprocess.run([sys.executable, "-m", "gradual", "validate", str(WARNINGS / "with_an_error.yaml")],
                          capture_output=True, text=True, env=gradual_env(), cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 2
    assert "warning: " in proc.stderr and "ramp_up_add 0 cannot grow" in proc.stderr
    assert "error: " in proc.stderr and "run_time: must be greater than 0" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- a real run ------------------------------------------------------------------------------------------

def test_users_observed_over_time_go_down(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "cool_down": {"run_time": 4, "scenarios": {
            "shrinking": {"requests": ["down_req"], "min_concurrency": 7, "max_concurrency": 1,
                          "ramp_up_add": -3, "ramp_up_wait": 1},
        }},
    }, requests={"down_req": {"url": f"{HTTP_BASE}/down"}})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr
    steps = plan.timeline(scenario(7, 1, add=(-3,)), 4)
    assert pairs(steps) == [(0, 7), (1, 4), (2, 1)]
    samples = [(t, users["shrinking"]) for t, users in run.users_over_time("cool_down") if t < 4 - EDGE_S]
    assert len(samples) >= 3, samples
    for t, users in samples:
        allowed = {next(s.target for s in reversed(steps) if s.offset <= max(0.0, probe))
                   for probe in (t - EDGE_S, t, t + EDGE_S)}
        assert users in allowed, (t, users, samples)
    assert [u for _, u in samples] == sorted((u for _, u in samples), reverse=True)  # never back up
    assert samples[0][1] == 7 and samples[-1][1] == 1
    assert run.summary is not None and run.summary["phases"][0]["scenarios"][0]["peak_users"] == 7
    # The server saw 7 connections at once, then the surplus users closed theirs: +1 is the control connection.
    counts = target.counts()
    assert counts["peak_connections"] == 7 + 1
    assert counts["requests"]["GET /down"] == run.counts()["down_req"]
