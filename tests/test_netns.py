"""A multi-host rehearsal: the master, two workers and a target, each in its own network namespace.

This is the deployment of docker-compose.yml spread over machines: the workers reach the master over
a control network (10.77.1.0/24) and the target over a load network (10.77.2.0/24), joined by
bridges in a hub namespace (tests/support/netns.py). The target is a counting server of the test's
own (the demo target binds loopback only), so its per-client counts are each worker's load as the
target saw it. Everything runs as real processes started with `ip netns exec`; nothing leaves the
namespaces the test made. Skipped where namespaces cannot be made (not root, no iproute2).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.netns import CountingServer, Host, Lab, unavailable_reason

MASTER_PORT = 5557
TARGET_PORT = 8080
USERS = 4  # two per worker
CUT_WORKER_MASTER_TIMEOUT_S = 2.0
CUT_S = 5.0
PROCESS_TIMEOUT_S = 40.0


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"network namespaces are not available: {reason}")
    with Lab() as made:
        made.add_host("master", ctl=1)
        made.add_host("w1", ctl=11, load=11)
        made.add_host("w2", ctl=12, load=12)
        made.add_host("target", load=100)
        yield made
    assert made.leftovers() == [], "namespaces left behind"


@dataclass
class Cluster:
    """One gradual run across the lab: a master, two workers, the counting server."""

    lab: Lab
    workdir: Path
    server: CountingServer
    master: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]]

    @property
    def summary_path(self) -> Path:
        return self.workdir / "summary.json"

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{self.log(n)[-3000:]}" for n in ("master", *self.workers))

    def finish(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Wait for the master and the workers to exit by themselves; (summary JSON, final server counts)."""
        try:
            code = self.master.wait(PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"master did not finish in {PROCESS_TIMEOUT_S}s\n{self.logs()}") from None
        assert code == 0, f"master exited {code}\n{self.logs()}"
        for name, proc in self.workers.items():
            try:
                worker_code = proc.wait(10)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"worker {name} did not quit with the master\n{self.logs()}") from None
            assert worker_code == 0, f"worker {name} exited {worker_code}\n{self.logs()}"
        counts = self.server.stop()
        return json.loads(self.summary_path.read_text()), counts

    def close(self) -> None:
        """Stop whatever still runs (after a failure), each by its own process group."""
        for proc in (self.master, *self.workers.values(), self.server.proc):
            self.lab.stop(proc)


@pytest.fixture
def start_cluster(lab: Lab, tmp_path: Path) -> Iterator[Any]:
    """start_cluster(run_time, ramp, worker_args) -> Cluster; whatever it started is stopped at the end."""
    started: list[Cluster] = []

    def start(run_time: float, ramp: dict[str, Any], worker_args: dict[str, list[str]] | None = None) -> Cluster:
        started.append(_start_cluster(lab, tmp_path, run_time, ramp, worker_args))
        return started[-1]

    yield start
    for cluster in started:
        cluster.close()


def _start_cluster(lab: Lab, workdir: Path, run_time: float, ramp: dict[str, Any],
                   worker_args: dict[str, list[str]] | None) -> Cluster:
    hosts = lab.hosts
    server = CountingServer(lab, hosts["target"], "load", TARGET_PORT, workdir)
    (workdir / "requests.yaml").write_text(yaml.safe_dump({"requests": {
        "hit": {"url": f"{server.url}/hit", "method": "GET", "expected_response_time": 1.0, "timeout": 10},
    }}))
    scenario = {"requests": ["hit"], "request_file": "requests.yaml", **ramp}
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump({"runs": {
        "name": "netns rehearsal", "stop_timeout": 2,
        "phases": {"load": {"run_time": run_time, "scenarios": {"hits": scenario}}},
    }}, sort_keys=False))
    master_ip = hosts["master"].ip("ctl")
    gradual = [sys.executable, "-m", "gradual"]
    # Across hosts the cluster runs with CURVE keys, as a real deployment must (without them the
    # master refuses a non-loopback --bind).
    keys = workdir / "keys"
    subprocess.run([*gradual, "keys", "init", str(keys)], check=True, capture_output=True, timeout=60)
    master = lab.spawn(hosts["master"], [
        *gradual, "master", str(config), "--bind", master_ip, "--port", str(MASTER_PORT), "--keys", str(keys),
        "--expect-workers", "2", "--expect-workers-timeout", "30", "--json", str(workdir / "summary.json"),
        "--quiet",
    ], workdir / "master.log")
    workers = {}
    for name in ("w1", "w2"):
        workers[name] = lab.spawn(hosts[name], [
            *gradual, "worker", "--host", master_ip, "--port", str(MASTER_PORT), "--worker-id", name,
            "--keys", str(keys),
            *(worker_args or {}).get(name, []),
        ], workdir / f"{name}.log")
    return Cluster(lab, workdir, server, master, workers)


