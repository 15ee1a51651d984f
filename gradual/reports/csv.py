"""`--csv PREFIX`: PREFIX_stats.csv (a row per request and an aggregated row) and PREFIX_history.csv
(a row per second per scenario), kept current during the run and rewritten exactly from the summary.

Live rows are approximate (a worker's batch for a second can arrive after that second's tick); the
final `write` replaces both files with the summary's numbers, so a finished run's files are exact.
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..stats import Histogram
from .base import Reporter
from .fields import as_dict, as_float, as_int, mappings, shown_latency
from .summary import iso, parse_iso

STATS_HEADER = [
    "Type", "Name", "Phase", "Scenario",
    "Request Count", "Failure Count", "Interrupted Count",
    "p50 (ms)", "p90 (ms)", "p95 (ms)", "p99 (ms)", "p99.9 (ms)", "Max (ms)", "Min (ms)", "Average (ms)",
    "Requests/s", "Failures/s", "Within Expected (%)", "Bytes",
]
HISTORY_HEADER = [
    "Timestamp (UTC)", "Phase", "Scenario", "t (s)", "Users",
    "Requests/s", "Failures/s", "p50 (ms)", "p95 (ms)", "p99 (ms)",
    "Requests", "Failures",  # in this row's window (the last one holds the stop's tail): they add up to the totals
]
# Open-model scenarios only (a file of its own, written when the run has one): scheduled = started + dropped.
ARRIVALS_HEADER = ["Phase", "Scenario", "Scheduled", "Started", "Dropped", "Dropped (%)"]
AGGREGATED = "Aggregated"
_LATENCY_KEYS = ("p50", "p90", "p95", "p99", "p99_9", "max", "min", "mean")


def stats_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + "_stats.csv")


def history_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + "_history.csv")


def arrivals_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + "_arrivals.csv")


class CsvReporter(Reporter):
    """``path`` is the prefix; ``update`` is a controller observer, ``write`` the final rewrite."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.stats_path = stats_path(path)
        self.history_path = history_path(path)
        self._samples_seen = 0
        # (phase, second) already written, so the extra sample taken when a phase stops does not
        # repeat the second its last tick already wrote.
        self._seconds_written: set[tuple[str, int]] = set()
        self._history_started = False

    # -- during the run --------------------------------------------------------------------------
    def update(self, controller: Any) -> None:
        samples = controller.samples
        new = samples[self._samples_seen:]
        self._samples_seen = len(samples)
        rows = []
        for sample in new:
            rows.extend(self._live_history_rows(controller, sample))
        if not self._history_started:
            _atomic_write(self.history_path, [HISTORY_HEADER])
            self._history_started = True
        if rows:
            # Appending keeps each tick's cost proportional to one second of data, not the whole run.
            with self.history_path.open("a", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(rows)
        _atomic_write(self.stats_path, [STATS_HEADER, *_live_stats_rows(controller)])

    def _live_history_rows(self, controller: Any, sample: Any) -> list[list[Any]]:
        sec = max(0, round(sample.t) - 1)  # a tick at t≈N closes second N-1 of the phase
        if (sample.phase, sec) in self._seconds_written:
            return []
        self._seconds_written.add((sample.phase, sec))
        record = next((r for r in reversed(controller.phases) if r.name == sample.phase), None)
        stamp = "" if record is None else (iso(record.started_at + sec) or "")
        tick = getattr(controller, "tick", 1.0) or 1.0
        rows = []
        for scenario, users in sample.users.items():
            p50, p95, p99 = _window_percentiles(controller, sample.phase, scenario, sec)
            rows.append([
                stamp, sample.phase, scenario, sec, users,
                _num(sample.counts.get(scenario, 0) / tick), _num(sample.failures.get(scenario, 0) / tick),
                p50, p95, p99, sample.counts.get(scenario, 0), sample.failures.get(scenario, 0),
            ])
        return rows

    # -- at the end ------------------------------------------------------------------------------
    def write(self, summary: dict[str, Any]) -> None:
        _atomic_write(self.stats_path, [STATS_HEADER, *summary_stats_rows(summary)])
        _atomic_write(self.history_path, [HISTORY_HEADER, *summary_history_rows(summary)])
        arrivals = summary_arrival_rows(summary)
        if arrivals:
            _atomic_write(arrivals_path(self.path), [ARRIVALS_HEADER, *arrivals])


def summary_arrival_rows(summary: dict[str, Any]) -> list[list[Any]]:
    """A row per open-model scenario: its arrivals scheduled, started and dropped."""
    rows: list[list[Any]] = []
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            if scen.get("model") == "open":
                scheduled, dropped = as_int(scen.get("scheduled")), as_int(scen.get("dropped"))
                share = _num(round(dropped / scheduled * 100.0, 3)) if scheduled else 0
                rows.append([phase.get("name", ""), scen.get("name", ""), scheduled, scheduled - dropped, dropped,
                             share])
    return rows


def summary_stats_rows(summary: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    active = 0.0
    completed = within = 0.0
    for phase in mappings(summary, "phases"):
        duration = as_float(phase.get("duration_s"))
        active += duration
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                count, failures, interrupted = (as_int(req.get(k)) for k in ("count", "failures", "interrupted"))
                ratio = req.get("within_expected_ratio")
                if isinstance(ratio, (int, float)):
                    # The aggregated share counts only requests that have an expected_response_time.
                    completed += count - interrupted
                    within += ratio * (count - interrupted)
                rps = req.get("rps")
                rows.append(_stats_row(
                    req.get("type", ""), req.get("name", ""), phase.get("name", ""), scen.get("name", ""),
                    count, failures, interrupted, shown_latency(req),
                    rps if isinstance(rps, (int, float)) else _rate(count, duration),
                    _rate(failures, duration),
                    ratio if isinstance(ratio, (int, float)) else None,
                    req.get("bytes"),
                ))
    totals = as_dict(summary.get("totals"))
    count, failures, interrupted = (as_int(totals.get(k)) for k in ("count", "failures", "interrupted"))
    rps = totals.get("rps")
    # totals has no bytes in schema 1; the sum of the requests' bytes is the same number.
    total_bytes = totals["bytes"] if "bytes" in totals else sum(r[-1] for r in rows)
    rows.append(_stats_row(
        "", AGGREGATED, "", "", count, failures, interrupted, shown_latency(totals),
        rps if isinstance(rps, (int, float)) else _rate(count, active),
        _rate(failures, active),
        within / completed if completed > 0 else None,
        total_bytes,
    ))
    return rows


def summary_history_rows(summary: dict[str, Any]) -> list[list[Any]]:
    starts = {str(p.get("name")): parse_iso(p.get("started_at")) for p in mappings(summary, "phases")}
    rows = []
    for point in mappings(summary, "timeseries"):
        start = starts.get(str(point.get("phase")))
        t = point.get("t", 0)
        ok = start is not None and isinstance(t, (int, float)) and math.isfinite(t)
        stamp = (iso(start + t) or "") if ok else ""
        rows.append([
            stamp, point.get("phase", ""), point.get("scenario", ""), t, point.get("users", ""),
            _num(point.get("rps")), _num(point.get("failures_per_s")),
            _num(point.get("p50")), _num(point.get("p95")), _num(point.get("p99")),
            _num(point.get("count", "")), _num(point.get("failures", "")),
        ])
    return rows


def _live_stats_rows(controller: Any) -> list[list[Any]]:
    stats, run = controller.stats, controller.run
    now = time.monotonic()
    durations = {}
    for record in controller.phases:
        # The running phase has no duration yet: use the time it has run so far.
        durations[record.name] = record.duration_s or max(0.0, now - record.t0)
    configs = {
        (phase.name, scen.name, req.name): req
        for phase in run.phases for scen in phase.scenarios for req in scen.requests
    }
    rows = []
    completed = within = 0
    for key in stats.keys():
        t = stats.get(*key)
        req = configs.get(key)
        has_expectation = req is not None and req.expected_response_time is not None
        if has_expectation:
            completed += t.count - t.interrupted
            within += t.within_expected
        duration = durations.get(key[0], 0.0)
        rows.append(_stats_row(
            getattr(req, "kind", ""), key[2], key[0], key[1], t.count, t.failures, t.interrupted,
            t.latency_ms() if t.count > t.interrupted else {},
            _rate(t.count, duration), _rate(t.failures, duration),
            t.within_expected_ratio() if has_expectation else None, t.bytes,
        ))
    totals = stats.totals()
    active = sum(durations.values())
    rows.append(_stats_row(
        "", AGGREGATED, "", "", totals.count, totals.failures, totals.interrupted,
        totals.latency_ms() if totals.count > totals.interrupted else {},
        _rate(totals.count, active), _rate(totals.failures, active),
        within / completed if completed > 0 else None, totals.bytes,
    ))
    return rows


def _window_percentiles(controller: Any, phase: str, scenario: str, sec: int) -> tuple[Any, Any, Any]:
    """p50/p95/p99 (ms) of one second of one scenario from the per-second windows; blank if none yet.

    Merges at most one small histogram per request, so it is cheap enough for every tick.
    """
    hist = Histogram()
    for key in controller.stats.keys():
        if key[0] != phase or key[1] != scenario:
            continue
        window = controller.stats.get(*key).windows.get(sec)
        if window is not None:
            hist.merge(window[2])
    if not hist:
        return "", "", ""
    p50, p95, p99 = (_num(round(us / 1000.0, 3)) for us in hist.percentiles((50.0, 95.0, 99.0)))
    return p50, p95, p99


def _stats_row(kind: Any, name: Any, phase: Any, scenario: Any, count: int, failures: int, interrupted: int,
               latency: dict[str, Any], rps: float, fps: float, within: float | None, nbytes: Any) -> list[Any]:
    lat = [_num(latency.get(k)) for k in _LATENCY_KEYS]
    shown_within = "" if within is None else _num(round(within * 100.0, 3))
    return [kind or "", name, phase, scenario, count, failures, interrupted, *lat,
            _num(round(rps, 3)), _num(round(fps, 3)), shown_within, as_int(nbytes)]


def _atomic_write(path: Path, rows: Iterable[Sequence[Any]]) -> None:
    """Readers (a dashboard tailing the file) never see a half-written table."""
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
    os.replace(tmp, path)


def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def _num(value: Any) -> Any:
    """Numbers as written; missing or non-finite values as an empty cell, which CSV readers treat as null."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    return value


