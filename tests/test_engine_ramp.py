"""The users a run shows over time follow the ramp of the plan, as gradual reports it and as the server sees it."""

from __future__ import annotations

from pathlib import Path

from support.gradual_run import HTTP_BASE, run_gradual, write_run_config
from support.target import TargetProcess

from gradual import plan
from gradual.configs.model import ScenarioConfig

# A sample is taken on the controller's tick; a step due at the same instant may land on either side.
EDGE_S = 0.15


def _target_at(steps: list[plan.Step], t: float) -> set[int]:
    """The users the plan allows at time t: one value, or both neighbours when t is next to a step."""
    allowed = set()
    for probe in (t - EDGE_S, t, t + EDGE_S):
        current = steps[0].target
        for step in steps:
            if step.offset <= probe:
                current = step.target
        allowed.add(current)
    return allowed


def test_users_over_time_follow_the_ramp(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "ramp": {"run_time": 4, "scenarios": {
            "adding": {"requests": ["add_req"], "min_concurrency": 1, "max_concurrency": 5,
                       "ramp_up_add": 2, "ramp_up_wait": 1},
            "doubling": {"requests": ["mul_req"], "min_concurrency": 1, "max_concurrency": 6,
                         "ramp_up_multiply": 2, "ramp_up_wait": [1.5, 1]},
        }},
    }, requests={"add_req": {"url": f"{HTTP_BASE}/adding"}, "mul_req": {"url": f"{HTTP_BASE}/doubling"}})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    adding = ScenarioConfig("adding", (), 1, 5, ramp_up_add=(2,), ramp_up_wait=(1.0,))
    doubling = ScenarioConfig("doubling", (), 1, 6, ramp_up_multiply=(2.0,), ramp_up_wait=(1.5, 1.0))
    plans = {"adding": plan.timeline(adding, 4), "doubling": plan.timeline(doubling, 4)}
    assert [(s.offset, s.target) for s in plans["adding"]] == [(0, 1), (1, 3), (2, 5)]
    assert [(s.offset, s.target) for s in plans["doubling"]] == [(0, 1), (1.5, 2), (2.5, 4), (3.5, 6)]

    samples = [(t, users) for t, users in run.users_over_time("ramp") if t < 4 - EDGE_S]
    assert len(samples) >= 3, run.users_over_time("ramp")
    for t, users in samples:
        for name, steps in plans.items():
            assert users[name] in _target_at(steps, t), (name, t, users)

    scenarios = {s["name"]: s for s in run.summary["phases"][0]["scenarios"]}
    assert scenarios["adding"]["peak_users"] == 5
    assert scenarios["doubling"]["peak_users"] == 6
    # Each user holds one keep-alive connection; the target's own control connection is the +1.
    assert target.counts()["peak_connections"] == 5 + 6 + 1


def test_scenario_without_ramp_holds_min_concurrency(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "steady": {"run_time": 2.2, "scenarios": {
            "flat": {"requests": ["flat_req"], "min_concurrency": 3, "max_concurrency": 10},
        }},
    }, requests={"flat_req": {"url": f"{HTTP_BASE}/flat"}})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    users = [users["flat"] for t, users in run.users_over_time("steady") if t < 2.2 - EDGE_S]
    assert users and set(users) == {3}
    assert run.summary["phases"][0]["scenarios"][0]["peak_users"] == 3
    assert target.counts()["peak_connections"] == 3 + 1
