"""Event hooks and plugins in real runs against the demo target: `gradual run` in local mode and with two
local worker processes (`--workers 2`, the same master and worker code as a cluster, over loopback).

The recorder plugin (support/plugins.py) counts every event on every node and writes what it saw per process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cluster import Cluster
from support.gradual_run import GradualRun, run_gradual
from support.plugins import (
    BROKEN,
    CRASHER,
    EXIT_CODE,
    MARKER,
    RAISER,
    RECORDER,
    SLOW_PATH,
    read_recordings,
    write_plugin_config,
)
from support.target import TargetProcess

TWO_PHASES = {"warm": 1.5, "load": 2.0}  # each ramps 1 -> 2 -> 3 users at 0, 0.5 and 1 s


@pytest.fixture
def events_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "events"
    folder.mkdir()
    yield folder


def _run(config: Path, target: TargetProcess, events_dir: Path, *extra: str, env: dict[str, str] | None = None,
         ) -> GradualRun:
    target.reset()
    return run_gradual(config, target=target, extra_args=list(extra),
                       env={"PLUGIN_EVENTS_DIR": str(events_dir), **(env or {})})


def _by_role(recordings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in recordings:
        out.setdefault(rec["role"], []).append(rec)
    return out


def _check_master_side(rec: dict[str, Any], role: str, served: int, workers: list[str]) -> None:
    """What the controller fires: the same in local mode and on a cluster's master."""
    counts, args = rec["counts"], rec["args"]
    for name in ("init", "test_start", "test_stop", "quitting"):
        assert counts.get(name) == 1, (name, counts)
    assert args["init"][0]["role"] == role and args["init"][0]["env_role"] == role
    assert args["init"][0]["keys"] == ["environment", "role", "runner"]
    assert args["test_start"][0]["keys"] == ["environment", "run"]
    assert args["test_stop"][0]["keys"] == ["environment", "result", "run", "stats"]
    assert args["test_stop"][0]["result_interrupted"] is False
    assert args["test_stop"][0]["stats_count"] == served
    assert args["quitting"][0]["keys"] == ["environment", "exit_code", "summary"]
    assert args["quitting"][0]["exit_code"] == 0

    starts = [a for a in args["phase_start"] if a["role"] == role]
    stops = [a for a in args["phase_stop"] if a["role"] == role]
    assert [(a["phase"], a["index"]) for a in starts] == [("warm", 0), ("load", 1)]
    assert [(a["phase"], a["index"]) for a in stops] == [("warm", 0), ("load", 1)]
    assert all(a["duration_s"] > 1.0 for a in stops)

    steps = [(a["phase"], a["scenario"], a["user_count"], a["final"]) for a in args["spawning_complete"]]
    assert steps == [(p, "s", n, n == 3) for p in ("warm", "load") for n in (1, 2, 3)]

    assert sorted(a["worker_id"] for a in args["worker_connect"]) == workers
    assert all(a["keys"] == ["environment", "host", "worker_id"] for a in args["worker_connect"])
    assert counts.get("worker_lost", 0) == 0
    # Every request's record reached the master as custom data, through report_to_master -> worker_report.
    assert sorted(rec["received"]) == workers
    assert sum(rec["received"].values()) == served
    assert all("recorded_requests" in a["data_keys"] for a in args["worker_report"])


def _check_worker_side(rec: dict[str, Any], role: str) -> None:
    counts, args = rec["counts"], rec["args"]
    assert counts["report_to_master"] >= 1
    assert all(a["keys"] == ["data", "environment", "worker_id"] for a in args["report_to_master"])
    record = args["request"][0]
    assert record["keys"] == ["record"]
    fields = record["record"]
    assert fields["request_name"] == "hit" and fields["scenario_name"] == "s"
    assert fields["phase_name"] in ("warm", "load") and fields["status_code"] == 200 and fields["error"] is None
    assert fields["url"].endswith("/slow") and fields["expected_response_time"] == 1.0
    assert fields["response_time"] > 0 and fields["end_time"] - fields["start_time"] == fields["response_time"]
    assert rec["reported"] == counts["request"], "every record was reported to the master"


