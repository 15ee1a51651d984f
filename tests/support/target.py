"""Run the demo target (`python -m gradual.demo.target`) as a subprocess for tests.

`TargetProcess` starts it on a free loopback port, reads what it counted, and always stops it by its own pid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from gradual.demo.process import STARTUP_TIMEOUT_S
from gradual.demo.process import TargetProcess as DemoTargetProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT_S = 5.0


class TargetProcess(DemoTargetProcess):
    """The demo target in its own process (gradual.demo.process), plus what tests read from it.

    Control calls share one keep-alive connection, so while this object is in use the server's
    `connections` figure includes exactly one connection of its own.
    """

    def __init__(self, host: str = "127.0.0.1", startup_timeout: float = STARTUP_TIMEOUT_S) -> None:
        super().__init__(host=host, startup_timeout=startup_timeout)
        self._session: requests.Session | None = None

    def start(self) -> TargetProcess:
        if self.proc is None:
            super().start()
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
        """Close the control connection, then stop the process (safe to call any number of times)."""
        if self._session is not None:
            self._session.close()
            self._session = None
        super().stop()

    def _control(self) -> requests.Session:
        if self._session is None:
            raise RuntimeError("demo target is not running")
        return self._session
