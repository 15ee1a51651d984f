"""What gradual counts is exactly what the server received, per request, for every way users pick requests.

Each test runs `gradual run` as a subprocess against the demo target process and compares the --json
summary with the target's own `/__counts`.
"""

from __future__ import annotations

from pathlib import Path

from support.gradual_run import HTTP_BASE, run_gradual, server_counts, write_run_config
from support.target import TargetProcess


def _http(path: str, method: str = "GET", **extra: object) -> dict[str, object]:
    return {"url": f"{HTTP_BASE}{path}", "method": method, **extra}


def test_server_received_exactly_the_reported_count_of_every_request(
    target: TargetProcess, tmp_path: Path
) -> None:
    requests = {
        "list_users": _http("/users", params={"page": 2}),
        "get_product": _http("/products/7"),
        "create_order": _http("/orders", "POST", params={"product": 7}),
        "update_order": _http("/orders/1", "PUT", params={"quantity": 3}),
        "delete_order": _http("/orders/2", "DELETE"),
    }
    config = write_run_config(tmp_path, {
        "load": {"run_time": 2, "scenarios": {
            "journey": {"requests": ["list_users", "get_product", "create_order"], "min_concurrency": 1,
                        "max_concurrency": 3, "ramp_up_add": 1, "ramp_up_wait": 0.5,
                        "iterate_through_requests": True},
            "pinned": {"requests": ["update_order", "delete_order"], "min_concurrency": 2,
                       "max_concurrency": 4, "ramp_up_multiply": 2, "ramp_up_wait": 1},
        }},
    }, requests=requests)
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    reported = run.counts()
    assert all(n > 0 for n in reported.values()), reported
    assert server_counts(target) == {
        "GET /users": reported["list_users"],
        "GET /products/7": reported["get_product"],
        "POST /orders": reported["create_order"],
        "PUT /orders/1": reported["update_order"],
        "DELETE /orders/2": reported["delete_order"],
    }
    assert run.summary is not None
    assert run.summary["totals"]["count"] == sum(reported.values())
    assert run.summary["totals"]["failures"] == 0


def test_counts_stay_exact_across_phases(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "first": {"run_time": 1, "scenarios": {"a": {"requests": ["one"], "min_concurrency": 2,
                                                     "max_concurrency": 2}}},
        "second": {"run_time": 1, "scenarios": {"b": {"requests": ["two"], "min_concurrency": 3,
                                                      "max_concurrency": 3}}},
    }, requests={"one": _http("/first"), "two": _http("/second")}, wait_between_phases=0.5)
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    assert [p["name"] for p in run.summary["phases"]] == ["first", "second"]  # type: ignore[index]
    assert server_counts(target) == {"GET /first": run.counts()["one"], "GET /second": run.counts()["two"]}


def test_iterating_user_walks_its_requests_in_order(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "load": {"run_time": 1.5, "scenarios": {
            "journey": {"requests": ["step1", "step2", "step3"], "min_concurrency": 1, "max_concurrency": 1,
                        "iterate_through_requests": True},
        }},
    }, requests={"step1": _http("/step/1"), "step2": _http("/step/2"), "step3": _http("/step/3")})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    seen = server_counts(target)
    steps = [seen.get(f"GET /step/{i}", 0) for i in (1, 2, 3)]
    assert steps == [run.counts()[f"step{i}"] for i in (1, 2, 3)]
    # One user going round step1 → step2 → step3: it stops at an iteration boundary, so step1 is
    # ahead of step3 by at most one and the counts never increase along the journey.
    assert steps[0] > 10
    assert steps[0] >= steps[1] >= steps[2] >= steps[0] - 1
    # The user's three requests go to one host: one keep-alive connection (+1: the target's control one).
    assert target.counts()["peak_connections"] == 1 + 1


def test_pinned_users_are_spread_round_robin_over_the_requests(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "load": {"run_time": 1.5, "scenarios": {
            "four_users": {"requests": ["four_a", "four_b"], "min_concurrency": 4, "max_concurrency": 4},
            "one_user": {"requests": ["one_a", "one_b"], "min_concurrency": 1, "max_concurrency": 1},
        }},
    }, requests={"four_a": _http("/four/a"), "four_b": _http("/four/b"),
                 "one_a": _http("/one/a"), "one_b": _http("/one/b")})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    seen = server_counts(target)
    reported = run.counts()
    # Four users on two requests: two users each, so both get load, in roughly equal shares.
    assert seen["GET /four/a"] == reported["four_a"] > 0
    assert seen["GET /four/b"] == reported["four_b"] > 0
    assert 0.5 < seen["GET /four/a"] / seen["GET /four/b"] < 2.0
    # One user is pinned to the first request: the second one never gets any.
    assert seen["GET /one/a"] == reported["one_a"] > 0
    assert "GET /one/b" not in seen
    assert reported.get("one_b", 0) == 0


def test_run_once_batches_send_one_request_per_user_and_end_the_phase_early(
    target: TargetProcess, tmp_path: Path
) -> None:
    config = write_run_config(tmp_path, {
        "signups": {"run_time": 5, "scenarios": {
            "register": {"requests": ["signup"], "min_concurrency": 2, "max_concurrency": 8,
                         "ramp_up_multiply": 2, "ramp_up_wait": 0.2, "run_once": True},
        }},
    }, requests={"signup": _http("/signup", "POST", params={"user": "x"})})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    assert server_counts(target) == {"POST /signup": 2 + 4 + 8}
    assert run.counts() == {"signup": 14}
    phase = run.summary["phases"][0]  # type: ignore[index]
    assert phase["ended_early"] is True
    assert phase["duration_s"] < 2.5
    assert run.elapsed_s < 4.5
    # Batches of 2, 4 and 8 one-shot users: the largest batch is the peak.
    assert phase["scenarios"][0]["peak_users"] == 8
