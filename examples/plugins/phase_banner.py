"""Event hooks without a class: module-level listeners that print a line per phase and a closing total.

A plugin file may just register listeners; it is loaded on every node that imports it (in a cluster:
the master and each worker), so each listener checks `environment.role` where that matters.

    runs:
      plugins: [phase_banner.py]
"""

from __future__ import annotations

import sys
from typing import Any

from gradual import events


@events.phase_start.add_listener
def announce(phase: str, index: int, role: str, **kwargs: Any) -> None:
    if role != "worker":  # the master's view; each worker fires its own too
        print(f"[gradual] phase {index + 1} {phase!r} started", file=sys.stderr, flush=True)


@events.phase_stop.add_listener
def summarize(phase: str, duration_s: float | None, environment: Any, role: str, **kwargs: Any) -> None:
    if role != "worker":
        count = environment.controller.stats.phase_totals(phase).count
        print(f"[gradual] phase {phase!r} ended after {duration_s:.1f}s: {count} requests", file=sys.stderr,
              flush=True)
