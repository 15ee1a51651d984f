"""gradual.run() from Python: the summary and exit code of the CLI's run, twice in a row in one process with
nothing left behind; gradual.compat.Orchestrator and the stress-run command for users of the original.

These runs happen inside the pytest process itself, which is not monkey-patched: the requests are YAML
HTTP ones, which gradual's own client serves on gevent sockets without patching (docs/python-api.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.gradual_run import gradual_env, server_counts
from support.target import REPO_ROOT, TargetProcess

import gradual
from gradual import events
from gradual.compat import Orchestrator
from gradual.configs import ConfigError
from gradual.plugins.environment import current_environment

LISTENING_REQUESTS = '''\
"""A request file whose module-level code registers a listener and counts its own imports."""

import os
from pathlib import Path

from gradual import events, request

Path(os.environ["API_TEST_IMPORTS"]).open("a").write("imported\\n")
SEEN = []


@events.request.add_listener
def on_request(record, **kwargs):
    SEEN.append(record.request_name)


@request(name="py_hit", url="{base}/py", http_method="get")
def py_hit(ctx):
    # requests blocks this unpatched process for the call: fine for two calls of a run_once scenario.
    return ctx.session.get("{base}/py", timeout=5)
'''


def _config(folder: Path, base: str, *, run_time: float = 1, users: int = 2) -> Path:
    (folder / "reqs.yaml").write_text(
        f'requests:\n  get_ping: {{url: "{base}/ping", method: GET, expected_response_time: 1}}\n'
        f'  post_submit: {{url: "{base}/submit", method: POST, params: {{name: x}}}}\n', encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(f"""\
runs:
  name: api test
  phases:
    load:
      run_time: {run_time}
      scenarios:
        closed:
          requests: FROM_REQUEST_YAML_FILE
          request_file: reqs.yaml
          iterate_through_requests: true
          min_concurrency: {users}
          max_concurrency: {users}
        once:
          requests: [get_ping]
          request_file: reqs.yaml
          run_once: true
          min_concurrency: 3
          max_concurrency: 3
""", encoding="utf-8")
    return config


def _listener_counts() -> dict[str, int]:
    return {name: len(hook.listeners) for name, hook in events.all_events().items()}


def test_run_twice_in_one_process_each_with_exact_counts(tmp_path: Path, target: TargetProcess) -> None:
    config = _config(tmp_path, target.url)
    before = _listener_counts()
    modules = set(sys.modules)
    for _ in range(2):
        target.reset()
        summary = gradual.run(config)
        assert isinstance(summary, dict) and summary["schema"] == "gradual.summary/1"
        assert summary.exit_code == 0 and summary["run"]["exit_code"] == 0 and summary.passed
        seen = server_counts(target)
        assert summary["totals"]["count"] == sum(seen.values()) > 3
        by_name: dict[str, int] = {}
        for scen in summary["phases"][0]["scenarios"]:
            for req in scen["requests"]:
                by_name[req["name"]] = by_name.get(req["name"], 0) + req["count"]
        assert by_name == {"get_ping": seen["GET /ping"], "post_submit": seen["POST /submit"]}
        assert current_environment() is None
        assert _listener_counts() == before
    assert not {m for m in set(sys.modules) - modules if m.startswith("gradual_requestfile_")}


def test_a_python_request_file_is_imported_afresh_and_its_listeners_removed(
    tmp_path: Path, target: TargetProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    imports = tmp_path / "imports.log"
    monkeypatch.setenv("API_TEST_IMPORTS", str(imports))
    (tmp_path / "py_requests.py").write_text(LISTENING_REQUESTS.replace("{base}", target.url), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("""\
runs:
  name: api python
  phases:
    p:
      run_time: 1
      scenarios:
        s: {requests: FROM_REQUEST_YAML_FILE, request_file: py_requests.py, run_once: true,
            min_concurrency: 2, max_concurrency: 2}
""", encoding="utf-8")
    before = _listener_counts()
    for _ in range(2):
        summary = gradual.run(config)
        assert summary.exit_code == 0 and summary["totals"]["count"] == 2
        assert _listener_counts() == before
    assert imports.read_text(encoding="utf-8").count("imported") == 2


def test_run_on_two_local_workers(tmp_path: Path, target: TargetProcess) -> None:
    summary = gradual.run(_config(tmp_path, target.url, run_time=2), workers=2)
    seen = server_counts(target)
    assert summary.exit_code == 0
    assert summary["totals"]["count"] == sum(seen.values()) and seen["GET /ping"] > 3
    assert sorted(w["id"] for w in summary["workers"]) == ["local-1", "local-2"]


def test_records_from_python(tmp_path: Path, target: TargetProcess) -> None:
    records = tmp_path / "records.jsonl"
    summary = gradual.run(_config(tmp_path, target.url), records=records)
    lines = records.read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary["records"]["written"] == sum(server_counts(target).values()) > 3


def test_overrides_and_reports(tmp_path: Path, target: TargetProcess) -> None:
    config = _config(tmp_path, target.url, run_time=30)
    out = tmp_path / "out.json"
    summary = gradual.run(config, overrides={"run_time": "1s", "set": {"runs.name": "renamed"}},
                          reports={"json": out})
    assert summary["run"]["name"] == "renamed" and summary["phases"][0]["duration_s"] < 10
    assert json.loads(out.read_text(encoding="utf-8"))["totals"]["count"] == summary["totals"]["count"]
    with pytest.raises(ValueError, match="unknown override 'hosts'"):
        gradual.run(config, overrides={"hosts": "x"})


def test_a_bad_config_raises_config_error_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("runs:\n  name: x\n  phases:\n    p: {run_time: -1, scenarios: {}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        gradual.run(config)
    assert "runs.phases.p.run_time" in str(info.value) and "bad.yaml:4" in str(info.value)


def test_orchestrator_takes_the_original_arguments(tmp_path: Path, target: TargetProcess) -> None:
    config = _config(tmp_path, target.url)
    summary = Orchestrator(str(config), None).start_stress_test()
    assert summary.exit_code == 0 and summary["totals"]["count"] == sum(server_counts(target).values())


def test_stress_run_calls_gradual_run(tmp_path: Path, target: TargetProcess) -> None:
    config = _config(tmp_path, target.url)
    # Requests from --request_config, as the original's README runs it.
    text = config.read_text(encoding="utf-8").replace("          request_file: reqs.yaml\n", "")
    config.write_text(text.replace("FROM_REQUEST_YAML_FILE", "[get_ping, post_submit]"), encoding="utf-8")
    out = tmp_path / "summary.json"
    script = Path(sys.executable).with_name("stress-run")
    cmd = [str(script)] if script.exists() else [sys.executable, "-c", "from gradual.compat import stress_run; "
                                                 "raise SystemExit(stress_run())"]
    done = subprocess.run([*cmd, "--test_config", str(config), "--request_config", str(tmp_path / "reqs.yaml"),
                           "--quiet", "--json", str(out)], cwd=REPO_ROOT, env=gradual_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["totals"]["count"] == sum(server_counts(target).values())
    missing = subprocess.run([*cmd], cwd=REPO_ROOT, env=gradual_env(), capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--test_config" in missing.stderr and "Traceback" not in missing.stderr
