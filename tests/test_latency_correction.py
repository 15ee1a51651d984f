"""Service time vs latency (coordinated omission): recording, the wire, merging, thresholds, and a real
paced run through a server that stalls on a known schedule.
"""

from __future__ import annotations

import msgpack
import pytest
from support.gradual_run import run_gradual, write_yaml
from support.stall import StallServer

from gradual.configs.thresholds import Threshold, parse_expression
from gradual.stats import Recorder, RunStats, StatsBatch
from gradual.stats.histogram import Histogram
from gradual.stats.thresholds import evaluate

MS = 1_000_000  # ns


def _corrected_batch() -> StatsBatch:
    rec = Recorder(clock=lambda: 0.0)
    slot = rec.slot("p", "s", "r", corrected=True)
    for _ in range(10):
        slot.record(5 * MS, 0.5, 200, service_ns=5 * MS)
    slot.record(1000 * MS, 0.5, 200, service_ns=1000 * MS)  # the overrun of a 100 ms pacing ...
    slot.fill_in(1000 * MS, 100 * MS)  # ... hid 9 requests: 900, 800, ... 100 ms
    return rec.drain()


def test_expected_interval_correction_fills_in_what_an_overrun_hid() -> None:
    (entry,) = _corrected_batch().entries
    assert entry.count == 11  # requests sent: the filled-in ones were never sent, so never counted
    assert entry.service is not None and entry.service.total == 11 and entry.service.max == 1_000_000
    latency = entry.whole_hist()
    assert latency.total == 11 + 9
    expected = Histogram()
    for v in [5_000] * 10 + [1_000_000] + [ms * 1000 for ms in range(900, 0, -100)]:
        expected.record(v)
    assert latency == expected  # HdrHistogram's recordValueWithExpectedInterval, value for value


def test_no_fill_in_below_two_intervals_and_none_without_an_interval() -> None:
    rec = Recorder(clock=lambda: 0.0)
    slot = rec.slot("p", "s", "r", corrected=True)
    slot.record(150 * MS, 0.1, service_ns=150 * MS)
    slot.fill_in(150 * MS, 100 * MS)  # 150 - 100 = 50 < 100: nothing was hidden
    slot.fill_in(150 * MS, 0)
    assert rec.drain().entries[0].whole_hist().total == 1


def test_an_uncorrected_key_stores_its_latencies_once() -> None:
    rec = Recorder(clock=lambda: 0.0)
    rec.slot("p", "s", "r").record(5 * MS, 0.1, 200)
    batch = rec.drain()
    assert batch.entries[0].service is None
    assert "service" not in batch.to_wire()["entries"][0]  # nothing extra on the wire
    stats = RunStats()
    stats.merge(StatsBatch.from_wire(msgpack.unpackb(msgpack.packb(batch.to_wire()))))
    totals = stats.get("p", "s", "r")
    assert totals is not None and totals.service is None
    assert totals.service_ms() == totals.latency_ms()


def test_service_times_travel_and_merge_exactly() -> None:
    stats = RunStats()
    for source in ("w1", "w2"):
        wire = msgpack.unpackb(msgpack.packb(_corrected_batch().to_wire()))
        stats.merge(StatsBatch.from_wire(wire), source=source)
    totals = stats.get("p", "s", "r")
    assert totals is not None and totals.service is not None
    assert totals.count == 22 and totals.service.total == 22 and totals.hist.total == 40
    assert totals.service_ms()["max"] == 1000.0 and 5.0 <= totals.service_ms()["p50"] < 5.01
    assert totals.latency_ms()["p90"] >= 700  # the hidden requests are in the latencies
    # A run's totals over a corrected and an uncorrected key: service times are the latencies of the latter.
    rec = Recorder(clock=lambda: 0.0)
    rec.slot("p", "s", "plain").record(7 * MS, 0.1, 200)
    stats.merge(rec.drain(), source="w3")
    run = stats.totals()
    assert run.count == 23 and run.service is not None and run.service.total == 23 and run.hist.total == 41


def test_a_decoded_batch_equals_the_sent_one() -> None:
    batch = _corrected_batch()
    decoded = StatsBatch.from_wire(msgpack.unpackb(msgpack.packb(batch.to_wire())))
    assert decoded.entries == batch.entries


