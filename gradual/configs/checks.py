"""Typed field readers that record a ConfigIssue instead of raising, so a file's errors come out together."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .durations import HINT as DURATION_HINT
from .durations import parse_duration
from .errors import ConfigIssue, did_you_mean, type_name
from .yamlfile import line_of

_MISSING = object()


def _numeric(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class Checker:
    """Reads values out of one parsed file, collecting issues with file, key path and line."""

    def __init__(self, file: Path | str) -> None:
        self.file = str(file)
        self.issues: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []  # the file runs, but not quite as written: say what it does instead

    def error(self, path: str, message: str, line: int | None = None) -> None:
        self.issues.append(ConfigIssue(self.file, path, message, line))

    def warn(self, path: str, message: str, line: int | None = None) -> None:
        self.warnings.append(ConfigIssue(self.file, path, message, line))

    def mapping(self, container: Any, key: Any, path: str, *, required: bool = True) -> dict | None:
        value = container.get(key, _MISSING) if isinstance(container, dict) else _MISSING
        if value is _MISSING or value is None:
            if required:
                self.error(path, "is required (a mapping)", line_of(container, key))
            return None
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, found {type_name(value)}", line_of(container, key))
            return None
        return value

    def keys(self, mapping: dict, allowed: Iterable[str], path: str) -> None:
        allowed = list(allowed)
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                self.error(f"{path}.{key}" if path else str(key), f"unknown key{hint}", line_of(mapping, key))

    def string(self, m: dict, key: str, path: str, *, required: bool = False, default: Any = None) -> Any:
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.error(path, "is required (a string)", line_of(m, key))
            return default
        if not isinstance(value, str):
            self.error(path, f"expected a string, found {type_name(value)}", line_of(m, key))
            return default
        if required and not value.strip():
            self.error(path, "must not be empty", line_of(m, key))
            return default
        return value

    def number(
        self,
        m: dict,
        key: str,
        path: str,
        *,
        required: bool = False,
        default: Any = None,
        minimum: float | None = None,
        positive: bool = False,
        integer: bool = False,
    ) -> Any:
        value = m.get(key, _MISSING)
        line = line_of(m, key)
        what = "an integer" if integer else "a number"
        if value is _MISSING or value is None:
            if required:
                self.error(path, f"is required ({what})", line)
            return default
        return self.check_number(value, path, line, what, minimum=minimum, positive=positive,
                                 integer=integer, default=default)

    def check_number(
        self,
        value: Any,
        path: str,
        line: int | None,
        what: str,
        *,
        minimum: float | None = None,
        positive: bool = False,
        integer: bool = False,
        default: Any = None,
    ) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            hint = " (remove the quotes)" if isinstance(value, str) and _numeric(value) else ""
            self.error(path, f"expected {what}, found {type_name(value)} {value!r}{hint}", line)
            return default
        if integer and not isinstance(value, int):
            if float(value).is_integer():
                value = int(value)
            else:
                self.error(path, f"expected {what}, found {value!r}", line)
                return default
        if positive and value <= 0:
            self.error(path, f"must be greater than 0, found {value!r}", line)
            return default
        if minimum is not None and value < minimum:
            self.error(path, f"must be at least {minimum:g}, found {value!r}", line)
            return default
        return value

    def duration(
        self, m: dict, key: str, path: str, *, required: bool = False, default: Any = None, positive: bool = False,
    ) -> Any:
        """Seconds from a number or a string with units (``250ms``, ``30s``, ``5m``, ``1h30m``)."""
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.error(path, f"is required ({DURATION_HINT})", line_of(m, key))
            return default
        return self.check_duration(value, path, line_of(m, key), positive=positive, default=default)

    def check_duration(self, value: Any, path: str, line: int | None, *, positive: bool = False,
                       default: Any = None) -> Any:
        seconds = parse_duration(value)
        negative = not isinstance(value, bool) and isinstance(value, (int, float)) and value < 0
        if negative:
            self.error(path, f"must be {'greater than' if positive else 'at least'} 0, found {value!r}", line)
            return default
        if seconds is None:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            self.error(path, f"expected {DURATION_HINT}, found {type_name(value)} {shown}", line)
            return default
        if positive and seconds <= 0:
            self.error(path, f"must be greater than 0, found {value!r}", line)
            return default
        return seconds

    def duration_list(self, m: dict, key: str, path: str) -> tuple[float, ...] | None:
        """A duration or a non-empty list of them (a scalar is a one-value list)."""
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, dict):
            self.error(path, f"expected a duration or a list of them, found {type_name(value)}", line_of(m, key))
            return None
        items = value if isinstance(value, list) else [value]
        if not items:
            self.error(path, "expected a duration or a non-empty list, found an empty list", line_of(m, key))
            return None
        out = []
        for i, item in enumerate(items):
            line = line_of(value, i) if isinstance(value, list) else line_of(m, key)
            checked = self.check_duration(item, f"{path}[{i}]" if isinstance(value, list) else path, line,
                                          default=_MISSING)
            if checked is _MISSING:
                return None
            out.append(checked)
        return tuple(out)

    def boolean(self, m: dict, key: str, path: str, *, default: bool = False) -> bool:
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, bool):
            self.error(path, f"expected true or false, found {type_name(value)} {value!r}", line_of(m, key))
            return default
        return value

    def number_list(
        self, m: dict, key: str, path: str, *, minimum: float | None = None, positive: bool = False,
        integer: bool = False,
    ) -> tuple | None:
        """A number or a non-empty list of numbers (a scalar is a one-value list)."""
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return None
        what = "an integer" if integer else "a number"
        items = value if isinstance(value, list) else [value]
        if isinstance(value, dict) or isinstance(value, str):
            self.error(path, f"expected {what} or a list of them, found {type_name(value)}", line_of(m, key))
            return None
        if not items:
            self.error(path, f"expected {what} or a non-empty list, found an empty list", line_of(m, key))
            return None
        out = []
        for i, item in enumerate(items):
            line = line_of(value, i) if isinstance(value, list) else line_of(m, key)
            checked = self.check_number(item, f"{path}[{i}]" if isinstance(value, list) else path, line, what,
                                        minimum=minimum, positive=positive, integer=integer, default=_MISSING)
            if checked is _MISSING:
                return None
            out.append(checked)
        return tuple(out)

    def str_map(self, m: dict, key: str, path: str) -> dict[str, str] | None:
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping of strings, found {type_name(value)}", line_of(m, key))
            return None
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                # YAML reads `X-Retry: 3` as a number and `DNT: yes`... as text only when quoted: a value
                # is sent exactly as written, so the file says which text it means.
                hint = f' (quote it: "{v}")' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
                if isinstance(v, bool):
                    hint = ' (quote it: "true" or "false")'
                self.error(f"{path}.{k}", f"expected a string, found {type_name(v)}"
                           f"{'' if isinstance(v, (dict, list)) or v is None else f' {v!r}'}{hint}",
                           line_of(value, k))
                continue
            out[str(k)] = v
        return out
