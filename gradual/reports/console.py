"""The console: a live view refreshed every tick, and the final summary.

On a terminal the live view (rich's Live, console_live) fits the width and redraws in place; each phase's
last view stays on the screen when the next one starts, once. Log lines on a terminal's stderr are
printed above the live view instead of through it. Not a TTY, every tick is one plain line (scripts and
tests read them) and the final summary keeps every column.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.live import Live

from .console_live import Tally, ms, pause_view, phase_view, rate
from .console_summary import final_summary

# Not a terminal: no width to fit, so the final summary's table keeps every column (COLUMNS overrides).
PLAIN_WIDTH = 1000


class ConsoleReporter:
    """Observer of the controller: ``update`` each tick, ``between_phases`` in a pause, ``final`` with the summary."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = _isatty(self.stream) if live is None else live
        if self.live:
            self.console = Console(file=self.stream)
        else:
            width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else PLAIN_WIDTH
            self.console = Console(file=self.stream, width=width, color_system=None, force_terminal=False,
                                   highlight=False)
        self._live: Live | None = None
        self._phase: str | None = None
        self._block: RenderableType | None = None  # the current phase's latest view
        self._paused = False
        self._logs: list[logging.StreamHandler[Any]] = []  # handlers pointed at the live view's stderr
        self._original_stderr: TextIO = sys.stderr

    # -- every tick ------------------------------------------------------------------------------
    def update(self, controller: Any) -> None:
        phase = controller.phase
        if phase is None or not controller.samples:
            return
        self._paused = False
        if not self.live:
            self._plain(controller)
            return
        if phase.name != self._phase:
            self._keep_block()
            self._phase = phase.name
        self._block = phase_view(controller, time.monotonic(), self.console.width)
        self._show(self._block)

    def between_phases(self, controller: Any, left: float) -> None:
        """The pause before the next phase: ``left`` seconds of it remain."""
        if not self.live:
            if not self._paused:
                upcoming = controller.run.phases[len(controller.phases)].name
                self.stream.write(f"[pause {controller.run.wait_between_phases:g}s before {upcoming}]\n")
                self.stream.flush()
            self._paused = True
            return
        self._paused = True
        self._keep_block()
        self._show(pause_view(controller, time.monotonic(), left, self.console.width))

    def _plain(self, controller: Any) -> None:
        phase, sample = controller.phase, controller.samples[-1]
        parts = []
        for scen in phase.scenarios:
            tally = Tally()
            for req in scen.requests:
                t = controller.stats.get(phase.name, scen.name, req.name)
                if t is not None:
                    tally.add(t, req.expected_response_time is not None)
            p50, p95, p99 = tally.hist.percentiles((50.0, 95.0, 99.0)) if tally.hist else (0.0, 0.0, 0.0)
            within = f"{tally.within / tally.judged * 100:.1f}%" if tally.judged else "-"
            parts.append(f"{scen.name}: users={sample.users.get(scen.name, 0)} "
                         f"rps={rate(controller.samples, scen.name, controller.tick):.1f} p50={ms(p50)}ms "
                         f"p95={ms(p95)}ms p99={ms(p99)}ms requests={tally.count} fails={tally.failures} "
                         f"in_expected={within}")
        elapsed = min(sample.t, phase.run_time)
        self.stream.write(f"[{phase.name} {elapsed:.1f}/{phase.run_time:g}s] " + " | ".join(parts) + "\n")
        self.stream.flush()

    # -- the live view ---------------------------------------------------------------------------
    def _show(self, view: RenderableType) -> None:
        if self._live is None:
            # auto_refresh off: no refresh thread; the controller's tick redraws. transient: at the end
            # the live view goes away and the summary takes its place.
            self._live = Live(view, console=self.console, auto_refresh=False, transient=True,
                              redirect_stdout=True, redirect_stderr=_isatty(sys.stderr))
            stderr = sys.stderr
            self._live.start(refresh=True)
            self._follow_stderr(stderr)
            # A run that ends without final() (an internal error) must not leave the cursor hidden.
            atexit.register(self._stop_live)
        else:
            self._live.update(view, refresh=True)

    def _follow_stderr(self, original: TextIO) -> None:
        """Log handlers writing to the terminal's stderr write through the live view while it runs."""
        if sys.stderr is original:  # not redirected (stderr is not a terminal)
            return
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                handler.setStream(sys.stderr)
                self._logs.append(handler)
        self._original_stderr = original

    def _keep_block(self) -> None:
        """Leave the finished phase's last view on the screen, above the live one."""
        if self._block is not None and self._live is not None:
            self._live.console.print(self._block)
        self._block = None

    def _stop_live(self) -> None:
        if self._live is None:
            return
        self._keep_block()
        self._live.stop()
        for handler in self._logs:
            handler.setStream(self._original_stderr)
        self._logs.clear()
        self._live = None

    # -- the end ---------------------------------------------------------------------------------
    def final(self, summary: dict[str, Any]) -> None:
        self._stop_live()
        for part in final_summary(summary, self.console.width):
            self.console.print(part)
        self.stream.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
