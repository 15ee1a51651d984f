"""The cluster with real processes on 127.0.0.1: `gradual master` and `gradual worker` against the demo target.

Every test starts its own master, workers and target, and tears them all down by pid even when it fails.
Workers are named; each one's requests hit /w/<name>, so the target's counts are per worker too.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

import msgpack
import psutil
import pytest
import zmq
from gradual.proto import (
    MAX_STATS_FRAME,
    PROTOCOL_VERSION,
    WORKER_FRAME_LIMITS,
    Ack,
    Bundle,
    Bye,
    Heartbeat,
    Hello,
    Message,
    PhaseStart,
    PhaseStop,
    ProtocolError,
    Quit,
    Ready,
    SetTargets,
    Stats,
    Stopped,
    Welcome,
    decode,
)
from support.cluster import (
    FAIL_LINE,
    LOOPBACK,
    Cluster,
    RawPeer,
    by_id,
    parse_time,
    running,
    server_paths,
    users_between,
    users_over_time,
    wait_until,
    write_recording_config,
)
from support.target import TargetProcess

from gradual.stats.recorder import Recorder

# Three silent heartbeat intervals make a worker lost. Its last word came up to one interval before the
# kill; the rest is slack for a busy machine.
LOST_AFTER_S = (3.0 - 1.0 - 0.1, 3.0 + 0.75)
# How long a test waits for freshly started processes to send load: Python start-up and the bundle load take
# seconds on a loaded 2-core machine (a late worker took 9 s to log its first line at load average 12).
STARTUP_S = 30.0


def test_three_workers_share_each_step_and_counts_are_exact(cluster: Cluster, target: TargetProcess) -> None:
    # Targets 2, 4, 7 at 0, 1.5, 3 s; split over three workers by largest remainder: 1-1-0, 2-1-1, 3-2-2.
    config = write_recording_config(cluster.folder, {
        "min_concurrency": 2, "max_concurrency": 7, "ramp_up_add": [2, 3], "ramp_up_wait": 1.5,
    }, run_time=4.5)
    target.reset()
    master = cluster.master(config, 3)
    for name in ("w1", "w2", "w3"):
        cluster.worker(name)

    assert master.wait() == 0, cluster.logs()

    summary = cluster.summary()
    workers = summary["workers"]
    assert sorted(w["id"] for w in workers) == ["w1", "w2", "w3"]
    assert all(w["requests"] > 0 and not w["lost"] for w in workers), workers
    seen = server_paths(target)
    assert target.counts()["total"] == summary["totals"]["count"], (target.counts(), summary["totals"])
    assert seen == {w["id"]: w["requests"] for w in workers}

    users = [n for _, n in users_over_time(summary)]
    # Up to the last step the series follows the ramp. (The sample taken after the stop may mix workers
    # that already reported 0 users with others still reporting 7: see the cluster report.)
    ramp = users[: users.index(7) + 1] if 7 in users else users
    assert ramp == sorted(ramp) and max(users) == 7, users
    assert summary["phases"][0]["scenarios"][0]["peak_users"] == 7

    # What each worker process actually ran, step by step, in the master's stable worker order.
    start = parse_time(summary["phases"][0]["started_at"])
    calls = cluster.calls()
    order = [w["id"] for w in workers]
    expected = {0.0: [1, 1, 0], 1.5: [2, 1, 1], 3.0: [3, 2, 2]}
    for offset, shares in expected.items():
        got = [users_between(calls.get(wid, []), start + offset + 0.5, start + offset + 1.4) for wid in order]
        assert got == shares, (offset, order, got)


def test_killed_worker_is_lost_and_survivors_take_its_users(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 6, "max_concurrency": 6}, run_time=7.5)
    target.reset()
    master = cluster.master(config, 3)
    workers = {name: cluster.worker(name) for name in ("w1", "w2", "w3")}
    # Deadlines for start-up conditions cover process start-up on a loaded machine (seconds of imports);
    # the phase's timeline starts when all three are ready, whatever this wait took.
    wait_until(lambda: len(server_paths(target)) == 3, STARTUP_S, "all three workers send load")
    time.sleep(0.5)

    killed_at = workers["w2"].kill9()

    assert master.wait() == 0, cluster.logs()
    summary = cluster.summary()
    info = by_id(summary)
    lost = info["w2"]
    assert lost["lost"] is True and lost["left_at"] is not None, lost
    lost_after = parse_time(lost["left_at"]) - killed_at
    assert LOST_AFTER_S[0] <= lost_after <= LOST_AFTER_S[1], f"declared lost {lost_after:.2f}s after the kill"
    assert not info["w1"]["lost"] and not info["w3"]["lost"]

    # The survivors run all six users once the loss is known: three each.
    phase = summary["phases"][0]
    end = parse_time(phase["started_at"]) + phase["duration_s"]
    calls = cluster.calls()
    after = parse_time(lost["left_at"]) + 1.5  # the controller moves shares on its next tick
    assert end - after > 1.0, "the phase ended too soon after the loss to see the survivors' share"
    assert [users_between(calls[w], after, end - 0.2) for w in ("w1", "w3")] == [3, 3]
    series = users_over_time(summary)
    lost_t = parse_time(lost["left_at"]) - parse_time(phase["started_at"])
    assert 6 in [n for t, n in series if t > lost_t + 1.5], (lost_t, series)

    # Exact for every request a batch reported: the survivors to the request, the dead one up to its last batch.
    seen = server_paths(target)
    assert summary["totals"]["count"] == sum(w["requests"] for w in summary["workers"])
    assert seen["w1"] == info["w1"]["requests"] and seen["w3"] == info["w3"]["requests"]
    unreported = seen["w2"] - info["w2"]["requests"]
    # Two users at most ~50 calls/s each, for at most one stats interval plus scheduling slack.
    assert 0 <= unreported <= 2 * 50 * 2.5, (seen, info["w2"])


def test_worker_lost_during_run_once_is_reported_with_the_share_it_did_not_send(
    cluster: Cluster, target: TargetProcess
) -> None:
    # run_once: 20 batches, one every 0.5 s, split over two workers. One dies early; the users of its share
    # that had not run yet are not re-run elsewhere, and the summary says so.
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 40, "ramp_up_add": 2,
                                                     "ramp_up_wait": 0.5, "run_once": True}, run_time=20)
    target.reset()
    master = cluster.master(config, 2)
    workers = {name: cluster.worker(name) for name in ("w1", "w2")}
    wait_until(lambda: len(server_paths(target)) == 2, STARTUP_S, "both workers send load")
    workers["w2"].kill9()

    assert master.wait() == 0, cluster.logs()
    info = by_id(cluster.summary())
    assert info["w2"]["lost"] is True
    assert info["w2"]["problems"] == [
        "was lost before finishing its share of run_once scenario(s) 's' in phase 'load': the rest of that share "
        "was not sent"
    ]
    assert info["w1"]["problems"] == []
    assert "worker w2 was lost before finishing its share of run_once scenario(s) 's'" in master.log()
    # The master's final console summary says it too.
    assert f"  w2: lost; its {info['w2']['requests']} requests up to its last batch are counted" in master.log()
    assert "  w2: was lost before finishing its share of run_once scenario(s) 's'" in master.log()
    seen = server_paths(target)
    # Batch k (1..20) is 2k users, one request each, half of them per worker: the survivor ran all of its half.
    assert seen["w1"] == info["w1"]["requests"] == sum(range(1, 21))
    assert seen["w2"] < sum(range(1, 21))


def test_capacity_weights_the_split_and_a_larger_stats_interval_keeps_counts_exact(
    cluster: Cluster, target: TargetProcess
) -> None:
    # w2 says it can take three times w1's load: of 8 users it runs 6. With --stats-interval 2 each worker
    # sends a batch every 2 s (the welcome tells it), and the totals still equal what the server saw.
    config = write_recording_config(cluster.folder, {"min_concurrency": 8, "max_concurrency": 8}, run_time=4)
    target.reset()
    master = cluster.master(config, 3, "--stats-interval", "2")
    cluster.worker("w1", "--capacity", "1")
    cluster.worker("w2", "--capacity", "3")
    probe = RawPeer(zmq.DEALER, "probe").connect(cluster.port)  # a third worker, by hand, to read the welcome
    try:
        probe.send(Hello("probe", "test", "localhost", os.getpid(), 1, capacity=4.0))
        assert probe.recv_type(Welcome, 10).stats_interval == 2.0
        bundle = probe.recv_type(Bundle, 10)
        probe.send(Ready(bundle.digest()))
        targets = probe.recv_type(SetTargets, 10)
        assert targets.targets == {"s": 4}  # capacity 4 of 1 + 3 + 4: half of the 8 users
        probe.send(Bye("leaving"))  # its share goes to w1 and w2 at once
    finally:
        probe.close()

    assert master.wait() == 0, cluster.logs()
    summary = cluster.summary()
    phase = summary["phases"][0]
    end = parse_time(phase["started_at"]) + phase["duration_s"]
    calls = cluster.calls()
    assert [users_between(calls[w], end - 2.0, end - 0.2) for w in ("w1", "w2")] == [2, 6]
    info = by_id(summary)
    assert server_paths(target) == {w: info[w]["requests"] for w in ("w1", "w2")}
    assert summary["totals"]["count"] == target.counts()["total"]


def test_worker_started_after_the_run_began_receives_load(cluster: Cluster, target: TargetProcess) -> None:
    # 12 s: the late worker's own start-up (seconds of imports on a loaded machine) happens inside the phase.
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=12)
    target.reset()
    master = cluster.master(config, 2)
    cluster.worker("w1")
    cluster.worker("w2")
    wait_until(lambda: len(server_paths(target)) == 2, STARTUP_S, "the first two workers send load")
    late = cluster.worker("late")
    wait_until(lambda: "late" in server_paths(target), STARTUP_S, "the late worker sends load")

    assert master.wait() == 0, cluster.logs()
    assert late.wait(10) == 0, late.log()
    summary = cluster.summary()
    info = by_id(summary)
    assert info["late"]["requests"] > 0, summary["workers"]
    assert parse_time(info["late"]["joined_at"]) > parse_time(summary["phases"][0]["started_at"])
    assert server_paths(target) == {w: info[w]["requests"] for w in ("w1", "w2", "late")}
    assert target.counts()["total"] == summary["totals"]["count"]
    # Four users over three workers in join order: 2-1-1, so the late worker runs one.
    order = [w["id"] for w in summary["workers"]]
    assert order[-1] == "late", order
    calls = cluster.calls()
    phase = summary["phases"][0]
    end = parse_time(phase["started_at"]) + phase["duration_s"]
    joined = calls["late"][0][0]
    assert end - joined > 1.5, "the late worker joined too close to the end to check its share"
    window = (joined + 0.5, end - 0.2)
    assert [users_between(calls[w], *window) for w in order] == [2, 1, 1]


def test_workers_stop_load_when_the_master_dies(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=30)
    target.reset()
    master = cluster.master(config, 2)
    workers = [cluster.worker(name, "--master-timeout", "2") for name in ("w1", "w2")]
    wait_until(lambda: len(server_paths(target)) == 2, STARTUP_S, "both workers send load")

    killed_at = master.kill9()

    time.sleep(max(0.0, killed_at + 2.0 + 1.0 - time.time()))
    settled = target.counts()["total"]
    time.sleep(1.0)
    assert target.counts()["total"] == settled, "workers still sent load 3 s after their master died"
    assert all(w.alive() for w in workers), cluster.logs()
    for w in workers:
        assert "stopping all load" in w.log(), w.log()

    # They kept trying to reconnect: a new master on the same port gets them back for its own run.
    target.reset()
    cluster.json_path.unlink(missing_ok=True)
    rerun = write_recording_config(cluster.folder / "rerun", {"min_concurrency": 2, "max_concurrency": 2}, run_time=2)
    second = cluster.master(rerun, 2)
    assert second.wait() == 0, cluster.logs()
    assert [w.wait(10) for w in workers] == [0, 0], cluster.logs()
    summary = cluster.summary()
    assert all(w["requests"] > 0 for w in summary["workers"]), summary["workers"]
    assert server_paths(target) == {w["id"]: w["requests"] for w in summary["workers"]}


def test_master_drops_junk_frames_and_keeps_serving_its_workers(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=3)
    target.reset()
    master = cluster.master(config, 2)
    cluster.worker("w1")
    cluster.worker("w2")
    wait_until(lambda: len(server_paths(target)) == 2, STARTUP_S, "both workers send load")

    hello = Hello("junk", "0", "localhost", 1, 1).to_payload()
    frames = {
        "random bytes": bytes(random.Random(1234).randrange(256) for _ in range(64)),
        "truncated msgpack": msgpack.packb([PROTOCOL_VERSION, "hello", hello])[:20],
        # Past the stats limit (frames past twice that are cut off by ZeroMQ itself, peer disconnected).
        "oversized frame": b"\x92" + b"\x00" * MAX_STATS_FRAME,
        "wrong protocol version": msgpack.packb([PROTOCOL_VERSION + 1, "hello", hello]),
    }
    expected = []
    for what, frame in frames.items():
        with pytest.raises(ProtocolError) as refused:
            decode(frame, WORKER_FRAME_LIMITS)
        expected.append((what, f"dropped frame from junk: {refused.value}"))
    expected.append(("stats before hello", "dropped frame from junk: stats from a worker that did not say hello"))
    junk = RawPeer(zmq.DEALER, "junk").connect(cluster.port)
    try:
        for frame in frames.values():
            junk.send_raw(frame)
        junk.send(Stats(1, {"entries": [], "users": [], "custom": {}}))
        with socket.create_connection((LOOPBACK, cluster.port), timeout=2) as raw:  # not even ZMTP
            # libzmq reads this as a ZMTP 1.0 peer whose routing id holds the header lines.
            raw.sendall(b"GET / HTTP/1.1\r\nINJECTED: a forged log line\r\n\r\n" + bytes(range(256)) * 4)
            time.sleep(0.2)
    finally:
        junk.close()

    assert master.wait() == 0, cluster.logs()
    log = master.log()
    for what, line in expected:
        assert line in log, f"{what}: {line!r} not in the master's log:\n{log}"
    assert not [line for line in log.splitlines() if line.startswith("INJECTED")], log
    summary = cluster.summary()
    info = by_id(summary)
    assert sorted(info) == ["w1", "w2"] and not any(w["lost"] for w in info.values())
    assert server_paths(target) == {w: info[w]["requests"] for w in info}
    assert target.counts()["total"] == summary["totals"]["count"]


def test_worker_that_cannot_load_the_bundle_aborts_the_run(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=3)
    target.reset()
    # Without keys a bundle error is not obeyed at once (anyone on this host could send one): the run
    # aborts when the workers it waits for are not all ready in time, naming the error.
    master = cluster.master(config, 2, "--expect-workers-timeout", "4")
    cluster.worker("good")
    bad = cluster.worker("bad", env={"FAIL_ON_WORKER": "1"})

    assert master.wait() == 3, cluster.logs()
    errors = [line for line in master.log().splitlines() if "could not load the bundle" in line]
    assert errors, master.log()
    assert "worker bad " in errors[0] and f"record_requests.py:{FAIL_LINE}:" in errors[0], errors
    assert "RuntimeError: this worker refuses to load the request file" in errors[0], errors
    assert target.counts()["total"] == 0
    # Told to quit with the run's exit code, the failed worker leaves. (The good one may have come too
    # late to be told anything: it then waits for a master, as workers do, until the teardown stops it.)
    assert bad.wait(10) == 3, cluster.logs()


def test_run_with_local_workers_counts_exactly(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 3, "max_concurrency": 3}, run_time=2)
    target.reset()
    run = cluster.start("run", ["run", str(config), "--workers", "2", "--quiet", "--json", str(cluster.json_path)],
                        {"CLUSTER_WORKER": "local"})
    wait_until(lambda: target.counts()["total"] > 0, STARTUP_S, "the local workers send load")
    children = psutil.Process(run.pid).children(recursive=True)

    assert run.wait() == 0, run.log()
    summary = cluster.summary()
    info = by_id(summary)
    assert sorted(info) == ["local-1", "local-2"] and all(w["requests"] > 0 for w in info.values()), info
    assert server_paths(target) == {"local": summary["totals"]["count"]}
    assert summary["totals"]["count"] == sum(w["requests"] for w in info.values())
    assert len(children) == 2 and not any(running(c) for c in children), children


def test_worker_processes_option_starts_workers_that_all_get_load(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=2)
    target.reset()
    master = cluster.master(config, 2)
    workers = cluster.worker("pw", "--processes", "2")

    assert master.wait() == 0, cluster.logs()
    assert workers.wait(10) == 0, workers.log()  # both children left when the master quit
    summary = cluster.summary()
    info = by_id(summary)
    assert sorted(info) == ["pw-0", "pw-1"] and all(w["requests"] > 0 for w in info.values()), info
    assert server_paths(target) == {"pw": summary["totals"]["count"]}


def test_worker_ignores_stale_and_repeated_commands(cluster: Cluster, target: TargetProcess) -> None:
    master = RawPeer(zmq.ROUTER).bind(cluster.port)  # a hand-driven master
    try:
        worker, _ = _running_three_users(cluster, master)

        master.send(SetTargets(4, "load", {"s": 0}))  # older than the last applied: dropped
        master.send(SetTargets(5, "load", {"s": 1}))  # the same again: not newer, dropped
        master.send(Heartbeat("running"))
        # Two heartbeats later the worker has surely handled both commands; it still runs three users.
        assert _reported_users(master, lambda n: True, skip=1) == 3

        master.send(SetTargets(6, "load", {"s": 2}))
        assert _reported_users(master, lambda n: n == 2) == 2
        master.send(PhaseStop("load", 1.0))
        master.recv_type(Stopped, 5)
        master.send(Quit("done", 0))
        master.recv_type(Bye, 5)
        assert worker.wait(10) == 0, worker.log()
    finally:
        master.close()


def test_a_second_welcome_of_the_same_run_keeps_the_command_sequence(cluster: Cluster, target: TargetProcess) -> None:
    # A master answers every hello it accepts with welcome + bundle: a hello the worker repeated (every
    # RECONNECT_INTERVAL_INIT until welcomed) that the master handles REWELCOME_INTERVAL after the first gets a
    # second welcome of the same run. It must not reset the worker's cmd_seq: the latest command, which the
    # master may repeat at any time, would apply again (a repeated run_batches would run its users twice).
    master = RawPeer(zmq.ROUTER).bind(cluster.port)  # a hand-driven master
    try:
        worker, bundle = _running_three_users(cluster, master)

        master.send(Welcome("w1", "fake-run", 1.0, 10.0))  # the same run again
        master.send(bundle)
        assert master.recv_type(Ready, 10).bundle_sha256 == bundle.digest()  # same bundle: ready at once
        master.send(SetTargets(5, "load", {"s": 1}))  # not newer than the last applied: dropped
        master.send(Heartbeat("running"))
        assert _reported_users(master, lambda n: True, skip=1) == 3
        master.send(SetTargets(6, "load", {"s": 2}))
        assert _reported_users(master, lambda n: n == 2, timeout=10) == 2

        master.send(PhaseStop("load", 1.0))
        master.recv_type(Stopped, 10)
        master.send(Quit("done", 0))
        master.recv_type(Bye, 10)
        assert worker.wait(10) == 0, worker.log()
    finally:
        master.close()


def _running_three_users(cluster: Cluster, master: RawPeer) -> tuple[Any, Bundle]:
    """Worker w1 welcomed by the hand-driven ``master`` to run "fake-run", its phase started and its
    scenario set to 3 users by command 5; answers the worker process and the bundle it got."""
    config = write_recording_config(cluster.folder, {"min_concurrency": 1, "max_concurrency": 1}, run_time=30)
    bundle = Bundle.build(cluster.folder, config, ["record_requests.py"], run_id="fake-run")
    worker = cluster.worker("w1")
    master.recv_type(Hello, 30)
    master.send(Welcome("w1", "fake-run", 1.0, 10.0))
    master.send(bundle)
    assert master.recv_type(Ready, 30).bundle_sha256 == bundle.digest()
    master.send(PhaseStart("load", 0))
    master.send(SetTargets(5, "load", {"s": 3}))
    assert _reported_users(master, lambda n: n == 3, timeout=10) == 3
    return worker, bundle


def _reported_users(master: RawPeer, accept: Callable[[int], bool], skip: int = 0, timeout: float = 5.0) -> int:
    """Users in the worker's next heartbeat that ``accept``s, after skipping ``skip`` heartbeats."""
    deadline = time.monotonic() + timeout
    while True:
        beat = master.recv_type(Heartbeat, max(0.0, deadline - time.monotonic()))
        if skip > 0:
            skip -= 1
            continue
        if accept(beat.users):
            return int(beat.users)
        if time.monotonic() > deadline:
            raise AssertionError(f"last heartbeat reported {beat.users} users")


