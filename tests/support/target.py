"""Run the demo target (`python -m gradual.demo.target`) as a subprocess for tests.

`TargetProcess` starts it on a free loopback port, reads what it counted, and always stops it by its own pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
HTTP_TIMEOUT_S = 5.0


class TargetProcess:
    """The demo target in its own process.

    Control calls share one keep-alive connection, so while this object is in use the server's
    `connections` figure includes exactly one connection of its own.
    """

    def __init__(self, host: str = "127.0.0.1", startup_timeout: float = STARTUP_TIMEOUT_S) -> None:
        self.host = host
        self.startup_timeout = startup_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None
        self._session: requests.Session | None = None

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
        if self.proc is not None:
            return self
        self._tmpdir = tempfile.mkdtemp(prefix="gradual-target-")
        port_file = Path(self._tmpdir, "port")
        log_path = Path(self._tmpdir, "target.log")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "gradual.demo.target", "--host", self.host, "--port", "0"]
        cmd += ["--port-file", str(port_file)]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(errors="replace").strip()
                self.stop()
                raise RuntimeError(f"demo target did not start: {output or 'no output'}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        self._session = requests.Session()
        return self

    def counts(self) -> dict[str, Any]:
        """The server's `GET /__counts` document: requests, total, ws_messages, connections, ..."""
        response = self._control().get(f"{self.url}/__counts", timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        self._control().post(f"{self.url}/__reset", timeout=HTTP_TIMEOUT_S).raise_for_status()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        """Poll counts() until predicate(counts) holds; the last counts on success, AssertionError if not."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            if predicate(counts):
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; last counts: {counts}")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM, up to 5 s, then SIGKILL; safe to call any number of times."""
        if self._session is not None:
            self._session.close()
            self._session = None
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

    def _control(self) -> requests.Session:
        if self._session is None:
            raise RuntimeError("demo target is not running")
        return self._session

    def __enter__(self) -> TargetProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
