"""CURVE keys: `gradual keys`, a keyed cluster of real processes on 127.0.0.1, and the peers it refuses."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import zmq
from gradual.proto import Hello
from support.cluster import Cluster, RawPeer, by_id, server_paths, wait_until, write_recording_config
from support.target import REPO_ROOT, TargetProcess

MARKER_CODE = '''
import os as _os
open(_os.path.join(_os.environ["CLUSTER_RECORD_DIR"], "imported." + _os.environ.get("CLUSTER_WORKER", "x")),
     "w").close()
'''


def _keys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradual", "keys", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60)


def _init(folder: Path) -> Path:
    done = _keys("init", str(folder))
    assert done.returncode == 0, done.stderr
    return folder


def _config(cluster: Cluster, run_time: float, users: int = 2) -> Path:
    config = write_recording_config(cluster.folder, {"min_concurrency": users, "max_concurrency": users},
                                    run_time=run_time)
    request_file = config.parent / "record_requests.py"
    request_file.write_text(MARKER_CODE + request_file.read_text(encoding="utf-8"), encoding="utf-8")
    return config


def test_keys_init_and_add_worker_write_keypairs_with_private_secrets(tmp_path: Path) -> None:
    folder = _init(tmp_path / "keys")
    for name in ("master.key_secret", "worker.key_secret"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert (folder / "workers" / "worker.key").is_file()
    assert _keys("init", str(folder)).returncode == 2  # never overwrites keys
    done = _keys("add-worker", str(folder), "edge-1")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((folder / "edge-1" / "worker.key_secret").stat().st_mode) == 0o600
    assert (folder / "edge-1" / "master.key").read_bytes() == (folder / "master.key").read_bytes()
    assert (folder / "workers" / "edge-1.key").is_file()
    bad = _keys("add-worker", str(folder), "../escape")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_keyed_run_counts_exactly_and_a_keyless_peer_gets_no_reply(cluster: Cluster, target: TargetProcess) -> None:
    folder = _init(cluster.folder / "keys")
    assert _keys("add-worker", str(folder), "w2").returncode == 0
    config = _config(cluster, run_time=4)
    target.reset()
    master = cluster.master(config, 2, "--keys", str(folder))
    cluster.worker("w1", "--keys", str(folder))
    cluster.worker("w2", env={"GRADUAL_KEYS": str(folder / "w2")})  # its own keys dir, through the env
    stranger = RawPeer(zmq.DEALER, "stranger").connect(cluster.port)
    try:
        stranger.send(Hello("stranger", "evil", "attacker", 1, 1))
        assert stranger.recv(2.0) is None
    finally:
        stranger.close()

    assert master.wait() == 0, cluster.logs()
    summary = cluster.summary()
    info = by_id(summary)
    assert sorted(info) == ["w1", "w2"]
    assert summary["totals"]["count"] == target.counts()["total"] > 0
    assert server_paths(target) == {w: info[w]["requests"] for w in ("w1", "w2")}
    assert "CURVE, 2 authorized worker key(s)" in master.log()
    assert (cluster.record_dir / "imported.w1").exists()  # what the refused workers below never write


def test_worker_with_unauthorized_keys_is_refused_and_the_run_aborts(cluster: Cluster, target: TargetProcess) -> None:
    folder = _init(cluster.folder / "keys")
    other = _init(cluster.folder / "other")
    shutil.copy(folder / "master.key", other / "master.key")  # it knows the master, but is not known there
    config = _config(cluster, run_time=2)
    master = cluster.master(config, 1, "--keys", str(folder), "--expect-workers-timeout", "4")
    worker = cluster.worker("intruder", "--keys", str(other))

    assert master.wait() == 3, cluster.logs()
    log = master.log()
    refusals = [line for line in log.splitlines() if "refused a peer" in line]
    assert len(refusals) == 1, log  # once, however often it retried
    assert "only 0 of 1 workers ready" in log
    assert not (cluster.record_dir / "imported.intruder").exists()  # (the master imports it too: "imported.x")
    assert worker.alive()
    assert target.counts()["total"] == 0


def test_worker_pinned_to_one_master_imports_nothing_from_another(cluster: Cluster, target: TargetProcess) -> None:
    keys_a = _init(cluster.folder / "a")
    keys_b = _init(cluster.folder / "b")
    # Master B even admits the worker's key: only the worker's pin on A's key keeps B out.
    shutil.copy(keys_a / "worker.key", keys_b / "workers" / "a-worker.key")
    config = _config(cluster, run_time=2)
    master_b = cluster.master(config, 1, "--keys", str(keys_b), "--expect-workers-timeout", "4")
    worker = cluster.worker("pinned", "--keys", str(keys_a))

    assert master_b.wait() == 3, cluster.logs()
    assert not (cluster.record_dir / "imported.pinned").exists(), "the request file was imported"
    assert target.counts()["total"] == 0
    worker.wait_for_log("failed the CURVE handshake", 5)
    assert worker.alive()


def test_bundle_error_from_a_keyed_worker_aborts_at_once(cluster: Cluster) -> None:
    folder = _init(cluster.folder / "keys")
    config = _config(cluster, run_time=2)
    master = cluster.master(config, 2, "--keys", str(folder), "--expect-workers-timeout", "30")
    cluster.worker("bad", "--keys", str(folder), env={"FAIL_ON_WORKER": "1"})
    assert master.wait(20) == 3, cluster.logs()
    assert "worker bad (" in master.log() and "could not load the bundle" in master.log()


def test_local_workers_run_with_fresh_keys(cluster: Cluster, target: TargetProcess) -> None:
    config = _config(cluster, run_time=2)
    target.reset()
    run = cluster.start("run", ["run", str(config), "--workers", "2", "--quiet", "--json", str(cluster.json_path)],
                        {"CLUSTER_WORKER": "local"})
    assert run.wait() == 0, run.log()
    assert cluster.summary()["totals"]["count"] == target.counts()["total"] > 0


def test_a_worker_id_stays_bound_to_its_key(cluster: Cluster, target: TargetProcess) -> None:
    # w1 (the shared worker key) dies; a process with another authorized key ("edge") claims the id: it is
    # refused, logged, and never counted as w1's restart.
    folder = _init(cluster.folder / "keys")
    assert _keys("add-worker", str(folder), "edge").returncode == 0
    config = _config(cluster, run_time=8)
    target.reset()
    master = cluster.master(config, 1, "--keys", str(folder), "--heartbeat-liveness", "2")
    first = cluster.worker("w1", "--keys", str(folder))
    wait_until(lambda: target.counts()["total"] > 0, 15, "w1 sends load")
    first.kill9()
    cluster.worker("w1", "--keys", str(folder / "edge"))
    master.wait_for_log("hello refused: worker w1 belongs to key 'worker'; this hello came with key 'edge'", 15)

    master.wait()
    info = by_id(cluster.summary())
    assert info["w1"]["restarts"] == 0 and info["w1"]["lost"], info["w1"]
