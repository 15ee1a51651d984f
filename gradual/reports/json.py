"""`--json PATH`: the summary as JSON (schema gradual.summary/1)."""

from __future__ import annotations

import json
import os
from typing import Any

from .base import Reporter


class JsonReporter(Reporter):
    def write(self, summary: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
