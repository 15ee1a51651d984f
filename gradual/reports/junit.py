"""`--junit PATH`: JUnit XML for CI.

Test cases: one for the run itself (a <failure> when no request succeeded or the failure rate was above
--max-error-rate, an <error> when the run was interrupted or aborted); one per threshold; and one per request, every
request when the config has no thresholds (failed when it had failures), else only the failing ones.
Follows the common (Jenkins/Ant) JUnit schema: <testsuites> holding one <testsuite> with tests,
failures, errors, skipped, time, timestamp and hostname (the machine that ran the test).
"""

from __future__ import annotations

import os
import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any

from .base import Reporter
from .fields import as_int, mappings

THRESHOLD_CLASS = "gradual.thresholds"
REQUEST_CLASS = "gradual.requests"
ARRIVALS_CLASS = "gradual.arrivals"
RUN_CLASS = "gradual.run"
EXIT_ABORTED = 3  # DESIGN.md exit codes: no workers, a bundle a worker could not load, an internal error
# Characters XML 1.0 cannot carry at all (not even escaped); error messages can contain them.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class JunitReporter(Reporter):
    def write(self, summary: dict[str, Any]) -> None:
        data = ET.tostring(build_junit(summary), encoding="utf-8", xml_declaration=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(data + b"\n")
        os.replace(tmp, self.path)


def build_junit(summary: dict[str, Any]) -> ET.Element:
    run = summary.get("run")
    run = run if isinstance(run, dict) else {}
    thresholds = mappings(summary, "thresholds")
    cases = [_run_case(run)]
    cases += [_threshold_case(t) for t in thresholds]
    cases += _request_cases(summary, every=not thresholds)
    cases += _arrival_cases(summary)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    name = f"gradual: {run.get('name', 'run')}"
    duration = _seconds(run.get("duration_s"))
    root = ET.Element("testsuites", {
        "name": _clean(name), "tests": str(len(cases)), "failures": str(failures), "errors": str(errors),
        "time": duration,
    })
    host = run.get("hostname")
    suite = ET.SubElement(root, "testsuite", {
        "name": _clean(name), "tests": str(len(cases)), "failures": str(failures), "errors": str(errors),
        "skipped": "0", "time": duration, "timestamp": _timestamp(run.get("started_at")),
        # The machine that ran the test, as the summary recorded it (not the one re-rendering the report);
        # an older summary without it falls back to this machine's name.
        "hostname": _clean(host if isinstance(host, str) and host else socket.gethostname()),
    })
    known = [key for key in ("exit_code", "interrupted", "started_at", "ended_at") if run.get(key) is not None]
    if known:  # the older (junit-4) schema rejects an empty <properties/>
        props = ET.SubElement(suite, "properties")
        for key in known:
            ET.SubElement(props, "property", {"name": f"run.{key}", "value": _clean(_text(run[key]))})
    suite.extend(cases)
    ET.indent(root)
    return root


def _run_case(run: dict[str, Any]) -> ET.Element:
    """The run itself: failed by its own rules (nothing succeeded, --max-error-rate), errored when interrupted."""
    case = ET.Element("testcase", {
        "name": _clean(f"run {_text(run.get('name', ''))}"), "classname": RUN_CLASS,
        "time": _seconds(run.get("duration_s")),
    })
    if run.get("interrupted") is True or run.get("exit_code") == EXIT_ABORTED:
        kind = "interrupted" if run.get("interrupted") is True else "aborted"
        error = ET.SubElement(case, "error", {"message": f"the run was {kind}", "type": kind})
        error.text = _clean(f"{kind} after {_fmt(run.get('duration_s', 0))} s; exit code "
                            f"{_text(run.get('exit_code', ''))}")
    reason = run.get("failure_reason")
    if isinstance(reason, str) and reason:
        failure = ET.SubElement(case, "failure", {"message": _clean(reason), "type": "run"})
        failure.text = _clean(reason)
    return case


def _threshold_case(t: dict[str, Any]) -> ET.Element:
    expression = _text(t.get("expression", "threshold"))
    scope = _text(t.get("scope") or "run")
    case = ET.Element("testcase", {
        "name": _clean(f"{expression} [{scope}]"), "classname": THRESHOLD_CLASS, "time": "0",
    })
    if t.get("passed") is False:
        unit = _text(t.get("unit") or "")
        observed = t.get("observed")
        seen = "no data" if observed is None else f"{_fmt(observed)}{_sep(unit)}{unit}"
        limit = t.get("limit")
        bound = "" if limit is None else f", limit {_fmt(limit)}{_sep(unit)}{unit}"
        message = f"{expression} failed: observed {seen}{bound}"
        failure = ET.SubElement(case, "failure", {"message": _clean(message), "type": "threshold"})
        lines = [message, f"scope: {scope}"]
        if t.get("for_s") is not None:
            lines.append(f"for: {_fmt(t['for_s'])} s")
        if t.get("abort"):
            lines.append("abort: the run was stopped when this threshold failed")
        failure.text = _clean("\n".join(lines))
    return case


def _request_cases(summary: dict[str, Any], every: bool) -> list[ET.Element]:
    """A case per request that had failures; with ``every``, a (passing) case for the others too."""
    cases = []
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                failures = as_int(req.get("failures"))
                if not failures and not every:
                    continue
                where = f"{phase.get('name', '')}/{scen.get('name', '')}/{req.get('name', '')}"
                case = ET.Element("testcase", {
                    "name": _clean(where),
                    "classname": _clean(f"{REQUEST_CLASS}.{phase.get('name', '')}.{scen.get('name', '')}"),
                    "time": _seconds(phase.get("duration_s")),
                })
                cases.append(case)
                if not failures:
                    continue
                message = f"{failures} of {req.get('count', 0)} requests failed"
                failure = ET.SubElement(case, "failure", {"message": _clean(message), "type": "requests"})
                lines = [f"{where}: {message}"]
                for err in mappings(req, "errors"):
                    count, kind, text = (_text(err.get(k, "")) for k in ("count", "kind", "message"))
                    lines.append(f"{count:>8}  {kind}: {text}")
                codes = req.get("status_codes")
                if isinstance(codes, dict) and codes:
                    lines.append("status codes: " + ", ".join(f"{code}: {n}" for code, n in codes.items()))
                failure.text = _clean("\n".join(lines))
    return cases


def _arrival_cases(summary: dict[str, Any]) -> list[ET.Element]:
    """A case per open-model scenario with its arrivals; it passes (a threshold on dropped judges them), and
    says what it scheduled and dropped."""
    cases = []
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            if scen.get("model") != "open":
                continue
            where = f"{phase.get('name', '')}/{scen.get('name', '')}"
            case = ET.Element("testcase", {
                "name": _clean(f"arrivals {where}"),
                "classname": _clean(f"{ARRIVALS_CLASS}.{phase.get('name', '')}"),
                "time": _seconds(phase.get("duration_s")),
            })
            scheduled, dropped = as_int(scen.get("scheduled")), as_int(scen.get("dropped"))
            share = f" ({dropped / scheduled:.2%})" if scheduled else ""
            ET.SubElement(case, "system-out").text = _clean(
                f"{where}: {scheduled} arrivals scheduled, {scheduled - dropped} started, {dropped} dropped{share}")
            cases.append(case)
    return cases


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _text(value: Any) -> str:
    if isinstance(value, bool):  # as in the JSON summary, not Python's True/False
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else _text(value)


def _sep(unit: str) -> str:
    return " " if unit and unit != "%" else ""


def _seconds(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "0"


def _timestamp(text: Any) -> str:
    """The schema's timestamp is an xs:dateTime without zone or fraction: UTC, to the second."""
    if isinstance(text, str):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is not None:
                when = when.astimezone(timezone.utc)
            return when.strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            pass
    return "1970-01-01T00:00:00"