def test_local_mode_fires_every_event_once_per_occurrence_with_its_arguments(
    tmp_path: Path, target: TargetProcess, events_dir: Path
) -> None:
    config = write_plugin_config(tmp_path, ["recorder.py"], phases=TWO_PHASES, files={"recorder.py": RECORDER})
    result = _run(config, target, events_dir)
    assert result.returncode == 0, result.stderr
    served = target.counts()["requests"][SLOW_PATH]
    assert served > 20 and result.summary is not None and result.summary["totals"]["count"] == served
    [rec] = read_recordings(events_dir)
    assert rec["role"] == "local"
    _check_master_side(rec, "local", served, ["local"])
    _check_worker_side(rec, "local")
    assert rec["counts"]["request"] == served, "one request event per request the server answered"
    assert rec["counts"]["phase_start"] == 2, "local mode fires each phase once, not once per role"
    plugins = result.summary["plugins"]
    assert plugins == [{"name": "event-recorder", "source": f"file {tmp_path / 'recorder.py'}", "runs_on": "both",
                        "required": False, "state": "closed", "failed_stage": None, "error": None}]


def test_two_workers_fire_request_events_on_the_workers_and_the_rest_on_the_master(
    tmp_path: Path, target: TargetProcess, events_dir: Path
) -> None:
    config = write_plugin_config(tmp_path, ["recorder.py"], phases=TWO_PHASES, files={"recorder.py": RECORDER})
    result = _run(config, target, events_dir, "--workers", "2")
    assert result.returncode == 0, result.stderr
    served = target.counts()["requests"][SLOW_PATH]
    assert served > 20
    roles = _by_role(read_recordings(events_dir))
    assert sorted(roles) == ["master", "worker"] and len(roles["master"]) == 1 and len(roles["worker"]) == 2
    master = roles["master"][0]
    _check_master_side(master, "master", served, ["local-1", "local-2"])
    assert "request" not in master["counts"] and "report_to_master" not in master["counts"]

    for worker in roles["worker"]:
        counts, args = worker["counts"], worker["args"]
        assert counts["init"] == 1 and args["init"][0]["role"] == "worker"
        assert worker["worker_id"] in ("local-1", "local-2")
        # Each worker fires the phase events of its own node; the master-only events never fire there.
        assert [(a["phase"], a["index"], a["role"]) for a in args["phase_start"]] == [
            ("warm", 0, "worker"), ("load", 1, "worker")]
        assert [(a["phase"], a["duration_s"]) for a in args["phase_stop"]] == [("warm", None), ("load", None)]
        for name in ("spawning_complete", "worker_connect", "worker_report"):
            assert name not in counts, name
        # Locust's "fired on each node": the run's start, stop and quitting on every worker too, once each;
        # a worker's test_stop sees its own totals, the master's result and summary are not there.
        assert [counts.get(n) for n in ("test_start", "test_stop", "quitting")] == [1, 1, 1]
        assert args["test_start"][0]["keys"] == ["environment", "run"]
        assert args["test_stop"][0]["keys"] == ["environment", "result", "run", "stats"]
        assert args["test_stop"][0]["result_interrupted"] is None
        assert args["test_stop"][0]["stats_count"] == counts["request"]
        assert args["quitting"][0]["keys"] == ["environment", "exit_code", "summary"]
        assert args["quitting"][0]["exit_code"] == 0
        _check_worker_side(worker, "worker")
        assert master["received"][worker["worker_id"]] == counts["request"]
    assert sum(w["counts"]["request"] for w in roles["worker"]) == served


