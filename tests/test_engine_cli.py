"""`gradual run` / `gradual demo` as a user meets them: the summary JSON's schema and the exit codes."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from support.gradual_run import HTTP_BASE, finish, run_gradual, server_counts, start_gradual, write_run_config
from support.target import TargetProcess

NUMBER = (int, float)
LATENCY_KEYS = ("min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max")


def _iso_utc(value: Any) -> datetime:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def _fields(doc: Any, spec: dict[str, Any], where: str) -> None:
    """Every field of ``spec`` is in ``doc`` with a value of its type (a tuple of types; None allowed if listed)."""
    assert isinstance(doc, dict), f"{where}: expected an object, found {doc!r}"
    for name, kinds in spec.items():
        assert name in doc, f"{where}.{name} is missing"
        value = doc[name]
        if value is None:
            assert type(None) in kinds, f"{where}.{name} is null"
        else:
            assert isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds), (
                f"{where}.{name}: {value!r} is not {kinds}")


def _latency(doc: Any, where: str) -> None:
    _fields(doc, dict.fromkeys(LATENCY_KEYS, NUMBER), where)
    assert all(math.isfinite(doc[k]) and doc[k] >= 0 for k in LATENCY_KEYS), (where, doc)
    ordered = [doc[k] for k in ("min", "p50", "p90", "p95", "p99", "p99_9", "max")]
    assert ordered == sorted(ordered), (where, doc)
    assert doc["min"] <= doc["mean"] <= doc["max"], (where, doc)


def validate_summary(summary: Any) -> None:
    """The "Summary JSON" contract of DESIGN.md: every listed field, with the right type."""
    _fields(summary, {"schema": (str,), "run": (dict,), "totals": (dict,), "phases": (list,),
                      "thresholds": (list,), "workers": (list,)}, "summary")
    assert summary["schema"] == "gradual.summary/1"
    run = summary["run"]
    _fields(run, {"name": (str,), "started_at": (str,), "ended_at": (str,), "duration_s": NUMBER,
                  "exit_code": (int,)}, "run")
    assert _iso_utc(run["started_at"]) <= _iso_utc(run["ended_at"])
    totals = summary["totals"]
    _fields(totals, {"count": (int,), "failures": (int,), "interrupted": (int,), "rps": NUMBER,
                     "latency_ms": (dict,)}, "totals")
    _latency(totals["latency_ms"], "totals.latency_ms")
    for i, phase in enumerate(summary["phases"]):
        where = f"phases[{i}]"
        _fields(phase, {"name": (str,), "started_at": (str,), "duration_s": NUMBER, "scenarios": (list,)}, where)
        _iso_utc(phase["started_at"])
        for j, scen in enumerate(phase["scenarios"]):
            swhere = f"{where}.scenarios[{j}]"
            _fields(scen, {"name": (str,), "peak_users": (int,), "requests": (list,)}, swhere)
            for k, req in enumerate(scen["requests"]):
                rwhere = f"{swhere}.requests[{k}]"
                _fields(req, {"name": (str,), "type": (str,), "count": (int,), "failures": (int,),
                              "interrupted": (int,), "rps": NUMBER, "latency_ms": (dict,),
                              "within_expected_ratio": (int, float, type(None)), "status_codes": (dict,),
                              "errors": (list,)}, rwhere)
                _latency(req["latency_ms"], f"{rwhere}.latency_ms")
                assert all(isinstance(code, str) and code.isdigit() and isinstance(n, int)
                           for code, n in req["status_codes"].items()), rwhere
                for m, error in enumerate(req["errors"]):
                    _fields(error, {"kind": (str,), "message": (str,), "count": (int,)}, f"{rwhere}.errors[{m}]")
    for i, threshold in enumerate(summary["thresholds"]):
        _fields(threshold, {"expression": (str,), "scope": (str,), "observed": (int, float, type(None)),
                            "passed": (bool,)}, f"thresholds[{i}]")
    for i, worker in enumerate(summary["workers"]):
        _fields(worker, {"id": (str,), "host": (str,), "joined_at": (str,), "left_at": (str, type(None)),
                         "lost": (bool,), "requests": (int,)}, f"workers[{i}]")
        _iso_utc(worker["joined_at"])


def test_summary_json_has_every_field_of_the_design_with_its_type(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {
        "only": {"run_time": 1, "scenarios": {
            "mixed": {"requests": ["timed", "untimed", "missing"], "min_concurrency": 3, "max_concurrency": 3},
        }},
    }, requests={
        "timed": {"url": f"{HTTP_BASE}/timed", "expected_response_time": 0.5},
        "untimed": {"url": f"{HTTP_BASE}/untimed"},
        "missing": {"url": f"{HTTP_BASE}/status/404"},
    })
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    validate_summary(run.summary)
    assert run.summary is not None
    assert run.summary["run"]["name"] == "engine test"
    assert run.summary["run"]["exit_code"] == 0
    assert 0.9 <= run.summary["run"]["duration_s"] < 3
    timed, untimed = run.request("timed"), run.request("untimed")
    assert timed["type"] == "http"
    assert 0.0 <= timed["within_expected_ratio"] <= 1.0
    assert untimed["within_expected_ratio"] is None
    assert run.request("missing")["errors"][0]["kind"] == "http"
    [worker] = run.summary["workers"]
    assert worker["requests"] == run.summary["totals"]["count"] == sum(server_counts(target).values())
    assert run.summary["totals"]["rps"] > 0


def test_request_config_option_supplies_the_requests_of_scenarios_without_a_request_file(
    target: TargetProcess, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    write_run_config(shared, {"unused": {"run_time": 1, "scenarios": {}}},
                     requests={"shared_get": {"url": f"{HTTP_BASE}/shared"}})
    config = write_run_config(tmp_path, {
        "p": {"run_time": 1, "scenarios": {"s": {"requests": ["shared_get"], "request_file": None,
                                                 "min_concurrency": 1, "max_concurrency": 1}}},
    })
    target.reset()

    run = run_gradual(config, target=target, extra_args=["--request-config", str(shared / "requests.yaml")])

    assert run.returncode == 0, run.stderr
    assert server_counts(target) == {"GET /shared": run.counts()["shared_get"]}
    assert run.counts()["shared_get"] > 0


def test_bad_config_exits_2_with_the_errors_and_no_traceback(target: TargetProcess, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "runs:\n"
        "  name: broken\n"
        "  phases:\n"
        "    p1:\n"
        "      run_time: -1\n"
        "      scenarios:\n"
        "        s:\n"
        "          requests: [nope]\n"
        "          min_concurrency: 5\n"
        "          max_concurrency: 2\n",
        encoding="utf-8",
    )
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) >= 2, run.stderr
    assert any("run_time" in line for line in errors) and any("min_concurrency" in line for line in errors)
    assert run.summary is None
    assert server_counts(target) == {}


def test_missing_config_file_exits_2_without_traceback(tmp_path: Path) -> None:
    run = run_gradual(tmp_path / "nowhere.yaml")

    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "nowhere.yaml" in run.stderr


def test_missing_auth_variable_exits_2_with_one_error_line_and_sends_nothing(
    target: TargetProcess, tmp_path: Path
) -> None:
    config = write_run_config(tmp_path, {
        "auth": {"run_time": 1, "scenarios": {"s": {"requests": ["secured"], "min_concurrency": 1,
                                                    "max_concurrency": 1}}},
    }, requests={"secured": {"url": f"{HTTP_BASE}/account", "headers": {"X-Require-Auth": "s3cret"},
                             "auth": {"type": "bearer", "token_env": "GRADUAL_TEST_TOKEN_NOT_SET"}}})
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert "GRADUAL_TEST_TOKEN_NOT_SET" in errors[0] and "secured" in errors[0]
    assert run.summary is None
    assert server_counts(target) == {}


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    json_path = tmp_path / "demo.json"
    proc = start_gradual(["demo", "--quiet", "--json", str(json_path)], cwd=tmp_path)

    run = finish(proc, json_path, started=0.0, timeout=40)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    validate_summary(run.summary)
    assert run.summary is not None
    phases = run.summary["phases"]
    assert [p["name"] for p in phases] == ["warm_up", "peak", "signups", "journey"]
    for phase in phases:
        for scen in phase["scenarios"]:
            assert scen["requests"], (phase["name"], scen["name"])
            assert scen["peak_users"] > 0, (phase["name"], scen["name"])
            for req in scen["requests"]:
                assert req["count"] > 0, (phase["name"], scen["name"], req["name"])
    # The signups phase is run_once (2, 4 and 8 users): 14 orders, and it ends before its run_time.
    signups = phases[2]
    assert signups["scenarios"][0]["requests"][0]["count"] == 14
    assert signups["ended_early"] is True
    # The journey phase (examples/journey): every shopper logged in once, with a CSV row of its own.
    shoppers = phases[3]["scenarios"][0]
    assert [r["name"] for r in shoppers["requests"]][0] == "login"
    assert shoppers["requests"][0]["count"] == shoppers["peak_users"] == 6
    assert run.summary["totals"]["failures"] == 0


def test_live_console_shows_each_intervals_true_rate_up_to_the_phase_end(
    target: TargetProcess, tmp_path: Path
) -> None:
    config = write_run_config(tmp_path, {
        "steady": {"run_time": 2, "scenarios": {"s": {"requests": ["steady"], "min_concurrency": 2,
                                                        "max_concurrency": 2}}},
    }, requests={"steady": {"url": f"{HTTP_BASE}/steady"}})

    proc = start_gradual(["run", str(config)], target=target)
    run = finish(proc, None, started=0.0)

    assert run.returncode == 0, run.stderr
    rates = [float(m) for m in re.findall(r"^\[steady .*?rps=([0-9.]+)", run.stdout, re.MULTILINE)]
    # Samples at about 1 s, 2 s and a few ms later at the stop: every line reports the rate of the time
    # it covers (the stop's sliver merged with the tick before), so a steady load shows steady numbers.
    assert len(rates) >= 3, run.stdout
    mean = sum(rates) / len(rates)
    # (Loose bounds: other processes may take the CPU for a while; dividing a few ms of requests by
    # a whole tick shows a rate near zero, far outside them.)
    assert all(0.2 * mean <= rate <= 5 * mean for rate in rates), rates
