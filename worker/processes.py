"""`gradual worker --processes N`: N worker processes on this machine, supervised by this one.

Each child is a plain `gradual worker` with its own id; a signal to the parent reaches every child,
and the parent exits when they all have (with the worst exit code).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence


def supervise(argv: Sequence[str], count: int, worker_id: str) -> int:
    children = [
        subprocess.Popen([sys.executable, "-m", "gradual", "worker", *argv, "--worker-id", f"{worker_id}-{i}"])
        for i in range(count)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while any(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for child in children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(5)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    return max(_exit_status(child.returncode) for child in children)


def _exit_status(returncode: int | None) -> int:
    # Popen reports death by signal N as -N; the shell convention 128 + N keeps it from reading as success.
    if returncode is None:
        return 0
    return 128 - returncode if returncode < 0 else returncode