def test_a_raising_listener_is_logged_and_the_run_goes_on(
    tmp_path: Path, target: TargetProcess, events_dir: Path
) -> None:
    config = write_plugin_config(tmp_path, ["raiser.py", "recorder.py"], files={
        "raiser.py": RAISER, "recorder.py": RECORDER})
    result = _run(config, target, events_dir)
    assert result.returncode == 0, result.stderr
    served = target.counts()["requests"][SLOW_PATH]
    assert result.summary is not None and result.summary["totals"]["count"] == served > 20
    assert result.summary["totals"]["failures"] == 0, "a listener's bug is not the request's failure"
    assert "listener boom_on_request (plugin 'raiser') of event 'request' raised" in result.stderr
    assert "ValueError: listener bug on hit" in result.stderr
    assert "listener boom_on_start (plugin 'raiser') of event 'test_start' raised" in result.stderr
    assert result.stderr.count("of event 'request' raised") == 1, "logged in full once, not once per request"
    [rec] = read_recordings(events_dir)
    assert rec["counts"]["request"] == served and rec["counts"]["test_start"] == 1


def test_a_quitting_listener_sets_the_exit_code(tmp_path: Path, target: TargetProcess, events_dir: Path) -> None:
    config = write_plugin_config(tmp_path, ["exit_code.py"], phases={"load": 1.0}, files={"exit_code.py": EXIT_CODE})
    result = _run(config, target, events_dir)
    assert result.returncode == 5, result.stderr
    assert result.summary is not None and result.summary["run"]["exit_code"] == 5


@pytest.mark.parametrize("workers", [0, 2])
def test_a_broken_plugin_is_reported_with_its_stage_while_another_loads(
    tmp_path: Path, target: TargetProcess, events_dir: Path, workers: int
) -> None:
    config = write_plugin_config(tmp_path, ["broken.py", "marker.py"], phases={"load": 1.5},
                                 files={"broken.py": BROKEN, "marker.py": MARKER})
    result = _run(config, target, events_dir, "--workers", str(workers))
    assert result.returncode == 0, result.stderr
    assert "plugin 'broken' failed at initialize: RuntimeError: cannot reach the monitoring system" in result.stderr
    assert target.counts()["requests"][SLOW_PATH] > 0
    assert result.summary is not None
    states = {p["name"]: (p["state"], p["failed_stage"]) for p in result.summary["plugins"]}
    assert states == {"broken": ("failed", "initialize"), "marker": ("closed", None)}
    markers = sorted(p.name.split("-")[0] for p in events_dir.glob("*.marker"))
    assert markers == (["local"] if workers == 0 else ["master", "worker", "worker"])
    assert all(p.read_text() == "initialized\nclosed\n" for p in events_dir.glob("*.marker"))
    # Each node logs its own failure: the master (or local process) and, here on the same stderr, each worker;
    # each worker's also reaches the master, which logs it with the worker's id and puts it in the summary.
    failure = "plugin 'broken' failed at initialize: RuntimeError: cannot reach the monitoring system"
    relayed = [line for line in result.stderr.splitlines() if "gradual.master: worker " in line and failure in line]
    assert len(relayed) == workers
    assert result.stderr.count("plugin 'broken' failed at initialize") == 1 + 2 * workers
    # (Local mode's one in-process worker has nothing to relay: its failures are the summary's plugins list.)
    assert [w["problems"] for w in result.summary["workers"]] == ([[failure]] * workers or [[]])


def test_a_required_broken_plugin_aborts_the_run_with_exit_3(
    tmp_path: Path, target: TargetProcess, events_dir: Path
) -> None:
    config = write_plugin_config(tmp_path, [{"path": "broken.py", "required": True}, "marker.py"],
                                 files={"broken.py": BROKEN, "marker.py": MARKER})
    result = _run(config, target, events_dir)
    assert result.returncode == 3, result.stderr
    assert ("error: required plugin 'broken' failed at initialize: RuntimeError: cannot reach the monitoring "
            "system: the run is aborted") in result.stderr
    assert target.counts()["requests"].get(SLOW_PATH, 0) == 0
    assert not list(events_dir.glob("*.marker")), "plugins after the failed required one never initialize"


