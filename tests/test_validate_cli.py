"""`gradual validate`, `--version`, `--help` as a user runs them: real subprocesses, exit codes, no tracebacks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradual import __version__
from gradual.cli import main
from gradual.configs import ConfigError, load

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BROKEN = ROOT / "tests" / "configs" / "broken"
SUMMARY = re.compile(r"^\d+ errors?: nothing was run$")


def gradual(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GRADUAL_TARGET", "GRADUAL_WS_TARGET")}
    env.pop("GRADUAL_TEST_SURELY_UNSET_VAR", None)
    proc = subprocess.run([sys.executable, "-m", "gradual", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def assert_config_errors(proc: subprocess.CompletedProcess[str], count: int) -> list[str]:
    """Exit 2, one `error:` line per issue on stderr and the summary line last; nothing on stdout."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == count + 1, proc.stderr
    assert all(line.startswith("error: ") for line in lines[:-1]), proc.stderr
    assert SUMMARY.match(lines[-1]) and lines[-1].startswith(f"{count} error"), lines[-1]
    assert proc.stdout == ""
    return lines[:-1]


def test_valid_example_exits_0_and_prints_the_plan() -> None:
    proc = gradual("validate", "examples/test_config.yaml")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("run: Custom API Test  (2 phases, wait_between_phases=1s)\n")
    assert "plan: t=0s:1 → t=4s:2 → t=6s:5" in out
    assert "plan: t=0s:2 → t=1s:4 → t=2s:6 → t=3s:8" in out
    assert "get_user_data [python] fetch_user_data() GET http://127.0.0.1:8080/users" in out
    assert "ws_echo [websocket] ws://127.0.0.1:8080/ws" in out
    assert out.rstrip().endswith("ok: configuration is valid")
    assert proc.stderr == ""


def test_valid_example_with_request_config_exits_0() -> None:
    proc = gradual("validate", "examples/yaml_test_config.yaml", "--request-config", "examples/request_config.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "run: YAML request config  (1 phase, wait_between_phases=0s)" in proc.stdout
    assert "plan: t=0s:1 → t=1s:2 → t=2s:4 → t=3s:10" in proc.stdout
    assert "plan (batches): +0s:2 → +1s:4 → +1s:6" in proc.stdout
    assert "create_order [http] POST http://127.0.0.1:8080/orders" in proc.stdout


def test_every_error_of_a_broken_config_exits_2() -> None:
    lines = assert_config_errors(gradual("validate", BROKEN / "many_errors.yaml"), 5)
    assert any("many_errors.yaml:12: runs.phases.p1.scenarios.s1.ramp_up_wiat: unknown key (did you mean "
               "'ramp_up_wait'?)" in line for line in lines)


def test_invalid_yaml_exits_2_with_the_line() -> None:
    (line,) = assert_config_errors(gradual("validate", "tests/configs/broken/invalid_yaml.yaml"), 1)
    assert line.startswith("error: tests/configs/broken/invalid_yaml.yaml:7: invalid YAML:")


def test_python_request_file_error_exits_2() -> None:
    (line,) = assert_config_errors(gradual("validate", BROKEN / "py_import_error.yaml"), 1)
    assert "py_import_error_requests.py:5: error while importing: KeyError: 'host'" in line


def test_request_yaml_errors_exit_2() -> None:
    (line,) = assert_config_errors(gradual("validate", BROKEN / "env_missing.yaml"), 1)
    assert "requests.r1.url: environment variable GRADUAL_TEST_SURELY_UNSET_VAR is not set" in line


def test_missing_config_exits_2(tmp_path: Path) -> None:
    (line,) = assert_config_errors(gradual("validate", tmp_path / "absent.yaml"), 1)
    assert line.endswith("absent.yaml: file not found")


def test_missing_request_config_exits_2() -> None:
    lines = assert_config_errors(
        gradual("validate", "examples/yaml_test_config.yaml", "--request-config", "examples/nope.yaml"), 1)
    assert "--request-config: request file not found" in lines[0]


def test_usage_errors_exit_2() -> None:
    proc = gradual("validate")
    assert proc.returncode == 2 and "usage: gradual validate" in proc.stderr
    proc = gradual("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    proc = gradual()
    assert proc.returncode == 2 and "validate" in proc.stdout + proc.stderr


def test_version_and_help() -> None:
    proc = gradual("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"gradual {__version__}"
    proc = gradual("--help")
    assert proc.returncode == 0 and "usage: gradual" in proc.stdout and "validate" in proc.stdout
    proc = gradual("validate", "--help")
    assert proc.returncode == 0 and "--request-config" in proc.stdout


# In process, over the whole corpus (a subprocess per file would be slow): the same exit code and output shape.

BROKEN_CONFIGS = sorted(p for p in BROKEN.glob("*.yaml")
                        if not p.name.endswith("_requests.yaml") and p.name != "requests.yaml")


@pytest.mark.parametrize("config", BROKEN_CONFIGS, ids=[p.name for p in BROKEN_CONFIGS])
def test_every_broken_config_exits_2_with_one_line_per_issue(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRADUAL_TEST_SURELY_UNSET_VAR", raising=False)
    with pytest.raises(ConfigError) as info:
        load(config)
    assert main(["validate", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == len(info.value.issues) + 1
    assert lines[:-1] == [f"error: {issue}" for issue in info.value.issues]
    assert SUMMARY.match(lines[-1])
