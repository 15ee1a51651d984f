"""A stranger cannot join, feed or hijack a run: real master and worker processes on 127.0.0.1 under attack.

Every attack runs beside a real run against the demo target; whatever the attackers send, the run's
totals must equal what the server counted, and the master must stay small.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from types import SimpleNamespace
from typing import Any

import msgpack
import psutil
import requests
import zmq
from gradual.master.zmq_link import MAX_ERROR_TEXT, ZmqLink
from gradual.proto import (
    PROTOCOL_VERSION,
    Bundle,
    BundleError,
    Hello,
    Notice,
    PhaseStart,
    Ready,
    SetTargets,
    Stats,
    Welcome,
    encode,
)
from support.cluster import (
    LOOPBACK,
    Cluster,
    RawPeer,
    by_id,
    free_port,
    parse_time,
    server_paths,
    wait_until,
    write_recording_config,
)
from support.target import TargetProcess

from gradual.cli import main
from gradual.stats import StatsBatch
from gradual.stats.recorder import Recorder

MAX_MASTER_RSS = 400 * 1024 * 1024  # bytes: a master under the attacks below stays well under this


def _batch(count: int, phase: str = "load") -> dict[str, Any]:
    recorder = Recorder()
    slot = recorder.slot(phase, "s", "hit", 1.0)
    for _ in range(count):
        slot.record(2_000_000, time.monotonic(), 200)
    recorder.set_users(phase, "s", 1)
    return recorder.drain().to_wire()


def _stranger(port: int, name: str) -> tuple[RawPeer, Bundle]:
    """A peer that says hello and gets the welcome and the bundle (without keys, anyone on the host can)."""
    peer = RawPeer(zmq.DEALER, name).connect(port)
    peer.send(Hello(name, "evil", "attacker", 4242, 1))
    peer.recv_type(Welcome, 10)
    return peer, peer.recv_type(Bundle, 10)


def test_master_refuses_a_non_loopback_bind_without_keys(tmp_path: Any) -> None:
    config = write_recording_config(tmp_path, {"min_concurrency": 1, "max_concurrency": 1}, run_time=1)
    cluster = Cluster(tmp_path)
    try:
        proc = cluster.start("master", ["master", str(config), "--bind", "0.0.0.0", "--port", str(cluster.port)])
        assert proc.wait() == 2, proc.log()
        out = proc.log()
        assert "--keys" in out and "--insecure" in out and "Traceback" not in out, out
        bad_capacity = cluster.start("worker", ["worker", "--host", LOOPBACK, "--capacity", "1e308"])
        assert bad_capacity.wait() == 2
        assert "--capacity must be" in bad_capacity.log()
    finally:
        cluster.stop_all()


def test_forged_messages_leave_the_totals_equal_to_the_servers_count(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=6)
    target.reset()
    master = cluster.master(config, 2)
    cluster.worker("w1")
    cluster.worker("w2")
    wait_until(lambda: len(server_paths(target)) == 2, 15, "both workers send load")
    peers: list[RawPeer] = []
    try:
        # Unready stats, a bundle error (abort attempt), a fatal notice: a stranger that never said ready.
        stranger, _ = _stranger(cluster.port, "stranger")
        peers.append(stranger)
        for seq in range(1, 6):
            stranger.send(Stats(seq, _batch(1_000_000 // 5 if seq < 3 else 7)))
        stranger.send(BundleError("abort the run, please"))
        stranger.send(Notice("stop everything", fatal=True))
        # Hijack: another process claims w1's id.
        hijacker = RawPeer(zmq.DEALER, "w1").connect(cluster.port)
        peers.append(hijacker)
        hijacker.send(Hello("w1", "evil", "attacker\nINJECTED forged line", 4343, 1, capacity=1e6))
        hijacker.send(Stats(10_000, _batch(50)))
        assert hijacker.recv(1.5) is None, "the hijacker was answered"
        # A window bomb from a peer that did become ready: a window at second 2**40.
        bomber, bundle = _stranger(cluster.port, "bomber")
        peers.append(bomber)
        bomber.send(Ready(bundle.digest()))
        bomb = _batch(10)
        bomb["entries"][0]["windows"][0][0] = 2**40
        bomber.send(Stats(1, bomb))
        unknown_phase = _batch(10, phase="no such phase")
        bomber.send(Stats(2, unknown_phase))
        # Amplification frames: megabytes of empty arrays (cut by ZeroMQ past its limit, or refused unread).
        for size in (16 * 1024 * 1024, 3 * 1024 * 1024):
            bomber.send_raw(b"\xdd" + (size).to_bytes(4, "big") + b"\x90" * size)
        # Fake identities: more hellos than the master keeps waiting peers for.
        fakes = zmq.Context()
        sockets = []
        for i in range(300):
            sock = fakes.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IDENTITY, f"fake-{i}".encode())
            sock.connect(f"tcp://{LOOPBACK}:{cluster.port}")
            sock.send(encode(Hello(f"fake-{i}", "evil", "attacker", 5000 + i, 1)))
            sockets.append(sock)
        master.wait_for_log("peers already said hello without becoming ready", 10)
        rss = psutil.Process(master.pid).memory_info().rss
        for sock in sockets:
            sock.close(linger=0)
        fakes.term()
    finally:
        for peer in peers:
            peer.close()

    assert master.wait() == 0, cluster.logs()
    assert rss < MAX_MASTER_RSS, rss
    summary = cluster.summary()
    log = master.log()
    info = by_id(summary)
    assert server_paths(target) == {w: info[w]["requests"] for w in ("w1", "w2")}, (info, cluster.logs())
    assert summary["totals"]["count"] == target.counts()["total"], log
    assert set(info) <= {"w1", "w2", "bomber"}, sorted(info)
    assert info["w1"]["requests"] + info["w2"]["requests"] == target.counts()["total"]
    assert server_paths(target) == {w: info[w]["requests"] for w in ("w1", "w2")}
    assert "stats from a worker that is not ready" in log
    assert "window at second 1099511627776 is outside phase 'load'" in log
    assert "phase 'no such phase' has not started" in log
    assert "peers already said hello without becoming ready" in log
    assert not [line for line in log.splitlines() if line.startswith("INJECTED")], log


def test_http_api_binds_loopback_and_stop_needs_the_printed_token(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 1, "max_concurrency": 1}, run_time=30)
    http_port = free_port()
    master = cluster.master(config, 1, "--http-port", str(http_port))
    cluster.worker("w1")
    master.wait_for_log("Authorization: Bearer ", 15)
    token = re.search(r"Authorization: Bearer (\S+)", master.log())
    assert token, master.log()
    url = f"http://{LOOPBACK}:{http_port}"
    wait_until(lambda: target.counts()["total"] > 0, 15, "load runs")
    assert requests.get(f"{url}/status", timeout=5).status_code == 200  # reading needs no token
    control = {"X-Gradual-Control": "1"}
    assert requests.post(f"{url}/api/stop", headers=control, timeout=5).status_code == 401
    wrong = {**control, "Authorization": "Bearer wrong"}
    assert requests.post(f"{url}/api/stop", headers=wrong, timeout=5).status_code == 401
    assert master.alive()
    right = {**control, "Authorization": f"Bearer {token.group(1)}"}
    answer = requests.post(f"{url}/api/stop", headers=right, timeout=5)
    assert answer.status_code == 202
    assert master.wait() == 130, master.log()
    connections = [c for c in psutil.Process().net_connections() if c.laddr and c.laddr.port == http_port]
    assert not connections  # closed with the master
    assert cluster.summary()["totals"]["count"] == target.counts()["total"]


def test_worker_keeps_its_own_master_timeout_when_the_master_asks_for_more(cluster: Cluster) -> None:
    # A master asking for master_timeout=1e9 does not lift the worker's own 10 s safety stop.
    config = write_recording_config(cluster.folder, {"min_concurrency": 1, "max_concurrency": 1}, run_time=60)
    fake_master = RawPeer(zmq.ROUTER).bind(cluster.port)
    worker = cluster.worker("w1")
    try:
        hello = fake_master.recv_type(Hello, 15)
        fake_master.send(Welcome(hello.worker_id, "run1", 1.0, 1e9))
        bundle = Bundle.build(config.parent, config, [config, config.parent / "record_requests.py"], run_id="run1")
        fake_master.send(bundle)
        fake_master.recv_type(Ready, 15)
        fake_master.send(PhaseStart("load", 0))
        fake_master.send(SetTargets(1, "load", {"s": 1}))
        silent_from = time.monotonic()
        worker.wait_for_log("stopping all load", 14)
        assert time.monotonic() - silent_from < 12.0
    finally:
        fake_master.close()


def test_lost_and_back_and_restarted_workers_are_in_the_summary(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=12)
    target.reset()
    master = cluster.master(config, 2, "--heartbeat-liveness", "2")
    cluster.worker("w1")
    paused = cluster.worker("w2")
    wait_until(lambda: len(server_paths(target)) == 2, 15, "both workers send load")
    paused.popen.send_signal(signal.SIGSTOP)
    try:
        master.wait_for_log("worker w2 lost", 6)
    finally:
        paused.popen.send_signal(signal.SIGCONT)
    master.wait_for_log("worker w2 is back", 6)
    # w1 dies and a new process takes its id: refused while the old one counts as connected, admitted
    # once it is declared lost, and counted as a restart.
    old = next(p for p in cluster.procs if p.name == "worker-w1")
    killed_at = old.kill9()
    cluster.worker("w1")
    master.wait_for_log("worker w1 restarted", 15)

    assert master.wait() == 0, cluster.logs()
    info = by_id(cluster.summary())
    lost = info["w2"]["lost_intervals"]
    assert len(lost) == 1 and lost[0][1] is not None, info["w2"]
    assert parse_time(lost[0][0]) < parse_time(lost[0][1])
    assert info["w2"]["restarts"] == 0
    assert info["w1"]["restarts"] == 1, info["w1"]
    assert len(info["w1"]["lost_intervals"]) == 1
    assert parse_time(info["w1"]["lost_intervals"][0][0]) > killed_at
    assert not info["w1"]["lost"] and not info["w2"]["lost"]
    # The HTML report carries them too (its workers table has a Faults column).
    html = cluster.folder / "report.html"
    assert main(["report", str(cluster.json_path), "--html", str(html)]) == 0
    data = json.loads(re.search(r'<script type="application/json" id="gradual-data">(.*?)</script>', html.read_text(),
                                re.S).group(1))  # type: ignore[union-attr]
    workers = {w["id"]: w for w in data["workers"]}
    assert workers["w1"]["restarts"] == 1 and len(workers["w2"]["lost_intervals"]) == 1


def test_a_frame_bomb_is_refused_without_unpacking(cluster: Cluster) -> None:
    """A container-dense frame just under the stats limit is refused by its shape, not decoded."""
    config = write_recording_config(cluster.folder, {"min_concurrency": 1, "max_concurrency": 1}, run_time=1)
    master = cluster.master(config, 1, "--expect-workers-timeout", "3")
    master.wait_for_log("master listening", 15)
    peer = RawPeer(zmq.DEALER, "bomb").connect(cluster.port)
    try:
        inner = b"\xdc" + (65535).to_bytes(2, "big") + b"\x90" * 65535
        frame = b"\x93" + msgpack.packb(PROTOCOL_VERSION) + msgpack.packb("stats") + b"\xdd" + (48).to_bytes(4, "big")
        frame += inner * 48
        for _ in range(3):
            peer.send_raw(frame)
        peer.send(Hello("bomb", "evil", "attacker", os.getpid(), 1))
        assert isinstance(peer.recv_type(Welcome, 10), Welcome)  # the master still answers afterwards
    finally:
        peer.close()
    assert master.wait() == 3
    assert "implausible frame" in master.log()
    assert encode(Hello("x", "1", "h", 1, 1))  # the codec still encodes after all that


def test_error_messages_from_workers_become_one_bounded_line() -> None:
    """What reaches the summary and the logs from a worker's stats: no newline, no control character."""
    recorder = Recorder(lambda: 0.5)
    recorder.set_phase_origin("load", 0.0)
    slot = recorder.slot("load", "s", "hit", 1.0)
    slot.record(1_000_000, 0.5, 500, 0, "http", "HTTP 500\nINJECTED forged line\x1b[2J")
    slot.record(1_000_000, 0.5, 500, 0, "http", "x" * 5000)
    batch = StatsBatch.from_wire(recorder.drain().to_wire())
    link = SimpleNamespace(_phase_clock={"load": (time.monotonic() - 1.0, None)})
    ZmqLink._check_plausible(link, batch)  # type: ignore[arg-type]
    messages = [message for (_, message) in batch.entries[0].errors]
    assert all(m.isprintable() and len(m) <= MAX_ERROR_TEXT for m in messages), messages
    assert "HTTP 500 INJECTED forged line\\x1b[2J" in messages
