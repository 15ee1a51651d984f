"""``--records``: the completion records of this node, taken from the request event in bounded batches.

Each node (the local engine, every worker) collects its records as plain dicts with the original
framework's field names; the stats batches carry them to the master, which writes them (reports/records.py).
"""

from __future__ import annotations

from typing import Any

from .. import events

# Records a node holds between two stats batches; more are dropped and counted, never buffered without bound.
MAX_PENDING_RECORDS = 10_000


def record_dict(record: Any) -> dict[str, Any]:
    """A completion record as JSON- and msgpack-safe data: the original's field names, plus phase_name and error."""
    ctx = record.context
    params = record.params
    return {
        "request_name": record.request_name,
        "url": record.url,
        "params": dict(params) if params else params,
        "context": {"user": getattr(ctx, "user", None), "iteration": getattr(ctx, "iteration", None)},
        "response_time": record.response_time,
        "status_code": record.status_code,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "iid": record.iid,
        "scenario_name": record.scenario_name,
        "expected_response_time": record.expected_response_time,
        "phase_name": record.phase_name,
        "error": record.error,
    }


class RecordCollector:
    """Listens to ``events.request`` on this node until closed; ``take()`` hands over what came since."""

    def __init__(self, limit: int = MAX_PENDING_RECORDS) -> None:
        self.limit = limit
        self.pending: list[dict[str, Any]] = []
        self.dropped = 0
        events.request.add_listener(self._on_request)

    def _on_request(self, record: Any, **kwargs: Any) -> None:
        if len(self.pending) < self.limit:
            self.pending.append(record_dict(record))
        else:
            self.dropped += 1

    def take(self) -> tuple[list[dict[str, Any]], int]:
        """The records since the last take, and how many were dropped meanwhile."""
        taken, dropped = self.pending, self.dropped
        self.pending, self.dropped = [], 0
        return taken, dropped

    def close(self) -> None:
        events.request.remove_listener(self._on_request)
