"""A virtual user: a greenlet that runs requests in a loop until told to stop.

Stop is cooperative (the flag is read at each iteration boundary); a user still busy after the
stop timeout is killed, and its in-flight request is counted as interrupted, exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from gevent import Greenlet, GreenletExit

from ..configs.decorators import accepts_argument
from ..configs.model import RequestConfig
from .base import EXCEPTION, Outcome, RequestRunner, UserContext
from .records import CompletionRecord

log = logging.getLogger("gradual.engine")

RecordHook = Callable[[CompletionRecord], None]


class Step:
    """One request as a user runs it: its runner, its stats slot and its callbacks."""

    __slots__ = ("request", "runner", "slot", "callbacks")

    def __init__(self, request: RequestConfig, runner: RequestRunner, slot: Any) -> None:
        self.request = request
        self.runner = runner
        self.slot = slot
        self.callbacks = [(cb, accepts_argument(cb)) for cb in request.callbacks]


class User(Greenlet):
    """Runs ``steps`` in order (a journey) or its one pinned step, once or until stopped."""

    def __init__(
        self,
        ctx: UserContext,
        steps: Sequence[Step],
        *,
        once: bool,
        hooks: Sequence[RecordHook] = (),
        on_exit: Callable[[User], None] | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.steps = list(steps)
        self.once = once
        self.hooks = hooks
        self.stopping = False
        self.current: Step | None = None
        self._on_exit = on_exit

    def stop(self) -> None:
        """Stop at the next iteration boundary."""
        self.stopping = True

    def _run(self) -> None:  # noqa: C901 - the hot loop is kept in one frame on purpose
        steps = self.steps
        n = len(steps)
        ctx = self.ctx
        perf = time.perf_counter_ns
        mono = time.monotonic
        iteration = 0
        try:
            while not self.stopping:
                step = steps[iteration % n]
                ctx.iteration = iteration
                self.current = step
                wall = time.time_ns() if (step.callbacks or self.hooks) else 0
                t0 = perf()
                try:
                    outcome = step.runner.run()
                except GreenletExit:
                    step.slot.interrupted(1, mono())
                    raise
                except Exception as exc:  # a runner bug must not kill the user silently
                    log.exception("runner for %s failed", step.request.name)
                    outcome = Outcome(error_kind=EXCEPTION, error_message=f"{type(exc).__name__}: {exc}")
                elapsed = perf() - t0
                self.current = None
                step.slot.record(elapsed, mono(), outcome.status, outcome.nbytes, outcome.error_kind,
                                 outcome.error_message)
                if step.callbacks or self.hooks:
                    self._complete(step, outcome, elapsed, wall, iteration)
                iteration += 1
                if self.once:
                    break
        finally:
            self.current = None
            for step in steps:
                step.runner.close()
            ctx.close()
            if self._on_exit is not None:
                self._on_exit(self)

    def _complete(self, step: Step, outcome: Any, elapsed: int, wall: int, iteration: int) -> None:
        req = step.request
        record = CompletionRecord(
            request_name=req.name,
            url=req.url,
            params=req.params,
            context=self.ctx,
            response_time=elapsed,
            status_code=outcome.status,
            start_time=wall,
            end_time=wall + elapsed,
            iid=iteration,
            scenario_name=self.ctx.scenario,
            expected_response_time=req.expected_response_time,
            phase_name=self.ctx.phase,
            error=None if outcome.error_kind is None else f"{outcome.error_kind}: {outcome.error_message}",
            response=outcome.response,
        )
        for callback, with_record in step.callbacks:
            try:
                callback(record) if with_record else callback()
            except Exception:  # a callback's bug is reported, the run goes on
                log.exception("on_call_completion callback %s for %s raised",
                              getattr(callback, "__name__", callback), req.name)
        for hook in self.hooks:
            hook(record)
