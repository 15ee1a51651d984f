"""Keys the original framework documents but never implemented: accepted, with one warning saying what
gradual does instead (docs/compat.md lists every key of the original and what becomes of it)."""

from __future__ import annotations

from typing import Any

from .checks import Checker
from .errors import type_name
from .yamlfile import line_of

DISTRIBUTED_KEYS = ("enabled", "coordinator", "workers")


def check_distributed(check: Checker, runs: dict) -> None:
    """``runs.distributed`` (the original user guide's Redis coordinator block): gradual distributes with
    ``gradual master --expect-workers N`` and ``gradual worker --host MASTER`` instead."""
    if "distributed" not in runs:
        return
    block: Any = runs["distributed"]
    line = line_of(runs, "distributed")
    if block is None:
        block = {}
    if not isinstance(block, dict):
        check.error("runs.distributed", f"expected a mapping (enabled, coordinator, workers), found {type_name(block)}",
                    line)
        return
    check.keys(block, DISTRIBUTED_KEYS, "runs.distributed")
    workers = block.get("workers")
    count = len(workers) if isinstance(workers, list) and workers else None
    n = str(count) if count else "N"
    if block.get("enabled") is False:
        check.warn("runs.distributed", "ignored (enabled: false); this run uses the machine it is started on", line)
        return
    check.warn("runs.distributed",
               "not used: gradual needs no coordinator and contacts no worker address; it distributes with "
               f"`gradual master CONFIG --expect-workers {n}` on one machine and "
               "`gradual worker --host MASTER_HOST` on each worker machine (workers connect to the master)", line)


def check_phase_name(check: Checker, phase: dict, path: str) -> None:
    """A ``name:`` inside a phase (the original user guide lists it as the phase's identifier): the mapping
    key is the name; the value is accepted and not used, as the original ignored it."""
    if "name" in phase:
        key = path.rsplit(".", 1)[-1]
        check.warn(f"{path}.name", f"not used: a phase is named by its key ({key!r}); remove this key or rename "
                   "the phase", line_of(phase, "name"))
