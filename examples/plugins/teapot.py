"""A custom route on the master's HTTP API: GET /teapot answers 418 with the run's live request count.

The pattern for any route of your own (a health check for an orchestrator, a live KPI for a dashboard):
`self.env.add_route(path, handler)`, where `handler(environ)` returns (status, content type, body) and a
dict or list body is sent as JSON. Routes are served only where the HTTP API runs: start the master (or
`gradual run`) with --http-port.

    runs:
      plugins: [teapot.py]
"""

from __future__ import annotations

from typing import Any

from gradual import Plugin


class Teapot(Plugin):
    """Adds GET /teapot to the master's HTTP API (418, with the live request count)."""

    name = "teapot"
    runs_on = "master"

    def initialize(self) -> None:
        self.env.add_route("/teapot", self.brew)

    def brew(self, environ: dict[str, Any]) -> tuple[int, str, Any]:
        totals = self.env.controller.stats.totals()
        return 418, "application/json", {
            "message": "I'm a teapot",
            "run": self.env.run.name,
            "state": self.env.controller.state,
            "requests_so_far": totals.count,
        }