def _threshold(expression: str) -> Threshold:
    parsed = parse_expression(expression)
    assert not isinstance(parsed, str), parsed
    metric, op, limit, unit = parsed
    return Threshold(expression, metric, op, limit, unit)


def test_p99_judges_latencies_and_service_p99_service_times() -> None:
    stats = RunStats()
    stats.merge(_corrected_batch())
    latency = evaluate(_threshold("p99 < 100ms"), stats, {"p": 1.0}, set())
    service = evaluate(_threshold("service_p50 < 100ms"), stats, {"p": 1.0}, set())
    assert latency.observed is not None and latency.observed >= 900 and not latency.passed
    assert service.observed is not None and service.observed < 10 and service.passed
    assert evaluate(_threshold("service_max >= 1s"), stats, {"p": 1.0}, set()).passed


@pytest.mark.parametrize("text, says", [
    ("service_rps > 3", "service_ goes with a latency metric"),
    ("service_p0 < 5ms", "must be between p0 and p100"),
    ("servce_p99 < 5ms", "unknown metric 'servce_p99'"),
])
def test_service_metric_errors(text: str, says: str) -> None:
    parsed = parse_expression(text)
    assert isinstance(parsed, str) and says in parsed


# --- a real paced run through a known stall --------------------------------------------------------------

PERIOD_S, STALL_S = 3.0, 1.0
PACING_S = 0.01  # 100 iterations a second: a stall of 1 s hides ~100 of them


def test_paced_closed_model_through_a_stall_corrects_latency_but_not_service(tmp_path) -> None:  # noqa: ANN001
    with StallServer(PERIOD_S, STALL_S) as server:
        write_yaml(tmp_path / "requests.yaml", {"requests": {"tick": {"url": f"{server.url}/tick"}}})
        config = write_yaml(tmp_path / "config.yaml", {"runs": {"name": "stall", "phases": {"p": {
            "run_time": 6.5, "scenarios": {"paced": {
                "requests": ["tick"], "request_file": "requests.yaml", "min_concurrency": 1, "max_concurrency": 1,
                "wait_time": {"constant_pacing": PACING_S}}},
            "thresholds": ["p99 > 500ms", "service_p99 < 100ms"]}}}})
        run = run_gradual(config)
        seen = server.count()

    assert run.returncode == 0, run.stderr  # both thresholds hold
    req = run.request("tick")
    assert req["count"] == seen  # every request the server saw, once
    assert req["latency_ms"]["p99"] >= 500, req  # the stall's hidden iterations are in the latencies ...
    assert req["service_ms"]["p99"] < 100, req  # ... while almost every request itself was fast
    assert req["service_ms"]["max"] >= 500  # the request caught in the stall took the stall
    assert req["latency_ms"]["max"] == req["service_ms"]["max"]  # correction adds samples, never lengthens one
    assert run.summary is not None
    totals = run.summary["totals"]
    assert totals["latency_ms"]["p99"] >= 500 and totals["service_ms"]["p99"] < 100


def test_whole_run_metrics_reject_for_with_exit_2(tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    from support.gradual_run import REPO_ROOT, gradual_env

    write_yaml(tmp_path / "requests.yaml", {"requests": {"r": {"url": "http://127.0.0.1:9/r"}}})
    config = write_yaml(tmp_path / "config.yaml", {"runs": {
        "name": "t", "thresholds": [{"expr": "service_p99 < 10ms", "for": "5s"}, {"expr": "dropped < 5", "for": 2}],
        "phases": {"p": {"run_time": 1, "scenarios": {"s": {
            "requests": ["r"], "request_file": "requests.yaml", "min_rate": 5, "max_rate": 5,
            "max_concurrency": 2}}}}}})
    proc = subprocess.run([sys.executable, "-m", "gradual", "validate", str(config)], capture_output=True, text=True,
                          env=gradual_env(), cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "runs.thresholds[0].for: service_p99 is judged over the whole run" in proc.stderr, proc.stderr
    assert "runs.thresholds[1].for: dropped is judged over the whole run; 'for' does not apply" in proc.stderr
