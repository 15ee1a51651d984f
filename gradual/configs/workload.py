"""A scenario's workload-model keys: ``wait_time`` (think time and pacing of the closed model) and the
open model's ``min_rate``/``max_rate``/``arrivals`` (DESIGN.md, "Workload models").

wait_time has Locust's semantics: a duration or ``{constant: s}``, ``{between: [a, b]}``,
``{constant_pacing: s}``, ``{constant_throughput: n}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import Checker
from .durations import format_duration
from .errors import did_you_mean, type_name
from .model import WaitTime
from .yamlfile import line_of

ARRIVALS = ("uniform", "poisson")
OPEN_KEYS = ("min_rate", "max_rate", "arrivals")
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



@dataclass(frozen=True)
class OpenModel:
    min_rate: float
    max_rate: float
    arrivals: str
    multiply: tuple[float, ...] | None
    add: tuple[float, ...] | None


def parse_open_model(check: Checker, scen: dict, path: str) -> OpenModel | None:
    """The open model's keys (the caller has seen min_rate or max_rate in ``scen``); None on an error."""
    before = len(check.issues)
    lo = check.number(scen, "min_rate", f"{path}.min_rate", required=True, minimum=0)
    hi = check.number(scen, "max_rate", f"{path}.max_rate", required=True, minimum=0)
    for key in ("min_concurrency", "wait_time", "run_once"):
        if key in scen:
            why = {"min_concurrency": "an open scenario starts arrivals at min_rate per second; max_concurrency "
                                      "caps the journeys in flight",
                   "wait_time": "arrivals come on the rate's schedule, not after a user's wait",
                   "run_once": "an open scenario runs for its phase's run_time"}[key]
            check.error(f"{path}.{key}", f"does not apply to the open model (min_rate/max_rate): {why}",
                        line_of(scen, key))
    if "max_concurrency" not in scen:
        check.error(f"{path}.max_concurrency", "is required (an integer): the most journeys in flight at once; "
                    "an arrival that finds them all busy is dropped", line_of(scen, "min_rate"))
    arrivals = check.string(scen, "arrivals", f"{path}.arrivals", default="uniform")
    if arrivals not in ARRIVALS:
        check.error(f"{path}.arrivals", f"expected uniform or poisson, found {arrivals!r}"
                    f"{did_you_mean(str(arrivals), ARRIVALS)}", line_of(scen, "arrivals"))
    multiply = check.number_list(scen, "ramp_up_multiply", f"{path}.ramp_up_multiply", positive=True)
    add = check.number_list(scen, "ramp_up_add", f"{path}.ramp_up_add")
    if "ramp_up_multiply" in scen and "ramp_up_add" in scen:
        check.error(f"{path}.ramp_up_add", "give either ramp_up_multiply or ramp_up_add, not both",
                    line_of(scen, "ramp_up_add"))
    if len(check.issues) > before or lo is None or hi is None:
        return None
    lo, hi = float(lo), float(hi)
    values = multiply if multiply is not None else add
    key = "ramp_up_multiply" if multiply is not None else "ramp_up_add"
    neutral = 1 if multiply is not None else 0
    if values is not None and lo != hi:
        for i, value in enumerate(values):
            if (value < neutral) if lo < hi else (value > neutral):
                raw = scen[key]
                item = f"{path}.{key}[{i}]" if isinstance(raw, list) else f"{path}.{key}"
                line = line_of(raw, i) if isinstance(raw, list) else line_of(scen, key)
                way = "at least" if lo < hi else "at most"
                check.error(item, f"must be {way} {neutral} to ramp the rate from min_rate ({lo:g}) to max_rate "
                            f"({hi:g}), found {value!r}", line)
                return None
    if lo > hi and values is None:
        check.error(f"{path}.min_rate", f"min_rate ({lo:g}) is greater than max_rate ({hi:g}): a ramp-down needs "
                    "a ramp_up_multiply below 1 or a negative ramp_up_add", line_of(scen, "min_rate"))
        return None
    if multiply is not None and lo == 0:
        check.warn(f"{path}.ramp_up_multiply", "multiplying from min_rate 0 would stay at 0: the scenario "
                   "starts at 1 arrival per second instead", line_of(scen, "ramp_up_multiply"))
        lo = 1.0
    if lo == 0 and (hi == 0 or add is None):
        check.error(f"{path}.min_rate", "min_rate 0 without a ramp_up_add toward a max_rate above 0 never "
                    "starts an arrival", line_of(scen, "min_rate"))
        return None
    if values is not None and lo != hi and all(v == neutral for v in values):
        check.warn(f"{path}.{key}", f"{key} {values[-1]:g} cannot move the rate, so the scenario holds "
                   f"{lo:g}/s and never reaches max_rate ({hi:g})", line_of(scen, key))
    return OpenModel(lo, hi, str(arrivals), tuple(float(m) for m in multiply) if multiply else None,
                     tuple(float(a) for a in add) if add else None)


def describe_rate(rate: float) -> str:
    return f"{rate:g}/s"
