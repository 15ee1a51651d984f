"""Stopping: the phase end waits stop_timeout for requests in flight, then kills them and counts them as
interrupted; Ctrl-C (SIGINT) stops at once, exits 130 and still writes the summary."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from support.gradual_run import HTTP_BASE, finish, run_gradual, server_counts, start_gradual, write_run_config
from support.target import TargetProcess

PYTHON_HANG = """\
import os

from gradual import request

BASE = os.environ["GRADUAL_TARGET"]


@request(name="python_hang", url=f"{BASE}/hang")
def python_hang(ctx):
    return ctx.session.get(f"{BASE}/hang", timeout=30)
"""


def test_request_hanging_past_the_phase_end_is_killed_after_stop_timeout_and_counted_interrupted(
    target: TargetProcess, tmp_path: Path
) -> None:
    (tmp_path / "stuck.py").write_text(PYTHON_HANG, encoding="utf-8")
    config = write_run_config(tmp_path, {
        "hanging": {"run_time": 1.5, "scenarios": {
            "stuck": {"requests": ["hang"], "min_concurrency": 3, "max_concurrency": 3},
            "stuck_python": {"requests": ["python_hang"], "request_file": "stuck.py", "min_concurrency": 2,
                             "max_concurrency": 2},
            "busy": {"requests": ["quick"], "min_concurrency": 1, "max_concurrency": 1},
        }},
    }, requests={"hang": {"url": f"{HTTP_BASE}/hang"}, "quick": {"url": f"{HTTP_BASE}/quick"}},
        stop_timeout=1)
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    hang, python_hang = run.request("hang"), run.request("python_hang")
    # Every user stuck in its first request until the stop timeout killed it, HTTP or Python alike.
    assert hang["count"] == hang["interrupted"] == 3
    assert python_hang["count"] == python_hang["interrupted"] == 2
    assert hang["failures"] == python_hang["failures"] == 0
    assert run.summary["totals"]["interrupted"] == 5
    assert server_counts(target) == {"GET /hang": 3 + 2, "GET /quick": run.request("quick")["count"]}
    assert run.request("quick")["interrupted"] == 0
    # The phase lasts run_time + stop_timeout: no less (the timeout was honoured), not much more.
    duration = run.summary["phases"][0]["duration_s"]
    assert 2.4 <= duration <= 3.5
    assert 2.4 <= run.summary["run"]["duration_s"] <= 4.0
    # Killed users close their sockets: the target is left with its own control connection only.
    target.wait_for(lambda counts: counts["connections"] == 1, timeout=3)


def test_sigint_stops_the_run_exits_130_and_still_writes_the_summary(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "long": {"run_time": 10, "scenarios": {
            "steady": {"requests": ["steady"], "min_concurrency": 2, "max_concurrency": 2},
            "stuck": {"requests": ["hang"], "min_concurrency": 1, "max_concurrency": 1},
        }},
        "never": {"run_time": 10, "scenarios": {
            "later": {"requests": ["later"], "min_concurrency": 1, "max_concurrency": 1},
        }},
    }, requests={"steady": {"url": f"{HTTP_BASE}/steady"}, "hang": {"url": f"{HTTP_BASE}/hang"},
                 "later": {"url": f"{HTTP_BASE}/later"}}, stop_timeout=5)
    target.reset()
    json_path = tmp_path / "summary.json"
    proc = start_gradual(["run", str(config), "--quiet", "--json", str(json_path)], target=target)
    try:
        # Start-up (imports, the first connections) is not what is timed: on a loaded machine it takes seconds.
        target.wait_for(lambda counts: counts["total"] > 100, timeout=30)
        time.sleep(0.5)
    finally:
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)

    run = finish(proc, json_path, interrupted, timeout=15)

    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert run.summary is not None
    assert run.summary["run"]["exit_code"] == 130
    assert run.summary["run"]["interrupted"] is True
    # Interrupted: no stop_timeout wait (5 s, with a request hanging all along) and the second phase never
    # starts. Timed from the signal: waiting out the stop timeout would take 5 s or more.
    assert run.elapsed_s < 5, run.elapsed_s
    assert [p["name"] for p in run.summary["phases"]] == ["long"]
    # The hanging request was killed at once and is still counted, as is every request that was sent.
    assert run.request("hang")["interrupted"] == 1
    assert server_counts(target) == {"GET /steady": run.request("steady")["count"], "GET /hang": 1}
