"""The seam between the controller and the engines it drives.

A Link is "the workers" as the controller sees them: it sends targets and batches and hands back
stat batches. Local mode uses an in-process link to one engine; the cluster a ZeroMQ link to many.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gradual.plan import Batch
from gradual.stats import StatsBatch


class LinkError(Exception):
    """The run cannot go on (no workers, a worker could not load the bundle): exit 3."""


@dataclass
class WorkerView:
    id: str
    host: str
    capacity: float = 1.0
    joined_at: float = 0.0  # epoch seconds
    left_at: float | None = None
    lost: bool = False
    requests: int = 0
    # What the report should say about it, the first few: plugin failures it sent, a run_once share it left.
    problems: list[str] = field(default_factory=list)
    # (epoch lost at, epoch back at or None): every time the master declared it lost.
    lost_intervals: list[tuple[float, float | None]] = field(default_factory=list)
    restarts: int = 0  # a new process (another pid) said hello under this id after the old one was gone

    @property
    def live(self) -> bool:
        return self.left_at is None


class Link(ABC):
    # Set by the controller: how a link asks for the run to stop, as stop(reason, exit_code) does.
    stop_run: Callable[[str, int], None] | None = None

    @abstractmethod
    def start(self) -> None:
        """Bring the workers up and ready; raise LinkError when the run cannot start."""

    @abstractmethod
    def workers(self) -> list[WorkerView]:
        """Every worker seen, in stable order (live and gone)."""

    @abstractmethod
    def phase_start(self, phase: str, index: int) -> None: ...

    @abstractmethod
    def send_targets(self, worker_id: str, phase: str, targets: dict[str, int], offsets: dict[str, int],
                     rates: dict[str, list[float]] | None = None) -> None:
        """Users per closed scenario; an open one's cap of journeys, with ``rates``: [rate, theta]."""

    @abstractmethod
    def send_batches(self, worker_id: str, phase: str, scenario: str, batches: Sequence[Batch], offset: int) -> None:
        ...

    @abstractmethod
    def poll(self) -> tuple[list[tuple[str, StatsBatch]], bool]:
        """Stat batches received since the last poll (with the worker id), and whether live workers changed."""

    @abstractmethod
    def done(self, phase: str) -> set[str]:
        """run_once scenarios of ``phase`` finished on every live worker."""

    @abstractmethod
    def phase_stop(self, phase: str, stop_timeout: float) -> None:
        """Stop the phase everywhere and wait until every live worker has stopped and sent its last batch."""

    @abstractmethod
    def close(self, exit_code: int = 0) -> None:
        """Release the workers (tell them to quit)."""

    def live_workers(self) -> list[WorkerView]:
        return [w for w in self.workers() if w.live]