def worker_requests(summary: dict[str, Any]) -> dict[str, int]:
    return {w["id"]: w["requests"] for w in summary["workers"]}


def served(counts: dict[str, Any], host: Host) -> int:
    return int(counts["by_client"].get(host.ip("load"), 0))


def wait_until(predicate: Any, timeout: float, what: str, cluster: Cluster) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s\n{cluster.logs()}")
        time.sleep(0.05)
    return time.monotonic()


def test_each_worker_count_matches_what_the_target_saw_from_its_host(lab: Lab, start_cluster: Any) -> None:
    cluster = start_cluster(run_time=5, ramp={
        "min_concurrency": 2, "max_concurrency": USERS, "ramp_up_add": 2, "ramp_up_wait": 1,
    })
    summary, counts = cluster.finish()

    total = summary["totals"]["count"]
    per_worker = worker_requests(summary)
    print(f"\nnetns run: master total {total}, target total {counts['total']}, "
          f"per worker {per_worker}, target per host {counts['by_client']}")
    assert total > 0
    assert total == counts["total"]
    for name in ("w1", "w2"):
        assert per_worker[name] > 0, f"{name} sent no load"
        assert per_worker[name] == served(counts, lab.hosts[name]), name
    assert summary["totals"]["failures"] == 0


def test_cut_worker_stops_its_load_rejoins_and_no_stat_is_lost(lab: Lab, start_cluster: Any) -> None:
    """w2's control link goes down for 5 s; its load link stays up, so the target shows what it does.

    With --master-timeout 2 it must stop its load about 1 to 3 s into the cut (the master's last
    heartbeat or ack came up to 1 s before the cut; the worker checks once a second; the lower bound
    has slack for timer jitter), send nothing for the rest of the cut, come back after it, and in the
    end every request it made is in the master's totals: its batches from the last seconds before the
    stop went unacked during the cut and are resent.
    """
    w1, w2 = lab.hosts["w1"], lab.hosts["w2"]
    cluster = start_cluster(run_time=18, ramp={
        "min_concurrency": USERS, "max_concurrency": USERS,
    }, worker_args={"w2": ["--master-timeout", str(CUT_WORKER_MASTER_TIMEOUT_S)]})
    server = cluster.server
    wait_until(lambda: server.by_client(w1.ip("load")) > 0 and server.by_client(w2.ip("load")) > 0,
               20, "both workers loading", cluster)
    time.sleep(1.5)

    before = server.by_client(w2.ip("load"))
    lab.cut(w2, "ctl")
    cut_at = time.monotonic()
    try:
        w2_count, w2_changed_at = before, cut_at
        w1_at_cut = server.by_client(w1.ip("load"))
        while time.monotonic() < cut_at + CUT_S:
            now_count = server.by_client(w2.ip("load"))
            if now_count != w2_count:
                w2_count, w2_changed_at = now_count, time.monotonic()
            time.sleep(0.02)
        w1_during = server.by_client(w1.ip("load")) - w1_at_cut
    finally:
        lab.restore(w2, "ctl")
    restored_at = time.monotonic()
    stopped_after = w2_changed_at - cut_at
    quiet_for = restored_at - w2_changed_at

    resumed_at = wait_until(lambda: server.by_client(w2.ip("load")) > w2_count, 12,
                            "w2 loading again after the link came back", cluster)
    summary, counts = cluster.finish()

    total, target_total = summary["totals"]["count"], counts["total"]
    per_worker = worker_requests(summary)
    print(f"\nnetns cut: w2 sent {w2_count - before} requests after the cut, stopped {stopped_after:.2f}s in, "
          f"quiet {quiet_for:.2f}s, loading again {resumed_at - restored_at:.2f}s after the link came back; "
          f"w1 sent {w1_during} during the cut; master total {total} (interrupted "
          f"{summary['totals']['interrupted']}), target total {target_total}; per worker {per_worker}, "
          f"target per host {counts['by_client']}")

    assert w2_count > before, "w2's load link is up during the cut: it should load until its master timeout"
    assert 0.5 <= stopped_after <= CUT_WORKER_MASTER_TIMEOUT_S + 1.6, \
        f"w2 stopped {stopped_after:.2f}s into the cut\n{cluster.logs()}"
    assert quiet_for >= 1.0
    assert w1_during > 0, "w1 was not cut and must go on"
    assert "stopping all load" in cluster.log("w2")
    # Every request either worker made reached the target (the load network was never cut), and the
    # stop kills w2's users mid-request at most once each: the master may count up to USERS requests
    # (as interrupted) that the target never saw, never fewer than the target saw.
    assert target_total <= total <= target_total + USERS, (total, target_total)
    assert per_worker["w1"] == served(counts, w1)
    assert served(counts, w2) <= per_worker["w2"] <= served(counts, w2) + USERS
