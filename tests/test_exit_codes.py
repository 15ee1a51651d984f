"""Exit codes a CI can trust: a run where nothing succeeded fails, --max-error-rate fails a run above it,
and the JUnit report says the same (a case for the run, one per request without thresholds, an interrupted
run as an <error>, the real host name). Real `gradual run` processes against the demo target or a closed port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support.gradual_run import (
    HTTP_BASE,
    closed_port,
    finish,
    gradual_env,
    run_gradual,
    server_counts,
    start_gradual,
    write_run_config,
)
from support.target import REPO_ROOT, TargetProcess

from gradual.verdict import failure_reason


def _cases(junit: Path) -> dict[str, ET.Element]:
    root = ET.parse(junit).getroot()
    return {c.get("name", ""): c for c in root.iter("testcase")}


def test_an_all_failing_run_against_a_refused_port_exits_1_with_one_line(tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p1": {"run_time": 1, "scenarios": {
        "s1": {"requests": ["down"], "min_concurrency": 2, "max_concurrency": 2}}}},
        requests={"down": {"url": f"http://127.0.0.1:{closed_port()}/x"}})
    junit = tmp_path / "junit.xml"

    run = run_gradual(config, extra_args=["--junit", str(junit)])

    assert run.returncode == 1, run.stderr
    reason = [line for line in run.stderr.splitlines() if line.startswith("exit 1:")]
    assert len(reason) == 1 and reason[0].startswith("exit 1: no request succeeded: "), run.stderr
    assert run.summary is not None
    down = run.request("down")
    assert down["count"] > 0 and down["failures"] + down["interrupted"] == down["count"]
    assert run.summary["run"]["exit_code"] == 1
    assert run.summary["run"]["failure_reason"].startswith("no request succeeded")
    cases = _cases(junit)
    assert cases["run engine test"].find("failure") is not None
    assert cases["p1/s1/down"].find("failure") is not None  # no thresholds: a case per request
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("hostname") == socket.gethostname()


def _half_failing(tmp_path: Path) -> Path:
    # One user alternating between a 200 and a 500: half of the requests fail, give or take the last one.
    return write_run_config(tmp_path, {"p1": {"run_time": 1, "scenarios": {
        "s1": {"requests": ["ok", "bad"], "min_concurrency": 1, "max_concurrency": 1,
               "iterate_through_requests": True}}}},
        requests={"ok": {"url": f"{HTTP_BASE}/users"}, "bad": {"url": f"{HTTP_BASE}/status/500"}})


@pytest.mark.parametrize(("limit", "code"), [("10%", 1), ("0.9", 0), (None, 0)])
def test_max_error_rate(target: TargetProcess, tmp_path: Path, limit: str | None, code: int) -> None:
    config = _half_failing(tmp_path)
    target.reset()
    junit = tmp_path / "junit.xml"

    run = run_gradual(config, target=target,
                      extra_args=["--junit", str(junit)] + ([] if limit is None else ["--max-error-rate", limit]))

    assert run.returncode == code, run.stderr
    assert run.summary is not None
    ok, bad = run.request("ok"), run.request("bad")
    assert server_counts(target) == {"GET /users": ok["count"], "GET /status/500": bad["count"]}
    assert bad["failures"] == bad["count"] > 0 and ok["failures"] == 0
    cases = _cases(junit)
    assert cases["p1/s1/ok"].find("failure") is None and cases["p1/s1/bad"].find("failure") is not None
    if code == 1:
        assert "exit 1: failure rate " in run.stderr and "is above --max-error-rate 10%" in run.stderr
        assert cases["run engine test"].find("failure") is not None
    else:
        assert "exit 1:" not in run.stderr
        assert cases["run engine test"].find("failure") is None


def test_a_bad_max_error_rate_is_a_usage_error(tmp_path: Path) -> None:
    run = run_gradual(_half_failing(tmp_path), extra_args=["--max-error-rate", "150%"], json_out=False)

    assert run.returncode == 2
    assert "--max-error-rate: expected a percentage like 5% or a fraction from 0 to 1, found '150%'" in run.stderr


def test_an_interrupted_run_is_a_junit_error(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p1": {"run_time": 30, "scenarios": {
        "s1": {"requests": ["ok"], "min_concurrency": 1, "max_concurrency": 1}}}},
        requests={"ok": {"url": f"{HTTP_BASE}/users"}})
    junit = tmp_path / "junit.xml"
    proc = start_gradual(["run", str(config), "--quiet", "--junit", str(junit)], target=target)
    started = time.monotonic()
    try:
        target.wait_for(lambda c: c["requests"].get("GET /users", 0) > 0, timeout=20)
        os.kill(proc.pid, signal.SIGINT)
    finally:
        run = finish(proc, None, started)

    assert run.returncode == 130, run.stderr
    error = _cases(junit)["run engine test"].find("error")
    assert error is not None and error.get("type") == "interrupted"
    assert ET.parse(junit).getroot().get("errors") == "1"


def test_failure_reason_rules() -> None:
    assert failure_reason(0, 0, 0) == "no request succeeded: none was sent"
    assert failure_reason(10, 8, 2) == "no request succeeded: 8 failed, 2 interrupted of 10"
    assert failure_reason(10, 9, 0) is None  # 100% = off, and one succeeded
    assert failure_reason(10, 1, 0, 0.1) is None  # at the limit is not above it
    assert failure_reason(10, 2, 0, 0.1) == "failure rate 20% (2 of 10 requests) is above --max-error-rate 10%"


def test_gradual_run_from_python_fails_the_same_runs(target: TargetProcess, tmp_path: Path) -> None:
    config = _half_failing(tmp_path)
    script = ("import sys, gradual\n"
              "s = gradual.run(sys.argv[1], max_error_rate=float(sys.argv[2]))\n"
              "print(s.exit_code, s['run']['failure_reason'])\n")
    target.reset()

    runs = [subprocess.run([sys.executable, "-c", script, str(config), limit], capture_output=True, text=True,
                           env=gradual_env(target), cwd=REPO_ROOT, timeout=60) for limit in ("0.1", "1")]

    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.startswith("1 failure rate ") and "above --max-error-rate 10%" in runs[0].stdout
    assert runs[1].stdout.strip() == "0 None", runs[1].stderr
