"""Threshold expressions (pass/fail criteria) as written in a test config: parsing and validation.

    "p99 < 250ms"  ·  "error_rate < 1%"  ·  {expr: "p95 < 500ms", request: get_user, abort: true, for: 10s}

Latency metrics are kept in milliseconds, ratios as fractions; evaluation lives in gradual.stats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .checks import Checker
from .durations import parse_duration
from .errors import did_you_mean, type_name
from .yamlfile import line_of

LATENCY = ("avg", "min", "max")  # plus any pNN[.N]
RATIOS = ("error_rate", "within_expected", "dropped_rate")  # dropped_rate: % of the open model's scheduled
PLAIN = ("rps", "count", "dropped")  # dropped: the open model's arrivals that found max_concurrency busy
WHOLE_RUN = ("within_expected", "dropped", "dropped_rate")  # judged over the whole run: no per-second windows
METRICS = (*LATENCY, *RATIOS, *PLAIN, "p50", "p90", "p95", "p99", "p99.9")
# A latency metric is measured from each request's intended start (corrected); the same with this
# prefix reads the raw service times (send -> last byte), e.g. "service_p99 < 50ms".
SERVICE = "service_"
OPERATORS = ("<=", ">=", "==", "!=", "<", ">")
THRESHOLD_KEYS = ("expr", "request", "scenario", "phase", "abort", "for")

_EXPR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|==|!=|<|>)\s*([-+]?\d+(?:\.\d+)?)\s*([A-Za-z%]*)\s*$")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Threshold:
    expression: str
    metric: str  # "p99", "p99.9", "avg", "error_rate", ...
    op: str
    limit: float  # ms for latency, a fraction for ratios, as written for rps/count
    unit: str  # how observed values are shown: "ms", "%", ""
    phase: str | None = None
    scenario: str | None = None
    request: str | None = None
    abort: bool = False
    for_s: float | None = None
    key: str = ""  # key path in the config, for messages

    @property
    def percentile(self) -> float | None:
        m = _PERCENTILE.match(self.latency_metric)
        return float(m.group(1)) if m else None

    @property
    def service(self) -> bool:
        """Judged on the raw service times rather than the corrected latencies."""
        return self.metric.startswith(SERVICE)

    @property
    def latency_metric(self) -> str:
        """The metric without its service_ prefix: p99, avg, ..."""
        return self.metric[len(SERVICE):] if self.service else self.metric

    @property
    def scope(self) -> str:
        if self.request is not None:
            where = "/".join(x for x in (self.phase, self.scenario) if x)
            return f"request:{where + '/' if where else ''}{self.request}"
        if self.scenario is not None:
            return f"scenario:{self.phase + '/' if self.phase else ''}{self.scenario}"
        if self.phase is not None:
            return f"phase:{self.phase}"
        return "run"

    def holds(self, observed: float) -> bool:
        limit = self.limit
        return {
            "<": observed < limit, "<=": observed <= limit, ">": observed > limit,
            ">=": observed >= limit, "==": observed == limit, "!=": observed != limit,
        }[self.op]


def parse_expression(text: str) -> tuple[str, str, float, str] | str:
    """(metric, op, limit, unit) or an error message saying what to fix."""
    m = _EXPR.match(text)
    if not m:
        return (f"cannot parse {text!r}: write METRIC OP VALUE[UNIT], e.g. \"p99 < 250ms\" or "
                "\"error_rate < 1%\"")
    metric, op, number, unit = m.group(1), m.group(2), float(m.group(3)), m.group(4).lower()
    base = metric[len(SERVICE):] if metric.startswith(SERVICE) else metric
    pct = _PERCENTILE.match(base)
    if pct:
        if not 0 < float(pct.group(1)) < 100:
            return f"percentile {metric!r} must be between p0 and p100 (exclusive)"
        metric_kind = "latency"
    elif base in LATENCY:
        metric_kind = "latency"
    elif base != metric:
        return f"unknown metric {metric!r}: service_ goes with a latency metric (service_pNN, service_avg, " \
               "service_min, service_max)"
    elif metric in RATIOS:
        metric_kind = "ratio"
    elif metric in PLAIN:
        metric_kind = "plain"
    else:
        return f"unknown metric {metric!r}{did_you_mean(metric, METRICS)} (use pNN, avg, min, max, " \
               "service_pNN, service_avg, service_min, service_max, error_rate, within_expected, rps, count, " \
               "dropped or dropped_rate)"
    if metric_kind == "latency":
        if unit in ("", "ms"):
            return metric, op, number, "ms"
        if unit == "s":
            return metric, op, number * 1000.0, "ms"
        return f"unit {unit!r} does not fit latency metric {metric!r} (use ms or s)"
    if metric_kind == "ratio":
        if unit == "%":
            return metric, op, number / 100.0, "%"
        if unit == "":
            if not 0 <= number <= 1:
                return f"{metric} without a unit is a fraction between 0 and 1; write {number:g}% for a percentage"
            return metric, op, number, "%"
        return f"unit {unit!r} does not fit {metric} (use % or a fraction)"
    if unit:
        return f"{metric} takes no unit, found {unit!r}"
    return metric, op, number, ""


def parse_thresholds(
    check: Checker, container: dict, path: str, *, phase: str | None = None, scenario: str | None = None,
) -> list[Threshold]:
    """The ``thresholds`` list of a run, phase or scenario mapping; issues go to ``check``."""
    raw = container.get("thresholds")
    if raw is None:
        return []
    key = f"{path}.thresholds" if path else "thresholds"
    if not isinstance(raw, list):
        check.error(key, f"expected a list of expressions, found {type_name(raw)}", line_of(container, "thresholds"))
        return []
    out = []
    for i, entry in enumerate(raw):
        item_key = f"{key}[{i}]"
        line = line_of(raw, i)
        options: dict = {}
        if isinstance(entry, str):
            text = entry
        elif isinstance(entry, dict):
            check.keys(entry, THRESHOLD_KEYS, item_key)
            text = entry.get("expr")
            if not isinstance(text, str):
                check.error(f"{item_key}.expr", "is required: a threshold expression such as \"p95 < 500ms\"", line)
                continue
            options = entry
        else:
            check.error(item_key, f"expected an expression string or a mapping with expr, found {type_name(entry)}",
                        line)
            continue
        parsed = parse_expression(text)
        if isinstance(parsed, str):
            check.error(item_key, parsed, line)
            continue
        metric, op, limit, unit = parsed
        for_s = None
        if "for" in options:
            for_s = parse_duration(options["for"])
            if for_s is None or for_s <= 0:
                check.error(f"{item_key}.for", f"expected a duration such as 10s or 500ms, found {options['for']!r}",
                            line_of(options, "for"))
                continue
        if for_s is not None and metric.startswith(SERVICE):
            check.error(f"{item_key}.for", f"{metric} is judged over the whole run (per-second windows hold the "
                        f"corrected latencies); 'for' does not apply", line_of(options, "for"))
            continue
        if for_s is not None and metric in WHOLE_RUN:
            check.error(f"{item_key}.for", f"{metric} is judged over the whole run; 'for' does not apply",
                        line_of(options, "for"))
            continue
        abort = options.get("abort", False)
        if not isinstance(abort, bool):
            check.error(f"{item_key}.abort", f"expected true or false, found {type_name(abort)}",
                        line_of(options, "abort"))
            continue
        names = {}
        for level in ("phase", "scenario", "request"):
            value = options.get(level)
            if value is not None and not isinstance(value, str):
                check.error(f"{item_key}.{level}", f"expected a name, found {type_name(value)}",
                            line_of(options, level))
            names[level] = value if isinstance(value, str) else None
        out.append(Threshold(
            expression=text.strip(), metric=metric, op=op, limit=limit, unit=unit,
            phase=phase or names["phase"], scenario=scenario or names["scenario"], request=names["request"],
            abort=abort, for_s=for_s, key=item_key,
        ))
    return out