def test_a_required_plugin_that_fails_on_a_worker_aborts_the_cluster_run_with_exit_3(
    tmp_path: Path, target: TargetProcess, events_dir: Path
) -> None:
    config = write_plugin_config(tmp_path, [{"path": "broken.py", "required": True}],
                                 files={"broken.py": BROKEN})
    result = _run(config, target, events_dir, "--workers", "2", env={"BROKEN_RUNS_ON": "worker"})
    assert result.returncode == 3, result.stderr
    assert "could not load the bundle: required plugin 'broken' failed at initialize" in result.stderr
    assert target.counts()["requests"].get(SLOW_PATH, 0) == 0


@pytest.mark.parametrize("required", [False, True])
def test_a_plugin_that_dies_on_the_workers_mid_run_is_reported_by_the_master(
    tmp_path: Path, target: TargetProcess, events_dir: Path, required: bool
) -> None:
    # Not required: the master shows each worker's failure and the run goes on. Required: the master stops the
    # run at the first one, with exit 3, long before the phase's 20 s are up.
    config = write_plugin_config(tmp_path, [{"path": "crasher.py", "required": required}],
                                 phases={"load": 20.0 if required else 2.0}, files={"crasher.py": CRASHER})
    result = _run(config, target, events_dir, "--workers", "2")
    failure = "plugin 'crasher' failed at run: RuntimeError: lost the connection to its sink"
    assert result.summary is not None, result.stderr
    problems = [w["problems"] for w in result.summary["workers"]]
    if not required:
        assert result.returncode == 0, result.stderr
        assert problems == [[failure]] * 2
        # The final console summary lists them too, under workers.
        listed = [line for line in result.stdout.splitlines() if line.endswith(f": {failure}")]
        ids = sorted(w["id"] for w in result.summary["workers"])
        assert sorted(line.split(":")[0].strip() for line in listed) == ids
        assert target.counts()["requests"][SLOW_PATH] > 0
        return
    assert result.returncode == 3, result.stderr
    assert "stopping the run: worker " in result.stderr and f"required {failure}" in result.stderr
    assert [f"required {failure}"] in problems
    assert result.summary["phases"][0]["duration_s"] < 10
    assert result.summary["run"]["stop_reason"].startswith("worker ")
    assert result.summary["run"]["stop_reason"].endswith(f"required {failure}")


def test_the_master_fires_worker_connect_and_worker_lost_for_real_worker_processes(
    tmp_path: Path, target: TargetProcess, events_dir: Path
) -> None:
    config = write_plugin_config(tmp_path, ["recorder.py"], phases={"load": 4.5}, max_users=2,
                                 files={"recorder.py": RECORDER})
    cluster = Cluster(tmp_path / "cluster", target)
    env = {"PLUGIN_EVENTS_DIR": str(events_dir)}
    try:
        master = cluster.master(config, 2, "--heartbeat-liveness", "2", env=env)
        cluster.worker("w1", env=env)
        doomed = cluster.worker("w2", env=env)
        master.wait_for_log("waiting for 2 worker(s)")
        deadline = time.monotonic() + 15
        while target.counts()["requests"].get(SLOW_PATH, 0) < 10:  # both are running load
            assert time.monotonic() < deadline, cluster.logs()
            time.sleep(0.05)
        doomed.kill9()  # no goodbye: the master declares it lost after two silent heartbeats
        assert master.wait() == 0, cluster.logs()
    finally:
        cluster.stop_all()
    [rec] = [r for r in read_recordings(events_dir) if r["role"] == "master"]
    connects = sorted((a["worker_id"], a["keys"]) for a in rec["args"]["worker_connect"])
    assert connects == [("w1", ["environment", "host", "worker_id"]), ("w2", ["environment", "host", "worker_id"])]
    [lost] = rec["args"]["worker_lost"]
    assert lost["worker_id"] == "w2" and lost["lost"] is True and lost["host"]
    assert lost["keys"] == ["environment", "host", "lost", "worker_id"]
