"""`--html PATH`: one self-contained page (inline CSS and JS, no network) that reads a run at a glance.

The page is gradual/web/report.html with gradual/web/style.css, gradual.js and report.js inlined (the
dashboard serves the same files). This module only turns a summary, which may come from a hand-edited
file, into a clean JSON island: the page's script draws every table and chart from it with DOM text
nodes, so names from user configs can never become markup.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
from datetime import datetime, timezone
from typing import Any

from gradual.web import asset, fill, json_island

from .base import Reporter
from .fields import as_dict, as_float, as_int, mappings, shown_latency
from .summary import parse_iso

# exit code (DESIGN.md) -> verdict word, CSS class
VERDICTS = {
    0: ("PASSED", "pass"),
    1: ("FAILED", "fail"),
    2: ("ERROR", "fail"),
    3: ("ABORTED", "fail"),
    130: ("INTERRUPTED", "warn"),
}
EXIT_MEANING = {
    0: "run completed",
    1: "a threshold failed",
    2: "bad usage or configuration",
    3: "run aborted",
    130: "interrupted",
}
LATENCY_KEYS = ("min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max")


class HtmlReporter(Reporter):
    def write(self, summary: dict[str, Any]) -> None:
        page = render_html(summary)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, self.path)


def report_script() -> str:
    return asset("gradual.js") + "\n" + asset("report.js")


def render_html(summary: dict[str, Any]) -> str:
    run = as_dict(summary.get("run"))
    script = report_script()
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    # Only this page's own script may run, and nothing may be fetched: the report works offline, and
    # a name that somehow slipped past escaping still could not execute.
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{script_hash}'"
    word, cls, detail, meta = _verdict(summary)
    text = {
        "csp": csp,
        "title": f"gradual · {_text(run.get('name', 'run'))}",
        "name": _text(run.get("name", "gradual run")),
        "verdict": word,
        "verdict_class": cls,
        "detail": detail,
        "meta": meta,
        "schema": _text(summary.get("schema", "?")),
    }
    raw = {"css": asset("style.css"), "data": json_island(report_model(summary)), "script": script}
    return fill("report.html", text, raw)


def _verdict(summary: dict[str, Any]) -> tuple[str, str, str, str]:
    run = as_dict(summary.get("run"))
    code = run.get("exit_code")
    known = isinstance(code, int) and not isinstance(code, bool)
    word, cls = VERDICTS.get(code, ("UNKNOWN", "warn")) if known else ("UNKNOWN", "warn")
    if run.get("interrupted") and code not in (1, 2, 3):
        word, cls = "INTERRUPTED", "warn"
    thresholds = mappings(summary, "thresholds")
    failed = sum(1 for t in thresholds if t.get("passed") is False)
    detail = EXIT_MEANING.get(code, "exit code unknown") if known else "exit code unknown"
    if thresholds:
        detail += f" · {len(thresholds) - failed} of {len(thresholds)} thresholds passed"
    phases = mappings(summary, "phases")
    meta = " · ".join([
        f"started {_when(run.get('started_at'))}",
        f"ended {_when(run.get('ended_at'))}",
        f"duration {_secs(run.get('duration_s'))}",
        f"{len(phases)} phase{'s' if len(phases) != 1 else ''}",
        f"exit code {code if code is not None else '?'}",
    ])
    return word, cls, detail, meta


# -- the page's data ------------------------------------------------------------------------------

def report_model(summary: dict[str, Any]) -> dict[str, Any]:
    """Everything report.js draws, with every value of the type the script expects."""
    run = as_dict(summary.get("run"))
    totals = request_row(as_dict(summary.get("totals")), "Total")
    totals["total"] = True
    if totals["within_expected_ratio"] is None:
        totals["within_expected_ratio"] = _within_overall(summary)
    hosts = run.get("hosts")
    return {
        "run": {"name": _text(run.get("name", "")), "hosts": [_text(h) for h in hosts] if isinstance(hosts, list)
                else []},
        "totals": totals,
        "rows": [*_request_rows(summary), totals],
        "thresholds": [threshold_row(t) for t in mappings(summary, "thresholds")],
        "errors": _errors(summary),
        "workers": [_worker(w) for w in mappings(summary, "workers")],
        "plan": _plan(summary),
        "chart": chart_data(summary),
        "dist": dist_data(summary),
        "requests": _request_labels(summary),
    }


def request_row(data: dict[str, Any], name: str, kind: str = "") -> dict[str, Any]:
    lat = shown_latency(data)  # nothing completed: null latencies, drawn as "–"
    expected = _num(data.get("expected_response_time"))
    codes = as_dict(data.get("status_codes"))
    return {
        "name": name, "type": kind,
        "count": as_int(data.get("count")), "failures": as_int(data.get("failures")),
        "interrupted": as_int(data.get("interrupted")), "rps": _num(data.get("rps")),
        "bytes": _num(data.get("bytes")),
        "latency_ms": {k: _num(lat.get(k)) for k in LATENCY_KEYS},
        "within_expected_ratio": _num(data.get("within_expected_ratio")),
        "expected_ms": None if expected is None else expected * 1000,
        "status_codes": [[_text(code), as_int(n)] for code, n in codes.items()],
    }


def _request_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for phase in mappings(summary, "phases"):
        extra = " · ended early (run_once done)" if phase.get("ended_early") else ""
        rows.append({"group": "phase", "text": _text(phase.get("name", "")),
                     "aside": f"{_secs(phase.get('duration_s'))}{extra} · started {_when(phase.get('started_at'))}"})
        for scen in mappings(phase, "scenarios"):
            peak = scen.get("peak_users")
            aside = "" if peak is None else f"peak {_text(peak)} users"
            if scen.get("model") == "open":  # arrivals: scheduled = started + dropped
                scheduled, dropped = as_int(scen.get("scheduled")), as_int(scen.get("dropped"))
                share = f" ({dropped / scheduled:.1%})" if scheduled else ""
                aside = (f"open model · peak {_text(peak)} journeys in flight · {scheduled} arrivals scheduled, "
                         f"{scheduled - dropped} started, {dropped} dropped{share}")
            rows.append({"group": "scenario", "text": _text(scen.get("name", "")), "aside": aside})
            requests = mappings(scen, "requests")
            if not requests:
                rows.append({"empty": "no requests recorded"})
            rows.extend(request_row(req, _text(req.get("name", "")), _text(req.get("type", ""))) for req in requests)
    return rows


def _within_overall(summary: dict[str, Any]) -> float | None:
    """Share within expected over the requests that have an expected_response_time (as in the CSV)."""
    completed = within = 0.0
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                ratio = _num(req.get("within_expected_ratio"))
                if ratio is not None:
                    n = as_int(req.get("count")) - as_int(req.get("interrupted"))
                    completed += n
                    within += ratio * n
    return within / completed if completed > 0 else None


def threshold_row(t: dict[str, Any]) -> dict[str, Any]:
    passed = t.get("passed")
    return {
        "expression": _text(t.get("expression", "")), "scope": _text(t.get("scope") or "run"),
        "observed": _num(t.get("observed")), "limit": _num(t.get("limit")), "unit": _text(t.get("unit") or ""),
        "for_s": _num(t.get("for_s")), "abort": bool(t.get("abort")),
        "passed": passed if isinstance(passed, bool) else None,
    }


def _errors(summary: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                where = f"{_text(phase.get('name', ''))} / {_text(scen.get('name', ''))} / {_text(req.get('name', ''))}"
                for err in mappings(req, "errors"):
                    found.append({"kind": _text(err.get("kind", "")), "message": _text(err.get("message", "")),
                                  "count": as_int(err.get("count")), "where": where})
    found.sort(key=lambda e: -e["count"])
    return found


def _worker(w: dict[str, Any]) -> dict[str, Any]:
    problems = w.get("problems")
    return {
        "id": _text(w.get("id", "")), "host": _text(w.get("host", "")),
        "joined": _epoch_ms(w.get("joined_at")), "left": _epoch_ms(w.get("left_at")), "lost": bool(w.get("lost")),
        "requests": as_int(w.get("requests")),
        "problems": [_text(p) for p in problems] if isinstance(problems, list) else [],
        # Faults the master saw: [lost at, back at or None] in epoch ms, and new processes under its id.
        "lost_intervals": [[_epoch_ms(i[0]), _epoch_ms(i[1])] for i in w.get("lost_intervals") or []
                           if isinstance(i, list) and len(i) == 2],
        "restarts": as_int(w.get("restarts")),
    }


def _plan(summary: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for phase in mappings(summary, "plan"):
        scenarios = []
        for scen in mappings(phase, "scenarios"):
            scenarios.append({
                "name": _text(scen.get("name", "")), "run_once": bool(scen.get("run_once")),
                "steps": _pairs(scen.get("steps")), "batches": _pairs(scen.get("batches")),
            })
        out.append({"name": _text(phase.get("name", "")), "run_time": _num(phase.get("run_time")),
                    "scenarios": scenarios})
    return out


def _pairs(value: Any) -> list[list[float]]:
    if not isinstance(value, list):
        return []
    return [[_num(p[0]) or 0, _num(p[1]) or 0] for p in value if isinstance(p, list) and len(p) == 2]


# -- chart data ----------------------------------------------------------------------------------

def _label(scenario: str, request: str) -> str:
    return f"{scenario} / {request}"


def _request_labels(summary: dict[str, Any]) -> list[str]:
    labels: dict[str, None] = {}
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                labels[_label(_text(scen.get("name", "")), _text(req.get("name", "")))] = None
    return list(labels)


def chart_data(summary: dict[str, Any]) -> dict[str, Any]:
    """Phases and series on one time axis: seconds since the run started. Series per scenario, per
    request and the total; a point ([x, t, users, rps, failures/s, p50, p95, p99]) sits in the middle
    of its one-second window; a phase's band runs from its start to its end, or to its last window if
    requests finished during the stop timeout."""
    run = as_dict(summary.get("run"))
    run_start = parse_iso(run.get("started_at"))
    phases: list[dict[str, Any]] = []
    index: dict[str, dict[str, Any]] = {}
    cursor = 0.0
    for phase in mappings(summary, "phases"):
        start = parse_iso(phase.get("started_at"))
        offset = start - run_start if start is not None and run_start is not None else cursor
        duration = as_float(phase.get("duration_s"))
        entry = {"name": _text(phase.get("name", "")), "start": round(offset, 3), "end": round(offset + duration, 3)}
        phases.append(entry)
        index.setdefault(entry["name"], entry)
        cursor = offset + duration
    series: dict[tuple[str, str, str], dict[str, Any]] = {}
    users: dict[tuple[str, Any], float] = {}

    def add(group: str, label: str, point: dict[str, Any], scenario: str = "") -> None:
        phase = index.get(_text(point.get("phase", "")))
        t = _num(point.get("t"))
        if phase is None or t is None:
            return
        x = round(phase["start"] + t + 0.5, 3)
        phase["end"] = max(phase["end"], round(phase["start"] + t + 1, 3))
        key = (group, phase["name"], label)
        s = series.setdefault(key, {"group": group, "phase": phase["name"], "label": label, "scenario": scenario,
                                    "points": []})
        n_users = _num(point.get("users"))
        if group == "scenario" and n_users is not None:
            users[(phase["name"], t)] = users.get((phase["name"], t), 0) + n_users
        if group == "total":
            n_users = users.get((phase["name"], t))
        s["points"].append([x, t, n_users, *(_num(point.get(k)) for k in ("rps", "failures_per_s", "p50", "p95",
                                                                          "p99"))])

    for point in mappings(summary, "timeseries"):
        name = _text(point.get("scenario", ""))
        add("scenario", name, point, name)
    for point in mappings(summary, "timeseries_requests"):
        scen = _text(point.get("scenario", ""))
        add("request", _label(scen, _text(point.get("request", ""))), point, scen)
    for point in mappings(summary, "timeseries_total"):
        add("total", "Total", point)
    if not any(g == "total" for g, _, _ in series):
        # A summary from before timeseries_total: the total's rates are the scenarios' sum (no latencies).
        sums: dict[tuple[str, float], dict[str, Any]] = {}
        for point in mappings(summary, "timeseries"):
            t = _num(point.get("t"))
            if t is None:
                continue
            acc = sums.setdefault((_text(point.get("phase", "")), t), {"rps": 0.0, "failures_per_s": 0.0})
            acc["rps"] += _num(point.get("rps")) or 0
            acc["failures_per_s"] += _num(point.get("failures_per_s")) or 0
        for (phase_name, t), acc in sums.items():
            add("total", "Total", {"phase": phase_name, "t": t, **acc})
    for s in series.values():
        s["points"].sort(key=lambda p: p[0])
    span = max([as_float(run.get("duration_s"))] + [p["end"] for p in phases])
    return {
        "start": None if run_start is None else round(run_start * 1000),
        "span": round(span, 3),
        "phases": phases,
        "series": list(series.values()),
    }


def dist_data(summary: dict[str, Any]) -> dict[str, Any]:
    """Latency distribution per request (summed over phases), per scenario and in total."""
    dist = as_dict(summary.get("latency_distribution"))
    edges = [e for e in (dist.get("edges_ms") or []) if _num(e) is not None] if isinstance(
        dist.get("edges_ms"), list) else []
    sums: dict[tuple[str, str], list[int]] = {}
    order: list[tuple[str, str]] = []

    def add(group: str, label: str, counts: list[int]) -> None:
        key = (group, label)
        if key not in sums:
            sums[key] = [0] * len(edges)
            order.append(key)
        acc = sums[key]
        for i, n in enumerate(counts[: len(edges)]):
            acc[i] += n

    for row in mappings(dist, "requests"):
        raw = row.get("counts")
        counts = [as_int(n) for n in raw] if isinstance(raw, list) else []
        scen = _text(row.get("scenario", ""))
        add("total", "All requests", counts)
        add("scenario", scen, counts)
        add("request", _label(scen, _text(row.get("request", ""))), counts)
    order.sort(key=lambda k: k[0] != "total")
    return {"edges_ms": edges, "series": [{"group": g, "label": label, "counts": sums[(g, label)]}
                                          for g, label in order]}


# -- formatting (header text only: the script formats everything else) ---------------------------

def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _epoch_ms(text: Any) -> float | None:
    epoch = parse_iso(text)
    return None if epoch is None else round(epoch * 1000)


def _secs(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    value = float(value)
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(round(value)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def _when(text: Any) -> str:
    epoch = parse_iso(text)
    if epoch is None:
        return _text(text) or "–"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
