"""The per-second series add up: a request's per-second counts sum to its total (the stop's tail included),
a scenario's to its requests', and the users of second N are those second N had. Real `gradual run`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gradual_run import HTTP_BASE, GradualRun, run_gradual, server_counts, write_run_config
from support.target import TargetProcess


def _ramp_config(tmp_path: Path) -> Path:
    # 300 ms requests: at the stop every user has one in flight, interrupted in the phase's last sliver.
    return write_run_config(tmp_path, {"p1": {"run_time": 2.1, "scenarios": {
        "s1": {"requests": ["slow"], "min_concurrency": 2, "max_concurrency": 6, "ramp_up_add": 2,
               "ramp_up_wait": 1},
        "s2": {"requests": ["fast", "other"], "min_concurrency": 1, "max_concurrency": 1,
               "iterate_through_requests": True}}}},
        requests={"slow": {"url": f"{HTTP_BASE}/slow?ms=300"}, "fast": {"url": f"{HTTP_BASE}/users"},
                  "other": {"url": f"{HTTP_BASE}/products/1"}}, stop_timeout=0.05)


def _assert_sums(run: GradualRun) -> None:
    assert run.summary is not None
    for req in run.requests():
        points = [p for p in run.summary["timeseries_requests"]
                  if (p["phase"], p["scenario"], p["request"]) == (req["phase"], req["scenario"], req["name"])]
        assert sum(p["count"] for p in points) == req["count"] > 0, (req["name"], points)
        assert sum(p["failures"] for p in points) == req["failures"]
    for scen in {(r["phase"], r["scenario"]) for r in run.requests()}:
        points = [p for p in run.summary["timeseries"] if (p["phase"], p["scenario"]) == scen]
        assert sum(p["count"] for p in points) == sum(r["count"] for r in run.requests()
                                                      if (r["phase"], r["scenario"]) == scen)
    assert sum(p["count"] for p in run.summary["timeseries_total"]) == run.summary["totals"]["count"]


def test_per_second_counts_add_up_and_users_belong_to_their_second(target: TargetProcess, tmp_path: Path) -> None:
    target.reset()
    run = run_gradual(_ramp_config(tmp_path), target=target)

    assert run.returncode == 0, run.stderr
    slow = run.request("slow")
    assert slow["interrupted"] > 0  # the tail this is about
    assert server_counts(target)["GET /slow"] == slow["count"]
    _assert_sums(run)
    assert run.summary is not None
    users = {p["t"]: p["users"] for p in run.summary["timeseries"] if p["scenario"] == "s1"}
    assert users[0] == 2 and users[1] == 4, users  # 2 users in second 0; the step at t=1 opens second 1
    last = max(p["t"] for p in run.summary["timeseries"])
    assert last == 1  # the 0.15 s tail is in second 1's window, which covers it too
    assert next(p["window_s"] for p in run.summary["timeseries"] if p["t"] == 1) > 1.0


@pytest.mark.parametrize("workers", [2])
def test_per_second_counts_add_up_in_a_cluster(target: TargetProcess, tmp_path: Path, workers: int) -> None:
    target.reset()
    run = run_gradual(_ramp_config(tmp_path), target=target, timeout=60, extra_args=["--workers", str(workers)])

    assert run.returncode == 0, run.stderr
    assert server_counts(target)["GET /slow"] == run.request("slow")["count"]
    _assert_sums(run)
