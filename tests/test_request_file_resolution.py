"""request_file resolves against the naming file, then the working directory (the original's rule).

`validate` says which place it used; a file in neither lists both places; a worker that loads the bundle
resolves the same name to the same file as the master, wherever the worker runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradual.master.zmq_link import bundle_for
from gradual.worker.bundle import LoadedBundle
from support.gradual_run import finish, gradual_env, server_counts, start_gradual
from support.target import TargetProcess

from gradual.configs import ConfigError, load

CONFIG = """\
runs:
  name: resolution
  phases:
    p:
      run_time: {run_time}
      scenarios:
        s:
          requests: FROM_REQUEST_YAML_FILE
          request_file: reqs.yaml
          run_once: true
          min_concurrency: 3
          max_concurrency: 3
"""


def _requests(url: str) -> str:
    return f'requests:\n  hit: {{url: "{url}", method: GET}}\n'


def _layout(tmp_path: Path, run_time: float = 1) -> Path:
    """tmp_path/suite/config.yaml naming reqs.yaml, which is not in suite/."""
    suite = tmp_path / "suite"
    suite.mkdir()
    config = suite / "config.yaml"
    config.write_text(CONFIG.format(run_time=run_time), encoding="utf-8")
    return config


def _validate(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradual", "validate", str(config)], cwd=cwd, env=gradual_env(),
                          capture_output=True, text=True, timeout=60)


def test_request_file_next_to_the_config_wins_over_the_working_directory(tmp_path: Path) -> None:
    config = _layout(tmp_path)
    (config.parent / "reqs.yaml").write_text(_requests("http://127.0.0.1:9/next-to-config"), encoding="utf-8")
    (tmp_path / "reqs.yaml").write_text(_requests("http://127.0.0.1:9/cwd"), encoding="utf-8")
    run = load(config, cwd=tmp_path)
    scen = run.phases[0].scenarios[0]
    assert scen.request_file == config.parent / "reqs.yaml" and scen.request_file_base == "config"
    assert scen.requests[0].url.endswith("/next-to-config") and run.cwd is None
    done = _validate(config, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "request_file: suite/reqs.yaml (next to the config)" in done.stdout


def test_request_file_falls_back_to_the_working_directory_and_validate_says_so(tmp_path: Path) -> None:
    config = _layout(tmp_path)
    (tmp_path / "reqs.yaml").write_text(_requests("http://127.0.0.1:9/cwd"), encoding="utf-8")
    run = load(config, cwd=tmp_path)
    scen = run.phases[0].scenarios[0]
    assert scen.request_file == tmp_path / "reqs.yaml" and scen.request_file_base == "cwd"
    assert run.cwd == tmp_path and tmp_path / "reqs.yaml" in run.files
    done = _validate(config, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "request_file: reqs.yaml (in the working directory)" in done.stdout


def test_request_file_in_neither_place_lists_both(tmp_path: Path) -> None:
    config = _layout(tmp_path)
    try:
        load(config, cwd=tmp_path)
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("a missing request_file loaded")
    assert f"{config.parent / 'reqs.yaml'} (next to the config)" in message
    assert f"{tmp_path / 'reqs.yaml'} (in the working directory)" in message
    done = _validate(config, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "config.yaml:9: runs.phases.p.scenarios.s.request_file: file not found: reqs.yaml (tried " in done.stderr
    assert "suite/reqs.yaml (next to the config) and reqs.yaml (in the working directory)" in done.stderr


def test_workers_resolve_a_working_directory_request_file_like_the_master(
    tmp_path: Path, target: TargetProcess
) -> None:
    config = _layout(tmp_path, run_time=5)
    (tmp_path / "reqs.yaml").write_text(_requests(f"{target.url}/from-cwd"), encoding="utf-8")
    summary = tmp_path / "summary.json"
    started = time.monotonic()
    proc = start_gradual(["run", str(config), "--workers", "2", "--quiet", "--json", str(summary)], cwd=tmp_path)
    done = finish(proc, summary, started, timeout=60)
    assert done.returncode == 0, done.stderr
    assert server_counts(target) == {"GET /from-cwd": 3}
    assert done.summary is not None and done.summary["totals"]["count"] == 3


def test_a_bundle_carries_the_masters_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _layout(tmp_path)
    (tmp_path / "reqs.yaml").write_text(_requests("http://127.0.0.1:9/cwd"), encoding="utf-8")
    bundle = bundle_for(load(config, cwd=tmp_path), "run-1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "reqs.yaml").write_text(_requests("http://127.0.0.1:9/wrong"), encoding="utf-8")
    monkeypatch.chdir(elsewhere)  # a worker's own working directory has a reqs.yaml of its own
    loaded = LoadedBundle(bundle, parent=tmp_path)
    try:
        scen = loaded.run.phases[0].scenarios[0]
        assert scen.request_file == loaded.folder.resolve() / "reqs.yaml"
        assert scen.requests[0].url.endswith("/cwd")
    finally:
        loaded.remove()
