"""The demo target in a child process: started on a free loopback port, stopped by its own pid.

It runs in its own session (gradual.children): a Ctrl-C stops gradual's load first, then gradual stops it.

`gradual demo` runs its test against one; the test-suite builds its `target` fixture on the same class.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from ..children import own_session

STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class TargetProcess:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = STARTUP_TIMEOUT_S) -> None:
        self.host = host
        self.requested_port = port
        self.startup_timeout = startup_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def start(self) -> TargetProcess:
        """Start and wait (bounded) for the port file; RuntimeError with the server's output if it fails."""
        if self.proc is not None:
            return self
        self._tmpdir = tempfile.mkdtemp(prefix="gradual-target-")
        port_file = Path(self._tmpdir, "port")
        log_path = Path(self._tmpdir, "target.log")
        cmd = [sys.executable, "-m", "gradual.demo.target", "--host", self.host, "--port", str(self.requested_port),
               "--port-file", str(port_file)]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **own_session())
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(errors="replace").strip()
                self.stop()
                raise RuntimeError(f"demo target did not start: {output or 'no output'}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        return self

    def stop(self) -> None:
        """SIGTERM, up to 5 s, then SIGKILL; safe to call any number of times."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> TargetProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self.stop()
