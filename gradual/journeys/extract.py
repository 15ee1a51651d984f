"""``extract`` on HTTP requests: values from the answer into the user's variables.

A JSON path is JMESPath; a regex takes its first group (or the whole match when it has none); a header
is read by name. A failed extraction fails the request with kind ``extract``; nothing is stored then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jmespath.parser import ParsedResult

from .answer import Answer
from .checks import DottedPath, shorten

EXTRACT = "extract"


@dataclass(frozen=True)
class Extraction:
    name: str
    source: str  # "json" | "regex" | "header"
    expression: str
    compiled: ParsedResult | DottedPath | re.Pattern[str] | None = None

    @property
    def reads_body(self) -> bool:
        return self.source != "header"


def compile_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None


def run_extractions(extractions: tuple[Extraction, ...], answer: Answer) -> tuple[dict[str, Any], str | None]:
    """The values found, or the first failure's message (then the values are not to be stored)."""
    found: dict[str, Any] = {}
    for ex in extractions:
        if ex.source == "header":
            value = answer.header(ex.expression)
            if value is None:
                return found, f"{ex.name}: no header {ex.expression} in the answer"
        elif ex.source == "json":
            try:
                doc = answer.json()
            except ValueError:
                return found, f"{ex.name}: the body is not JSON: {shorten(answer.text)}"
            assert isinstance(ex.compiled, (ParsedResult, DottedPath))
            value = ex.compiled.search(doc)
            if value is None:
                return found, f"{ex.name}: json {ex.expression} found nothing in {shorten(doc)}"
        else:
            assert isinstance(ex.compiled, re.Pattern)
            m = ex.compiled.search(answer.text)
            if m is None:
                return found, f"{ex.name}: regex {shorten(ex.expression, 40)} matched nothing in {shorten(answer.text)}"
            value = m.group(1) if m.re.groups else m.group(0)
        found[ex.name] = value
    return found, None
