"""The example plugins of examples/plugins, each doing its job in a real run against the demo target:
the SQLite results sink, the fail-ratio watchdog, the /teapot route on the master's HTTP API, and the
installable package found through its entry point and loaded by name.

Examples are copied into the test's folder first, so runs never write next to the repository's files.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support.cluster import Cluster, free_port
from support.gradual_run import gradual_env, run_gradual
from support.plugins import EXAMPLES, SLOW_PATH, copy_example, pip_install_target, write_plugin_config
from support.target import REPO_ROOT, TargetProcess


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT node, phase, scenario, request, status_code, response_time_ms, error "
                            "FROM requests").fetchall()


@pytest.mark.parametrize("workers", [0, 2])
def test_the_sqlite_sink_stores_one_row_per_request_the_server_saw(
    tmp_path: Path, target: TargetProcess, workers: int
) -> None:
    copy_example("sqlite_sink.py", tmp_path)
    copy_example("fail_ratio_watchdog.py", tmp_path)
    db = tmp_path / "results.db"
    config = write_plugin_config(tmp_path, [
        {"path": "sqlite_sink.py", "options": {"database": str(db), "batch_size": 50}},
        "fail_ratio_watchdog.py",  # healthy run: it must not trip
    ], phases={"load": 2.5})
    target.reset()
    result = run_gradual(config, target=target, extra_args=["--workers", str(workers)])
    assert result.returncode == 0, result.stderr
    served = target.counts()["requests"][SLOW_PATH]
    rows = _rows(db)
    assert served > 20 and len(rows) == served
    assert result.summary is not None and result.summary["totals"]["count"] == served
    assert {r[1:5] for r in rows} == {("load", "s", "hit", 200)}
    assert all(r[5] > 0 and r[6] is None for r in rows)
    nodes = {r[0] for r in rows}
    assert nodes == ({"local"} if workers == 0 else {"local-1", "local-2"})
    if workers:
        per_worker = {w["id"]: w["requests"] for w in result.summary["workers"]}
        assert {n: sum(1 for r in rows if r[0] == n) for n in nodes} == per_worker


def test_the_watchdog_stops_a_run_whose_failure_ratio_is_over_the_limit(
    tmp_path: Path, target: TargetProcess
) -> None:
    copy_example("fail_ratio_watchdog.py", tmp_path)
    config = write_plugin_config(tmp_path, [
        {"path": "fail_ratio_watchdog.py", "options": {"max_fail_ratio": 0.2, "min_requests": 10, "interval": 0.2}},
    ], phases={"load": 5.0}, path="/status/500")
    target.reset()
    result = run_gradual(config, target=target)
    assert result.returncode == 1, result.stderr
    assert result.summary is not None
    reason = result.summary["run"]["stop_reason"]
    assert reason.startswith("fail-ratio-watchdog: ") and "(100.0% > 20.0%)" in reason
    assert result.summary["phases"][0]["duration_s"] < 3.0, "stopped well before the phase's 5 s"
    totals = result.summary["totals"]
    # A stop kills what is in flight at once: those few are interrupted, every other request failed.
    assert totals["failures"] + totals["interrupted"] == totals["count"] and totals["failures"] > 0
    assert f"stopping the run: {reason}" in result.stderr


def test_the_teapot_route_answers_on_the_masters_http_api(cluster: Cluster, target: TargetProcess) -> None:
    copy_example("teapot.py", cluster.folder)
    config = write_plugin_config(cluster.folder, ["teapot.py"], phases={"load": 3.0})
    http_port = free_port()
    master = cluster.master(config, 1, "--http-port", str(http_port))
    cluster.worker("w1")
    url = f"http://127.0.0.1:{http_port}/teapot"
    deadline = time.monotonic() + 15
    answer = None
    while time.monotonic() < deadline and master.alive():
        try:
            answer = requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
            continue
        if answer.json()["state"] == "running" and answer.json()["requests_so_far"] > 0:
            break
        time.sleep(0.1)
    assert answer is not None, cluster.logs()
    assert answer.status_code == 418 and answer.headers["Content-Type"] == "application/json"
    assert answer.json()["message"] == "I'm a teapot" and answer.json()["run"] == "plugin test"
    assert answer.json()["requests_so_far"] > 0
    # Built-in routes are still there, and an unknown path lists the plugin's route.
    assert requests.get(f"http://127.0.0.1:{http_port}/status", timeout=2).json()["state"] == "running"
    assert "/teapot" in requests.get(f"http://127.0.0.1:{http_port}/nope", timeout=2).json()["routes"]
    assert master.wait() == 0, cluster.logs()
    plugins = cluster.summary()["plugins"]
    assert [(p["name"], p["runs_on"], p["state"]) for p in plugins] == [("teapot", "master", "closed")]


# -- the installable package ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/plugins/gradual-status-codes installed with `pip install --target` into a temporary folder."""
    folder = tmp_path_factory.mktemp("status-codes")
    package = copy_example("gradual-status-codes", folder)
    site = folder / "site"
    pip_install_target(package, site)
    assert (site / "gradual_status_codes-1.0.0.dist-info" / "entry_points.txt").is_file()
    return site


