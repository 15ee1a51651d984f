"""Tables that fit a width: the console drops the least needed columns first and ellipsizes names.

Columns get fixed widths from their content, so a row never wraps; the name column (the first) takes
what is left, at least NAME_MIN characters, and a longer name ends in '…'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich import box
from rich.table import Table
from rich.text import Text

NAME_MIN = 12
GAP = 2  # between two columns: rich's SIMPLE box (one space) plus one of left padding
ELLIPSIS = "…"


@dataclass(frozen=True)
class Col:
    header: str
    keep: float  # when the width is short, the columns of the lowest keep go first


@dataclass(frozen=True)
class Row:
    name: str
    cells: Sequence[str]  # one per value column
    style: str = ""
    end_section: bool = False


@dataclass(frozen=True)
class Fitted:
    columns: list[int]  # indices of the value columns shown, in their order
    name_width: int
    widths: list[int] = field(default_factory=list)  # of the shown value columns


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, ending in '…' when it was cut."""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS if width > 0 else ""


def shorten_path(text: str, width: int) -> str:
    """Like shorten, but ``scenario/request`` keeps its last part whole while it can: ``scen…/request``."""
    if len(text) <= width or "/" not in text:
        return shorten(text, width)
    indent = len(text) - len(text.lstrip(" "))
    head, _, tail = text[indent:].rpartition("/")
    room = width - indent - len(tail) - 1
    if room < 4:
        return shorten(text, width)
    return " " * indent + shorten(head, room) + "/" + tail


def fit(name_header: str, cols: Sequence[Col], rows: Sequence[Row], width: int, name_min: int = NAME_MIN) -> Fitted:
    """Which value columns fit in ``width`` beside the name column, and how wide the name column is."""
    widths = [max([len(c.header), *(len(r.cells[i]) for r in rows)]) for i, c in enumerate(cols)]
    name_need = max([len(name_header), *(len(r.name) for r in rows)])
    shown = list(range(len(cols)))

    def used() -> int:
        return sum(widths[i] + GAP for i in shown)

    while shown and used() + min(name_min, name_need) > width:
        shown.remove(min(shown, key=lambda i: (cols[i].keep, -i)))
    name_width = max(1, min(name_need, width - used()))
    return Fitted(shown, name_width, [widths[i] for i in shown])


def table(name_header: str, cols: Sequence[Col], rows: Sequence[Row], width: int,
          footer: Row | None = None, name_min: int = NAME_MIN, cut: Callable[[str, int], str] = shorten) -> Table:
    """A rich Table of ``rows`` (and a ``footer`` row under a rule) no wider than ``width``; ``cut`` shortens names."""
    fitted = fit(name_header, cols, [*rows, *([footer] if footer else [])], width, name_min)
    out = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1), show_footer=footer is not None,
                header_style="bold", footer_style="bold")
    out.add_column(name_header, width=fitted.name_width, no_wrap=True,
                   footer=Text(shorten(footer.name, fitted.name_width)) if footer else "")
    for i, w in zip(fitted.columns, fitted.widths, strict=True):
        out.add_column(cols[i].header, width=w, justify="right", no_wrap=True,
                       footer=Text(footer.cells[i]) if footer else "")
    for r in rows:
        # Text, not str: a name is data, never rich markup.
        out.add_row(Text(cut(r.name, fitted.name_width)), *(Text(r.cells[i]) for i in fitted.columns),
                    style=r.style or None, end_section=r.end_section)
    return out
