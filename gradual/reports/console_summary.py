"""The console's final summary, from the summary JSON: a table per request that fits the width (the
least needed columns dropped, names ellipsized), a total row, then errors, thresholds and workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from .console_fit import Col, Row, shorten_path, table

MAX_ERRORS = 20
NAME_MIN = 24  # scenario/request names are what tells rows apart: narrower columns go first
COLUMNS = [
    Col("count", 11), Col("fail", 10), Col("intr", 4), Col("req/s", 9), Col("p50", 7), Col("p90", 2),
    Col("p95", 8), Col("p99", 6), Col("p99.9", 1), Col("max", 3), Col("in exp", 5),
]
ARRIVAL_COLUMNS = [Col("scheduled", 3), Col("dropped", 2), Col("dropped %", 1)]
LEGEND = "latency in ms; 'in exp' = share of requests within expected_response_time"


def _cells(data: Mapping[str, Any], within: float | None) -> list[str]:
    lat = data.get("latency_ms") or {}
    if data.get("count", 0) - data.get("interrupted", 0) > 0:
        latencies = [f"{lat.get(k, 0.0):.3f}" for k in ("p50", "p90", "p95", "p99", "p99_9", "max")]
    else:  # no completed request: no latency to show, rather than a 0.000 that reads as fast
        latencies = ["-"] * 6
    shown = "-" if within is None else f"{within * 100:.1f}%"
    p50, p90, p95, p99, p99_9, top = latencies
    return [str(data.get("count", 0)), str(data.get("failures", 0)), str(data.get("interrupted", 0)),
            f"{data.get('rps', 0.0):.1f}", p50, p90, p95, p99, p99_9, top, shown]


def _requests(summary: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for phase in summary.get("phases", []):
        rows.append(Row(str(phase["name"]), [""] * len(COLUMNS), style="bold"))
        for scen in phase.get("scenarios", []):
            for req in scen.get("requests", []):
                rows.append(Row(f"  {scen['name']}/{req['name']}", _cells(req, req.get("within_expected_ratio"))))
    return rows


def _arrivals(summary: Mapping[str, Any]) -> list[Row]:
    """Open-model scenarios' `scheduled` and `dropped` arrivals: a table only when the run has such a scenario."""
    rows = []
    for phase in summary.get("phases", []):
        for scen in phase.get("scenarios", []):
            scheduled, dropped = scen.get("scheduled"), scen.get("dropped")
            if scen.get("model", "open") != "open" or (scheduled is None and dropped is None):
                continue
            share = f"{dropped / scheduled * 100:.1f}%" if scheduled and dropped is not None else "-"
            rows.append(Row(f"{phase['name']}/{scen['name']}",
                            ["-" if scheduled is None else str(scheduled), "-" if dropped is None else str(dropped),
                             share]))
    return rows


def _line(text: str, style: str = "") -> Text:
    # Wraps at the console's width (a terminal's); not a TTY, the console is wide enough not to.
    return Text(text, style=style, overflow="fold")


def final_summary(summary: Mapping[str, Any], width: int) -> Iterator[RenderableType]:
    run = summary["run"]
    interrupted = "  (interrupted)" if run.get("interrupted") else ""
    yield _line(f"\n=== {run['name']}: {run['duration_s']:.1f}s{interrupted} ===", style="bold")
    totals = summary["totals"]
    # Requests cut short by a stop matter most in a run that was stopped: then intr goes last but three.
    cols = [Col(c.header, 9.5) if c.header == "intr" and totals.get("interrupted") else c for c in COLUMNS]
    yield table("scenario/request", cols, _requests(summary), width, footer=Row("total", _cells(totals, None)),
                name_min=NAME_MIN, cut=shorten_path)
    yield _line(LEGEND, style="dim")
    arrivals = _arrivals(summary)
    if arrivals:
        yield table("open-model arrivals", ARRIVAL_COLUMNS, arrivals, width)
    errors = [(p["name"], s["name"], r["name"], e) for p in summary["phases"] for s in p["scenarios"]
              for r in s["requests"] for e in r["errors"]]
    if errors:
        yield _line("\nerrors:", style="bold")
        for phase, scen, req, e in errors[:MAX_ERRORS]:
            message = " ".join(str(e["message"]).split())
            yield _line(f"  {e['count']:>8}  {phase}/{scen}/{req}  {e['kind']}: {message}", style="red")
        if len(errors) > MAX_ERRORS:
            yield _line(f"  ... and {len(errors) - MAX_ERRORS} more (all of them in the JSON and HTML reports)")
    if summary.get("thresholds"):
        yield _line("\nthresholds:", style="bold")
        # Aligned on the longest expression and scope, not on fixed widths: narrow terminals wrap less.
        expr_w = max(len(str(t["expression"])) for t in summary["thresholds"])
        scope_w = max(len(str(t["scope"])) for t in summary["thresholds"])
        for t in summary["thresholds"]:
            mark = "✓" if t["passed"] else "✗"
            observed = "no data" if t["observed"] is None else f"{t['observed']:g}{t.get('unit', '')}"
            note = f"  ({t['note']})" if t.get("note") else ""
            yield _line(f"  {mark} {t['expression']:<{expr_w}}  {t['scope']:<{scope_w}}  observed {observed}{note}",
                        style="green" if t["passed"] else "red")
    troubled = [wk for wk in summary.get("workers", []) if wk.get("lost") or wk.get("problems")]
    if troubled:
        yield _line("\nworkers:", style="bold")
        for wk in troubled:
            if wk.get("lost"):
                requests = wk.get("requests", 0)
                yield _line(f"  {wk['id']}: lost; its {requests} requests up to its last batch are counted")
            for problem in wk.get("problems") or []:
                yield _line(f"  {wk['id']}: {problem}")
    if run.get("aborted_by"):
        yield _line(f"\nrun aborted: threshold {run['aborted_by']!r} failed", style="bold red")
