"""A worker says what it does, one INFO line on stderr per step: a real master and worker on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support.cluster import LOOPBACK, Cluster, Proc, wait_until, write_recording_config
from support.target import TargetProcess

# gradual's log format: "2026-01-01 12:00:00,000 LEVEL logger: message"
LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) gradual\.worker: (?P<message>.*)$")


def start_worker(cluster: Cluster, name: str, *extra: str) -> tuple[Proc, Path, Path]:
    """`gradual worker` with stdout and stderr in files of their own; stopped by the cluster's teardown."""
    out_path, err_path = cluster.folder / f"{name}.out", cluster.folder / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        popen = subprocess.Popen(
            [sys.executable, "-m", "gradual", "worker", "--host", LOOPBACK, "--port", str(cluster.port),
             "--worker-id", name, *extra],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=cluster.env({"CLUSTER_WORKER": name}),
            cwd=cluster.folder)
    proc = Proc(name, popen, err_path)
    cluster.procs.append(proc)
    return proc, out_path, err_path


def worker_lines(err_path: Path) -> list[tuple[str, str]]:
    return [(m["level"], m["message"]) for line in err_path.read_text(errors="replace").splitlines()
            if (m := LINE.match(line))]


def assert_in_order(lines: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    """``lines`` are exactly ``expected``: (level, regex of the whole message) each, in this order."""
    shown = "\n".join(f"{level} {message}" for level, message in lines)
    assert len(lines) == len(expected), shown
    for (level, message), (want_level, pattern) in zip(lines, expected, strict=True):
        assert level == want_level and re.fullmatch(pattern, message), f"{level} {message!r} != {pattern!r}\n{shown}"


def test_worker_logs_connect_bundle_phases_and_quit(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=1.5)
    master = cluster.master(config, 1)
    worker, out_path, err_path = start_worker(cluster, "w1")
    assert master.wait() == 0, cluster.logs()
    assert worker.wait(10) == 0, cluster.logs()
    master_at = rf"{LOOPBACK}:{cluster.port}"
    assert_in_order(worker_lines(err_path), [
        ("INFO", rf"worker w1 connecting to master {master_at}"),
        ("INFO", rf"connected to master {master_at} \(run \S+\)"),
        ("INFO", r"bundle loaded \(sha256 [0-9a-f]{12}\): 'cluster test', 1 phase\(s\)"),
        ("INFO", r"phase load started"),
        ("INFO", r"phase load stopped"),
        ("INFO", r"quitting \(exit code 0\)"),
    ])
    assert out_path.read_text() == "", "a worker writes its log to stderr only"


def test_worker_logs_a_silent_master_the_stop_and_the_reconnect(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=30)
    master = cluster.master(config, 1)
    worker, _, err_path = start_worker(cluster, "w1", "--master-timeout", "1")
    wait_until(lambda: any(m == "phase load started" for _, m in worker_lines(err_path)), 15, "the phase starts")
    master.kill9()
    wait_until(lambda: any(m.startswith("load stopped") for _, m in worker_lines(err_path)), 10,
               "the worker stops its load")

    cluster.json_path.unlink(missing_ok=True)
    rerun = write_recording_config(cluster.folder / "rerun", {"min_concurrency": 1, "max_concurrency": 1}, run_time=1)
    second = cluster.master(rerun, 1)
    assert second.wait() == 0, cluster.logs()
    assert worker.wait(10) == 0, cluster.logs()
    master_at = rf"{LOOPBACK}:{cluster.port}"
    assert_in_order(worker_lines(err_path), [
        ("INFO", rf"worker w1 connecting to master {master_at}"),
        ("INFO", rf"connected to master {master_at} \(run \S+\)"),
        ("INFO", r"bundle loaded \(sha256 [0-9a-f]{12}\): 'cluster test', 1 phase\(s\)"),
        ("INFO", r"phase load started"),
        ("WARNING", r"master silent for \d+\.\ds: stopping all load"),
        ("INFO", rf"load stopped; reconnecting to master {master_at}"),
        ("INFO", rf"connected to master {master_at} \(run \S+\)"),
        ("INFO", r"bundle loaded \(sha256 [0-9a-f]{12}\): 'cluster test', 1 phase\(s\)"),
        ("INFO", r"phase load started"),
        ("INFO", r"phase load stopped"),
        ("INFO", r"quitting \(exit code 0\)"),
    ])
