"""The open model on one node: arrivals on a schedule from phase start, each run by a journey that is ready.

The pool keeps its share of ``max_concurrency`` journeys spawned and idle, so an arrival only hands one
its scheduled time (no spawn on the hot path). An arrival that finds none idle is dropped and counted:
scheduled == started + dropped, exactly. The first request of a journey records its latency from the
arrival's scheduled time and its service time from its send; later requests start when the previous
one ended, so there the two are the same number (DESIGN.md, "Latency and coordinated omission").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gevent
from gevent import GreenletExit
from gevent.hub import Waiter, get_hub

from .. import events
from ..configs.model import ScenarioConfig
from ..journeys.cookies import CookieJar
from ..stats.histogram import Histogram
from . import RUNNERS
from .arrivals import NEVER, ArrivalSchedule
from .base import EXCEPTION, Outcome, UserContext
from .user import Step, User

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("gradual.engine")

# An arrival the scheduler reaches this late (it was starved of the CPU) is dropped rather than started
# in a catch-up burst with the others it fell behind on.
MAX_LATENESS_S = 0.5
RATE_POLL_S = 0.05  # the longest the scheduler sleeps before it looks at the schedule again


class Journey(User):
    """One ready journey: waits for an arrival, runs the scenario's requests for it, waits again."""

    def __init__(self, pool: OpenPool, ctx: UserContext, steps: Sequence[Step], setup: Sequence[Step] = (),
                 feeder: Any = None) -> None:
        super().__init__(ctx, steps, once=False, on_exit=pool._exited, setup=setup, feeder=feeder)
        self.pool = pool
        # An idle journey waits on a Waiter; the scheduler hands it an arrival through the hub (the cheapest
        # wake-up gevent has: no Event, no timer). None while it runs one.
        self._waiter: Waiter | None = Waiter()

    def stop(self) -> None:
        self.stopping = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None:  # idle: wake it to exit; a running journey sees the flag when it is done
            self.pool.callback(waiter.switch, None)

    def begin(self, scheduled_ns: int, pick: int) -> None:
        waiter, self._waiter = self._waiter, None
        assert waiter is not None, "an arrival handed to a journey that is not idle"
        self.pool.callback(waiter.switch, (scheduled_ns, pick))

    def _run(self) -> None:
        pool = self.pool
        steps = self.steps
        perf = time.perf_counter_ns
        mono = time.monotonic
        listeners = events.request.listeners
        iterate = pool.scenario.iterate_through_requests
        feeder = self.feeder
        per_arrival = feeder is not None and feeder.spec.scope == "iteration"
        try:
            # Journeys (data, on_start): a ready journey takes its row and runs its setup before its first
            # arrival; with scope: iteration each arrival takes a new row. No row left: the journey ends.
            if feeder is not None and not per_arrival and not self._draw():
                return
            if self.setup and not self._run_setup():
                return
            while True:
                waiter = self._waiter
                job = waiter.get() if waiter is not None else None
                if job is None or self.stopping:
                    break
                if per_arrival and not self._draw():
                    break
                intended, pick = job
                journey = steps if iterate else (steps[pick % len(steps)],)
                for i, step in enumerate(journey):
                    if i and self.stopping:
                        break
                    self.ctx.params = step.params
                    self.current = step
                    wants_record = bool(step.callbacks or listeners)
                    wall = time.time_ns() if wants_record else 0
                    t0 = perf()
                    if i == 0:
                        pool.lateness.record(max(0, t0 - intended) // 1000)
                    try:
                        outcome = step.runner.run()
                    except GreenletExit:
                        step.slot.interrupted(1, mono())
                        raise
                    except Exception as exc:  # a runner bug must not kill the journey silently
                        log.exception("runner for %s failed", step.request.name)
                        outcome = Outcome(error_kind=EXCEPTION, error_message=f"{type(exc).__name__}: {exc}")
                    end = perf()
                    self.current = None
                    service = end - t0
                    if i == 0:  # from the arrival's scheduled time: lateness and queueing count
                        step.slot.record(end - intended, mono(), outcome.status, outcome.nbytes, outcome.error_kind,
                                         outcome.error_message, service)
                    else:
                        step.slot.record(service, mono(), outcome.status, outcome.nbytes, outcome.error_kind,
                                         outcome.error_message)
                    if wants_record:
                        self._complete(step, outcome, service, wall, self.ctx.iteration)
                self.ctx.iteration += 1
                pool.journey_time_ns += perf() - intended
                pool.journeys += 1
                self._waiter = Waiter()  # ready before _finished() makes it idle again
                if not pool._finished(self):
                    self._waiter = None
                    break
        finally:
            self.current = None
            for step in (*self.setup, *steps):
                step.runner.close()
            self.ctx.close()
            self._on_exit(self)  # type: ignore[misc]


class OpenPool:
    """The arrivals and journeys of one open scenario in one phase on this node."""

    def __init__(self, engine: Engine, phase: str, scenario: ScenarioConfig, seed: int | None = None) -> None:
        self.engine = engine
        self.phase = phase
        self.scenario = scenario
        self.cap = 0  # this node's share of max_concurrency
        self.offset = 0
        self.idle: list[Journey] = []
        self.busy: set[Journey] = set()
        self.retired: set[Journey] = set()
        self.counts = engine.recorder.arrivals(phase, scenario.name)
        self.schedule = ArrivalSchedule(scenario.arrivals, seed)
        self.origin_ns = time.perf_counter_ns()
        self.lateness = Histogram()  # µs from an arrival's due time to its first request's send
        self.journey_time_ns = 0  # time from arrival to end, summed over finished journeys
        self.journeys = 0
        self.peak = 0
        self.window_peak = 0
        self.done = False  # never: an open scenario runs for its phase's run_time
        self.callback = get_hub().loop.run_callback
        self._stopped = False
        self._spawned = 0
        self._arrival = 0
        self._scheduler: gevent.Greenlet | None = None

    # -- the controller's view --------------------------------------------------------------------
    def count(self) -> int:
        """Journeys in flight (the open model's users gauge)."""
        return len(self.busy)

    def set_target(self, cap: int, offset: int = 0) -> None:
        """This node's share of max_concurrency: that many journeys are kept ready."""
        self.offset = offset
        self.cap = cap
        while len(self.idle) + len(self.busy) < cap:
            journey = self._spawn()
            self.idle.append(journey)
            journey.start()
        surplus = len(self.idle) + len(self.busy) - cap
        while surplus > 0 and self.idle:
            self._retire(self.idle.pop())
            surplus -= 1

    def set_rate(self, rate: float, theta: float = 0.0) -> None:
        """From now on, ``rate`` arrivals per second on this node (``theta``: its phase in the cluster)."""
        now = (time.perf_counter_ns() - self.origin_ns) / 1e9
        self._fire_due(now)  # arrivals owed under the old rate are handled under it
        self.schedule.set_rate(now, rate, theta)
        if self._scheduler is None and not self._stopped:
            self._scheduler = gevent.spawn(self._schedule)

    # -- journeys ---------------------------------------------------------------------------------
    def _spawn(self) -> Journey:
        scen = self.scenario
        index = self.offset + self._spawned
        self._spawned += 1
        engine = self.engine
        ctx = UserContext(user=index, scenario=scen.name, phase=self.phase, host=engine.run.host,
                          worker=engine.worker, cookies=CookieJar() if scen.cookies else None,
                          vars=dict(scen.vars))
        rec = self.engine.recorder
        setup = [Step(req, RUNNERS[req.kind](req, ctx), rec.slot(self.phase, scen.name, req.name,
                                                                  req.expected_response_time))
                 for req in scen.on_start]
        steps = []
        for i, req in enumerate(scen.requests):
            # The first request of a journey (every request, round-robin) is measured from the arrival.
            corrected = i == 0 or not scen.iterate_through_requests
            steps.append(Step(req, RUNNERS[req.kind](req, ctx),
                              rec.slot(self.phase, scen.name, req.name, req.expected_response_time,
                                       corrected=corrected)))
        feeder = engine.feeder(scen) if scen.data is not None else None
        return Journey(self, ctx, steps, setup, feeder)

    def _finished(self, journey: Journey) -> bool:
        """A journey is done: True when it stays ready for the next arrival."""
        self.busy.discard(journey)
        self._gauge()
        if journey.stopping or len(self.idle) + len(self.busy) >= self.cap:
            self.retired.add(journey)
            return False
        self.idle.append(journey)
        return True

    def _retire(self, journey: Journey) -> None:
        journey.stop()
        self.retired.add(journey)

    def _exited(self, journey: Any) -> None:
        self.busy.discard(journey)
        self.retired.discard(journey)
        if journey in self.idle:
            self.idle.remove(journey)
        self._gauge()

    def _gauge(self) -> None:
        n = len(self.busy)
        self.peak = max(self.peak, n)
        self.window_peak = max(self.window_peak, n)
        self.engine.recorder.set_users(self.phase, self.scenario.name, n)

    # -- the scheduler ----------------------------------------------------------------------------
    def _schedule(self) -> None:
        schedule = self.schedule
        origin = self.origin_ns
        sleep = gevent.sleep
        while not self._stopped:
            due = schedule.next_due()
            now = (time.perf_counter_ns() - origin) / 1e9
            if due > now:
                # A rate step recomputes next_due(): sleeping at most RATE_POLL_S notices it soon enough.
                sleep(RATE_POLL_S if due == NEVER else min(due - now, RATE_POLL_S))
                continue
            self._fire_due(now)

    def _fire_due(self, now: float) -> None:
        """Start (or drop) every arrival due by ``now``; each is scheduled once, whatever happens to it."""
        schedule = self.schedule
        counts = self.counts
        origin = self.origin_ns
        idle = self.idle
        while not self._stopped:
            due = schedule.next_due()
            if due > now:
                break
            schedule.advance()
            counts.scheduled += 1
            pick = self._arrival
            self._arrival += 1
            if not idle or now - due > MAX_LATENESS_S:
                counts.dropped += 1
                continue
            journey = idle.pop()
            self.busy.add(journey)
            journey.begin(origin + int(due * 1e9), pick)
        self._gauge()

    def stop(self, timeout: float) -> None:
        """No more arrivals; journeys in flight get ``timeout`` to finish, then are killed (interrupted)."""
        self._stopped = True
        if self._scheduler is not None:
            self._scheduler.kill(block=True)
        journeys = list(self.idle) + list(self.busy) + list(self.retired)
        for journey in journeys:
            journey.stop()
        gevent.joinall(journeys, timeout=timeout)
        alive = [j for j in journeys if not j.dead]
        if alive:
            gevent.killall(alive, block=True)
        self.idle.clear()
        self._gauge()

    def observed_journey_s(self) -> float | None:
        return self.journey_time_ns / self.journeys / 1e9 if self.journeys else None
