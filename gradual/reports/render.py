"""Writes the report formats a run (or `gradual report SUMMARY.json`) asked for, from one summary.

A format is a flag name mapped to its Reporter class, so the CLI and `--report-dir` share one list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..configs.errors import display_path
from .base import Reporter
from .console_fit import shorten
from .csv import CsvReporter, history_path, stats_path
from .html import HtmlReporter
from .json import JsonReporter
from .junit import JunitReporter
from .summary import SCHEMA

REPORTERS: dict[str, type[Reporter]] = {
    "json": JsonReporter,
    "csv": CsvReporter,
    "html": HtmlReporter,
    "junit": JunitReporter,
}

# --report-dir DIR: fixed names, so CI jobs can archive the directory without configuring each format.
REPORT_DIR_NAMES = {
    "json": "summary.json",
    "html": "report.html",
    "junit": "junit.xml",
    "csv": "gradual",  # a prefix: DIR/gradual_stats.csv and DIR/gradual_history.csv
}


def write_reports(summary: dict[str, Any], targets: dict[str, Path]) -> list[Path]:
    """Write each requested format; ``targets`` maps a REPORTERS name to its path (a prefix for csv).

    Returns the files written, in ``targets`` order (csv: its two files)."""
    unknown = sorted(set(targets) - set(REPORTERS))
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)}")
    written: list[Path] = []
    for name, path in targets.items():
        REPORTERS[name](Path(path)).write(summary)
        written += [stats_path(Path(path)), history_path(Path(path))] if name == "csv" else [Path(path)]
    return written


def reports_line(written: list[Path], width: int | None = None) -> str | None:
    """The one line a run prints about its reports, None if none: ``reports: out/summary.json, out/x.html``,
    or ``reports in DIR: summary.json, report.html`` when they share a folder; cut to ``width`` (a terminal's)
    with an ellipsis, so it stays one line."""
    if not written:
        return None
    folders = {p.parent for p in written}
    if len(written) > 1 and len(folders) == 1:
        line = f"reports in {display_path(folders.pop())}: " + ", ".join(p.name for p in written)
    else:
        line = "reports: " + ", ".join(display_path(p) for p in written)
    return line if width is None else shorten(line, width)


def report_dir_targets(directory: Path) -> dict[str, Path]:
    return {name: directory / file for name, file in REPORT_DIR_NAMES.items()}


def report_command(summary_path: Path, targets: dict[str, Path]) -> int:
    """`gradual report`: 0 when written; 2 (one line on stderr) for an unreadable or foreign summary."""
    if not targets:
        return _fail("no report to write: give --html, --junit, --csv, --json or --report-dir")
    try:
        text = summary_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _fail(f"{summary_path}: file not found (a summary is what --json or --report-dir wrote)")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {summary_path}: {getattr(exc, 'strerror', None) or exc}")
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        return _fail(f"{summary_path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    schema = summary.get("schema") if isinstance(summary, dict) else None
    if schema != SCHEMA:
        found = "no schema" if schema is None else f"schema {schema!r}"
        return _fail(f"{summary_path} is not a gradual summary ({found}; expected {SCHEMA!r})")
    try:
        line = reports_line(write_reports(summary, targets))
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"cannot write report{where}: {exc.strerror or exc}")
    except (AttributeError, TypeError, ValueError) as exc:
        # Reporters skip missing fields; a field of the wrong type (a hand-edited file) lands here.
        return _fail(f"{summary_path} has a malformed field: {exc}")
    if line:
        print(line)
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2
