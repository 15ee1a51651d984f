"""Command-line overrides (--host/-H, --run-time/-t, --users/-u, --spawn-rate/-r, --set) and GRADUAL_* variables.

The runs are real `gradual run` processes against the demo target; the server's counts prove where the load
went and for how long. A config points at a closed port, so only --host (or GRADUAL_HOST) can reach the target.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.gradual_run import closed_port, gradual_env, run_gradual, server_counts, write_run_config
from support.target import REPO_ROOT, TargetProcess

from gradual.configs.overrides import Override, Overrides, from_sources, with_host


def _config(tmp_path: Path, *, run_time: object = 30, lo: int = 2, hi: int = 2, **scen: object) -> Path:
    dead = f"http://127.0.0.1:{closed_port()}"
    return write_run_config(tmp_path, {
        "p1": {"run_time": run_time, "scenarios": {
            "s1": {"requests": ["hit"], "min_concurrency": lo, "max_concurrency": hi, **scen}}},
    }, requests={"hit": {"url": f"{dead}/users?page=1", "method": "GET"}})


def _validate(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradual", "validate", str(config), *args], capture_output=True,
                          text=True, env=gradual_env(None, env), cwd=REPO_ROOT, timeout=60)


def test_host_and_run_time_flags_aim_the_run_and_bound_it(target: TargetProcess, tmp_path: Path) -> None:
    config = _config(tmp_path)  # 30 s against a closed port, as written
    target.reset()

    run = run_gradual(config, target=target, extra_args=["-H", target.url, "-t", "1500ms"])

    assert run.returncode == 0, run.stderr
    hit = run.request("hit")
    assert hit["count"] > 0 and hit["failures"] == 0
    assert hit["url"] == f"{target.url}/users?page=1"
    assert server_counts(target) == {"GET /users": hit["count"]}
    assert run.summary is not None
    assert 1.4 <= run.summary["phases"][0]["duration_s"] < 3.0
    assert run.elapsed_s < 20


def test_long_flags_users_caps_min_and_max(target: TargetProcess, tmp_path: Path) -> None:
    config = _config(tmp_path, lo=5, hi=9, ramp_up_add=2, ramp_up_wait=0.2)
    target.reset()

    run = run_gradual(config, target=target, extra_args=["--host", target.url, "--duration", "1", "--vus", "3"])

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    assert run.summary["phases"][0]["scenarios"][0]["peak_users"] == 3
    assert server_counts(target) == {"GET /users": run.request("hit")["count"]}


def test_environment_variables_apply_and_flags_beat_them(target: TargetProcess, tmp_path: Path) -> None:
    config = _config(tmp_path, hi=6)
    target.reset()
    env = {"GRADUAL_HOST": target.url, "GRADUAL_RUN_TIME": "1s", "GRADUAL_USERS": "4"}

    run = run_gradual(config, target=target, env=env, extra_args=["-u", "1"])

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    assert run.summary["phases"][0]["scenarios"][0]["peak_users"] == 1  # -u beats GRADUAL_USERS
    assert run.summary["phases"][0]["duration_s"] < 3.0  # GRADUAL_RUN_TIME beats the file's 30
    assert server_counts(target) == {"GET /users": run.request("hit")["count"]}  # GRADUAL_HOST


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = _config(tmp_path, run_time=30)
    env = {"GRADUAL_RUN_TIME": "5m", "GRADUAL_HOST": "http://127.0.0.2:81"}

    plain = _validate(config)
    from_env = _validate(config, env=env)
    flagged = _validate(config, "-t", "7s", "--set", "runs.phases.p1.run_time=9s", env=env)

    assert "run_time=30s" in plain.stdout
    assert "run_time=300s" in from_env.stdout and "http://127.0.0.2:81/users?page=1" in from_env.stdout
    assert "override: GRADUAL_RUN_TIME=5m" in from_env.stdout
    # --set is applied after -t: the more precise of two flags wins.
    assert "run_time=9s" in flagged.stdout, flagged.stdout
    assert "override: --run-time 7s" in flagged.stdout


@pytest.mark.parametrize(("args", "line"), [
    (["--set", "runs.phases.p1.run_time=abc"],
     "error: --set runs.phases.p1.run_time=abc: expected a number of seconds or a duration like 250ms, 30s, 5m, "
     "1h30m, found a string 'abc'"),
    (["--set", "runs.phases.p1.scenarios.s1.max_concurrency=two"],
     "error: --set runs.phases.p1.scenarios.s1.max_concurrency=two: expected an integer, found a string 'two'"),
    (["--set", "runs.phases.nope.run_time=1"], "error: --set runs.phases.nope.run_time=1: no key runs.phases.nope"),
    (["--set", "runs.phases.p1.runtime=1"], "error: --set runs.phases.p1.runtime=1: unknown key (did you mean"),
    (["--set", "run_time"], "error: --set run_time: expected KEY.PATH=VALUE"),
    (["-t", "soon"], "error: --run-time soon: expected a number of seconds or a duration"),
    (["-u", "many"], "error: --users many: expected an integer, found a string 'many'"),
    (["-H", "127.0.0.1:8080"], "error: --host 127.0.0.1:8080: expected scheme://host[:port]"),
    (["-H", "http://127.0.0.1/api"], "error: --host http://127.0.0.1/api: give only scheme://host[:port]"),
    (["-r", "0"], "error: --spawn-rate 0: expected a number of users started per second"),
])
def test_override_errors_name_the_flag(tmp_path: Path, args: list[str], line: str) -> None:
    result = _validate(_config(tmp_path), *args)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(line), result.stderr


def test_an_environment_variable_error_names_the_variable(tmp_path: Path) -> None:
    result = _validate(_config(tmp_path), env={"GRADUAL_USERS": "lots"})

    assert result.returncode == 2
    assert "error: GRADUAL_USERS=lots: expected an integer" in result.stderr


def test_set_reaches_list_items_and_validate_prints_the_overridden_plan(tmp_path: Path) -> None:
    config = _config(tmp_path, lo=1, hi=4, ramp_up_add=1, ramp_up_wait=[1, 1])

    result = _validate(config, "--set", "runs.phases.p1.scenarios.s1.ramp_up_wait[1]=250ms",
                       "--set", "runs.phases.p1.scenarios.s1.max_concurrency=3")

    assert result.returncode == 0, result.stderr
    assert "plan: t=0s:1 → t=1s:2 → t=1.25s:3" in result.stdout, result.stdout
    assert "users 1..3" in result.stdout


def test_spawn_rate_ramps_one_user_every_one_over_r_seconds(tmp_path: Path) -> None:
    result = _validate(_config(tmp_path, lo=1, hi=4, ramp_up_multiply=2), "-r", "4")

    assert result.returncode == 0, result.stderr
    assert "plan: t=0s:1 → t=0.25s:2 → t=0.5s:3 → t=0.75s:4" in result.stdout


def test_two_workers_load_the_overridden_config(target: TargetProcess, tmp_path: Path) -> None:
    config = _config(tmp_path, lo=1, hi=2)
    target.reset()

    run = run_gradual(config, target=target, timeout=60, extra_args=[
        "--workers", "2", "-H", target.url, "-t", "2s", "-u", "4",
        "--set", "runs.phases.p1.scenarios.s1.min_concurrency=4"])

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    assert run.summary["phases"][0]["scenarios"][0]["peak_users"] == 4
    assert len(run.summary["workers"]) == 2 and all(w["requests"] > 0 for w in run.summary["workers"])
    assert run.summary["totals"]["count"] == run.request("hit")["count"]
    assert server_counts(target) == {"GET /users": run.summary["totals"]["count"]}
    assert run.summary["totals"]["failures"] == 0


def test_python_requests_see_the_host_on_ctx(target: TargetProcess, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    (tmp_path / "reqs.py").write_text(
        "from gradual import request\n"
        f"@request(name='py', url='{dead}/products', http_method='get')\n"
        "def py(ctx):\n"
        f"    return ctx.session.get(f\"{{ctx.host or '{dead}'}}/products\", timeout=5)\n",
        encoding="utf-8")
    config = write_run_config(tmp_path, {"p1": {"run_time": 1, "scenarios": {
        "s1": {"requests": ["py"], "request_file": "reqs.py", "min_concurrency": 1, "max_concurrency": 1}}}})
    target.reset()

    run = run_gradual(config, target=target, extra_args=["-H", target.url])

    assert run.returncode == 0, run.stderr
    assert run.request("py")["url"] == f"{target.url}/products"  # the labelled url moved too
    assert server_counts(target) == {"GET /products": run.request("py")["count"]}


def test_with_host_keeps_path_and_kind() -> None:
    assert with_host("http://a:1/x?q=1#f", "https://[::1]:8443") == "https://[::1]:8443/x?q=1#f"
    assert with_host("wss://a/ws", "http://127.0.0.1:81") == "ws://127.0.0.1:81/ws"
    assert with_host("ws://a/ws", "https://h") == "wss://h/ws"


def test_overrides_survive_the_wire_and_keep_precedence() -> None:
    o = from_sources({"host": None, "run_time": "5s", "users": None, "spawn_rate": "2"}, ["runs.name=x"],
                     {"GRADUAL_HOST": "http://127.0.0.1:9", "GRADUAL_RUN_TIME": "1m", "GRADUAL_USERS": ""})
    assert o.host == Override("http://127.0.0.1:9", "GRADUAL_HOST=http://127.0.0.1:9")
    assert o.run_time == Override("5s", "--run-time 5s")
    assert o.users is None  # an empty variable is unset
    assert Overrides.from_wire(o.to_wire()) == o
    with pytest.raises(ValueError):
        Overrides.from_wire({"set": [[1, 2]]})
