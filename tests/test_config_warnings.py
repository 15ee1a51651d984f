"""Config warnings are first-class: file:line and key path, printed once by validate and run, and
``--strict`` turns them into errors (exit 2) for CI that wants a file to run exactly as written.

The keys here are the original framework's: ``runs.distributed`` (its user guide documents a Redis
coordinator it never built) and ``expected_response_time: 0`` (which it accepted).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.gradual_run import gradual_env, run_gradual, server_counts
from support.target import REPO_ROOT, TargetProcess

from gradual.configs import ConfigError, load

DISTRIBUTED = """\
runs:
  name: "Distributed Load Test"
  distributed:
    enabled: true
    coordinator: "192.168.1.100:6379"
    workers: ["192.168.1.101:8080", "192.168.1.102:8080", "192.168.1.103:8080"]
  phases:
    p:
      run_time: 1
      scenarios:
        s:
          requests: [hit]
          request_file: reqs.yaml
          run_once: true
          min_concurrency: 2
          max_concurrency: 2
"""


def _write(tmp_path: Path, config: str = DISTRIBUTED, url: str = "http://127.0.0.1:9/hit",
           expected: str = "1") -> Path:
    (tmp_path / "reqs.yaml").write_text(
        f'requests:\n  hit:\n    url: "{url}"\n    method: GET\n    expected_response_time: {expected}\n',
        encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def _gradual(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradual", *args], cwd=REPO_ROOT, env=gradual_env(),
                          capture_output=True, text=True, timeout=60)


def test_runs_distributed_is_accepted_with_one_warning_saying_how_gradual_distributes(tmp_path: Path) -> None:
    run = load(_write(tmp_path))
    (warning,) = run.warnings
    assert (warning.key, warning.line) == ("runs.distributed", 3)
    assert "gradual master CONFIG --expect-workers 3" in warning.message
    assert "gradual worker --host" in warning.message


def test_runs_distributed_disabled_still_says_it_is_ignored(tmp_path: Path) -> None:
    config = DISTRIBUTED.replace("enabled: true", "enabled: false")
    (warning,) = load(_write(tmp_path, config)).warnings
    assert "ignored (enabled: false)" in warning.message


def test_a_misspelt_key_under_runs_distributed_is_an_error_with_a_hint(tmp_path: Path) -> None:
    config = DISTRIBUTED.replace("coordinator:", "coordinater:")
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, config))
    (issue,) = info.value.issues
    assert issue.key == "runs.distributed.coordinater" and "did you mean 'coordinator'" in issue.message


def test_expected_response_time_zero_means_no_expectation_with_a_warning(tmp_path: Path) -> None:
    start = DISTRIBUTED.index("  distributed:")
    config = DISTRIBUTED[:start] + DISTRIBUTED[DISTRIBUTED.index("  phases:"):]
    run = load(_write(tmp_path, config, expected="0"))
    assert run.phases[0].scenarios[0].requests[0].expected_response_time is None
    (warning,) = run.warnings
    assert warning.key == "requests.hit.expected_response_time" and warning.line == 5
    assert warning.file.endswith("reqs.yaml")


def test_validate_prints_each_warning_once_with_file_line_and_key(tmp_path: Path) -> None:
    config = _write(tmp_path)
    done = _gradual("validate", str(config))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert lines == [f"warning: {config}:3: runs.distributed: " + lines[0].split("runs.distributed: ", 1)[1]]
    assert "ok: configuration is valid" in done.stdout


def test_strict_turns_warnings_into_errors_exit_2_no_traceback(tmp_path: Path) -> None:
    config = _write(tmp_path)
    done = _gradual("validate", str(config), "--strict")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{config}:3: runs.distributed:" in errors[0] and "--strict" in errors[0]
    assert "1 error: nothing was run" in done.stderr


def test_run_strict_sends_nothing(tmp_path: Path, target: TargetProcess) -> None:
    config = _write(tmp_path, url=f"{target.url}/hit")
    done = run_gradual(config, target=target, extra_args=["--strict"], json_out=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert server_counts(target) == {}


@pytest.mark.parametrize("workers", [0, 2])
def test_run_prints_the_warning_once_and_runs(tmp_path: Path, target: TargetProcess, workers: int) -> None:
    config = _write(tmp_path, url=f"{target.url}/hit")
    done = run_gradual(config, target=target, extra_args=["--workers", str(workers)], timeout=60)
    assert done.returncode == 0, done.stderr
    assert sum("runs.distributed" in line for line in done.stderr.splitlines()) == 1, done.stderr
    assert server_counts(target) == {"GET /hit": 2}
    assert done.summary is not None and done.summary["totals"]["count"] == 2


def test_a_name_inside_a_phase_is_accepted_with_a_warning(tmp_path: Path) -> None:
    config = DISTRIBUTED.replace("    p:\n      run_time: 1\n", "    p:\n      name: first\n      run_time: 1\n")
    warnings = load(_write(tmp_path, config)).warnings
    assert [w.key for w in warnings] == ["runs.distributed", "runs.phases.p.name"]
    assert "named by its key ('p')" in warnings[1].message and warnings[1].line == 9
