"""gradual plugin "status-codes": responses per HTTP status code, per worker and in total.

It shows the whole cluster path of custom data: each worker counts its requests (`request`), ships the
counts with its stats batches (`report_to_master`), and the master adds them up (`worker_report`) and
prints them when the run ends (`test_stop`). With --http-port the master also serves GET /status-codes.
Set GRADUAL_STATUS_CODES_OUTPUT (or the option `output`) to also write them to a JSON file.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any

from gradual import Plugin, events


class StatusCodes(Plugin):
    """Counts responses per status code on every worker and totals them on the master."""

    runs_on = "both"  # workers count, the master totals; local mode does both in one process

    def initialize(self) -> None:
        self.pending: Counter[str] = Counter()  # this worker's counts not yet shipped
        self.totals: Counter[str] = Counter()
        self.by_worker: dict[str, Counter[str]] = {}
        # Listeners added here belong to this plugin and are removed when it closes.
        if self.env.is_worker:
            events.request.add_listener(self.on_request)
            events.report_to_master.add_listener(self.on_report)
        if self.env.is_master:
            events.worker_report.add_listener(self.on_worker_report)
            events.test_stop.add_listener(self.on_test_stop)
            if self.env.http_api is not None:
                self.env.add_route("/status-codes", lambda environ: (200, "application/json", self.document()))

    def on_request(self, record: Any, **kwargs: Any) -> None:
        self.pending["error" if record.status_code is None else str(record.status_code)] += 1

    def on_report(self, data: dict[str, Any], **kwargs: Any) -> None:
        if self.pending:
            data["status_codes"] = dict(self.pending)
            self.pending.clear()

    def on_worker_report(self, worker_id: str, data: dict[str, Any], **kwargs: Any) -> None:
        counts = data.get("status_codes")
        if isinstance(counts, dict):
            self.totals.update(counts)
            self.by_worker.setdefault(worker_id, Counter()).update(counts)

    def document(self) -> dict[str, Any]:
        return {"total": dict(sorted(self.totals.items())),
                "workers": {w: dict(sorted(c.items())) for w, c in sorted(self.by_worker.items())}}

    def on_test_stop(self, **kwargs: Any) -> None:
        shown = " ".join(f"{code}={n}" for code, n in sorted(self.totals.items())) or "no requests"
        print(f"status-codes: {shown} (from {len(self.by_worker)} worker(s))", file=sys.stderr, flush=True)
        output = self.options.get("output") or os.environ.get("GRADUAL_STATUS_CODES_OUTPUT")
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                json.dump(self.document(), fh, indent=2)
