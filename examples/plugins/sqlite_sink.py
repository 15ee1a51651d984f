"""Results sink: stores every request record in a SQLite database, in batches.

The original framework's "persist statistics to a database" use. It handles the `request` event, so it
runs where requests run (every worker; the one process in local mode). Rows are written from gevent's
thread pool once a second (or once `batch_size` rows wait), so a commit never stalls the load.

    runs:
      plugins:
        - path: sqlite_sink.py
          options:
            database: results.db      # optional: a path as given (relative to the working directory);
                                      # {worker_id}, {role} and {pid} are filled in, e.g.
                                      # "results-{worker_id}.db". Without it: gradual-results-{node}.db
                                      # in the run's --report-dir (GRADUAL_REPORT_DIR), else in the
                                      # system's temp folder (logged), never the current folder.
            batch_size: 500           # rows per insert
            flush_interval: 1.0       # seconds between inserts

Workers on one machine may share one file (SQLite locks it; WAL mode keeps writers short).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from typing import Any

import gevent
from gevent.event import Event
from gevent.lock import BoundedSemaphore

from gradual import EventPlugin

log = logging.getLogger("gradual.plugins.sqlite_sink")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL,              -- worker id ("local" in local mode)
    phase TEXT NOT NULL,
    scenario TEXT NOT NULL,
    request TEXT NOT NULL,
    url TEXT,
    status_code INTEGER,             -- NULL when no HTTP status came back
    response_time_ms REAL NOT NULL,
    start_time_ns INTEGER NOT NULL,  -- epoch nanoseconds
    end_time_ns INTEGER NOT NULL,
    user INTEGER,
    iteration INTEGER NOT NULL,
    error TEXT,                      -- "kind: message", NULL for a success
    within_expected INTEGER          -- 1/0 against expected_response_time, NULL when none is set
)
"""
INSERT = ("INSERT INTO requests (node, phase, scenario, request, url, status_code, response_time_ms, "
          "start_time_ns, end_time_ns, user, iteration, error, within_expected) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class SqliteSink(EventPlugin):
    """Stores every request record in SQLite, in batches (one row per request)."""

    name = "sqlite-sink"
    event = "request"  # request records exist where the engine runs: runs_on follows ("worker")

    def initialize(self) -> None:
        node = self.env.worker_id or self.env.role
        template = self.options.get("database")
        if template is None:
            # `gradual run/master/demo --report-dir DIR` tells plugins (and local workers) where reports go.
            folder = os.environ.get("GRADUAL_REPORT_DIR")
            if not folder:
                folder = tempfile.gettempdir()
                log.warning("sqlite-sink: no options.database and no --report-dir: writing to %s", folder)
            template = os.path.join(folder, "gradual-results-{worker_id}.db")
        self.path = str(template).format(worker_id=node, role=self.env.role, pid=os.getpid())
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self.batch_size = int(self.options.get("batch_size", 500))
        self.interval = float(self.options.get("flush_interval", 1.0))
        self.node = node
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._full = Event()
        self._closing = False
        self._lock = BoundedSemaphore()
        # One connection, used by one pool thread at a time (the lock): hence check_same_thread=False.
        self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(SCHEMA)
        self.db.commit()
        self._flusher = gevent.spawn(self._flush_loop)

    def handle_event(self, record: Any = None, **kwargs: Any) -> None:
        expected = record.expected_response_time
        within = None if expected is None or record.error else int(record.response_time <= expected * 1e9)
        self.rows.append((
            self.node, record.phase_name, record.scenario_name, record.request_name, record.url,
            record.status_code, record.response_time / 1e6, record.start_time, record.end_time,
            getattr(record.context, "user", None), record.iid, record.error, within,
        ))
        if len(self.rows) >= self.batch_size:
            self._full.set()

    def _flush_loop(self) -> None:
        while not self._closing:
            self._full.wait(self.interval)
            self._full.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self.rows = self.rows, []
            if rows:
                gevent.get_hub().threadpool.apply(self._write, (rows,))
                self.written += len(rows)

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        with self.db:  # one transaction per batch
            self.db.executemany(INSERT, rows)

    def close(self) -> None:
        self._closing = True
        self._full.set()
        self._flusher.join(5)
        self.flush()  # whatever came in after the last periodic flush
        self.db.close()
