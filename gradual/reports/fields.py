"""Reading a summary that may come from a file (hand-edited, truncated, another version): a value of the
wrong type reads as empty, so a report is still written. Shared by the reporters that take a summary apart."""

from __future__ import annotations

import math
from typing import Any


def mappings(obj: Any, key: str) -> list[dict[str, Any]]:
    """The mappings in obj[key]: a hand-edited or truncated summary must not crash a report."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return float(value)


def completed(data: Any) -> int:
    """Requests of a summary row that completed (count minus interrupted): those that have a latency."""
    row = as_dict(data)
    return as_int(row.get("count")) - as_int(row.get("interrupted"))


def shown_latency(data: Any, key: str = "latency_ms") -> dict[str, Any]:
    """A row's latencies for display, or {} when no request of it completed: every report then shows
    "no value" ('-', a blank CSV cell, null) instead of a 0.000 that reads as fast."""
    row = as_dict(data)
    return as_dict(row.get(key)) if completed(row) > 0 else {}
