"""The Environment a node's plugins and listeners see: its role, the run, and what they may touch.

One per process and run (the `init` event and every plugin get it): the controller on the master, the
engine on a worker, both in local mode; plus the two actions plugins need, ``stop()`` and ``add_route()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .. import events
from .manager import PluginManager

log = logging.getLogger("gradual.plugins")

MASTER = "master"  # runs the controller (gradual master; gradual run --workers N)
WORKER = "worker"  # runs the engine (gradual worker)
LOCAL = "local"  # gradual run without --workers: both roles in one process

# A route answers (status code, content type, body); a dict or list body is sent as JSON.
RouteHandler = Callable[[dict[str, Any]], tuple[int, str, Any]]

_current: Environment | None = None


def current_environment() -> Environment | None:
    """The Environment of the run this process is part of now, if any."""
    return _current


class Environment:
    def __init__(
        self,
        role: str,
        run: Any = None,
        *,
        controller: Any = None,
        engine: Any = None,
        http_api: Any = None,
        worker_id: str | None = None,
    ) -> None:
        global _current
        if role not in (MASTER, WORKER, LOCAL):
            raise ValueError(f"unknown role {role!r}")
        self.role = role
        self.run = run  # the RunConfig
        self.controller = controller  # master.controller.Controller (master, local)
        self.engine = engine  # runners.engine.Engine (worker, local)
        self.http_api = http_api  # master.http_api.HttpApi (master and local with --http-port), else None
        self.worker_id = worker_id  # this worker's id (worker), "local" (local), None (master)
        self.process_exit_code: int | None = None  # a quitting listener sets it to change the exit code
        self.data: dict[str, Any] = {}  # scratch space plugins of one node may share
        self.plugins = PluginManager(self)
        _current = self

    @property
    def is_master(self) -> bool:
        """This process runs the controller (master or local)."""
        return self.role in (MASTER, LOCAL)

    @property
    def is_worker(self) -> bool:
        """This process runs load (worker or local)."""
        return self.role in (WORKER, LOCAL)

    def runs(self, runs_on: str) -> bool:
        """Whether a plugin declared to run on ``runs_on`` loads on this node."""
        if runs_on == events.BOTH or self.role == LOCAL:
            return True
        return runs_on == self.role

    def stop(self, reason: str, exit_code: int = 1) -> bool:
        """Stop the run now (users stop at once, reports are still written) with ``exit_code``.

        Works where the controller runs (master, local); on a worker it is logged and ignored, since
        the master decides when a run ends. Returns whether the stop was taken.
        """
        if self.controller is None:
            log.warning("stop(%r) ignored: only the master can stop the run", reason)
            return False
        self.controller.stop(reason, exit_code)
        return True

    def add_route(self, path: str, handler: RouteHandler) -> bool:
        """Serve ``handler(environ) -> (status, content_type, body)`` at ``path`` on the master's HTTP API.

        False (logged) when this node serves no HTTP API: a worker, or a master without --http-port.
        """
        if self.http_api is None:
            log.warning("route %s not served: no HTTP API on this node (start the master with --http-port)", path)
            return False
        self.http_api.add_route(path, handler)
        return True

    def close(self) -> None:
        """Close the plugins and forget this environment (the run is over)."""
        global _current
        self.plugins.close()
        if _current is self:
            _current = None

    def __repr__(self) -> str:
        return f"<Environment role={self.role} run={getattr(self.run, 'name', None)!r}>"
