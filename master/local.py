"""The in-process link: the controller drives one engine in the same process (``gradual run``)."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Sequence

from gradual.configs.model import RunConfig
from gradual.plan import Batch
from gradual.plugins.runtime import report_to_master
from gradual.runners.engine import Engine
from gradual.runners.record_collector import RecordCollector
from gradual.stats import StatsBatch

from .link import Link, WorkerView


class InProcessLink(Link):
    WORKER_ID = "local"

    def __init__(self, run: RunConfig, engine: Engine | None = None, records: bool = False) -> None:
        self.run = run
        self.engine = engine or Engine(run)
        # --records: nothing crosses a wire here and the controller writes each tick's records at once, so the
        # in-process node keeps every record (a second's worth at a time); the per-batch bound is the wire's.
        self.records = RecordCollector(sys.maxsize) if records else None
        self._view = WorkerView(self.WORKER_ID, f"{socket.gethostname()}:{os.getpid()}", joined_at=time.time())

    def start(self) -> None:
        pass

    def workers(self) -> list[WorkerView]:
        return [self._view]

    def phase_start(self, phase: str, index: int) -> None:
        self.engine.start_phase(phase)

    def send_targets(self, worker_id: str, phase: str, targets: dict[str, int], offsets: dict[str, int],
                     rates: dict[str, list[float]] | None = None) -> None:
        self.engine.set_targets(phase, targets, offsets, rates)

    def send_batches(self, worker_id: str, phase: str, scenario: str, batches: Sequence[Batch], offset: int) -> None:
        self.engine.run_batches(phase, scenario, batches, offset)

    def poll(self) -> tuple[list[tuple[str, StatsBatch]], bool]:
        batch = self.engine.drain()
        # The worker side of report_to_master happens here in local mode, as in the agent's flush.
        batch.custom = report_to_master(batch.custom, self.WORKER_ID)
        if self.records is not None:
            batch.records, batch.records_dropped = self.records.take()
        return [(self.WORKER_ID, batch)], False

    def done(self, phase: str) -> set[str]:
        return self.engine.done(phase)

    def phase_stop(self, phase: str, stop_timeout: float) -> None:
        self.engine.stop_phase(phase, stop_timeout)

    def close(self, exit_code: int = 0) -> None:
        self._view.left_at = time.time()
        if self.records is not None:
            self.records.close()
