"""`--html PATH`: one self-contained page (inline CSS and JS, no network) that reads a run at a glance.

Tables are rendered here with every summary string escaped; the charts are drawn by the page's own
script from a JSON island, using DOM text nodes only, so names from user configs can never become markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from datetime import datetime, timezone
from html import escape
from typing import Any

from .base import Reporter
from .fields import as_dict, as_float, as_int, mappings
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


class HtmlReporter(Reporter):
    def write(self, summary: dict[str, Any]) -> None:
        page = render_html(summary)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, self.path)


def render_html(summary: dict[str, Any]) -> str:
    run = as_dict(summary.get("run"))
    title = f"gradual · {_text(run.get('name', 'run'))}"
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    # Only this page's own script may run, and nothing may be fetched: the report works offline, and
    # a name that somehow slipped past escaping still could not execute.
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{script_hash}'"
    body = "\n".join([
        _header(summary),
        _thresholds(summary),
        _charts(),
        _results(summary),
        _errors(summary),
        _workers(summary),
        f'<footer>schema {_e(summary.get("schema", "?"))} · rendered by gradual</footer>',
    ])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
        f'<script type="application/json" id="gradual-data">{_json_island(chart_data(summary))}</script>\n'
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


# -- sections ------------------------------------------------------------------------------------

def _header(summary: dict[str, Any]) -> str:
    run = as_dict(summary.get("run"))
    totals = as_dict(summary.get("totals"))
    code = run.get("exit_code")
    word, cls = VERDICTS.get(code, ("UNKNOWN", "warn")) if isinstance(code, int) else ("UNKNOWN", "warn")
    if run.get("interrupted") and code not in (1, 2, 3):
        word, cls = "INTERRUPTED", "warn"
    thresholds = mappings(summary, "thresholds")
    failed = sum(1 for t in thresholds if t.get("passed") is False)
    detail = EXIT_MEANING.get(code, "exit code unknown") if isinstance(code, int) else "exit code unknown"
    if thresholds:
        detail += f" · {len(thresholds) - failed} of {len(thresholds)} thresholds passed"
    count = as_int(totals.get("count"))
    failures = as_int(totals.get("failures"))
    lat = as_dict(totals.get("latency_ms")) if count else {}
    share = f"{failures / count * 100:.2f}% of requests" if count else "no requests"
    cards = [
        ("Requests", _count(count), f"{_count(as_int(totals.get('interrupted')))} interrupted"),
        ("Failures", _count(failures), share),
        ("Throughput", _rate(totals.get("rps")), "req/s over the phases"),
        ("p50", _ms(lat.get("p50")), "ms"),
        ("p95", _ms(lat.get("p95")), "ms"),
        ("p99", _ms(lat.get("p99")), "ms"),
        ("Max", _ms(lat.get("max")), "ms"),
    ]
    card_html = "".join(
        f'<div class="card{" bad" if label == "Failures" and failures else ""}"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div><div class="sub">{_e(sub)}</div></div>'
        for label, value, sub in cards
    )
    phases = mappings(summary, "phases")
    meta = [
        f"started {_e(_when(run.get('started_at')))}",
        f"ended {_e(_when(run.get('ended_at')))}",
        f"duration {_e(_secs(run.get('duration_s')))}",
        f"{len(phases)} phase{'s' if len(phases) != 1 else ''}",
        f"exit code {_e(code if code is not None else '?')}",
    ]
    return (
        '<header class="top">'
        f'<div class="titlebar"><h1>{_e(run.get("name", "gradual run"))}</h1>'
        f'<span class="verdict {cls}" id="verdict">{_e(word)}</span></div>'
        f'<p class="detail">{_e(detail)}</p>'
        f'<p class="meta">{" · ".join(meta)}</p>'
        f'<div class="cards">{card_html}</div></header>'
    )


def _thresholds(summary: dict[str, Any]) -> str:
    items = mappings(summary, "thresholds")
    if not items:
        return _section("Thresholds", '<p class="empty">No thresholds configured.</p>', "thresholds")
    rows = []
    for t in items:
        passed = t.get("passed")
        mark, cls = ("✓", "pass") if passed is True else ("✗", "fail") if passed is False else ("?", "warn")
        unit = _text(t.get("unit") or "")
        observed = t.get("observed")
        seen = "no data" if observed is None else _with_unit(observed, unit)
        limit = t.get("limit")
        for_s = t.get("for_s")
        rows.append(
            f'<tr class="{cls}"><td class="mark {cls}">{mark}</td><td><code>{_e(t.get("expression", ""))}</code></td>'
            f'<td>{_e(t.get("scope") or "run")}</td><td class="num">{_e(seen)}</td>'
            f'<td class="num">{_e("" if limit is None else _with_unit(limit, unit))}</td>'
            f'<td class="num">{_e("" if for_s is None else _secs(for_s))}</td>'
            f'<td>{"abort" if t.get("abort") else ""}</td></tr>'
        )
    head = ("<tr><th></th><th>Expression</th><th>Scope</th><th class='num'>Observed</th>"
            "<th class='num'>Limit</th><th class='num'>For</th><th>On failure</th></tr>")
    return _section("Thresholds", _table(head, rows, "thresholds-table"), "thresholds")


def _charts() -> str:
    charts = [
        ("users", "Users", "Running users per scenario"),
        ("rps", "Requests/s", "Completed requests per second, per scenario; failures/s in red"),
        ("latency", "Latency (ms)", "p50 dotted · p95 dashed · p99 solid, per scenario"),
    ]
    blocks = "".join(
        f'<figure class="chart" data-chart="{key}"><figcaption><b>{_e(label)}</b> '
        f'<span class="hint">{_e(hint)}</span></figcaption>'
        f'<div class="plot"><noscript>Charts need JavaScript.</noscript></div></figure>'
        for key, label, hint in charts
    )
    return _section("Over time", blocks, "charts")


def _results(summary: dict[str, Any]) -> str:
    head = (
        "<tr><th>Request</th><th>Type</th><th class='num'>Requests</th><th class='num'>Failures</th>"
        "<th class='num'>Interr.</th><th class='num'>Req/s</th><th class='num'>p50</th><th class='num'>p90</th>"
        "<th class='num'>p95</th><th class='num'>p99</th><th class='num'>p99.9</th><th class='num'>Max</th>"
        "<th class='num'>Within expected</th><th>Status codes</th></tr>"
    )
    rows = []
    ncols = 14
    for phase in mappings(summary, "phases"):
        extra = " · ended early (run_once done)" if phase.get("ended_early") else ""
        rows.append(
            f'<tr class="group phase"><td colspan="{ncols}">Phase <b>{_e(phase.get("name", ""))}</b>'
            f'<span class="aside"> · {_e(_secs(phase.get("duration_s")))}{_e(extra)}'
            f' · started {_e(_when(phase.get("started_at")))}</span></td></tr>'
        )
        for scen in mappings(phase, "scenarios"):
            peak = scen.get("peak_users")
            rows.append(
                f'<tr class="group scenario"><td colspan="{ncols}">Scenario <b>{_e(scen.get("name", ""))}</b>'
                f'<span class="aside">{"" if peak is None else " · peak " + _e(peak) + " users"}</span></td></tr>'
            )
            requests = mappings(scen, "requests")
            if not requests:
                rows.append(f'<tr><td class="req empty" colspan="{ncols}">no requests recorded</td></tr>')
            for req in requests:
                rows.append(_result_row(req, f'<td class="req">{_e(req.get("name", ""))}</td>'
                                             f'<td>{_e(req.get("type", ""))}</td>'))
    totals = dict(as_dict(summary.get("totals")))
    totals.setdefault("within_expected_ratio", _within_overall(summary))
    rows.append(_result_row(totals, '<td class="req">Total</td><td></td>', "total"))
    note = ('<p class="note">Latency in milliseconds. Req/s is over the phase\'s duration; '
            "within expected is the share of completed requests within the request's expected_response_time.</p>")
    return _section("Requests", _table(head, rows, "results-table") + note, "requests")


def _result_row(data: dict[str, Any], name_cells: str, cls: str = "") -> str:
    # With no completed request the histogram's zeros are not latencies.
    measured = as_int(data.get("count")) - as_int(data.get("interrupted")) > 0
    lat = as_dict(data.get("latency_ms")) if measured else {}
    failures = as_int(data.get("failures"))
    ratio = data.get("within_expected_ratio")
    expected = data.get("expected_response_time")
    if isinstance(ratio, (int, float)) and not isinstance(ratio, bool):
        within = f"{ratio * 100:.1f}%"
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            within += f" ≤ {_ms(expected * 1000)} ms"
        width = max(0.0, min(100.0, ratio * 100))
        within_html = (f'<span class="within"><span class="bar"><span style="width:{width:.1f}%"></span></span>'
                       f"{_e(within)}</span>")
    else:
        within_html = ""
    codes = as_dict(data.get("status_codes"))
    codes_html = " ".join(
        f'<span class="code c{_e(str(code)[:1])}">{_e(code)}×{_e(_count(as_int(n)))}</span>'
        for code, n in codes.items()
    )
    cells = [
        _count(as_int(data.get("count"))), _count(failures), _count(as_int(data.get("interrupted"))),
        _rate(data.get("rps")),
        *(_ms(lat.get(k)) for k in ("p50", "p90", "p95", "p99", "p99_9", "max")),
    ]
    nums = "".join(
        f'<td class="num{" bad" if i == 1 and failures else ""}">{_e(v)}</td>' for i, v in enumerate(cells)
    )
    return (f'<tr class="{cls}">{name_cells}{nums}<td class="num">{within_html}</td>'
            f'<td class="codes">{codes_html}</td></tr>')


def _within_overall(summary: dict[str, Any]) -> float | None:
    """Share within expected over the requests that have an expected_response_time (as in the CSV)."""
    completed = within = 0.0
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                ratio = req.get("within_expected_ratio")
                if isinstance(ratio, (int, float)) and not isinstance(ratio, bool):
                    n = as_int(req.get("count")) - as_int(req.get("interrupted"))
                    completed += n
                    within += ratio * n
    return within / completed if completed > 0 else None


def _errors(summary: dict[str, Any]) -> str:
    found = []
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                where = f"{_text(phase.get('name', ''))} / {_text(scen.get('name', ''))} / {_text(req.get('name', ''))}"
                for err in mappings(req, "errors"):
                    found.append((as_int(err.get("count")), err, where))
    if not found:
        return _section("Errors", '<p class="empty">No errors.</p>', "errors")
    found.sort(key=lambda item: -item[0])
    rows = [
        f'<tr><td><code>{_e(err.get("kind", ""))}</code></td><td class="message">{_e(err.get("message", ""))}</td>'
        f'<td class="num">{_e(_count(n))}</td><td>{_e(where)}</td></tr>'
        for n, err, where in found
    ]
    head = "<tr><th>Kind</th><th>Message</th><th class='num'>Count</th><th>Where (phase / scenario / request)</th></tr>"
    return _section("Errors", _table(head, rows, "errors-table"), "errors")


def _workers(summary: dict[str, Any]) -> str:
    workers = mappings(summary, "workers")
    if not workers:
        return _section("Workers", '<p class="empty">No workers recorded.</p>', "workers")
    total = sum(as_int(w.get("requests")) for w in workers)
    rows = []
    for w in workers:
        n = as_int(w.get("requests"))
        share = f"{n / total * 100:.1f}%" if total else ""
        lost = '<span class="tag fail">lost</span>' if w.get("lost") else '<span class="tag pass">ok</span>'
        rows.append(
            f'<tr><td><code>{_e(w.get("id", ""))}</code></td><td>{_e(w.get("host", ""))}</td>'
            f'<td>{_e(_when(w.get("joined_at")))}</td><td>{_e(_when(w.get("left_at")))}</td><td>{lost}</td>'
            f'<td class="num">{_e(_count(n))}</td><td class="num">{_e(share)}</td></tr>'
        )
    head = ("<tr><th>ID</th><th>Host</th><th>Joined</th><th>Left</th><th>Status</th>"
            "<th class='num'>Requests</th><th class='num'>Share</th></tr>")
    problems = [
        f"<li><code>{_e(w.get('id', ''))}</code>: <span>{_e(p)}</span></li>"
        for w in workers
        for p in (w.get("problems") if isinstance(w.get("problems"), list) else [])
    ]
    listed = f'<h3>Problems the workers reported</h3><ul class="problems">{"".join(problems)}</ul>' if problems else ""
    return _section("Workers", _table(head, rows, "workers-table") + listed, "workers")


def _section(title: str, inner: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{inner}</section>'


def _table(head: str, rows: list[str], cls: str) -> str:
    return f'<div class="scroll"><table class="{cls}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


# -- chart data ----------------------------------------------------------------------------------

def chart_data(summary: dict[str, Any]) -> dict[str, Any]:
    """Phases and per-scenario series on one time axis: seconds since the run started.

    A point sits in the middle of its one-second window; a phase's band runs from its start to
    its end, or to its last window if requests finished during the stop timeout.
    """
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
    series: dict[tuple[str, str], dict[str, Any]] = {}
    failures: dict[tuple[str, float], float] = {}
    scenarios: list[str] = []
    for point in mappings(summary, "timeseries"):
        phase = index.get(_text(point.get("phase", "")))
        t = point.get("t")
        if phase is None or _num(t) is None:
            continue
        name = _text(point.get("scenario", ""))
        if name not in scenarios:
            scenarios.append(name)
        x = round(phase["start"] + t + 0.5, 3)
        phase["end"] = max(phase["end"], round(phase["start"] + t + 1, 3))
        key = (phase["name"], name)
        s = series.setdefault(key, {"phase": key[0], "scenario": name, "points": []})
        s["points"].append([x, t, *(_num(point.get(k)) for k in ("users", "rps", "failures_per_s", "p50", "p95",
                                                                  "p99"))])
        fps = _num(point.get("failures_per_s"))
        failures[(phase["name"], x)] = failures.get((phase["name"], x), 0) + (fps or 0)
    for s in series.values():
        s["points"].sort(key=lambda p: p[0])
    fail_series: list[dict[str, Any]] = []
    if any(v for v in failures.values()):
        by_phase: dict[str, list[list[float]]] = {}
        for (phase_name, x), v in sorted(failures.items(), key=lambda kv: kv[0][1]):
            by_phase.setdefault(phase_name, []).append([x, v])
        fail_series = [{"phase": name, "points": pts} for name, pts in by_phase.items()]
    span = max([as_float(run.get("duration_s"))] + [p["end"] for p in phases])
    return {
        "start": None if run_start is None else round(run_start * 1000),
        "span": round(span, 3),
        "phases": phases,
        "scenarios": scenarios,
        "series": list(series.values()),
        "failures": fail_series,
    }


def _json_island(data: Any) -> str:
    # Inside <script type="application/json"> only "</script" could end the element early; escaping
    # every <, > and & (and non-ASCII, via ensure_ascii) makes any string safe there.
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- formatting ----------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return escape(_text(value), quote=True)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _count(n: int) -> str:
    return f"{n:,}"


def _rate(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    return f"{value:,.1f}"


def _ms(value: Any) -> str:
    """Loopback latencies are fractions of a millisecond, so small values keep three decimals."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.1f}"
    if value >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _with_unit(value: Any, unit: str) -> str:
    shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else _text(value)
    if not unit:
        return shown
    return f"{shown}{unit}" if unit == "%" else f"{shown} {unit}"


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


