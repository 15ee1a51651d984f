"""Evaluating thresholds on aggregated stats: once at the end, and every tick for abort thresholds.

Evaluated centrally on the master's merged stats, so a distributed run is judged once, on all data.
``for: D`` thresholds are judged on the per-second windows: they fail only when the condition fails
for D consecutive seconds. Seconds RunStats has compacted (no histogram any more) were judged as they
compacted, by a SecondStreaks that ``watch`` attached to the stats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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
    scheduled: int = 0  # open model arrivals in scope
    dropped: int = 0
    hist: Histogram | None = None  # latencies (corrected), or service times for a service_ metric


def _metric(t: Threshold, agg: _Agg, seconds: float) -> float | None:
    """The metric in display units, or None when there is nothing to judge."""
    completed = agg.count - agg.interrupted
    if t.metric == "count":
        return float(agg.count)
    if t.metric == "rps":
        return agg.count / seconds if seconds > 0 else None
    if t.metric == "error_rate":
        return agg.failures / completed * 100 if completed > 0 else None
    if t.metric == "dropped":
        return float(agg.dropped)
    if t.metric == "dropped_rate":
        return agg.dropped / agg.scheduled * 100 if agg.scheduled > 0 else None
    if t.metric == "within_expected":
        return agg.within / agg.expected_completed * 100 if agg.expected_completed > 0 else None
    hist = agg.hist
    if hist is None or not hist:
        return None
    metric = t.latency_metric
    if metric == "avg":
        return hist.mean / 1000
    if metric == "min":
        return hist.min / 1000
    if metric == "max":
        return hist.max / 1000
    return hist.percentile(t.percentile or 50.0) / 1000


class SecondVerdicts:
    """Per-second verdicts of ``for:`` thresholds, kept from one abort check to the next: a second is
    judged again only when its windows changed (a late batch), so each check judges the new seconds
    instead of the whole run so far. Seconds that RunStats compacted are forgotten (SecondStreaks has
    them), so this holds at most the live seconds."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Threshold, str], dict[int, tuple[tuple[int, int, int], bool]]] = {}

    def failing(
        self, t: Threshold, phase: str, sec: int, signature: tuple[int, int, int], judge: Callable[[], bool]
    ) -> bool:
        # Merges only add: a second whose count, failures and latencies recorded are unchanged is unchanged.
        seen_phase = self._seen.setdefault((t, phase), {})
        seen = seen_phase.get(sec)
        if seen is not None and seen[0] == signature:
            return seen[1]
        verdict = judge()
        seen_phase[sec] = (signature, verdict)
        return verdict

    def forget_before(self, t: Threshold, phase: str, before: int) -> None:
        seen_phase = self._seen.get((t, phase))
        if seen_phase and before > 0:
            for sec in [sec for sec in seen_phase if sec < before]:
                del seen_phase[sec]

    def __len__(self) -> int:
        return sum(len(v) for v in self._seen.values())


_NO_SECOND = -(1 << 62)


class SecondStreaks:
    """``for:`` verdicts of the seconds RunStats compacts, judged as they compact (RunStats.watch) and
    kept as three numbers per threshold and phase: the longest failing streak among them, the streak
    running at the newest of them, and that second. Late batches for a compacted second count in the
    totals but do not judge it again."""

    def __init__(self, thresholds: Iterable[Threshold]) -> None:
        self.thresholds = [t for t in thresholds if t.for_s is not None]
        # (threshold, phase) -> [longest, run, previous second judged]
        self.state: dict[tuple[Threshold, str], list[int]] = {}

    def __call__(self, phase: str, sec: int, windows: dict[tuple[str, str, str], list[Any]]) -> None:
        for t in self.thresholds:
            scoped = [w for key, w in windows.items() if _in_scope(t, key)]
            if not scoped:  # a second without requests in scope is not judged (it ends a streak)
                continue
            state = self.state.setdefault((t, phase), [0, 0, _NO_SECOND])
            if _fails(t, scoped):
                state[1] = state[1] + 1 if sec == state[2] + 1 else 1
                state[0] = max(state[0], state[1])
            else:
                state[1] = 0
            state[2] = sec


def watch(stats: RunStats, thresholds: Iterable[Threshold]) -> None:
    """Have ``stats`` judge the ``for:`` thresholds among ``thresholds`` on each second it compacts
    (evaluate reads them from there)."""
    streaks = SecondStreaks(thresholds)
    if streaks.thresholds:
        stats.second_streaks = streaks
        stats.watch(streaks)


def _holds(t: Threshold, observed: float) -> bool:
    return t.holds(observed / 100 if t.unit == "%" else observed)


