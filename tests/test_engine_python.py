"""Custom Python request functions and @on_call_completion callbacks, run by `gradual run` against the demo target."""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any

import pytest
from support.gradual_run import GradualRun, run_gradual, server_counts, write_run_config
from support.target import TargetProcess

RECORD_FIELDS = (
    "request_name", "url", "params", "context", "response_time", "status_code", "start_time", "end_time",
    "iid", "scenario_name", "expected_response_time", "phase_name", "error",
)

REQUEST_FILE = textwrap.dedent('''
    """Request functions for the engine tests; every callback appends one JSON line per call."""

    import json
    import os

    import requests

    from gradual import on_call_completion, request

    BASE = os.environ["GRADUAL_TARGET"]
    RECORDS = os.environ["GRADUAL_TEST_RECORDS"]
    FIELDS = ("request_name", "url", "params", "context", "response_time", "status_code", "start_time",
              "end_time", "iid", "scenario_name", "expected_response_time", "phase_name", "error")


    def _jsonable(name, value):
        if name == "context":
            return {"user": value.user, "iteration": value.iteration, "scenario": value.scenario,
                    "phase": value.phase, "params": dict(value.params)}
        return value


    def _append(kind, record=None):
        if record is None:
            line = {"callback": kind}
        else:
            line = {"callback": kind, "fields": [f for f in FIELDS if hasattr(record, f)],
                    **{f: _jsonable(f, getattr(record, f)) for f in FIELDS if hasattr(record, f)}}
        with open(RECORDS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\\n")


    @request(name="with_context", url=f"{BASE}/ctx", http_method="get", params={"q": "shoes"},
             expected_response_time=0.5)
    def with_context(ctx):
        return ctx.session.get(f"{BASE}/ctx", params={"user": ctx.user, **ctx.params}, timeout=5)


    @request(name="without_context", url=f"{BASE}/plain")
    def without_context():
        return requests.get(f"{BASE}/plain", timeout=5)


    @request(name="not_found", url=f"{BASE}/status/404", params={"id": "7"})
    def not_found(ctx):
        return ctx.session.get(f"{BASE}/status/404", timeout=5)


    @request(name="raises")
    def raises():
        raise ValueError("boom")


    @on_call_completion(name="with_context")
    def record_with_context(record):
        _append("with_context", record)


    @on_call_completion(name="not_found")
    def record_not_found(record):
        _append("not_found", record)


    @on_call_completion(name="without_context")
    def count_without_context():
        _append("without_context")


    @on_call_completion(name="raises")
    def record_raises(record):
        _append("raises", record)
''')


@pytest.fixture(scope="module")
def python_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GradualRun, dict[str, int], list[dict[str, Any]]]:
    """One run of every kind of Python request: its summary, what the server saw, the callback lines."""
    tmp_path = tmp_path_factory.mktemp("python_run")
    (tmp_path / "custom.py").write_text(REQUEST_FILE, encoding="utf-8")
    records = tmp_path / "records.jsonl"
    config = write_run_config(tmp_path, {
        "custom": {"run_time": 1.5, "scenarios": {
            "journey": {"requests": ["with_context", "not_found"], "request_file": "custom.py",
                        "min_concurrency": 2, "max_concurrency": 2, "iterate_through_requests": True},
            "plain": {"requests": ["without_context"], "request_file": "custom.py",
                      "min_concurrency": 1, "max_concurrency": 1},
            "broken": {"requests": ["raises"], "request_file": "custom.py",
                       "min_concurrency": 1, "max_concurrency": 1},
        }},
    })
    with TargetProcess() as target:
        started = time.time_ns()
        run = run_gradual(config, target=target, env={"GRADUAL_TEST_RECORDS": str(records)})
        ended = time.time_ns()
        seen = server_counts(target)
    lines = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    assert run.returncode == 0, run.stderr
    for line in lines:
        if "start_time" in line:
            assert started <= line["start_time"] <= line["end_time"] <= ended, line
    return run, seen, lines


