"""What the master knows about each worker: identity, liveness, bundle state, stats sequence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .link import WorkerView


@dataclass
class WorkerRecord:
    view: WorkerView
    identity: bytes
    pid: int = 0
    cpu_count: int = 0
    last_seen: float = field(default_factory=time.monotonic)  # monotonic
    last_sent: float = 0.0  # monotonic time of the last message the master sent it
    hello_at: float = field(default_factory=time.monotonic)  # its latest accepted hello (monotonic)
    welcomed_at: float = 0.0  # monotonic time of the last welcome + bundle sent to it
    ready: bool = False
    was_ready: bool = False  # ready at some point: a real worker, which the summary lists
    # A hello from another process was refused for this id: ZeroMQ (no handover) only lets a second
    # connection with the id through once the first is closed, so what comes now is not the worker we
    # know. Nothing from the id counts (not even as a sign of life) until the worker is declared lost.
    contested: bool = False
    key: str | None = None  # with keys, the name of the key it first came with: the id stays bound to it
    bundle_error: str | None = None
    last_seq: int = 0  # highest stats seq merged (for acks and duplicate drops)
    phase: str | None = None  # the phase this worker was told to start
    done: dict[str, set[str]] = field(default_factory=dict)  # phase -> finished run_once scenarios
    once: dict[str, set[str]] = field(default_factory=dict)  # phase -> run_once scenarios it got a share of
    stopped: dict[str, int] = field(default_factory=dict)  # phase -> last stats seq sent before stopping
    state: str = "connecting"
    cpu_percent: float = 0.0
    rss: int = 0
    users: int = 0

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def live(self) -> bool:
        return self.view.live and self.ready


class Registry:
    """Workers in stable order (the order they first said hello)."""

    def __init__(self) -> None:
        self._workers: dict[str, WorkerRecord] = {}

    def get(self, worker_id: str) -> WorkerRecord | None:
        return self._workers.get(worker_id)

    def add(self, record: WorkerRecord) -> None:
        self._workers[record.id] = record

    def forget(self, worker_id: str) -> None:
        self._workers.pop(worker_id, None)

    def pending(self) -> list[WorkerRecord]:
        """Peers that said hello, are connected, and never became ready: not workers yet."""
        return [w for w in self._workers.values() if not w.was_ready and w.view.live]

    def all(self) -> list[WorkerRecord]:
        return list(self._workers.values())

    def live(self) -> list[WorkerRecord]:
        return [w for w in self._workers.values() if w.live]

    def connected(self) -> list[WorkerRecord]:
        """Workers that said hello and have not left (ready or still loading the bundle)."""
        return [w for w in self._workers.values() if w.view.live]