def _batch(count: int) -> dict[str, Any]:
    recorder = Recorder()
    slot = recorder.slot("load", "s", "hit", 1.0)
    for _ in range(count):
        slot.record(2_000_000, time.monotonic(), 200)
    recorder.set_users("load", "s", 1)
    return recorder.drain().to_wire()


def test_master_merges_each_stats_batch_once(cluster: Cluster) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 1, "max_concurrency": 1}, run_time=2)
    master = cluster.master(config, 1)
    fake = RawPeer(zmq.DEALER, "fake").connect(cluster.port)  # a hand-driven worker
    try:
        fake.send(Hello("fake", "test", "localhost", os.getpid(), 1))
        fake.recv_type(Welcome, 10)
        bundle = fake.recv_type(Bundle, 10)
        fake.send(Ready(bundle.digest()))
        fake.recv_type(PhaseStart, 10)
        batches = {1: _batch(5), 2: _batch(7), 3: _batch(11)}
        acks = []
        # A duplicate, a batch past a gap (2 was "lost"), then the resend of 2 and 3, then 2 again.
        for seq in (1, 1, 3, 2, 3, 2):
            fake.send(Stats(seq, batches[seq]))
            acks.append(fake.recv_type(Ack, 5).seq)
        assert acks == [1, 1, 1, 2, 3, 3]
        # A well-formed frame whose histogram does not add up: logged with the worker and the entry, acked
        # (a resend would be as bad), and none of it merged.
        bad = _batch(13)
        hist = bad["entries"][0]["windows"][0][3]  # [total, min, max, sum, keys, counts]
        hist[0] += 1  # one more request than its buckets hold (and its sum to match)
        hist[3] += 2000
        fake.send(Stats(4, bad))
        assert fake.recv_type(Ack, 5).seq == 4
        stop = _serve_until(fake, PhaseStop, 10)
        fake.send(Stopped(stop.phase, 4))
        _serve_until(fake, Quit, 15)
        fake.send(Bye("quit"))
    finally:
        fake.close()

    assert master.wait() == 0, master.log()
    assert ("dropped frame from fake: malformed stats batch 4: stats batch: entries[0]: histogram: total does not "
            "match bucket counts") in master.log()
    summary = cluster.summary()
    assert summary["totals"]["count"] == 5 + 7 + 11
    assert by_id(summary)["fake"]["requests"] == 5 + 7 + 11