def test_python_functions_with_and_without_context_send_what_gradual_counts(
    python_run: tuple[GradualRun, dict[str, int], list[dict[str, Any]]],
) -> None:
    run, seen, _ = python_run
    counts = run.counts()
    assert counts["with_context"] > 10 and counts["without_context"] > 10
    assert seen == {
        "GET /ctx": counts["with_context"],
        "GET /status/404": counts["not_found"],
        "GET /plain": counts["without_context"],
    }
    assert run.request("with_context")["type"] == "python"
    assert run.request("with_context")["failures"] == 0
    assert run.request("with_context")["status_codes"] == {"200": counts["with_context"]}


def test_returned_4xx_and_raised_exception_are_failures_of_their_kind(
    python_run: tuple[GradualRun, dict[str, int], list[dict[str, Any]]],
) -> None:
    run, _, _ = python_run
    not_found = run.request("not_found")
    assert not_found["failures"] == not_found["count"] > 0
    assert run.errors("not_found") == {"http": not_found["count"]}
    raises = run.request("raises")
    # A function that fails without any I/O must still let the run go on and stop on time.
    assert raises["failures"] == raises["count"] > 100
    assert raises["errors"] == [{"kind": "exception", "message": "ValueError: boom", "count": raises["count"]}]
    assert run.summary is not None and run.summary["phases"][0]["duration_s"] < 2.5


def test_completion_callback_runs_once_per_request_with_every_record_field(
    python_run: tuple[GradualRun, dict[str, int], list[dict[str, Any]]],
) -> None:
    run, _, lines = python_run
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_kind.setdefault(line["callback"], []).append(line)
    counts = run.counts()
    assert {kind: len(found) for kind, found in by_kind.items()} == {
        "with_context": counts["with_context"], "not_found": counts["not_found"],
        "without_context": counts["without_context"], "raises": counts["raises"],
    }
    for line in by_kind["with_context"] + by_kind["not_found"] + by_kind["raises"]:
        assert line["fields"] == list(RECORD_FIELDS)
        assert isinstance(line["response_time"], int) and line["response_time"] > 0
        assert line["end_time"] - line["start_time"] == line["response_time"]
        assert isinstance(line["iid"], int) and line["iid"] >= 0
        assert line["phase_name"] == "custom"

    ok = by_kind["with_context"][0]
    assert ok["request_name"] == "with_context"
    assert ok["url"].endswith("/ctx") and ok["url"].startswith("http://127.0.0.1:")
    assert ok["params"] == {"q": "shoes"}
    assert ok["status_code"] == 200
    assert ok["scenario_name"] == "journey"
    assert ok["expected_response_time"] == 0.5
    assert ok["error"] is None
    assert ok["context"]["params"] == {"q": "shoes"}
    assert ok["context"]["iteration"] == ok["iid"]

    failed = by_kind["not_found"][0]
    assert failed["status_code"] == 404
    assert failed["error"].startswith("http")
    # A journey's context carries the params of the request being run, not of the first one.
    assert failed["context"]["params"] == {"id": "7"}
    assert by_kind["raises"][0]["error"] == "exception: ValueError: boom"
    assert by_kind["raises"][0]["status_code"] is None


def test_iteration_ids_count_each_users_journey(
    python_run: tuple[GradualRun, dict[str, int], list[dict[str, Any]]],
) -> None:
    _, _, lines = python_run
    per_user: dict[int, list[int]] = {}
    for line in lines:
        if line["callback"] in ("with_context", "not_found"):
            per_user.setdefault(line["context"]["user"], []).append(line["iid"])
    assert sorted(per_user) == [0, 1]
    for iids in per_user.values():
        # Callbacks of one user run in its own greenlet, in order: 0, 1, 2, ... without gaps.
        assert iids == list(range(len(iids)))
    even = {line["request_name"] for line in lines if line.get("iid", 1) % 2 == 0 and "context" in line
            and line["scenario_name"] == "journey"}
    assert even == {"with_context"}
