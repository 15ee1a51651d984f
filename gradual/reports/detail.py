"""What the summary says beyond DESIGN.md's fields, for the HTML report and the dashboard: per-request
and whole-phase time series, latency distributions, the plan and the target hosts.

Every number comes from the master's RunStats (the same merged totals and per-second windows the
console, /metrics and the rest of the summary read); nothing here aggregates batches itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import numpy as np

from gradual import plan
from gradual.configs.workload import describe_wait
from gradual.stats.histogram import SUB_BUCKET_BITS, SUB_BUCKET_COUNT, Histogram, merged

MIN_WINDOW_S = 0.25  # a phase's last second shorter than this is folded into the one before it
# Latency distribution buckets: 4 per decade from 10 µs to 1 h (upper bounds in microseconds).
DIST_EDGES_US = [10 ** (1 + k / 4) for k in range(0, 35)]


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


def _point(phase: str, t: int, window_s: float, count: int, failures: int, hist: Histogram | None,
           pcts: tuple[float, float, float] | None) -> dict[str, Any]:
    """A point from a window's histogram, or from a compacted row's percentiles (µs) when hist is None."""
    if hist is not None:
        pcts = (*hist.percentiles((50.0, 95.0, 99.0)),) if hist else None  # type: ignore[assignment]
    p50, p95, p99 = pcts if pcts is not None else (None, None, None)
    return {
        "phase": phase, "t": t, "window_s": round(window_s, 3), "count": count, "failures": failures,
        "rps": round(count / window_s, 3), "failures_per_s": round(failures / window_s, 3),
        "p50": None if p50 is None else _ms(p50), "p95": None if p95 is None else _ms(p95),
        "p99": None if p99 is None else _ms(p99),
    }


def window_points(phase: str, duration_s: float | None, totals: Any, seconds: range) -> list[dict[str, Any]]:
    """Points of ``seconds`` from the per-second windows of ``totals`` (a RequestTotals: its recent
    seconds are windows with a histogram, the older ones compacted rows with their percentiles); a
    second with neither is a zero-rate point without latencies. ``duration_s``: the phase's length
    once it ended (its last, partial second's rate is per second of coverage), None while it runs.

    A phase's last second shorter than MIN_WINDOW_S (the stop's tail: the requests that finished or were
    interrupted while users stopped) is folded into the point before it, whose window_s grows by as much:
    plotted alone it would be a false spike or drop, left out its requests would be missing, and the
    points' counts must add up to the totals. (Both are recent seconds, so windows: a row's
    percentiles cannot be merged, and if one is a row the point keeps the percentiles it has.)
    """
    out: list[list[Any]] = []
    for sec in seconds:
        window_s = 1.0 if duration_s is None or duration_s <= sec else min(1.0, duration_s - sec)
        got = totals.second(sec)
        count, failures, hist, pcts = got if got else (0, 0, None, None)
        if window_s < MIN_WINDOW_S and out:
            last = out[-1]
            last[1] += window_s
            last[2] += count
            last[3] += failures
            if hist and last[5] is None:  # a new histogram: the stats' own windows are never changed
                last[4] = merged([h for h in (last[4], hist) if h is not None])
            elif pcts is not None and not last[4] and last[5] is None:
                last[4], last[5] = None, pcts
            continue
        out.append([sec, window_s, count, failures, hist, pcts])
    return [_point(phase, sec, window_s, count, failures, hist, pcts)
            for sec, window_s, count, failures, hist, pcts in out]


def _phase_seconds(duration_s: float, keys: list[Any]) -> range:
    newest = max((t.newest_second() for t in keys), default=-1)
    return range(max(int(duration_s + 0.999), newest + 1))


def request_timeseries(result: Any) -> list[dict[str, Any]]:
    """Per second of each phase, per request: req/s, failures/s, p50/p95/p99 (ms)."""
    out: list[dict[str, Any]] = []
    for record in result.phases:
        for scen in result.run.phase(record.name).scenarios:
            for req in scen.recorded:
                totals = result.stats.get(record.name, scen.name, req.name)
                if totals is None:
                    continue
                seconds = _phase_seconds(record.duration_s, [totals])
                for point in window_points(record.name, record.duration_s, totals, seconds):
                    out.append({"scenario": scen.name, "request": req.name, **point})
    return out


def total_timeseries(result: Any) -> list[dict[str, Any]]:
    """Per second of each phase, all its requests together (latencies from the merged histograms)."""
    out: list[dict[str, Any]] = []
    for record in result.phases:
        totals = result.stats.phase_totals(record.name)
        keys = [result.stats.get(*k) for k in result.stats.keys() if k[0] == record.name]
        seconds = _phase_seconds(record.duration_s, keys)
        out.extend(window_points(record.name, record.duration_s, totals, seconds))
    return out


def _bucket_values(keys: np.ndarray) -> np.ndarray:
    """highest_equivalent() over an array of bucket keys."""
    keys = keys.astype(np.int64)
    b = keys >> SUB_BUCKET_BITS
    high = (((keys & (SUB_BUCKET_COUNT - 1)) + 1) << b) - 1
    return np.where(keys < SUB_BUCKET_COUNT, keys, high)


def distribution(hist: Histogram) -> list[int]:
    """Counts per DIST_EDGES_US bucket (a value goes to the first edge at or above it; the last takes the rest)."""
    keys, counts = hist.buckets()
    if not len(keys):
        return [0] * len(DIST_EDGES_US)
    index = np.searchsorted(np.asarray(DIST_EDGES_US), _bucket_values(keys), side="left")
    index = np.minimum(index, len(DIST_EDGES_US) - 1)
    return np.bincount(index, weights=counts, minlength=len(DIST_EDGES_US)).astype(np.int64).tolist()


def latency_distribution(result: Any) -> dict[str, Any]:
    """``{"edges_ms": [...], "requests": [{phase, scenario, request, counts}]}``: whole-run latency counts."""
    rows = []
    for record in result.phases:
        for scen in result.run.phase(record.name).scenarios:
            for req in scen.recorded:
                totals = result.stats.get(record.name, scen.name, req.name)
                if totals is None or not totals.hist:
                    continue
                rows.append({"phase": record.name, "scenario": scen.name, "request": req.name,
                             "counts": distribution(totals.hist)})
    return {"edges_ms": [round(e / 1000, 4) for e in DIST_EDGES_US], "requests": rows}


def run_plan(run: Any) -> list[dict[str, Any]]:
    """Per phase: its run time and, per scenario, the user targets over time (or run_once batches)."""
    out = []
    for phase in plan.build(run):
        scenarios = []
        for sp in phase.scenarios:
            scen = sp.scenario
            scenarios.append({
                "name": scen.name,
                "min_concurrency": getattr(scen, "min_concurrency", None),
                "max_concurrency": getattr(scen, "max_concurrency", None),
                "run_once": bool(getattr(scen, "run_once", False)),
                # Open model: steps are [offset, arrivals per second]; closed: [offset, users].
                "model": getattr(scen, "model", "closed"),
                "min_rate": getattr(scen, "min_rate", None),
                "max_rate": getattr(scen, "max_rate", None),
                "arrivals": getattr(scen, "arrivals", None) if getattr(scen, "open", False) else None,
                "wait_time": describe_wait(scen.wait_time) if getattr(scen, "wait_time", None) else None,
                "steps": [[round(s.offset, 3), s.target] for s in sp.steps],
                "batches": [[round(b.wait, 3), b.size] for b in sp.batches],
                "requests": [r.name for r in scen.requests],
            })
        out.append({"name": phase.name, "run_time": phase.run_time, "scenarios": scenarios})
    return out


def target_hosts(run: Any) -> list[str]:
    """scheme://host[:port] of every request URL of the run, in first-seen order."""
    hosts: dict[str, None] = {}
    for phase in run.phases:
        for scen in phase.scenarios:
            for req in scen.recorded:
                url = getattr(req, "url", None)
                if not isinstance(url, str) or "://" not in url:
                    continue
                parts = urlsplit(url)
                try:
                    port = f":{parts.port}" if parts.port else ""
                except ValueError:  # not a port number: the URL is shown without it
                    port = ""
                if parts.hostname:
                    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
                    hosts[f"{parts.scheme}://{host}{port}"] = None
    return list(hosts)


def summary_detail(result: Any) -> dict[str, Any]:
    """The extra top-level summary fields (DESIGN.md: "add fields freely")."""
    return {
        "plan": run_plan(result.run),
        "timeseries_requests": request_timeseries(result),
        "timeseries_total": total_timeseries(result),
        "latency_distribution": latency_distribution(result),
    }
