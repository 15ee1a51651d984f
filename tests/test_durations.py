"""Durations with units are read the same way in every duration key of the config files and on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.gradual_run import HTTP_BASE, REPO_ROOT, run_gradual, server_counts, write_run_config, write_yaml
from support.target import TargetProcess

from gradual.configs import ConfigError, load
from gradual.configs.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    (30, 30.0), (0.5, 0.5), ("30", 30.0), ("30s", 30.0), ("250ms", 0.25), ("5m", 300.0), ("1h", 3600.0),
    ("1h30m", 5400.0), ("1m30s", 90.0), ("1m 30s", 90.0), ("1.5s", 1.5), (".5s", 0.5), ("2h0m5s", 7205.0),
    ("500us", 0.0005),
])
def test_a_duration_is_seconds_or_a_string_with_units(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [
    "", "s", "abc", "-1", "-5s", "1h30", "10x", "1m1m", "5 minutes", True, None, [1], float("inf"), float("nan"),
    -1, 10**400, "9" * 100 + "s",
])
def test_what_is_not_a_duration(text: object) -> None:
    assert parse_duration(text) is None


@given(st.integers(min_value=0, max_value=10**7))
def test_format_and_parse_agree_on_whole_seconds(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def _config(tmp_path: Path, **keys: object) -> Path:
    write_yaml(tmp_path / "requests.yaml", {"requests": {"r1": {
        "url": "http://127.0.0.1:9/x", "timeout": keys.pop("timeout", 10),
        "expected_response_time": keys.pop("expected", 1)}}})
    scenario = {"requests": ["r1"], "request_file": "requests.yaml", "min_concurrency": 1, "max_concurrency": 4,
                "ramp_up_add": 1, "ramp_up_wait": keys.pop("ramp_up_wait", 1)}
    phase = {"run_time": keys.pop("run_time", 10), "scenarios": {"s1": scenario}}
    if "for_" in keys:
        phase["thresholds"] = [{"expr": "p99 < 250ms", "for": keys.pop("for_")}]
    runs = {"name": "durations", "phases": {"p1": phase}, **keys}
    return write_yaml(tmp_path / "config.yaml", {"runs": runs})


def test_every_duration_key_takes_units(tmp_path: Path) -> None:
    config = load(_config(tmp_path, run_time="1m30s", ramp_up_wait=["250ms", "2s", 1], wait_between_phases="1m",
                          stop_timeout="1500ms", timeout="2s", expected="300ms", for_="10s"))
    phase = config.phases[0]
    assert phase.run_time == 90.0
    assert phase.scenarios[0].ramp_up_wait == (0.25, 2.0, 1)
    assert config.wait_between_phases == 60.0
    assert config.stop_timeout == 1.5
    request = phase.scenarios[0].requests[0]
    assert (request.timeout, request.expected_response_time) == (2.0, 0.3)
    assert config.thresholds[0].for_s == 10.0


@pytest.mark.parametrize(("keys", "path", "found"), [
    ({"run_time": "30 secs"}, "runs.phases.p1.run_time", "a string '30 secs'"),
    ({"run_time": "0s"}, "runs.phases.p1.run_time", "must be greater than 0"),
    ({"ramp_up_wait": [1, "2x"]}, "runs.phases.p1.scenarios.s1.ramp_up_wait[1]", "a string '2x'"),
    ({"wait_between_phases": "-1s"}, "runs.wait_between_phases", "a string '-1s'"),
    ({"timeout": "fast"}, "requests.r1.timeout", "a string 'fast'"),
    ({"expected": "soon"}, "requests.r1.expected_response_time", "a string 'soon'"),
])
def test_a_bad_duration_names_its_key_and_what_was_found(tmp_path: Path, keys: dict, path: str, found: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(_config(tmp_path, **keys))
    (issue,) = info.value.issues
    assert issue.key == path
    assert found in issue.message
    assert "250ms, 30s, 5m, 1h30m" in issue.message or "greater than 0" in issue.message


def test_validate_reports_a_bad_duration_in_one_line_with_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, run_time="ten seconds")
    done = subprocess.run([sys.executable, "-m", "gradual", "validate", str(config)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "run_time" in line]
    assert len(lines) == 1 and "config.yaml" in lines[0], done.stderr


def test_command_line_durations_take_units() -> None:
    done = subprocess.run([sys.executable, "-m", "gradual", "worker", "--host", "127.0.0.1", "--master-timeout",
                           "soon"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 2
    assert "--master-timeout" in done.stderr and "'soon'" in done.stderr and "Traceback" not in done.stderr


def test_a_run_time_in_milliseconds_runs_that_long(tmp_path: Path, target: TargetProcess) -> None:
    config = write_run_config(tmp_path, {"p1": {"run_time": "1500ms", "scenarios": {"s1": {
        "requests": ["r1"], "min_concurrency": 1, "max_concurrency": 1, "ramp_up_wait": "100ms"}}}},
        requests={"r1": {"url": f"{HTTP_BASE}/users", "timeout": "5s"}})
    run = run_gradual(config, target=target)
    assert run.returncode == 0, run.stderr
    phase = run.summary["phases"][0]
    assert 1.3 <= phase["duration_s"] <= 3.0
    assert run.counts()["r1"] == server_counts(target)["GET /users"] > 0
