"""Fail-ratio watchdog: stops the run when too many requests fail, instead of hammering a broken system.

A background plugin on the master: every `interval` seconds it reads the merged stats of the whole run
and, once at least `min_requests` have completed, stops the run when the failure ratio exceeds
`max_fail_ratio`. The run stops like Ctrl-C (reports are still written) but exits with `exit_code`
(default 1, "a check failed"). With --http-port it also answers GET /watchdog with its state.

    runs:
      plugins:
        - path: fail_ratio_watchdog.py
          options: {max_fail_ratio: 0.2, min_requests: 50, interval: 0.5}
"""

from __future__ import annotations

from typing import Any

from gradual import BackgroundPlugin


class FailRatioWatchdog(BackgroundPlugin):
    """Stops the run when the failure ratio goes over a limit."""

    name = "fail-ratio-watchdog"
    runs_on = "master"  # the merged stats of every worker live on the master

    def initialize(self) -> None:
        self.max_ratio = float(self.options.get("max_fail_ratio", 0.1))
        self.min_requests = int(self.options.get("min_requests", 20))
        self.interval = float(self.options.get("interval", 0.5))
        self.exit_code = int(self.options.get("exit_code", 1))
        self.ratio = 0.0
        self.tripped: str | None = None

    def start(self) -> None:
        super().start()
        self.env.add_route("/watchdog", self.state)  # only served with --http-port

    def run(self) -> None:
        while self.sleep(self.interval):
            totals = self.env.controller.stats.totals()
            completed = totals.count - totals.interrupted
            if completed < self.min_requests:
                continue
            self.ratio = totals.failures / completed
            if self.ratio > self.max_ratio:
                self.tripped = (f"fail-ratio-watchdog: {totals.failures} of {completed} requests failed "
                                f"({self.ratio:.1%} > {self.max_ratio:.1%})")
                self.env.stop(self.tripped, self.exit_code)
                return

    def state(self, environ: dict[str, Any]) -> tuple[int, str, Any]:
        return 200, "application/json", {"max_fail_ratio": self.max_ratio, "fail_ratio": round(self.ratio, 6),
                                         "tripped": self.tripped}
