"""Ctrl-C: the terminal sends SIGINT to the whole foreground process group, and gradual stops cleanly.

Each test starts gradual in a session of its own and signals that process group with os.killpg, as a
terminal does. The run must stop its load before anything it started (the demo target, local workers),
so no request fails because of the stop: requests cut short are `interrupted`. Exit 130, every report
written, no process left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests
from support.cluster import Cluster, running, server_paths, stop_tree, wait_until, write_recording_config
from support.target import REPO_ROOT, TargetProcess

EXIT_INTERRUPTED = 130
RUN_TIMEOUT_S = 60.0
REPORTS = ("summary.json", "report.html", "junit.xml", "gradual_stats.csv", "gradual_history.csv")


def start_in_own_group(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "gradual", *args], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=REPO_ROOT, env=env, start_new_session=True)


def ctrl_c(proc: subprocess.Popen[bytes], log: Path) -> int:
    """SIGINT to the process group, as a terminal's Ctrl-C; the exit code (AssertionError with the log on a hang)."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.wait(RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop_tree(proc)
        raise AssertionError("still running after Ctrl-C:\n" + log.read_text(errors="replace")) from None


def assert_clean_stop(report_dir: Path, log: Path, summary_path: Path | None = None) -> dict[str, Any]:
    """Every report is written and the summary has no failure at all; the summary.

    ``summary_path``: where --json put the summary when it was given besides --report-dir (it wins).
    """
    summary_path = summary_path or report_dir / "summary.json"
    for path in [summary_path, *(report_dir / name for name in REPORTS if name != "summary.json")]:
        assert path.is_file(), f"{path} not written; log:\n{log.read_text(errors='replace')}"
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["run"]["interrupted"] is True
    assert summary["run"]["exit_code"] == EXIT_INTERRUPTED
    errors = [(r["name"], e) for p in summary["phases"] for s in p["scenarios"] for r in s["requests"]
              for e in r["errors"] if e["kind"] != "interrupted"]
    assert summary["totals"]["failures"] == 0, errors
    assert summary["totals"]["count"] > 0
    return summary


def test_ctrl_c_in_demo_stops_the_load_before_the_target(tmp_path: Path) -> None:
    log, reports = tmp_path / "demo.log", tmp_path / "reports"
    proc = start_in_own_group(["demo", "--quiet", "--report-dir", str(reports)], log)
    target_pid = None
    try:
        wait_until(lambda: "demo target on" in log.read_text(errors="replace"), 15, "the demo target starts")
        found = re.search(r"demo target on (\S+) \(pid (\d+)\)", log.read_text(errors="replace"))
        assert found, log.read_text(errors="replace")
        url, target_pid = found.group(1), int(found.group(2))

        def peak_running() -> bool:
            counts = requests.get(f"{url}/__counts", timeout=5).json()
            return int(counts["requests"].get("GET /slow", 0)) > 0

        # Stopped in the phase with most requests in flight: the Python scenario's /slow and a WebSocket.
        wait_until(peak_running, 20, "the demo's peak phase sends load", interval=0.1)
        time.sleep(1.0)
        assert ctrl_c(proc, log) == EXIT_INTERRUPTED, log.read_text(errors="replace")
    finally:
        stop_tree(proc)
    summary = assert_clean_stop(reports, log)
    assert [p["name"] for p in summary["phases"]] == ["warm_up", "peak"]
    assert target_pid is not None and not psutil.pid_exists(target_pid), "the demo target outlived gradual demo"


def test_ctrl_c_in_a_run_with_local_workers_stops_the_workers_after_their_load(
    cluster: Cluster, target: TargetProcess
) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=30)
    log, reports = cluster.folder / "run.log", cluster.folder / "reports"
    proc = start_in_own_group(["run", str(config), "--workers", "2", "--quiet", "--report-dir", str(reports)], log,
                              cluster.env({"CLUSTER_WORKER": "local"}))
    workers: list[psutil.Process] = []
    try:
        wait_until(lambda: server_paths(target).get("local", 0) > 50, 20, "the local workers send load")
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len(workers) == 2, workers
        assert ctrl_c(proc, log) == EXIT_INTERRUPTED, log.read_text(errors="replace")
    finally:
        stop_tree(proc)
    summary = assert_clean_stop(reports, log)
    assert summary["totals"]["count"] >= server_paths(target)["local"]
    assert not any(running(w) for w in workers), "a local worker outlived the run"


def test_ctrl_c_in_a_master_stops_its_workers_load_and_writes_the_reports(
    cluster: Cluster, target: TargetProcess
) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=30)
    reports = cluster.folder / "reports"
    master = cluster.master(config, 1, "--report-dir", str(reports))
    worker = cluster.worker("w1")
    wait_until(lambda: server_paths(target).get("w1", 0) > 50, 20, "the worker sends load")
    master.popen.send_signal(signal.SIGINT)  # the master is alone in its process group here
    assert master.wait() == EXIT_INTERRUPTED, cluster.logs()
    summary = assert_clean_stop(reports, master.log_path, cluster.json_path)
    assert summary["totals"]["count"] >= server_paths(target)["w1"]
    assert worker.wait(10) == EXIT_INTERRUPTED, cluster.logs()


def test_ctrl_c_while_a_master_waits_for_workers_ends_the_run_at_once(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 1, "max_concurrency": 1}, run_time=5)
    master = cluster.master(config, 2, "--expect-workers-timeout", "60")  # two expected, one comes
    worker = cluster.worker("w1")
    master.wait_for_log("worker w1 connected")
    stopped_at = time.monotonic()
    master.popen.send_signal(signal.SIGINT)
    assert master.wait() == EXIT_INTERRUPTED, cluster.logs()
    assert time.monotonic() - stopped_at < 10, "the master waited on for its workers after Ctrl-C"
    summary = cluster.summary()
    assert summary["run"]["interrupted"] is True and summary["phases"] == [], summary["run"]
    assert worker.wait(10) == EXIT_INTERRUPTED, cluster.logs()
    assert server_paths(target) == {}
