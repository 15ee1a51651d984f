"""The run summary, schema "gradual.summary/1" (DESIGN.md): the one structure every report reads.

Built from the controller's RunResult; `gradual report` re-renders reports from a saved copy.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from typing import Any

from .detail import summary_detail, target_hosts, window_points

SCHEMA = "gradual.summary/1"


def iso(epoch: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds ("…Z"); None, or a time no calendar holds, gives None."""
    if epoch is None:
        return None
    try:
        when = datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # a corrupt value in a hand-edited summary
        return None
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: Any) -> float | None:
    """The epoch seconds of a summary time (the inverse of ``iso``), or None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(seconds=1)


def _rps(count: int, seconds: float) -> float:
    return round(count / seconds, 3) if seconds > 0 else 0.0


def build_summary(result: Any, exit_code: int) -> dict[str, Any]:
    """``result`` is a master.controller.RunResult (typed loosely: reports do not import the master)."""
    run, stats = result.run, result.stats
    active = sum(p.duration_s for p in result.phases)
    totals = stats.totals()
    phases = []
    for record in result.phases:
        config = run.phase(record.name)
        scenarios = []
        for scen in config.scenarios:
            requests = []
            for req in scen.recorded:
                t = stats.get(record.name, scen.name, req.name)
                if t is None:
                    continue
                ratio = t.within_expected_ratio() if req.expected_response_time is not None else None
                requests.append({
                    "name": req.name,
                    "type": req.kind,
                    "method": req.method,
                    "url": req.url,
                    "count": t.count,
                    "failures": t.failures,
                    "interrupted": t.interrupted,
                    "rps": _rps(t.count, record.duration_s),
                    "bytes": t.bytes,
                    "latency_ms": t.latency_ms(),
                    "service_ms": t.service_ms(),
                    "expected_response_time": req.expected_response_time,
                    "within_expected_ratio": None if ratio is None else round(ratio, 6),
                    "status_codes": t.status_codes(),
                    "errors": t.errors_list(),
                })
            arrivals = (stats.arrivals(record.name, scen.name) or (0, 0)) if scen.open else None
            scenarios.append({
                "name": scen.name,
                "peak_users": record.peak_users.get(scen.name, 0),
                # Open model: arrivals due and those dropped (no journey free); scheduled = started + dropped.
                "model": scen.model,
                "scheduled": None if arrivals is None else arrivals[0],
                "dropped": 0 if arrivals is None else arrivals[1],
                "requests": requests,
            })
        phases.append({
            "name": record.name,
            "started_at": iso(record.started_at),
            "duration_s": round(record.duration_s, 3),
            "ended_early": record.ended_early,
            "scenarios": scenarios,
        })
    by_source = stats.requests_by_source
    workers = [
        {
            "id": w.id,
            "host": w.host,
            "joined_at": iso(w.joined_at),
            "left_at": iso(w.left_at),
            "lost": w.lost,
            "requests": by_source.get(w.id, 0),
            "problems": list(w.problems),
            # Faults the master saw: [lost at, back at (null: never came back)], and how many times a new
            # process took the id over after the old one was gone.
            "lost_intervals": [[iso(a), iso(b)] for a, b in w.lost_intervals],
            "restarts": w.restarts,
        }
        for w in result.workers
    ]
    return {
        "schema": SCHEMA,
        "run": {
            "name": run.name,
            "started_at": iso(result.started_at),
            "ended_at": iso(result.ended_at),
            "duration_s": round(result.ended_at - result.started_at, 3),
            "exit_code": exit_code,
            "interrupted": result.interrupted,
            "aborted_by": result.aborted_by.threshold.expression if getattr(result, "aborted_by", None) else None,
            "hosts": target_hosts(run),
            "hostname": socket.gethostname(),  # the machine that ran the test (the master's)
            # Why the run failed by its own rules (no request succeeded, --max-error-rate), or None.
            "failure_reason": result.failure_reason() if hasattr(result, "failure_reason") else None,
        },
        "totals": {
            "count": totals.count,
            "failures": totals.failures,
            "interrupted": totals.interrupted,
            "rps": _rps(totals.count, active),
            "bytes": totals.bytes,
            "latency_ms": totals.latency_ms(),
            "service_ms": totals.service_ms(),
        },
        "phases": phases,
        "thresholds": [v.to_dict() for v in getattr(result, "verdicts", [])],
        "workers": workers,
        "timeseries": timeseries(result),
        **summary_detail(result),
    }


def timeseries(result: Any) -> list[dict[str, Any]]:
    """Per second of each phase, per scenario: users, requests (count, req/s), failures and p50/p95/p99 (ms).

    Requests come from the per-second windows, whose seconds count from the phase's start on each
    worker (so clock skew between machines does not shift them), through detail.window_points: the
    stop's tail is folded into the last second, so each scenario's counts add up to its requests' totals.
    Users come from the controller's samples: the one taken at the end of the second, which holds the
    most users the second had (the controller samples before it starts the next step's users).
    """
    out: list[dict[str, Any]] = []
    for record in result.phases:
        samples = result.samples.of_phase(record.name)  # in time order: ticks append
        for scen in result.run.phase(record.name).scenarios:
            totals = result.stats.scenario_totals(record.name, scen.name)
            seconds = range(max(int(record.duration_s + 0.999), totals.newest_second() + 1))
            for point in window_points(record.name, record.duration_s, totals, seconds):
                near = samples.nearest(point["t"] + 1.0)  # the tick at the end of this second
                out.append({
                    "phase": record.name,
                    "scenario": scen.name,
                    "t": point["t"],
                    "users": samples.users(near).get(scen.name, 0) if near is not None else 0,
                    **{k: point[k] for k in ("window_s", "count", "failures", "rps", "failures_per_s",
                                             "p50", "p95", "p99")},
                })
    return out