def _with_site(site: Path) -> dict[str, str]:
    env = gradual_env()
    return {"PYTHONPATH": f"{site}:{env['PYTHONPATH']}"}


def test_gradual_plugins_lists_the_installed_entry_point_and_a_configs_plugins(tmp_path: Path, site: Path) -> None:
    config = copy_example("plugins_config.yaml", tmp_path)
    for name in ("sqlite_sink.py", "fail_ratio_watchdog.py", "teapot.py", "phase_banner.py", "requests.yaml"):
        copy_example(name, tmp_path)
    done = subprocess.run([sys.executable, "-m", "gradual", "plugins", str(config), "--plugin", "not-there"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=gradual_env(extra=_with_site(site)))
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert set(lines) == {"sqlite-sink", "fail-ratio-watchdog", "teapot", "phase_banner", "not-there", "status-codes"}
    assert "file sqlite_sink.py" in lines["sqlite-sink"] and " worker " in lines["sqlite-sink"]
    assert " master " in lines["fail-ratio-watchdog"] and "resolved" in lines["fail-ratio-watchdog"]
    assert "failed at resolve" in lines["not-there"] and "no installed plugin named 'not-there'" in lines["not-there"]
    status = lines["status-codes"]
    assert "entry point gradual_status_codes:StatusCodes (gradual-status-codes 1.0.0)" in status
    assert " no " in status and "discovered" in status
    assert "loads only when named" in done.stderr


def test_an_installed_plugin_loads_only_when_named(tmp_path: Path, target: TargetProcess, site: Path) -> None:
    config = write_plugin_config(tmp_path, [], phases={"load": 1.5})
    target.reset()
    unnamed = run_gradual(config, target=target, env=_with_site(site))
    assert unnamed.returncode == 0 and "status-codes:" not in unnamed.stderr
    assert unnamed.summary is not None and unnamed.summary["plugins"] == []

    target.reset()
    named = run_gradual(config, target=target, env=_with_site(site), extra_args=["--plugin", "status-codes"])
    assert named.returncode == 0, named.stderr
    served = target.counts()["requests"][SLOW_PATH]
    assert f"status-codes: 200={served} (from 1 worker(s))" in named.stderr
    assert named.summary is not None
    [plugin] = named.summary["plugins"]
    assert plugin["name"] == "status-codes" and plugin["state"] == "closed"
    assert plugin["source"].startswith("entry point gradual_status_codes:StatusCodes")


@pytest.mark.parametrize("how", ["config", "cli"])
def test_an_installed_plugin_named_for_a_cluster_loads_on_every_worker(
    tmp_path: Path, target: TargetProcess, site: Path, how: str
) -> None:
    output = tmp_path / "codes.json"
    named = {"name": "status-codes", "required": True, "options": {"output": str(output)}}
    plugins = [named] if how == "config" else []
    config = write_plugin_config(tmp_path, plugins, phases={"load": 2.0})
    extra = ["--workers", "2"] + (["--plugin", "status-codes"] if how == "cli" else [])
    env = _with_site(site)
    if how == "cli":  # names given with --plugin carry no options: this plugin also reads an env var
        env["GRADUAL_STATUS_CODES_OUTPUT"] = str(output)
    target.reset()
    result = run_gradual(config, target=target, env=env, extra_args=extra)
    assert result.returncode == 0, result.stderr
    served = target.counts()["requests"][SLOW_PATH]
    assert f"status-codes: 200={served} (from 2 worker(s))" in result.stderr
    codes = json.loads(output.read_text())
    assert codes["total"] == {"200": served}
    assert sorted(codes["workers"]) == ["local-1", "local-2"]
    assert sum(w["200"] for w in codes["workers"].values()) == served


def test_the_example_config_is_valid() -> None:
    done = subprocess.run([sys.executable, "-m", "gradual", "validate", str(EXAMPLES / "plugins_config.yaml")],
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=gradual_env())
    assert done.returncode == 0, done.stderr
