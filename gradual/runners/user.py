"""A virtual user: a greenlet that runs requests in a loop until told to stop.

Stop is cooperative (the flag is read at each iteration boundary); a user still busy after the
stop timeout is killed, and its in-flight request is counted as interrupted, exactly once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import gevent
from gevent import Greenlet, GreenletExit, get_hub
from gevent.event import Event

from .. import events
from ..configs.decorators import accepts_argument
from ..configs.model import RequestConfig, WaitTime
from ..journeys.data import Exhausted, Feeder
from .base import EXCEPTION, Outcome, RequestRunner, UserContext
from .records import CompletionRecord

log = logging.getLogger("gradual.engine")

# A request that never waits on I/O (a Python function that fails at once, a CPU-only function, an
# answer already buffered) never hands the hub a turn: a user looping on it would starve every other
# greenlet, the controller's timers and signal handlers included, and the run would never end. So a
# user yields once the event loop has not gone round for this many of its iterations in a row.
MAX_ITERATIONS_WITHOUT_LOOP = 8
SETUP_RETRY = 1.0  # seconds before a failed on_start step is tried again, for a scenario without wait_time

class Step:
    """One request as a user runs it: its runner, its stats slot and its callbacks."""

    __slots__ = ("request", "runner", "slot", "callbacks", "params", "prepare")

    def __init__(self, request: RequestConfig, runner: RequestRunner, slot: Any) -> None:
        self.request = request
        self.runner = runner
        self.slot = slot
        self.callbacks = [(cb, accepts_argument(cb)) for cb in request.callbacks]
        runner.slot = slot  # a runner following redirects records each hop there
        # The user's own copy: a request function may change ctx.params and see it on its next call.
        self.params: dict[str, Any] = dict(request.params or {})
        # Untimed work a runner does before each request (a WebSocket's pacing and connection upkeep).
        self.prepare: Callable[[], None] | None = getattr(runner, "prepare", None)


class User(Greenlet):
    """Runs ``steps`` in order (a journey) or its one pinned step, once or until stopped."""

    def __init__(
        self,
        ctx: UserContext,
        steps: Sequence[Step],
        *,
        once: bool,
        on_exit: Callable[[User], None] | None = None,
        wait: WaitTime | None = None,
        setup: Sequence[Step] = (),
        feeder: Feeder | None = None,
    ) -> None:
        super().__init__()
        self.setup = list(setup)  # on_start steps: once, before the loop, retried until they pass
        self.feeder = feeder
        self.ctx = ctx
        self.steps = list(steps)
        self.once = once
        self.stopping = False
        self.current: Step | None = None
        self._on_exit = on_exit
        self.wait = wait
        self._wake = Event() if wait is not None else None  # set by stop(): a user never sleeps through it

    def stop(self) -> None:
        """Stop at the next iteration boundary (at once when it is waiting between iterations)."""
        self.stopping = True
        if self._wake is not None:
            self._wake.set()

    def _pause(self, started_ns: int) -> float:
        """Seconds to wait after an iteration that started at ``started_ns`` (perf_counter_ns)."""
        wait = self.wait
        assert wait is not None
        if wait.kind == "constant_pacing":  # an overrun waits 0: no catch-up burst
            return wait.seconds - (time.perf_counter_ns() - started_ns) / 1e9
        if wait.kind == "between":
            return random.uniform(wait.seconds, wait.high)
        return wait.seconds

    def _run(self) -> None:  # noqa: C901 - the hot loop is kept in one frame on purpose
        steps = self.steps
        n = len(steps)
        ctx = self.ctx
        perf = time.perf_counter_ns
        mono = time.monotonic
        loop = get_hub().loop
        last_loop = -1
        busy = 0
        iteration = 0
        # The request event's own listener list (mutated in place, so this stays live): with no
        # listener and no callback, no completion record is built.
        listeners = events.request.listeners
        wake = self._wake
        interval_ns = int(self.wait.seconds * 1e9) if self.wait is not None and self.wait.paced else 0
        feeder = self.feeder
        per_iteration = feeder is not None and feeder.spec.scope == "iteration"
        try:
            if feeder is not None and not per_iteration and not self._draw():
                return
            if self.setup and not self._run_setup():
                return
            while not self.stopping:
                if per_iteration and iteration % n == 0 and not self._draw():
                    break  # the rows ran out (on_exhausted: stop): this user's journey is over
                step = steps[iteration % n]
                ctx.iteration = iteration
                ctx.params = step.params
                self.current = step
                if step.prepare is not None:
                    step.prepare()
                    if self.stopping:  # told to stop while it waited: the request never started
                        break
                wants_record = bool(step.callbacks or listeners)
                wall = time.time_ns() if wants_record else 0
                t0 = perf()
                try:
                    outcome = step.runner.run()
                except GreenletExit:
                    step.slot.interrupted(1, mono())
                    raise
                except Exception as exc:  # a runner bug must not kill the user silently
                    log.exception("runner for %s failed", step.request.name)
                    outcome = Outcome(error_kind=EXCEPTION, error_message=f"{type(exc).__name__}: {exc}")
                elapsed = perf() - (outcome.started or t0)
                self.current = None
                if interval_ns:
                    # Paced: the overrun hid the iterations it delayed; fill them in (expected-interval correction).
                    step.slot.record(elapsed, mono(), outcome.status, outcome.nbytes, outcome.error_kind,
                                     outcome.error_message, elapsed)
                    step.slot.fill_in(elapsed, interval_ns)
                else:
                    step.slot.record(elapsed, mono(), outcome.status, outcome.nbytes, outcome.error_kind,
                                     outcome.error_message)
                if wants_record:
                    self._complete(step, outcome, elapsed, wall, iteration)
                iteration += 1
                if self.once:
                    break
                if wake is not None:  # think time / pacing: outside every timed span
                    pause = self._pause(t0)
                    if pause > 0:
                        wake.wait(pause)
                        continue
                loop_now = loop.iteration
                if loop_now != last_loop:
                    last_loop, busy = loop_now, 0
                else:
                    busy += 1
                    if busy >= MAX_ITERATIONS_WITHOUT_LOOP:
                        busy = 0
                        gevent.sleep(0)
        finally:
            self.current = None
            for step in (*self.setup, *steps):
                step.runner.close()
            ctx.close()
            if self._on_exit is not None:
                self._on_exit(self)

    def _draw(self) -> bool:
        """Give the user its next data row; False when the rows ran out (on_exhausted: stop)."""
        assert self.feeder is not None
        try:
            self.ctx.row = self.feeder.draw()
        except Exhausted:
            return False
        return True

    def _run_setup(self) -> bool:
        """Run the on_start steps in order; a failed one is retried after the wait time (1 s without one).

        Each attempt is a recorded request under its own name. False when the user was stopped first.
        """
        for step in self.setup:
            while not self.stopping:
                outcome = self._once(step, -1)
                if outcome.error_kind is None:
                    break
                pause = self._pause(time.perf_counter_ns()) if self.wait is not None else SETUP_RETRY
                if self._wake is not None:
                    self._wake.wait(max(pause, 0.0) or SETUP_RETRY)
                else:
                    gevent.sleep(max(pause, 0.0) or SETUP_RETRY)
            if self.stopping:
                return False
        return True

    def _once(self, step: Step, iteration: int) -> Outcome:
        """One request outside the hot loop (setup steps): run, time, record, complete."""
        ctx = self.ctx
        ctx.iteration = iteration
        ctx.params = step.params
        self.current = step
        wants_record = bool(step.callbacks or events.request.listeners)
        wall = time.time_ns() if wants_record else 0
        t0 = time.perf_counter_ns()
        try:
            outcome = step.runner.run()
        except GreenletExit:
            step.slot.interrupted(1, time.monotonic())
            raise
        except Exception as exc:  # a runner bug must not kill the user silently
            log.exception("runner for %s failed", step.request.name)
            outcome = Outcome(error_kind=EXCEPTION, error_message=f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter_ns() - (outcome.started or t0)
        self.current = None
        step.slot.record(elapsed, time.monotonic(), outcome.status, outcome.nbytes, outcome.error_kind,
                         outcome.error_message)
        if wants_record:
            self._complete(step, outcome, elapsed, wall, iteration)
        return outcome

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
        if events.request.listeners:
            events.request.fire(record=record)
