"""Child processes gradual starts and stops itself (the demo target, local workers).

Each runs in its own session: a Ctrl-C in the terminal reaches the process group of gradual only, so
gradual stops the load first and its children after, instead of every process dying at once (a target
gone before the load stopped shows as failures gradual caused itself). The kernel still stops a child
when gradual dies, even by SIGKILL.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with(parent: int) -> Callable[[], None] | None:
    """On Linux, a preexec hook that has the kernel SIGTERM the child when ``parent`` dies.

    Without it a child of a `gradual` killed with SIGKILL is left behind: a worker stops its load after
    master_timeout but then waits for a master forever, a demo target serves on.
    """
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before the hook ran
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def own_session() -> dict[str, Any]:
    """subprocess.Popen keyword arguments for a child in its own session that dies with this process."""
    return {"start_new_session": True, "preexec_fn": die_with(os.getpid())}
