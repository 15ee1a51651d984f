"""Durations as users write them: a number of seconds, or a string with units (`250ms`, `30s`, `5m`, `1h30m`).

One parser for every duration the config files and the command line read, so `run_time: "30s"`, a threshold's
`for: 10s` and `--run-time 5m` mean the same thing.
"""

from __future__ import annotations

import math
import re
from typing import Any

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|us|h|m|s)")
_WHOLE = re.compile(r"^(?:\s*(?:\d+(?:\.\d+)?|\.\d+)\s*(?:ms|us|h|m|s))+\s*$")
_PLAIN = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*$")
MAX_TEXT = 64  # a longer string is not a duration anyone wrote by hand
HINT = "a number of seconds or a duration like 250ms, 30s, 5m, 1h30m"


def parse_duration(value: Any) -> float | None:
    """Seconds as a float, or None when ``value`` is not a duration (negative, not finite, malformed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an integer too large for a float
            return None
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        return None
    plain = _PLAIN.match(value)
    if plain:
        return float(plain.group(1))
    if not _WHOLE.match(value):
        return None
    units = [unit for _, unit in _PART.findall(value)]
    if len(set(units)) != len(units):  # "1m1m" is a typo, not a duration
        return None
    seconds = sum(float(number) * UNITS[unit] for number, unit in _PART.findall(value))
    return seconds if math.isfinite(seconds) else None


def format_duration(seconds: float) -> str:
    """The shortest faithful text for a duration: 0.25 -> '250ms', 90 -> '1m30s', 5400 -> '1h30m'."""
    if seconds < 1 and seconds != 0:
        return f"{seconds * 1000:g}ms"
    if seconds < 60 or not float(seconds).is_integer():
        return f"{seconds:g}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"
