"""The reporter interface: each report format is one file with one Reporter that writes a summary."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


class Reporter(ABC):
    """Writes one report from the summary dict (schema gradual.summary/1)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @abstractmethod
    def write(self, summary: dict[str, Any]) -> None: ...
