"""`gradual run --workers N`: N local worker processes over loopback, stopped by their own pids."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from gradual.children import own_session

STOP_WAIT = 5.0


class LocalCluster:
    def __init__(self, port: int, count: int, host: str = "127.0.0.1", keys: Path | None = None) -> None:
        self.port, self.count, self.host, self.keys = port, count, host, keys
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> LocalCluster:
        for i in range(self.count):
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "gradual", "worker", "--host", self.host, "--port", str(self.port),
                 "--worker-id", f"local-{i + 1}", "--log-level", "WARNING",
                 *(["--keys", str(self.keys)] if self.keys is not None else [])],
                **own_session(),
            ))
        return self

    def failed(self) -> str | None:
        """Why the cluster cannot start: a worker process that has already exited."""
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                return f"local worker local-{i + 1} exited with code {proc.returncode} before the run started"
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        deadline = time.monotonic() + STOP_WAIT
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
