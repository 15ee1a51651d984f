"""Data files for scenarios: rows read once per process, handed to users by a Feeder.

A file is CSV with a header row, or JSON lines (``.jsonl``/``.ndjson``, one object a line). In a
cluster each process owns a share of the rows: share ``i`` of ``n`` is rows i, i+n, i+2n, ... (the
master gives workers their share in the order they joined), so ``order: unique`` never hands out the
same row twice anywhere in the cluster, and ``sequential`` users on different workers start on
different rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ORDERS = ("sequential", "random", "unique")
SCOPES = ("user", "iteration")
ON_EXHAUSTED = ("recycle", "stop")
JSON_LINES = (".jsonl", ".ndjson")


class DataFileError(ValueError):
    """A data file that cannot be used: missing, unreadable, empty, malformed. ``line`` when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class Exhausted(Exception):
    """No row is left for this draw (``on_exhausted: stop``): the user ends its journey."""


@dataclass(frozen=True)
class DataSpec:
    """A scenario's ``data:`` as validated: the file (absolute) and how rows are handed out."""

    file: Path
    order: str = "sequential"
    scope: str = "user"
    on_exhausted: str = "recycle"


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    sha256: str


_tables: dict[tuple[Path, str], Table] = {}


def read_table(path: Path) -> Table:
    """The rows of ``path``, parsed once per process and content (cached by sha256)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError("file not found") from None
    except IsADirectoryError:
        raise DataFileError("is a directory, expected a CSV or JSON lines file") from None
    except OSError as exc:
        raise DataFileError(f"cannot read file: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    key = (path.resolve(), digest)
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = _parse(path, data, digest)
    return table


def _parse(path: Path, data: bytes, digest: str) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if not text.strip():
        raise DataFileError("the file is empty: it needs a header row and at least one row")
    if path.suffix.lower() in JSON_LINES:
        return _json_lines(text, digest)
    return _csv(text, digest)


def _json_lines(text: str, digest: str) -> Table:
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFileError(f"invalid JSON: {exc.msg}", number) from None
        if not isinstance(row, dict):
            raise DataFileError(f"expected a JSON object on each line, found {type(row).__name__}", number)
        columns.update(dict.fromkeys(row))
        rows.append(row)
    return Table(tuple(columns), tuple(rows), digest)


def _csv(text: str, digest: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        columns = [c.strip() for c in header]
        if not any(columns):
            raise DataFileError("the header row is empty", 1)
        if len(set(columns)) != len(columns):
            dup = next(c for c in columns if columns.count(c) > 1)
            raise DataFileError(f"column {dup!r} appears twice in the header row", 1)
        rows: list[dict[str, str]] = []
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != len(columns):
                raise DataFileError(f"{len(record)} fields where the header has {len(columns)}", reader.line_num)
            rows.append(dict(zip(columns, record, strict=True)))
    except csv.Error as exc:
        raise DataFileError(f"unreadable CSV: {exc}", reader.line_num) from None
    if not rows:
        raise DataFileError("has a header row but no data rows", 1)
    return Table(tuple(columns), tuple(rows), digest)


class Feeder:
    """Hands out the rows of this process's share; one per (phase, scenario) and process.

    Shared by every user of the scenario on this node: greenlets take rows one at a time, so the
    cursor needs no lock.
    """

    def __init__(self, spec: DataSpec, table: Table, share: tuple[int, int] = (0, 1),
                 rng: random.Random | None = None) -> None:
        index, count = share
        self.spec = spec
        self.rows: Sequence[Mapping[str, Any]] = table.rows[index::count] if count > 1 else table.rows
        self._all = table.rows
        self._next = 0
        self._rng = rng or random.Random()

    def draw(self) -> Mapping[str, Any]:
        """The next row; raises Exhausted when none is left and the scenario stops on exhaustion."""
        order = self.spec.order
        if order == "random":
            # Any row of the file: random draws need no share (they are not unique anyway).
            return self._all[self._rng.randrange(len(self._all))]
        rows = self.rows
        if self._next >= len(rows):
            if self.spec.on_exhausted == "stop" or order == "unique" or not rows:
                raise Exhausted()
            self._next = 0
        row = rows[self._next]
        self._next += 1
        return row

    @property
    def used(self) -> int:
        return self._next