def evaluate(
    t: Threshold,
    stats: RunStats,
    durations: dict[str, float],
    expected: set[tuple[str, str, str]],
    *,
    complete_seconds: dict[str, int] | None = None,
    seconds_cache: SecondVerdicts | None = None,
) -> Verdict:
    """Judge ``t``. ``durations``: seconds each phase ran (for rps); ``expected``: keys whose request
    has an expected_response_time; ``complete_seconds``: during a run, how many whole seconds of each
    phase are complete (windows past that are still filling and are not judged); ``seconds_cache``:
    per-second verdicts of ``for:`` thresholds kept by the caller from one check to the next."""
    keys = [k for k in stats.keys() if _in_scope(t, k)]
    agg = _Agg(hist=Histogram())
    for key in keys:
        totals = stats.get(*key)
        assert totals is not None and agg.hist is not None
        agg.count += totals.count
        agg.failures += totals.failures
        agg.interrupted += totals.interrupted
        agg.hist.merge(totals.service_hist() if t.service else totals.hist)
        if key in expected:
            agg.within += totals.within_expected
            agg.expected_completed += totals.count - totals.interrupted
    for (phase, scenario), (scheduled, dropped) in stats.arrival_counts.items():
        if (t.phase is None or t.phase == phase) and (t.scenario is None or t.scenario == scenario):
            agg.scheduled += scheduled
            agg.dropped += dropped
    seconds = sum(d for phase, d in durations.items() if t.phase is None or phase == t.phase)
    observed = _metric(t, agg, seconds)
    if t.for_s is None:
        if observed is None:
            return Verdict(t, None, False, "no requests in scope")
        return Verdict(t, observed, _holds(t, observed))
    streak = _longest_failing_streak(t, stats, keys, complete_seconds, seconds_cache or SecondVerdicts())
    passed = streak < t.for_s
    note = f"failed for {streak:g}s in a row" if streak else ""
    return Verdict(t, observed, passed, note)


def _longest_failing_streak(
    t: Threshold,
    stats: RunStats,
    keys: Sequence[tuple[str, str, str]],
    complete: dict[str, int] | None,
    verdicts: SecondVerdicts,
) -> float:
    # phase -> second -> [count, failures, latencies recorded, that second's windows of every key in scope]
    per_phase: dict[str, dict[int, list[Any]]] = {}
    streaks: SecondStreaks | None = stats.second_streaks
    judged = streaks.state if streaks is not None else {}
    for (threshold, phase), _ in judged.items():
        if threshold == t:
            per_phase.setdefault(phase, {})
    for key in keys:
        totals = stats.get(*key)
        assert totals is not None
        seconds = per_phase.setdefault(key[0], {})
        for sec, window in totals.windows.items():
            if complete is not None and sec >= complete.get(key[0], 0):
                continue
            entry = seconds.get(sec)
            if entry is None:
                entry = seconds[sec] = [0, 0, 0, []]
            entry[0] += window[0]
            entry[1] += window[1]
            entry[2] += window[2].total
            entry[3].append(window)
    longest = 0
    for phase, seconds in per_phase.items():
        # The compacted seconds' verdicts, then the windows'.
        longest_compacted, run, prev_sec = judged.get((t, phase), (0, 0, _NO_SECOND))
        longest = max(longest, longest_compacted)
        prev = None if prev_sec == _NO_SECOND else prev_sec
        verdicts.forget_before(t, phase, stats.compacted_before(phase))
        for sec in sorted(seconds):
            count, failures, recorded, windows = seconds[sec]
            failing = verdicts.failing(t, phase, sec, (count, failures, recorded), lambda ws=windows: _fails(t, ws))
            run = (run + 1 if prev is not None and sec == prev + 1 else 1) if failing else 0
            prev = sec
            longest = max(longest, run)
    return float(longest)


def _fails(t: Threshold, windows: list[list[Any]]) -> bool:
    """Whether ``t`` fails on one second: the sum of its windows ([count, failures, histogram] each)."""
    agg = _Agg(hist=Histogram())
    assert agg.hist is not None
    for count, failures, hist in windows:
        agg.count += count
        agg.failures += failures
        agg.hist.merge(hist)
    value = _metric(t, agg, 1.0)
    return value is not None and not _holds(t, value)


def evaluate_all(
    thresholds: Iterable[Threshold],
    stats: RunStats,
    durations: dict[str, float],
    expected: set[tuple[str, str, str]],
) -> list[Verdict]:
    return [evaluate(t, stats, durations, expected) for t in thresholds]
