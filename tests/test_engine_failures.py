"""Failed HTTP requests are counted like any other, each under the kind of failure it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gradual_run import HTTP_BASE, GradualRun, closed_port, run_gradual, server_counts, write_run_config
from support.target import TargetProcess


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GradualRun, dict[str, int]]:
    """One run where every request fails in its own way; the summary and what the server saw."""
    tmp_path: Path = tmp_path_factory.mktemp("failing_run")
    refused = closed_port()
    config = write_run_config(tmp_path, {
        "failing": {"run_time": 1.5, "scenarios": {
            "statuses": {"requests": ["not_found", "unavailable"], "min_concurrency": 2, "max_concurrency": 2},
            "refused": {"requests": ["refused"], "min_concurrency": 1, "max_concurrency": 1},
            "slow": {"requests": ["too_slow"], "min_concurrency": 2, "max_concurrency": 2},
            "fine": {"requests": ["fine"], "min_concurrency": 1, "max_concurrency": 1},
        }},
    }, requests={
        "not_found": {"url": f"{HTTP_BASE}/status/404"},
        "unavailable": {"url": f"{HTTP_BASE}/status/503", "method": "POST", "params": {"a": 1}},
        "refused": {"url": f"http://127.0.0.1:{refused}/nobody", "timeout": 2},
        "too_slow": {"url": f"{HTTP_BASE}/slow?ms=2000", "timeout": 0.3},
        "fine": {"url": f"{HTTP_BASE}/status/200"},
    })
    with TargetProcess() as target:
        run = run_gradual(config, target=target)
        seen = server_counts(target)
    assert run.returncode == 0, run.stderr
    return run, seen


def test_http_error_statuses_are_http_failures(failing_run: tuple[GradualRun, dict[str, int]]) -> None:
    run, seen = failing_run
    for name, status, key in (("not_found", 404, "GET /status/404"), ("unavailable", 503, "POST /status/503")):
        req = run.request(name)
        assert req["count"] == seen[key] > 0
        assert req["failures"] == req["count"]
        assert req["status_codes"] == {str(status): req["count"]}
        assert req["errors"] == [{"kind": "http", "message": f"HTTP {status}", "count": req["count"]}]


def test_refused_connection_is_a_connection_failure(failing_run: tuple[GradualRun, dict[str, int]]) -> None:
    run, seen = failing_run
    req = run.request("refused")
    assert req["count"] > 0
    assert req["failures"] == req["count"]
    assert run.errors("refused") == {"connection": req["count"]}
    assert "refused" in req["errors"][0]["message"].lower()
    assert "GET /nobody" not in seen


def test_request_past_its_timeout_is_a_timeout_failure(failing_run: tuple[GradualRun, dict[str, int]]) -> None:
    run, seen = failing_run
    req = run.request("too_slow")
    assert req["count"] == seen["GET /slow"]
    # Two users, each giving up after 0.3 s: at most 5 or 6 tries each in 1.5 s (never the 2 s answer).
    assert 4 <= req["count"] <= 12
    assert req["failures"] == req["count"]
    assert run.errors("too_slow") == {"timeout": req["count"]}
    assert req["latency_ms"]["min"] >= 290
    assert req["latency_ms"]["max"] < 1000


def test_failures_elsewhere_do_not_touch_a_healthy_request(failing_run: tuple[GradualRun, dict[str, int]]) -> None:
    run, seen = failing_run
    req = run.request("fine")
    assert req["count"] == seen["GET /status/200"] > 0
    assert req["failures"] == 0 and req["errors"] == []
    assert run.summary is not None
    totals = run.summary["totals"]
    assert totals["failures"] == sum(r["failures"] for r in run.requests())
    assert totals["count"] == sum(r["count"] for r in run.requests())
