"""Evaluating thresholds on aggregated stats: once at the end, and every tick for abort thresholds.

Evaluated centrally on the master's merged stats, so a distributed run is judged once, on all data.
``for: D`` thresholds are judged on the per-second windows: they fail only when the condition fails
for D consecutive seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..configs.thresholds import Threshold
from .aggregate import RunStats
from .histogram import Histogram


@dataclass
class Verdict:
    threshold: Threshold
    observed: float | None  # in the threshold's display unit: ms, % or plain
    passed: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        t = self.threshold
        limit = t.limit * 100 if t.unit == "%" else t.limit
        return {
            "expression": t.expression,
            "scope": t.scope,
            "metric": t.metric,
            "observed": None if self.observed is None else round(self.observed, 4),
            "unit": t.unit,
            "limit": round(limit, 6),
            "passed": self.passed,
            "abort": t.abort,
            "for_s": t.for_s,
            "note": self.note,
        }


def _in_scope(t: Threshold, key: tuple[str, str, str]) -> bool:
    phase, scenario, request = key
    return (
        (t.phase is None or t.phase == phase)
        and (t.scenario is None or t.scenario == scenario)
        and (t.request is None or t.request == request)
    )


@dataclass
class _Agg:
    count: int = 0
    failures: int = 0
    interrupted: int = 0
    within: int = 0
    expected_completed: int = 0
    hist: Histogram | None = None


def _metric(t: Threshold, agg: _Agg, seconds: float) -> float | None:
    """The metric in display units, or None when there is nothing to judge."""
    completed = agg.count - agg.interrupted
    if t.metric == "count":
        return float(agg.count)
    if t.metric == "rps":
        return agg.count / seconds if seconds > 0 else None
    if t.metric == "error_rate":
        return agg.failures / completed * 100 if completed > 0 else None
    if t.metric == "within_expected":
        return agg.within / agg.expected_completed * 100 if agg.expected_completed > 0 else None
    hist = agg.hist
    if hist is None or not hist:
        return None
    if t.metric == "avg":
        return hist.mean / 1000
    if t.metric == "min":
        return hist.min / 1000
    if t.metric == "max":
        return hist.max / 1000
    return hist.percentile(t.percentile or 50.0) / 1000


def _holds(t: Threshold, observed: float) -> bool:
    return t.holds(observed / 100 if t.unit == "%" else observed)


def evaluate(
    t: Threshold,
    stats: RunStats,
    durations: dict[str, float],
    expected: set[tuple[str, str, str]],
    *,
    complete_seconds: dict[str, int] | None = None,
) -> Verdict:
    """Judge ``t``. ``durations``: seconds each phase ran (for rps); ``expected``: keys whose request
    has an expected_response_time; ``complete_seconds``: during a run, how many whole seconds of each
    phase are complete (windows past that are still filling and are not judged)."""
    keys = [k for k in stats.keys() if _in_scope(t, k)]
    agg = _Agg(hist=Histogram())
    for key in keys:
        totals = stats.get(*key)
        assert totals is not None and agg.hist is not None
        agg.count += totals.count
        agg.failures += totals.failures
        agg.interrupted += totals.interrupted
        agg.hist.merge(totals.hist)
        if key in expected:
            agg.within += totals.within_expected
            agg.expected_completed += totals.count - totals.interrupted
    seconds = sum(d for phase, d in durations.items() if t.phase is None or phase == t.phase)
    observed = _metric(t, agg, seconds)
    if t.for_s is None:
        if observed is None:
            return Verdict(t, None, False, "no requests in scope")
        return Verdict(t, observed, _holds(t, observed))
    streak = _longest_failing_streak(t, stats, keys, complete_seconds)
    passed = streak < t.for_s
    note = f"failed for {streak:g}s in a row" if streak else ""
    return Verdict(t, observed, passed, note)


def _longest_failing_streak(
    t: Threshold,
    stats: RunStats,
    keys: Sequence[tuple[str, str, str]],
    complete: dict[str, int] | None,
) -> float:
    per_phase: dict[str, dict[int, _Agg]] = {}
    for key in keys:
        totals = stats.get(*key)
        assert totals is not None
        seconds = per_phase.setdefault(key[0], {})
        for sec, (count, failures, hist) in totals.windows.items():
            if complete is not None and sec >= complete.get(key[0], 0):
                continue
            agg = seconds.get(sec)
            if agg is None:
                agg = seconds[sec] = _Agg(hist=Histogram())
            agg.count += count
            agg.failures += failures
            assert agg.hist is not None
            agg.hist.merge(hist)
    longest = 0
    for seconds in per_phase.values():
        run, prev = 0, None
        for sec in sorted(seconds):
            value = _metric(t, seconds[sec], 1.0)
            failing = value is not None and not _holds(t, value)
            run = (run + 1 if prev is not None and sec == prev + 1 else 1) if failing else 0
            prev = sec
            longest = max(longest, run)
    return float(longest)


def evaluate_all(
    thresholds: Iterable[Threshold],
    stats: RunStats,
    durations: dict[str, float],
    expected: set[tuple[str, str, str]],
) -> list[Verdict]:
    return [evaluate(t, stats, durations, expected) for t in thresholds]
