"""A scenario's workload-model keys: ``wait_time`` (think time and pacing of the closed model).

Locust's semantics (DESIGN.md, "Workload models"): a duration or ``{constant: s}``, ``{between: [a, b]}``,
``{constant_pacing: s}``, ``{constant_throughput: n}``.
"""

from __future__ import annotations

from .checks import Checker
from .durations import format_duration
from .errors import did_you_mean, type_name
from .model import WaitTime
from .yamlfile import line_of

WAIT_KINDS = ("constant", "between", "constant_pacing", "constant_throughput")
WAIT_HINT = ("a duration, or a mapping with one of constant: D, between: [A, B], constant_pacing: D, "
             "constant_throughput: N (iterations per second)")


def parse_wait_time(check: Checker, scen: dict, path: str) -> WaitTime | None:
    """The scenario's ``wait_time``, or None when it has none (or it is wrong: the error is recorded)."""
    if "wait_time" not in scen or scen["wait_time"] is None:
        return None
    value = scen["wait_time"]
    key = f"{path}.wait_time"
    line = line_of(scen, "wait_time")
    if not isinstance(value, dict):
        if isinstance(value, list):
            check.error(key, f"expected {WAIT_HINT}; found a list", line)
            return None
        seconds = check.check_duration(value, key, line)
        return None if seconds is None else WaitTime("constant", float(seconds))
    if len(value) != 1:
        found = "an empty mapping" if not value else f"{len(value)} keys ({', '.join(map(str, value))})"
        check.error(key, f"expected exactly one of {', '.join(WAIT_KINDS)}; found {found}", line)
        return None
    ((kind, arg),) = value.items()
    kind = str(kind)
    sub = f"{key}.{kind}"
    sub_line = line_of(value, kind) or line
    if kind not in WAIT_KINDS:
        check.error(sub, f"unknown wait_time kind{did_you_mean(kind, WAIT_KINDS)}: use one of "
                    f"{', '.join(WAIT_KINDS)}", sub_line)
        return None
    if kind == "between":
        if not isinstance(arg, list) or len(arg) != 2:
            found = f"a list of {len(arg)}" if isinstance(arg, list) else f"{type_name(arg)} {arg!r}"
            check.error(sub, f"expected a list of two durations [min, max], found {found}", sub_line)
            return None
        low = check.check_duration(arg[0], f"{sub}[0]", line_of(arg, 0) or sub_line)
        high = check.check_duration(arg[1], f"{sub}[1]", line_of(arg, 1) or sub_line)
        if low is None or high is None:
            return None
        if low > high:
            check.error(sub, f"min ({format_duration(low)}) is greater than max ({format_duration(high)})",
                        sub_line)
            return None
        return WaitTime("between", float(low), float(high))
    if kind == "constant_throughput":
        rate = check.check_number(arg, sub, sub_line, "a number of iterations per second", positive=True)
        return None if rate is None else WaitTime("constant_pacing", 1.0 / float(rate), throughput=float(rate))
    seconds = check.check_duration(arg, sub, sub_line, positive=kind == "constant_pacing")
    return None if seconds is None else WaitTime(kind, float(seconds))


def describe_wait(wait: WaitTime | None) -> str:
    """How `validate` shows a scenario's wait_time."""
    if wait is None:
        return "none (each user starts its next iteration as soon as one ends)"
    if wait.kind == "between":
        return f"between {format_duration(wait.seconds)} and {format_duration(wait.high)} after each iteration"
    if wait.kind == "constant_pacing":
        rate = f" ({wait.throughput:g}/s per user)" if wait.throughput else ""
        return f"pacing: an iteration starts every {format_duration(wait.seconds)}{rate}"
    return f"{format_duration(wait.seconds)} after each iteration"

