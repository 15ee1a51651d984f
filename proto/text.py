"""Strings from the network made safe for logs and reports: one line, printable, bounded.

A worker's host name, a bye reason or a bundle error arrive from a peer; a newline in one would forge
a log line, and a megabyte of it would flood the log and the summary.
"""

from __future__ import annotations

import unicodedata

MAX_SHOWN = 300  # characters kept of one peer-supplied string


def clean(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` as one printable line of at most ``limit`` characters (control characters escaped)."""
    raw = text if isinstance(text, str) else repr(text)
    if len(raw) > 4 * limit:
        raw = raw[: 4 * limit]  # escaping below can only lengthen it: no need to look further
    out = []
    for ch in raw:
        if ch in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(ascii(ch)[1:-1])  # \x1b, \u2028: visible, and never a line break
        else:
            out.append(ch)
    shown = " ".join("".join(out).split())
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
