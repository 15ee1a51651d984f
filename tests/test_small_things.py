"""What a newcomer met in the first hour: a missing summary, the reports a run wrote, a row without latency,
an unset credential variable, users pinned to fewer requests than the scenario has, where the SQLite example
writes. Real `gradual` processes where a process is what the user runs.
"""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.gradual_run import HTTP_BASE, closed_port, gradual_env, run_gradual, write_run_config
from support.plugins import SLOW_PATH, copy_example, write_plugin_config
from support.target import REPO_ROOT, TargetProcess

from gradual.reports.csv import CsvReporter
from gradual.reports.html import request_row


def _gradual(*args: str, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradual", *args], capture_output=True, text=True,
                          env=gradual_env(None, env), cwd=cwd, timeout=60)


def test_report_of_a_missing_summary_says_so_in_one_line(tmp_path: Path) -> None:
    result = _gradual("report", str(tmp_path / "missing.json"), "--html", str(tmp_path / "r.html"))

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'missing.json'}: file not found "
                                          "(a summary is what --json or --report-dir wrote)"]


def test_a_run_lists_the_reports_it_wrote_in_one_line(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p1": {"run_time": 0.5, "scenarios": {
        "s1": {"requests": ["ok"], "min_concurrency": 1, "max_concurrency": 1}}}},
        requests={"ok": {"url": f"{HTTP_BASE}/users"}})

    run = run_gradual(config, target=target, json_out=False, extra_args=["--report-dir", str(tmp_path / "out")])

    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("reports ")]
    assert len(lines) == 1, run.stdout
    assert lines[0].startswith(f"reports in {tmp_path / 'out'}: "), lines
    names = lines[0].partition(": ")[2].split(", ")
    assert names == ["summary.json", "report.html", "junit.xml", "gradual_stats.csv", "gradual_history.csv"]
    assert all((tmp_path / "out" / n).is_file() for n in names)


def _row(count: int, interrupted: int) -> dict[str, Any]:
    zero = {k: 0.0 for k in ("min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max")}
    return {"name": "r", "type": "http", "count": count, "failures": 0, "interrupted": interrupted, "rps": 0.0,
            "bytes": 0, "latency_ms": zero, "within_expected_ratio": None, "status_codes": {}, "errors": []}


def test_a_row_without_a_completed_request_shows_no_latency(tmp_path: Path) -> None:
    only_interrupted = _row(3, 3)
    summary = {"schema": "gradual.summary/1", "run": {"name": "x", "duration_s": 1.0},
               "totals": {"count": 3, "failures": 0, "interrupted": 3, "rps": 3.0,
                          "latency_ms": only_interrupted["latency_ms"]},
               "phases": [{"name": "p", "duration_s": 1.0,
                           "scenarios": [{"name": "s", "requests": [only_interrupted]}]}],
               "thresholds": [], "workers": [], "timeseries": []}

    CsvReporter(tmp_path / "x").write(summary)

    with (tmp_path / "x_stats.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["p50 (ms)"] for r in rows] == ["", ""] and [r["Max (ms)"] for r in rows] == ["", ""]
    assert set(request_row(only_interrupted, "r")["latency_ms"].values()) == {None}
    assert request_row(_row(3, 1), "r")["latency_ms"]["p50"] == 0.0  # a completed request keeps its value


def test_validate_warns_when_a_credential_variable_is_unset(tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p1": {"run_time": 1, "scenarios": {
        "s1": {"requests": ["secret"], "min_concurrency": 1, "max_concurrency": 1}}}},
        requests={"secret": {"url": f"http://127.0.0.1:{closed_port()}/x",
                             "auth": {"type": "bearer", "token_env": "GRADUAL_TEST_UNSET_TOKEN"}}})

    unset = _gradual("validate", str(config))
    given = _gradual("validate", str(config), env={"GRADUAL_TEST_UNSET_TOKEN": "t0ken"})

    assert unset.returncode == 0, unset.stderr
    assert "warning: " in unset.stderr and "requests.secret.auth: environment variable GRADUAL_TEST_UNSET_TOKEN " \
        "is not set: gradual run would stop here (exit 2)" in unset.stderr
    assert given.returncode == 0 and "warning" not in given.stderr


def test_pinned_users_fewer_than_requests_warn(tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p1": {"run_time": 1, "scenarios": {
        "s1": {"requests": ["a", "b", "c"], "min_concurrency": 1, "max_concurrency": 2}}}},
        requests={n: {"url": f"http://127.0.0.1:{closed_port()}/{n}"} for n in "abc"})

    pinned = _gradual("validate", str(config))
    journeys = _gradual("validate", str(config), "--set", "runs.phases.p1.scenarios.s1.iterate_through_requests=true")

    assert pinned.returncode == 0
    warnings = [line for line in pinned.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "runs.phases.p1.scenarios.s1.max_concurrency: at most 2 users for 3 requests" \
        in warnings[0] and "c would never run" in warnings[0], pinned.stderr
    assert "warning" not in journeys.stderr


@pytest.mark.parametrize("workers", [0, 2])
def test_the_sqlite_example_writes_under_the_report_dir(tmp_path: Path, target: TargetProcess, workers: int) -> None:
    copy_example("sqlite_sink.py", tmp_path)
    config = write_plugin_config(tmp_path, [{"path": "sqlite_sink.py"}], phases={"load": 1.5})
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    target.reset()

    proc = subprocess.run([sys.executable, "-m", "gradual", "run", str(config), "--quiet", "--workers", str(workers),
                           "--report-dir", str(tmp_path / "out")], capture_output=True, text=True,
                          env=gradual_env(target), cwd=cwd, timeout=60)

    assert proc.returncode == 0, proc.stderr
    assert list(cwd.iterdir()) == []  # nothing in the working directory
    nodes = ["local"] if workers == 0 else ["local-1", "local-2"]
    dbs = sorted((tmp_path / "out").glob("gradual-results-*.db"))
    assert [p.name for p in dbs] == [f"gradual-results-{n}.db" for n in nodes]
    rows = 0
    for db in dbs:
        with sqlite3.connect(db) as conn:
            rows += conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    assert rows == target.counts()["requests"][SLOW_PATH] > 0
