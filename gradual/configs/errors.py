"""Configuration errors: each names the file, the key path and the line, so a user can fix it.

Validation collects every error of a file before raising, so one run shows them all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# An issue is one line a person reads: a value quoted from a hostile or mistyped file (a 5,000-digit URL, a
# key with a newline) is shortened and flattened here, once, for every message any check writes.
MAX_MESSAGE = 400
MAX_KEY = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str, limit: int) -> str:
    """``text`` with control characters shown as spaces, cut to ``limit`` characters with an ellipsis."""
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a configuration or request file."""

    file: str
    key: str
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", one_line(self.message, MAX_MESSAGE))
        object.__setattr__(self, "key", one_line(self.key, MAX_KEY))

    def __str__(self) -> str:
        where = display_path(self.file)
        where = where if self.line is None else f"{where}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """Raised with every issue found; ``str()`` gives one line per issue. ``warnings`` are the file's
    warnings found along the way (shown beside the errors)."""

    def __init__(self, issues: Iterable[ConfigIssue], warnings: Iterable[ConfigIssue] = ()) -> None:
        self.issues = list(issues)
        self.warnings = list(warnings)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def single(cls, file: str | Path, key: str, message: str, line: int | None = None) -> ConfigError:
        return cls([ConfigIssue(str(file), key, message, line)])


def display_path(file: str | Path) -> str:
    """The path relative to the working directory when it is below it, as the user would type it."""
    try:
        return str(Path(file).relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def type_name(value: object) -> str:
    """How a YAML value's type reads to a user."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
