"""Thresholds: how expressions are judged on merged stats (scopes, units, `for:` streaks, the per-second
verdict cache of abort checks), what a bad one says, and what real runs against the demo target exit with.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.gradual_run import run_gradual, write_yaml
from support.target import TargetProcess

from gradual.configs.thresholds import Threshold, parse_expression
from gradual.stats import Recorder, RunStats, StatsBatch
from gradual.stats.thresholds import SecondVerdicts, evaluate

# --- evaluation on merged stats ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(
    stats: RunStats,
    second: int,
    latencies_ms: list[float],
    *,
    key: tuple[str, str, str] = ("p", "s", "r"),
    failures: int = 0,
    source: str = "w1",
) -> None:
    """Merge one worker batch: requests of `key` that ended in `second` of the phase (the first
    `failures` of them HTTP 500s), through the wire form, as the master gets them."""
    clock = Clock()
    rec = Recorder(clock)
    rec.set_phase_origin(key[0], 0.0)
    slot = rec.slot(*key, expected_response_time=0.1)
    clock.now = second + 0.5
    for i, ms in enumerate(latencies_ms):
        if i < failures:
            slot.record(int(ms * 1e6), clock.now, 500, 10, "http", "HTTP 500")
        else:
            slot.record(int(ms * 1e6), clock.now, 200, 10)
    stats.merge(StatsBatch.from_wire(rec.drain().to_wire()), source)


def threshold(expression: str, **scope: Any) -> Threshold:
    parsed = parse_expression(expression)
    assert not isinstance(parsed, str), parsed
    metric, op, limit, unit = parsed
    return Threshold(expression, metric, op, limit, unit, **scope)


def judge(t: Threshold, stats: RunStats, seconds: float = 10.0, **kwargs: Any) -> tuple[float | None, bool]:
    phases = {key[0] for key in stats.keys()}
    verdict = evaluate(t, stats, dict.fromkeys(phases, seconds), set(stats.keys()), **kwargs)
    return verdict.observed, verdict.passed


def test_latency_ratio_and_rate_metrics_are_judged_in_their_units() -> None:
    stats = RunStats()
    # 100 requests of 1..100 ms, the first 5 failed; all within the 100 ms expected_response_time, but a failed
    # request does not count as within it.
    record(stats, 0, [float(ms) for ms in range(1, 101)], failures=5)
    assert judge(threshold("p50 < 60ms"), stats) == (pytest.approx(50, rel=2e-3), True)
    assert judge(threshold("p99 < 0.09s"), stats) == (pytest.approx(99, rel=2e-3), False)
    assert judge(threshold("max <= 100"), stats) == (pytest.approx(100, rel=2e-3), True)
    assert judge(threshold("avg > 50.4ms"), stats) == (pytest.approx(50.5, rel=1e-3), True)
    assert judge(threshold("error_rate < 5%"), stats) == (pytest.approx(5.0), False)
    assert judge(threshold("error_rate <= 0.05"), stats) == (pytest.approx(5.0), True)
    assert judge(threshold("within_expected >= 95%"), stats) == (pytest.approx(95.0), True)
    assert judge(threshold("within_expected > 0.95"), stats) == (pytest.approx(95.0), False)
    assert judge(threshold("rps >= 10"), stats, seconds=10.0) == (pytest.approx(10.0), True)
    assert judge(threshold("count == 100"), stats) == (100.0, True)


def test_scope_selects_the_phase_scenario_or_request_and_nothing_in_scope_fails() -> None:
    stats = RunStats()
    record(stats, 0, [10.0] * 10, key=("warm", "browse", "home"))
    record(stats, 0, [500.0] * 10, key=("load", "browse", "home"))
    record(stats, 0, [900.0] * 10, key=("load", "buy", "pay"))
    assert judge(threshold("p95 < 100ms", phase="warm"), stats)[1] is True
    assert judge(threshold("p95 < 100ms", phase="load"), stats)[1] is False
    assert judge(threshold("p95 < 600ms", phase="load", scenario="browse"), stats)[1] is True
    assert judge(threshold("p95 < 600ms", request="pay"), stats)[1] is False
    assert judge(threshold("count == 30"), stats) == (30.0, True)  # run scope: every key
    verdict = evaluate(threshold("p95 < 1ms", request="missing"), stats, {"load": 1.0}, set())
    assert (verdict.observed, verdict.passed, verdict.note) == (None, False, "no requests in scope")


def test_for_fails_only_on_that_many_consecutive_failing_seconds() -> None:
    stats = RunStats()
    slow = [0, 1, 3, 4, 5, 7]  # a gap at 2 and 6 breaks the streaks: the longest is 3..5
    for sec in range(9):
        record(stats, sec, [300.0 if sec in slow else 10.0] * 20)
    t3 = threshold("p95 < 100ms", for_s=3.0)
    t4 = threshold("p95 < 100ms", for_s=4.0)
    assert judge(t3, stats)[1] is False
    assert judge(t4, stats)[1] is True
    # The whole-run value is reported either way (here 30% of requests are slow: p95 is slow).
    assert judge(t4, stats)[0] == pytest.approx(300, rel=2e-3)
    # During the run, seconds not yet complete are not judged: up to second 4, the streak is 3..4.
    assert judge(t3, stats, complete_seconds={"p": 5})[1] is True
    assert judge(t3, stats, complete_seconds={"p": 6})[1] is False


def test_a_second_without_requests_breaks_a_streak() -> None:
    stats = RunStats()
    for sec in (0, 1, 3, 4):
        record(stats, sec, [300.0] * 5)
    assert judge(threshold("p50 < 100ms", for_s=3.0), stats)[1] is True
    record(stats, 2, [300.0] * 5)  # a late batch fills the gap
    assert judge(threshold("p50 < 100ms", for_s=3.0), stats)[1] is False


def test_a_late_batch_changes_a_cached_second_verdict() -> None:
    stats = RunStats()
    for sec in range(4):
        record(stats, sec, [300.0] * 5)
    t = threshold("p50 < 100ms", for_s=3.0)
    cache = SecondVerdicts()
    assert evaluate(t, stats, {"p": 4.0}, set(), complete_seconds={"p": 4}, seconds_cache=cache).passed is False
    record(stats, 1, [10.0] * 50, source="w2")  # second 1 turns fast: the longest slow streak is now 2..3
    assert evaluate(t, stats, {"p": 4.0}, set(), complete_seconds={"p": 4}, seconds_cache=cache).passed is True


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(["w1", "w2"]), st.booleans(), st.integers(0, 3)),
        min_size=1,
        max_size=40,
    ),
    # Each batch adds 4 requests to its second: "count < 6" flips as soon as a second gets a second batch.
    st.sampled_from(["p90 < 100ms", "error_rate < 20%", "count < 6", "max < 200ms"]),
    st.integers(1, 4),
)
def test_cached_second_verdicts_match_judging_every_second_again(
    batches: list[tuple[int, str, bool, int]], expression: str, for_s: int
) -> None:
    # Abort checks keep per-second verdicts between ticks; a late batch into an old second must still
    # change its verdict. After every batch, the cached check agrees with a fresh one.
    t = threshold(expression, for_s=float(for_s))
    stats = RunStats()
    cache = SecondVerdicts()
    rnd = random.Random(len(batches))
    for sec, source, slow, failures in batches:
        latencies = [rnd.choice([20.0, 50.0]) if not slow else 150.0 for _ in range(4)]
        record(stats, sec, latencies, failures=failures, source=source)
        complete = {"p": max(s for s, *_ in batches) + 1}
        fresh = evaluate(t, stats, {"p": 13.0}, set(), complete_seconds=complete)
        cached = evaluate(t, stats, {"p": 13.0}, set(), complete_seconds=complete, seconds_cache=cache)
        assert (cached.passed, cached.note) == (fresh.passed, fresh.note)


# --- configuration ------------------------------------------------------------------------------------


def _config(tmp_path: Path, thresholds: Any, *, path: str = "/slow?ms=20", run_time: float = 1.5) -> Path:
    write_yaml(tmp_path / "requests.yaml", {"requests": {
        # The default (nothing listens on port 9) only serves the config-error tests, which send nothing.
        "hit": {"url": "${GRADUAL_TARGET:-http://127.0.0.1:9}" + path, "method": "GET", "expected_response_time": 0.5},
    }})
    scenario = {"requests": ["hit"], "request_file": "requests.yaml", "min_concurrency": 2, "max_concurrency": 2}
    runs = {"name": "threshold test", "stop_timeout": 1, "thresholds": thresholds,
            "phases": {"load": {"run_time": run_time, "scenarios": {"s": scenario}}}}
    return write_yaml(tmp_path / "config.yaml", {"runs": runs})


@pytest.mark.parametrize(
    ("thresholds", "key", "says"),
    [
        (["p99 << 250ms"], "runs.thresholds[0]", "cannot parse 'p99 << 250ms'"),
        (["latency < 250ms"], "runs.thresholds[0]", "unknown metric 'latency'"),
        (["p0 < 250ms"], "runs.thresholds[0]", "between p0 and p100"),
        (["p100 < 250ms"], "runs.thresholds[0]", "unknown metric 'p100'"),
        (["p99 < 250%"], "runs.thresholds[0]", "does not fit latency metric"),
        (["error_rate < 5"], "runs.thresholds[0]", "write 5% for a percentage"),
        (["rps > 10ms"], "runs.thresholds[0]", "rps takes no unit"),
        ([{"expr": "p99 < 1s", "for": "soon"}], "runs.thresholds[0].for", "expected a duration"),
        ([{"expr": "p99 < 1s", "abort": "yes"}], "runs.thresholds[0].abort", "expected true or false"),
        ([{"expr": "within_expected > 90%", "for": "5s"}], "runs.thresholds[0].for", "'for' does not apply"),
        ([{"for": "5s"}], "runs.thresholds[0].expr", "is required"),
        ("p99 < 1s", "runs.thresholds", "expected a list of expressions"),
    ],
)
def test_a_bad_threshold_is_exit_2_naming_file_and_key(tmp_path: Path, thresholds: Any, key: str, says: str) -> None:
    config = _config(tmp_path, thresholds)
    result = run_gradual(config, json_out=False, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {config}:") and f": {key}: " in first and says in first, result.stderr


# --- real runs -----------------------------------------------------------------------------------------


def test_a_failed_threshold_makes_exit_1_and_the_summary_says_which(tmp_path: Path, target: TargetProcess) -> None:
    target.reset()
    config = _config(tmp_path, ["p50 < 5ms", "p50 < 500ms", "error_rate < 1%"])
    result = run_gradual(config, target=target)
    assert result.returncode == 1, result.stderr
    assert result.summary is not None
    verdicts = {t["expression"]: t for t in result.summary["thresholds"]}
    assert verdicts["p50 < 5ms"]["passed"] is False and verdicts["p50 < 5ms"]["observed"] >= 20
    assert verdicts["p50 < 500ms"]["passed"] is True
    assert verdicts["error_rate < 1%"]["observed"] == 0
    assert result.summary["run"]["exit_code"] == 1
    served = target.counts()["requests"]
    assert sum(served.values()) == result.summary["totals"]["count"]


def test_an_abort_threshold_stops_the_run_once_it_fails_for_long_enough(
    tmp_path: Path, target: TargetProcess
) -> None:
    target.reset()
    config = _config(tmp_path, [{"expr": "p50 < 5ms", "abort": True, "for": "2s"}], run_time=20)
    result = run_gradual(config, target=target)
    assert result.returncode == 1, result.stderr
    assert "threshold 'p50 < 5ms' failed" in result.stderr and "aborting the run" in result.stderr
    assert result.summary is not None
    # Two complete failing seconds, judged on the next tick: the 20 s phase ends after a few seconds.
    assert 2.0 <= result.summary["phases"][0]["duration_s"] < 6.0
    verdict = result.summary["thresholds"][0]
    assert verdict["passed"] is False and verdict["abort"] is True
