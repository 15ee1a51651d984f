"""``expect`` on HTTP requests: status, body substring, JSON paths, headers.

A failed check is a failure of kind ``check`` whose message names the check and what was found
(truncated, so a large body never floods the summary).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jmespath
from jmespath.parser import ParsedResult

from .answer import Answer
from .templates import Filler

CHECK = "check"
SHOWN = 80  # characters of a found value a message shows


def shorten(value: Any, limit: int = SHOWN) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class JsonCheck:
    path: str
    compiled: ParsedResult | DottedPath
    expected: Filler | None  # None: {exists: true}
    exists: bool = True


@dataclass(frozen=True)
class HeaderCheck:
    name: str
    expected: Filler | None  # None: {exists: true}
    exists: bool = True


@dataclass(frozen=True)
class Expect:
    status: tuple[int, ...] | None = None  # None: any status below 400
    body_contains: str | None = None
    json: tuple[JsonCheck, ...] = ()
    headers: tuple[HeaderCheck, ...] = ()

    @property
    def reads_body(self) -> bool:
        return self.body_contains is not None or bool(self.json)

    @cached_property
    def json_only(self) -> tuple[tuple[Any, Any, str], ...] | None:
        """(path, expected value, text) of each check when there are only JSON value checks with constant
        expected values, else None: run_checks then takes a shorter path."""
        if self.body_contains is not None or self.headers or not self.json:
            return None
        if any(c.expected is None or not c.expected.static for c in self.json):
            return None
        return tuple((c.compiled, c.expected.constant, c.path) for c in self.json)  # type: ignore[union-attr]


class DottedPath:
    """A JMESPath of plain names (``user.name``): the same answer as jmespath's, in a few dict lookups."""

    __slots__ = ("keys", "expression")

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.keys = tuple(expression.split("."))

    def search(self, doc: Any) -> Any:
        for key in self.keys:
            if not isinstance(doc, dict):
                return None
            doc = doc.get(key)
        return doc


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def compile_path(path: str) -> ParsedResult | DottedPath:
    """A JMESPath expression; raises ValueError with jmespath's reason."""
    if _DOTTED.fullmatch(path) and path not in ("true", "false", "null"):
        return DottedPath(path)
    try:
        return jmespath.compile(path)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"invalid JMESPath {path!r}: {str(exc).splitlines()[0].rstrip(': ')}") from None


def status_ok(expect: Expect | None, status: int) -> bool:
    if expect is None or expect.status is None:
        return status < 400
    return status in expect.status


def status_message(expect: Expect | None, status: int) -> str:
    if expect is None or expect.status is None:
        return f"HTTP {status}"
    wanted = expect.status[0] if len(expect.status) == 1 else list(expect.status)
    return f"status: expected {wanted}, found {status}"


def run_checks(expect: Expect, answer: Answer, scope: Any) -> str | None:
    """The first failed check's message (status excluded: the runner judges it first), or None."""
    if expect.json_only is not None:  # the common case, without the general loop below
        try:
            doc = answer.json()
        except ValueError:
            return f"json: the body is not JSON: {shorten(answer.text)}"
        for compiled, wanted, path in expect.json_only:
            found = compiled.search(doc)
            if found != wanted or found.__class__ is not wanted.__class__:
                if not _same(found, wanted):
                    return f"json {path}: expected {shorten(wanted)}, found {shorten(found)}"
        return None
    if expect.body_contains is not None:
        text = answer.text
        if expect.body_contains not in text:
            return f"body_contains {shorten(expect.body_contains, 40)}: not in body {shorten(text)}"
    if expect.json:
        try:
            doc = answer.json()
        except ValueError:
            return f"json: the body is not JSON: {shorten(answer.text)}"
        for jc in expect.json:
            found = jc.compiled.search(doc)
            if jc.expected is None:
                if (found is not None) != jc.exists:
                    return f"json {jc.path}: expected {'a value' if jc.exists else 'nothing'}, found {shorten(found)}"
                continue
            wanted = jc.expected.fill(scope)
            if not _same(found, wanted):
                return f"json {jc.path}: expected {shorten(wanted)}, found {shorten(found)}"
    for hc in expect.headers:
        value = answer.header(hc.name)
        if hc.expected is None:
            if (value is not None) != hc.exists:
                return f"header {hc.name}: expected {'it' if hc.exists else 'none'}, found {shorten(value)}"
            continue
        wanted = hc.expected.fill(scope)
        if value != str(wanted):
            return f"header {hc.name}: expected {shorten(str(wanted))}, found {shorten(value)}"
    return None


def _same(found: Any, wanted: Any) -> bool:
    if isinstance(found, bool) or isinstance(wanted, bool):
        return found is wanted
    if isinstance(found, (int, float)) and isinstance(wanted, (int, float)):
        return found == wanted
    if isinstance(wanted, str) and not isinstance(found, str) and found is not None:
        # A template renders as text ("{{ row.id }}" from a CSV): compare a found number as text too.
        return json.dumps(found) == wanted
    return found == wanted
