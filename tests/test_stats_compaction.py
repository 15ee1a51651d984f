"""A long run's stats on the master: per-second windows older than LIVE_WINDOW_S become compact rows,
so memory grows with the keys, not with time, while the series, their sums and ``for:`` verdicts stay
what they were with every window kept (LIVE_WINDOW_S raised past the run: nothing is compacted).
"""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

import pytest

from gradual.configs.thresholds import Threshold, parse_expression
from gradual.stats import Histogram, KeyDelta, RunStats, StatsBatch, aggregate
from gradual.stats.thresholds import SecondVerdicts, evaluate, watch

KEYS = [("p", s, r) for s in ("a", "b") for r in ("r1", "r2", "r3")]


def hist_of(values_us: list[int]) -> Histogram:
    h = Histogram()
    for v in values_us:
        h.record(v)
    return h


def second_batch(rnd: random.Random, sec: int, slow: bool, keys: list[tuple[str, str, str]] = KEYS) -> StatsBatch:
    """One worker's batch: every key's window of ``sec`` (20 ms latencies, or 300 ms when ``slow``)."""
    entries = []
    for key in keys:
        base = 300_000 if slow else 20_000
        values = [base + rnd.randint(0, 5_000) for _ in range(rnd.randint(20, 60))]
        failures = rnd.randint(0, 3)
        entries.append(KeyDelta(*key, count=len(values), failures=failures, hist=None,
                                windows={sec: [len(values), failures, hist_of(values)]}))
    return StatsBatch(entries=entries, users={("p", "a"): 3})


def threshold(expression: str, **scope: Any) -> Threshold:
    parsed = parse_expression(expression)
    assert not isinstance(parsed, str), parsed
    metric, op, limit, unit = parsed
    return Threshold(expression, metric, op, limit, unit, **scope)


def feed(stats: RunStats, seconds: int, slow: set[int], seed: int) -> None:
    rnd = random.Random(seed)
    for sec in range(seconds):
        stats.merge(StatsBatch.from_wire(second_batch(rnd, sec, sec in slow).to_wire()), "w1")


def test_series_of_a_long_run_are_those_of_every_window_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    seconds = aggregate.LIVE_WINDOW_S * 3
    stats = RunStats()
    feed(stats, seconds, set(range(50, 60)), seed=1)
    monkeypatch.setattr(aggregate, "LIVE_WINDOW_S", 10**9)  # the reference keeps every window
    kept = RunStats()
    feed(kept, seconds, set(range(50, 60)), seed=1)
    assert kept.compacted_before("p") == 0 and stats.compacted_before("p") > seconds // 2

    def rows_and_windows(t: Any) -> tuple[list[Any], list[Any]]:
        old = [t.second(s) for s in range(stats.compacted_before("p"))]
        recent = [t.second(s) for s in range(stats.compacted_before("p"), seconds)]
        return old, recent

    groups = [(stats.get(*k), kept.get(*k)) for k in KEYS]
    groups += [(stats.scenario_totals("p", s), kept.scenario_totals("p", s)) for s in ("a", "b")]
    groups.append((stats.phase_totals("p"), kept.phase_totals("p")))
    for got, want in groups:
        assert got.hist == want.hist and got.count == want.count  # whole-run numbers: exact
        old, recent = rows_and_windows(got)
        old_want, recent_want = rows_and_windows(want)
        assert recent == recent_want  # the live seconds are windows, bucket for bucket
        for (n, failures, hist, pcts), (n_want, failures_want, hist_want, _) in zip(old, old_want, strict=True):
            # A compacted second: the counts, and the percentiles at 2 significant digits the charts read.
            assert hist is None and (n, failures) == (n_want, failures_want)
            assert pcts == tuple(hist_want.coarsened().percentiles((50.0, 95.0, 99.0)))
        series = got.window_series()
        assert len(series) == seconds and sum(p["count"] for p in series) == got.count


@pytest.mark.parametrize("slow", [
    set(range(30, 37)),  # a streak among the compacted seconds
    set(range(aggregate.LIVE_WINDOW_S * 2 - 130, aggregate.LIVE_WINDOW_S * 2 - 110)),  # across the boundary
    {3, 4, 6, 7, 8, 100, 101, 102, 103, 300, 301},
])
@pytest.mark.parametrize("expression,scope", [
    ("p95 < 100ms", {}), ("p50 < 100ms", {"scenario": "b"}), ("avg < 100ms", {"request": "r2"}),
    ("max < 100ms", {"scenario": "a", "request": "r1"}),
])
def test_for_thresholds_judge_compacted_seconds_as_if_every_window_were_kept(
    monkeypatch: pytest.MonkeyPatch, slow: set[int], expression: str, scope: dict[str, str]
) -> None:
    seconds = aggregate.LIVE_WINDOW_S * 2
    t = threshold(expression, for_s=5.0, **scope)
    stats = RunStats()
    watch(stats, [t])
    cache = SecondVerdicts()
    rnd = random.Random(7)
    complete = {"p": 0}
    for sec in range(seconds):  # checked every tick, as abort thresholds are
        stats.merge(StatsBatch.from_wire(second_batch(rnd, sec, sec in slow).to_wire()), "w1")
        complete["p"] = sec
        evaluate(t, stats, {"p": float(sec)}, set(), complete_seconds=complete, seconds_cache=cache)
        assert len(cache) <= aggregate.LIVE_WINDOW_S + 1  # compacted seconds are forgotten
    assert stats.compacted_before("p") == seconds - aggregate.LIVE_WINDOW_S
    monkeypatch.setattr(aggregate, "LIVE_WINDOW_S", 10**9)
    kept = RunStats()
    feed(kept, seconds, slow, seed=7)
    want = evaluate(t, kept, {"p": float(seconds)}, set())
    got = evaluate(t, stats, {"p": float(seconds)}, set())
    assert (got.passed, got.note) == (want.passed, want.note)
    assert want.note  # the slow seconds failed it
    during = evaluate(t, stats, {"p": float(seconds)}, set(), complete_seconds=complete, seconds_cache=cache)
    assert (during.passed, during.note) == (got.passed, got.note)


def test_memory_grows_with_keys_not_with_time() -> None:
    """Past the live horizon a second costs a few dozen bytes per key (rows), not a histogram: the
    traced memory of 600 more seconds of 6 keys stays under 100 bytes per key and second, and the
    number of Histogram objects the stats hold stops growing."""
    stats = RunStats()
    rnd = random.Random(3)
    horizon = aggregate.LIVE_WINDOW_S
    tracemalloc.start()  # before the stats hold anything: frees of what it traced count
    try:
        for sec in range(horizon + 60):
            stats.merge(StatsBatch.from_wire(second_batch(rnd, sec, False).to_wire()), "w1")
        base = tracemalloc.get_traced_memory()[0]
        windows_before = sum(len(stats.get(*k).windows) for k in KEYS)
        for sec in range(horizon + 60, horizon + 660):
            stats.merge(StatsBatch.from_wire(second_batch(rnd, sec, False).to_wire()), "w1")
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    per_key_second = grown / 600 / len(KEYS)
    assert per_key_second < 100, f"{per_key_second:.0f} bytes per key and second"
    assert sum(len(stats.get(*k).windows) for k in KEYS) == windows_before == len(KEYS) * horizon
    assert stats.totals().count == sum(p["count"] for k in KEYS for p in stats.get(*k).window_series())
