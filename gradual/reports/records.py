"""``--records PATH``: every completion record of the run as JSON lines (the original's persist_stats use).

The master writes what each stats batch brought (from every node), so a line is written once per request
that completed, whichever worker ran it; ``worker`` says which.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("gradual.records")


class RecordsFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", encoding="utf-8")
        self.written = 0
        self.dropped = 0

    def write(self, worker: str, records: list[dict[str, Any]], dropped: int = 0) -> None:
        """One batch of records, in one write."""
        if dropped:
            if not self.dropped:
                log.warning("worker %s dropped %d completion records (more than it may hold between two stats "
                            "batches): %s misses them", worker, dropped, self.path)
            self.dropped += dropped
        if not records:
            return
        lines = [json.dumps({**r, "worker": worker}, default=str, separators=(",", ":")) for r in records]
        self._fh.write("\n".join(lines) + "\n")
        self.written += len(lines)

    def close(self) -> dict[str, Any]:
        """Close the file (again is harmless); what the summary says about it."""
        self._fh.close()
        return {"path": str(self.path), "written": self.written, "dropped": self.dropped}
