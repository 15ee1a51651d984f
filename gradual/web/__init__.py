"""The web assets (package data): gradual.js draws charts and tables for both the HTML report, which
inlines it, and the master's live dashboard, which serves it; style.css styles both.

Pages are template files with ``{{name}}`` slots (filled with escaped text) and ``{{!name}}`` slots
(filled verbatim: the inlined assets and a JSON island that is already safe inside <script>).
"""

from __future__ import annotations

import json
import re
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any

_SLOT = re.compile(r"\{\{(!?)([a-z_]+)\}\}")


@cache
def asset(name: str) -> str:
    """The text of a file of this package (read once; they do not change while gradual runs)."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")


def fill(template: str, text: dict[str, str], raw: dict[str, str] | None = None) -> str:
    """``template`` (an asset name) with every slot filled; a slot without a value is a KeyError."""
    raw = raw or {}

    def value(match: re.Match[str]) -> str:
        verbatim, name = match.groups()
        return raw[name] if verbatim else escape(text[name], quote=True)

    return _SLOT.sub(value, asset(template))


def json_island(data: Any) -> str:
    """JSON that can sit inside <script type="application/json">: only "</script" could end the element
    early, and escaping every <, > and & (and non-ASCII, via ensure_ascii) makes any string safe there."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