_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;
--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:#fff}
main{max-width:1360px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:26px;margin:0;word-break:break-word}
h2{font-size:18px;margin:32px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.titlebar{display:flex;align-items:center;gap:16px;flex-wrap:wrap}
.verdict{font-weight:700;letter-spacing:.06em;padding:4px 14px;border-radius:999px;color:#fff;font-size:15px}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}.verdict.warn{background:var(--warn)}
.detail{margin:8px 0 0;font-size:15px}.meta{margin:4px 0 0;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-top:18px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:var(--soft)}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.card .value{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
.card .sub{color:var(--muted);font-size:12px}
.card.bad .value{color:var(--fail)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-size:12px;color:var(--muted);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;white-space:nowrap}
td.bad{color:var(--fail);font-weight:600}
tr.group td{background:#fff;border-bottom:1px solid var(--line);padding-top:10px}
tr.group.phase td{font-size:15px;background:#eef3f9}
tr.group.scenario td{padding-left:22px}
.aside{color:var(--muted);font-size:13px}
td.req{padding-left:38px;overflow-wrap:anywhere;min-width:14em}
tr.total td{font-weight:600;border-top:2px solid var(--fg)}
tr.total td.req{padding-left:10px}
td.mark{font-size:17px;font-weight:700;text-align:center;width:2em}
td.mark.pass{color:var(--pass)}td.mark.fail{color:var(--fail)}td.mark.warn{color:var(--warn)}
tr.fail td{background:#fff5f5}
.within{display:inline-flex;align-items:center;gap:6px}
.bar{display:inline-block;width:46px;height:6px;background:#e5e9ee;border-radius:3px;overflow:hidden}
.bar span{display:block;height:100%;background:var(--accent)}
.codes{white-space:nowrap}
.code{display:inline-block;font-size:12px;padding:0 6px;border-radius:4px;background:#e9f5ec;margin-right:4px}
.code.c4,.code.c5{background:#ffebe9}.code.c0{background:#fff4d6}
.tag{font-size:12px;padding:1px 8px;border-radius:999px;color:#fff}
.tag.pass{background:var(--pass)}.tag.fail{background:var(--fail)}
td.message{overflow-wrap:anywhere;max-width:620px}
.errors-table td:first-child code{word-break:normal;white-space:nowrap}
.empty,.note{color:var(--muted)}.note{font-size:12px;margin:6px 0 0}
.chart{margin:0 0 18px;border:1px solid var(--line);border-radius:8px;padding:10px 12px 8px}
.chart figcaption{margin-bottom:4px}.chart .hint{color:var(--muted);font-size:12px;margin-left:8px}
.chart .tools{float:right;font-size:12px;color:var(--muted)}
.plot{position:relative;min-height:60px}
.plot>svg{display:block;width:100%;height:auto;overflow:visible}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin-top:4px}
.legend button{font:inherit;border:0;background:none;padding:0;cursor:pointer;color:var(--fg);
display:inline-flex;align-items:center;gap:5px}
.legend button.off{opacity:.35}
.legend .sw{display:inline-block;width:18px;height:3px;border-radius:2px}
.legend svg.dash{display:inline-block;width:22px;height:8px;vertical-align:middle}
.tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.97);border:1px solid var(--line);
border-radius:6px;padding:6px 9px;font-size:12px;box-shadow:0 2px 8px rgba(0,0,0,.12);white-space:nowrap;
display:none;z-index:2}
.tip b{display:block;margin-bottom:2px}
.tip .dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
@media print{.tip{display:none!important}.chart{break-inside:avoid}}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#e8710a", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                "#7f7f7f", "#393b79"];
  var FAIL = "#cf222e";
  var data = JSON.parse(document.getElementById("gradual-data").textContent);
  var IDX = {users: 2, rps: 3, fps: 4, p50: 5, p95: 6, p99: 7};
  var LAT = [{key: "p50", dash: "2 3", width: 1.6}, {key: "p95", dash: "6 4", width: 1.6},
             {key: "p99", dash: "", width: 2.2}];
  var SPECS = {
    users: {metrics: [{key: "users", dash: "", width: 2}], unit: "", integer: true},
    rps: {metrics: [{key: "rps", dash: "", width: 2}], unit: "/s", failures: true},
    latency: {metrics: LAT, unit: " ms", logToggle: true}
  };

  function color(name) {
    var i = data.scenarios.indexOf(name);
    return COLORS[(i < 0 ? 0 : i) % COLORS.length];
  }
  function el(tag, attrs, parent) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, cls, text, parent) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    var a = Math.abs(v);
    if (a >= 1e6) return trim((v / 1e6).toFixed(a >= 1e7 ? 0 : 1)) + "M";
    if (a >= 1e4) return trim((v / 1e3).toFixed(a >= 1e5 ? 0 : 1)) + "k";
    if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(2).replace(/0+$/, "").replace(/\.$/, "");
  }
  function trim(text) { return text.replace(/\.0$/, ""); }
  function fmtTime(s) {
    var span = data.span;
    if (span < 120) return fmt(Math.round(s * 10) / 10) + "s";
    var t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }
  function clock(x) {
    if (data.start === null) return "";
    var d = new Date(data.start + x * 1000);
    return d.toISOString().slice(11, 19) + " UTC";
  }
  function niceStep(range, count) {
    var raw = range / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
  }
  function linearTicks(max, count) {
    if (!(max > 0)) max = 1;
    var step = niceStep(max, count), top = Math.ceil(max / step - 1e-9) * step, ticks = [];
    for (var v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v / step) * step);
    return {ticks: ticks, lo: 0, hi: top};
  }
  function logTicks(min, max) {
    var lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max)), ticks = [];
    if (hi === lo) hi = lo + 1;
    for (var e = lo; e <= hi; e++) ticks.push(Math.pow(10, e));
    return {ticks: ticks, lo: Math.pow(10, lo), hi: Math.pow(10, hi)};
  }
  function truncate(text, px) {
    var max = Math.floor(px / 6.6);
    if (max < 2) return "";
    return text.length <= max ? text : text.slice(0, max - 1) + "…";
  }

  function Chart(figure) {
    this.key = figure.getAttribute("data-chart");
    this.spec = SPECS[this.key];
    this.box = figure.querySelector(".plot");
    this.hidden = {};
    this.log = null;
    if (this.spec.logToggle) this.addLogToggle(figure);
  }
  Chart.prototype.addLogToggle = function (figure) {
    var self = this, label = html("label", "tools", null, null), box = document.createElement("input");
    box.type = "checkbox";
    label.appendChild(box);
    label.appendChild(document.createTextNode(" log scale"));
    figure.querySelector("figcaption").appendChild(label);
    this.logBox = box;
    box.addEventListener("change", function () { self.log = box.checked; self.draw(); });
  };
  Chart.prototype.values = function () {
    var out = [], spec = this.spec, hidden = this.hidden;
    data.series.forEach(function (s) {
      if (hidden[s.scenario]) return;
      s.points.forEach(function (p) {
        spec.metrics.forEach(function (m) { var v = p[IDX[m.key]]; if (v !== null) out.push(v); });
      });
    });
    if (spec.failures) data.failures.forEach(function (s) { s.points.forEach(function (p) { out.push(p[1]); }); });
    return out;
  };
  Chart.prototype.draw = function () {
    var self = this, spec = this.spec, box = this.box;
    while (box.firstChild) box.removeChild(box.firstChild);
    var W = Math.max(360, Math.round(box.clientWidth || 900)), H = 250;
    var m = {l: 58, r: 14, t: 22, b: 28}, pw = W - m.l - m.r, ph = H - m.t - m.b;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
                         "aria-label": this.key + " over time", "class": "chart-" + this.key}, box);
    var span = data.span > 0 ? data.span : 1;
    var sx = function (x) { return m.l + (x / span) * pw; };
    var vals = this.values();
    if (!vals.length) {
      // Nothing was measured: an empty frame with made-up axes would only look like data.
      H = 70;
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      svg.setAttribute("height", H);
      var none = el("text", {x: W / 2, y: H / 2 + 4, "text-anchor": "middle", "font-size": 13, fill: "#8c959f"}, svg);
      none.textContent = "no data";
      svg.setAttribute("data-rendered", "1");
      return;
    }
    var positive = vals.filter(function (v) { return v > 0; });
    if (this.log === null && spec.logToggle) {
      // Latencies of different scenarios often differ by orders of magnitude: start in log scale then.
      var lo = Math.min.apply(null, positive.length ? positive : [1]);
      var hi = Math.max.apply(null, positive.length ? positive : [1]);
      this.log = hi / lo > 50;
      this.logBox.checked = this.log;
    }
    var useLog = spec.logToggle && this.log && positive.length > 0;
    var scale = useLog ? logTicks(Math.min.apply(null, positive), Math.max.apply(null, positive))
                       : linearTicks(Math.max.apply(null, vals), 5);
    var sy = useLog
      ? function (v) {
          var c = Math.max(v, scale.lo);
          return m.t + ph - (Math.log10(c) - Math.log10(scale.lo)) / (Math.log10(scale.hi) - Math.log10(scale.lo)) * ph;
        }
      : function (v) { return m.t + ph - (v - scale.lo) / (scale.hi - scale.lo) * ph; };

    // phase bands, boundaries and labels
    data.phases.forEach(function (p, i) {
      var x0 = sx(p.start), x1 = sx(Math.max(p.end, p.start));
      el("rect", {x: x0, y: m.t, width: Math.max(1, x1 - x0), height: ph,
                  fill: i % 2 ? "#f3f6fa" : "#e9eff7"}, svg);
      el("line", {x1: x0, x2: x0, y1: m.t - 4, y2: m.t + ph, stroke: "#8c959f", "stroke-width": 1,
                  "stroke-dasharray": "3 3"}, svg);
      var label = el("text", {x: x0 + 4, y: m.t - 7, "font-size": 11.5, fill: "#57606a", "font-weight": 600}, svg);
      label.textContent = truncate(p.name, Math.max(0, x1 - x0 - 6));
      var title = el("title", {}, label);
      title.textContent = p.name;
    });
    // y grid
    scale.ticks.forEach(function (v) {
      var y = sy(v);
      el("line", {x1: m.l, x2: m.l + pw, y1: y, y2: y, stroke: "#d0d7de", "stroke-width": 0.8,
                  "stroke-opacity": v === scale.lo ? 1 : 0.7}, svg);
      var t = el("text", {x: m.l - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#57606a"}, svg);
      t.textContent = fmt(v);
    });
    // x axis
    var step = niceStep(span, Math.max(2, Math.floor(pw / 90)));
    if (span >= 120) step = Math.max(step, 10);
    for (var x = 0; x <= span + 1e-9; x += step) {
      var px = sx(x);
      el("line", {x1: px, x2: px, y1: m.t + ph, y2: m.t + ph + 4, stroke: "#8c959f"}, svg);
      var t = el("text", {x: px, y: m.t + ph + 16, "text-anchor": "middle", "font-size": 11, fill: "#57606a"}, svg);
      t.textContent = fmtTime(x);
    }
    // series
    var few = function (n) { return n <= 40; };
    data.series.forEach(function (s) {
      if (self.hidden[s.scenario]) return;
      spec.metrics.forEach(function (metric) {
        var d = "", open = false;
        s.points.forEach(function (p) {
          var v = p[IDX[metric.key]];
          if (v === null || (useLog && !(v > 0))) { open = false; return; }
          d += (open ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(v).toFixed(1);
          open = true;
        });
        if (d) {
          el("path", {d: d, fill: "none", stroke: color(s.scenario), "stroke-width": metric.width,
                      "stroke-dasharray": metric.dash || null, "stroke-linejoin": "round",
                      "stroke-linecap": "round", "class": "series", "data-scenario": s.scenario,
                      "data-metric": metric.key}, svg);
        }
        if (few(s.points.length) && !metric.dash) {
          s.points.forEach(function (p) {
            var v = p[IDX[metric.key]];
            if (v === null || (useLog && !(v > 0))) return;
            el("circle", {cx: sx(p[0]), cy: sy(v), r: 2.6, fill: color(s.scenario)}, svg);
          });
        }
      });
    });
    if (spec.failures) {
      data.failures.forEach(function (s) {
        var d = s.points.map(function (p, i) {
          return (i ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1);
        }).join("");
        el("path", {d: d, fill: "none", stroke: FAIL, "stroke-width": 2, "class": "series failures"}, svg);
      });
    }
    this.legend();
    this.hover(svg, sx, m, ph, W);
    svg.setAttribute("data-rendered", "1");
  };
  Chart.prototype.legend = function () {
    var self = this, legend = html("div", "legend", null, this.box);
    data.scenarios.forEach(function (name) {
      var b = html("button", self.hidden[name] ? "off" : "", null, legend);
      b.type = "button";
      var sw = html("span", "sw", null, b);
      sw.style.background = color(name);
      html("span", "", name, b);
      b.title = "show or hide " + name;
      b.addEventListener("click", function () { self.hidden[name] = !self.hidden[name]; self.draw(); });
    });
    if (this.spec.metrics.length > 1) {
      // Percentiles share the scenario's colour and differ by dash, so show the dash key too.
      this.spec.metrics.forEach(function (metric) {
        var item = html("span", "", null, legend);
        var sw = el("svg", {width: 22, height: 8, "class": "dash"}, item);
        el("line", {x1: 1, x2: 21, y1: 4, y2: 4, stroke: "#57606a", "stroke-width": metric.width,
                    "stroke-dasharray": metric.dash || null}, sw);
        item.appendChild(document.createTextNode(" " + metric.key));
      });
    }
    if (this.spec.failures && data.failures.length) {
      var f = html("span", "", null, legend), sw = html("span", "sw", null, f);
      sw.style.background = FAIL;
      f.appendChild(document.createTextNode(" failures/s (all scenarios)"));
    }
  };
  Chart.prototype.hover = function (svg, sx, m, ph, W) {
    var self = this, spec = this.spec, tip = html("div", "tip", null, this.box);
    var guide = el("line", {y1: m.t, y2: m.t + ph, stroke: "#57606a", "stroke-width": 1, visibility: "hidden"}, svg);
    function hide() { tip.style.display = "none"; guide.setAttribute("visibility", "hidden"); }
    svg.addEventListener("mousemove", function (ev) {
      var rect = svg.getBoundingClientRect(), k = W / rect.width, px = (ev.clientX - rect.left) * k;
      var best = null;
      data.series.forEach(function (s) {
        if (self.hidden[s.scenario]) return;
        s.points.forEach(function (p) {
          var dist = Math.abs(sx(p[0]) - px);
          if (best === null || dist < best.dist) best = {dist: dist, x: p[0], t: p[1]};
        });
      });
      if (best === null || best.dist > 40) { hide(); return; }
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      var phase = data.phases.filter(function (p) { return best.x >= p.start && best.x <= p.end; })[0];
      html("b", "", (phase ? phase.name + " · " : "") + "second " + best.t + " · " + clock(best.x), tip);
      var fails = 0;
      data.series.forEach(function (s) {
        if (self.hidden[s.scenario]) return;
        s.points.forEach(function (p) {
          if (Math.abs(p[0] - best.x) > 1e-6) return;
          fails += p[IDX.fps] || 0;
          var parts = spec.metrics.map(function (mt) {
            return (spec.metrics.length > 1 ? mt.key + " " : "") + fmt(p[IDX[mt.key]]) + spec.unit;
          });
          var row = html("div", "", null, tip), sw = html("span", "sw", null, row);
          sw.className = "dot";
          sw.style.background = color(s.scenario);
          row.appendChild(document.createTextNode(s.scenario + ": " + parts.join(" · ")));
        });
      });
      if (spec.failures) html("div", "", "failures: " + fmt(fails) + "/s", tip);
      var gx = sx(best.x);
      guide.setAttribute("x1", gx); guide.setAttribute("x2", gx); guide.setAttribute("visibility", "visible");
      tip.style.display = "block";
      var left = gx / k + 12;
      if (left + tip.offsetWidth > rect.width) left = gx / k - tip.offsetWidth - 12;
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = "24px";
    });
    svg.addEventListener("mouseleave", hide);
  };

  var charts = [];
  Array.prototype.forEach.call(document.querySelectorAll("figure.chart"), function (fig) {
    var chart = new Chart(fig);
    chart.draw();
    charts.push(chart);
  });
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { charts.forEach(function (c) { c.draw(); }); }, 150);
  });
  document.body.setAttribute("data-rendered", "1");
})();
"""
