"""`--junit PATH`: JUnit XML for CI: a test case per threshold and one per request that had failures.

Follows the common (Jenkins/Ant) JUnit schema: <testsuites> holding one <testsuite> with tests,
failures, errors, skipped, time, timestamp and hostname; a failed case carries a <failure>.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any

from .base import Reporter
from .fields import mappings

THRESHOLD_CLASS = "gradual.thresholds"
REQUEST_CLASS = "gradual.requests"
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
    cases = [_threshold_case(t) for t in mappings(summary, "thresholds")]
    cases += _request_cases(summary)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    name = f"gradual: {run.get('name', 'run')}"
    duration = _seconds(run.get("duration_s"))
    root = ET.Element("testsuites", {
        "name": _clean(name), "tests": str(len(cases)), "failures": str(failures), "errors": "0",
        "time": duration,
    })
    suite = ET.SubElement(root, "testsuite", {
        "name": _clean(name), "tests": str(len(cases)), "failures": str(failures), "errors": "0",
        "skipped": "0", "time": duration, "timestamp": _timestamp(run.get("started_at")),
        # Schema-required; the summary does not record the master's host, and the report must not
        # depend on the machine that re-renders it.
        "hostname": "gradual",
    })
    known = [key for key in ("exit_code", "interrupted", "started_at", "ended_at") if run.get(key) is not None]
    if known:  # the older (junit-4) schema rejects an empty <properties/>
        props = ET.SubElement(suite, "properties")
        for key in known:
            ET.SubElement(props, "property", {"name": f"run.{key}", "value": _clean(_text(run[key]))})
    suite.extend(cases)
    ET.indent(root)
    return root


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


def _request_cases(summary: dict[str, Any]) -> list[ET.Element]:
    cases = []
    for phase in mappings(summary, "phases"):
        for scen in mappings(phase, "scenarios"):
            for req in mappings(scen, "requests"):
                failures = req.get("failures") or 0
                if not failures:
                    continue
                where = f"{phase.get('name', '')}/{scen.get('name', '')}/{req.get('name', '')}"
                case = ET.Element("testcase", {
                    "name": _clean(where),
                    "classname": _clean(f"{REQUEST_CLASS}.{phase.get('name', '')}.{scen.get('name', '')}"),
                    "time": _seconds(phase.get("duration_s")),
                })
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


