"""--records PATH: every completion record as a JSON line, from every node, equal in number to what the server saw.

The original framework's users analysed its per-request log (persist_stats); the lines carry its field names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gradual.proto import MAX_RECORDS_PER_BATCH, ProtocolError, Stats
from support.gradual_run import run_gradual, server_counts
from support.target import TargetProcess

from gradual import events
from gradual.runners.record_collector import RecordCollector
from gradual.runners.records import CompletionRecord

ORIGINAL_FIELDS = {"request_name", "url", "params", "context", "response_time", "status_code", "start_time",
                   "end_time", "iid", "scenario_name", "expected_response_time"}


def _config(folder: Path, base: str, users: int) -> Path:
    """A 2 s run of three requests. Each user waits 2 ms between requests, so a worker's stats batch (one a
    second) never carries more than MAX_RECORDS_PER_BATCH records, which would be counted as dropped: on an
    idle machine 4 unpaced users sent 45,906 requests in 2 s, over 10,000 per batch."""
    (folder / "reqs.yaml").write_text(
        f'requests:\n  ping: {{url: "{base}/ping", method: GET, expected_response_time: 1}}\n'
        f'  submit: {{url: "{base}/submit", method: POST, params: {{name: "John Doe", age: 30}}}}\n'
        f'  missing: {{url: "{base}/status/404", method: GET}}\n', encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(f"""\
runs:
  name: records
  phases:
    load:
      run_time: 2
      scenarios:
        s:
          requests: FROM_REQUEST_YAML_FILE
          request_file: reqs.yaml
          iterate_through_requests: true
          min_concurrency: {users}
          max_concurrency: {users}
          wait_time: 0.002
""", encoding="utf-8")
    return config


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("workers", [0, 2])
def test_records_hold_one_line_per_request_the_server_saw(tmp_path: Path, target: TargetProcess, workers: int) -> None:
    records = tmp_path / "out" / "records.jsonl"
    done = run_gradual(_config(tmp_path, target.url, users=4), target=target, timeout=60,
                       extra_args=["--workers", str(workers), "--records", str(records)])
    assert done.returncode == 0, done.stderr
    seen = server_counts(target)
    lines = _lines(records)
    assert len(lines) == sum(seen.values()) == done.summary["totals"]["count"] > 30  # type: ignore[index]
    assert done.summary["records"] == {"path": str(records), "written": len(lines), "dropped": 0}  # type: ignore[index]
    by_path = {"ping": "GET /ping", "submit": "POST /submit", "missing": "GET /status/404"}
    for name, key in by_path.items():
        assert sum(line["request_name"] == name for line in lines) == seen[key]
    for line in lines:
        assert ORIGINAL_FIELDS <= set(line) and {"phase_name", "error", "worker"} <= set(line)
        assert line["end_time"] - line["start_time"] == line["response_time"] > 0
        assert line["scenario_name"] == "s" and line["phase_name"] == "load"
    submit = next(line for line in lines if line["request_name"] == "submit")
    assert submit["params"] == {"name": "John Doe", "age": 30} and submit["status_code"] == 200
    missing = next(line for line in lines if line["request_name"] == "missing")
    assert missing["status_code"] == 404 and missing["error"].startswith("http")
    workers_seen = {line["worker"] for line in lines}
    assert workers_seen == ({"local"} if workers == 0 else {"local-1", "local-2"})


def _record(i: int) -> CompletionRecord:
    return CompletionRecord("r", "http://127.0.0.1:9/r", None, None, 10, 200, i, i + 10, i, "s", None, "p", None)


def test_a_node_holds_a_bounded_number_of_records_and_counts_the_rest() -> None:
    collector = RecordCollector(limit=3)
    try:
        for i in range(5):
            events.request.fire(record=_record(i))
        taken, dropped = collector.take()
        assert [r["start_time"] for r in taken] == [0, 1, 2] and dropped == 2
        assert collector.take() == ([], 0)
    finally:
        collector.close()
    assert collector._on_request not in events.request.listeners


def test_a_stats_message_with_too_many_records_is_refused() -> None:
    record = {"request_name": "r"}
    Stats(1, {}, [record] * MAX_RECORDS_PER_BATCH)
    with pytest.raises(ProtocolError, match="stats.records"):
        Stats(1, {}, [record] * (MAX_RECORDS_PER_BATCH + 1))