def _serve_until(fake: RawPeer, cls: type[Message], timeout: float) -> Any:
    """Heartbeat as a worker would until the master sends a ``cls`` message; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fake.send(Heartbeat("running", users=1, phase="load"))
        msg = fake.recv(0.3)
        if isinstance(msg, cls):
            return msg
    raise AssertionError(f"no {cls.TYPE} within {timeout}s")


def test_worker_started_before_its_master_joins_when_it_comes_up(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=2)
    target.reset()
    worker = cluster.worker("early")
    time.sleep(1.0)  # a few connection attempts into nothing
    assert worker.alive(), worker.log()

    master = cluster.master(config, 1)

    assert master.wait() == 0, cluster.logs()
    assert worker.wait(10) == 0, worker.log()
    summary = cluster.summary()
    assert by_id(summary)["early"]["requests"] > 0
    assert server_paths(target) == {"early": summary["totals"]["count"]}


def test_worker_back_after_being_lost_runs_its_share_not_more(cluster: Cluster, target: TargetProcess) -> None:
    # SIGSTOP makes a worker silent without closing its connection: lost after 2 intervals, back at SIGCONT.
    config = write_recording_config(cluster.folder, {"min_concurrency": 4, "max_concurrency": 4}, run_time=6.5)
    target.reset()
    master = cluster.master(config, 2, "--heartbeat-liveness", "2")
    cluster.worker("w1")
    paused = cluster.worker("w2")
    wait_until(lambda: len(server_paths(target)) == 2, STARTUP_S, "both workers send load")
    paused.popen.send_signal(signal.SIGSTOP)
    try:
        master.wait_for_log("worker w2 lost", 5)
    finally:
        paused.popen.send_signal(signal.SIGCONT)
    resumed = time.time()
    master.wait_for_log("worker w2 is back", 5)

    assert master.wait() == 0, cluster.logs()
    summary = cluster.summary()
    info = by_id(summary)
    assert not info["w2"]["lost"], info["w2"]
    # Every request counted exactly: none of the returning worker's users was left running unseen.
    assert server_paths(target) == {w: info[w]["requests"] for w in ("w1", "w2")}
    phase = summary["phases"][0]
    end = parse_time(phase["started_at"]) + phase["duration_s"]
    assert end - resumed > 2.5, "resumed too close to the end to check the shares"
    calls = cluster.calls()
    assert [users_between(calls[w], resumed + 1.5, end - 0.2) for w in ("w1", "w2")] == [2, 2]


def test_local_workers_do_not_outlive_a_killed_run(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_concurrency": 2, "max_concurrency": 2}, run_time=30)
    target.reset()
    run = cluster.start("run", ["run", str(config), "--workers", "2", "--quiet"], {"CLUSTER_WORKER": "local"})
    wait_until(lambda: target.counts()["total"] > 0, STARTUP_S, "the local workers send load")
    children = psutil.Process(run.pid).children(recursive=True)
    assert len(children) == 2, children
    try:
        run.kill9()
        wait_until(lambda: not any(running(c) for c in children), 3, "the orphaned workers exit")
    finally:
        for child in children:  # no longer our descendants once orphaned: stopped here by pid
            if running(child):
                child.kill()
