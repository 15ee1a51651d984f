"""The engine of one node: a pool of users per (phase, scenario) that converges on targets.

The controller (local or remote) says "N users for this scenario" at any moment; the engine starts
new users at once and stops surplus ones at their next iteration boundary, killing them after the
stop timeout. run_once scenarios run their batches here, each after the previous one finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import gevent

from ..configs.model import RequestConfig, RunConfig, ScenarioConfig
from ..journeys.cookies import CookieJar
from ..journeys.data import Feeder, read_table
from ..plan import Batch
from ..stats import Recorder, StatsBatch
from . import RUNNERS
from .base import UserContext
from .open_pool import OpenPool
from .user import Step, User

log = logging.getLogger("gradual.engine")


class ScenarioPool:
    """The users of one scenario in one phase on this node."""

    def __init__(self, engine: Engine, phase: str, scenario: ScenarioConfig) -> None:
        self.engine = engine
        self.phase = phase
        self.scenario = scenario
        self.active: list[User] = []  # users counted toward the target, oldest first
        self.stopping: set[User] = set()
        self.offset = 0  # global index of this node's first user (keeps round-robin pinning fair)
        self.batches: gevent.Greenlet | None = None
        self.done = False
        self.peak = 0
        self.window_peak = 0  # most users since the engine's previous drain
        # No user came or went since the drain: a step now opens the new window, so a ramp-down's second
        # reports the users it kept, not those it started from (the controller samples, then steps).
        self.window_untouched = False
        # Paced users have an intended schedule: their latencies are corrected (DESIGN.md, coordinated omission).
        self.corrected = scenario.wait_time is not None and scenario.wait_time.paced

    def count(self) -> int:
        return len(self.active)

    def _spawn(self, index: int, once: bool) -> User:
        scen = self.scenario
        engine = self.engine
        ctx = UserContext(user=index, scenario=scen.name, phase=self.phase, host=engine.run.host,
                          worker=engine.worker, cookies=CookieJar() if scen.cookies else None,
                          vars=dict(scen.vars))
        requests = scen.requests
        if not scen.iterate_through_requests:
            requests = (requests[index % len(requests)],)
        rec = engine.recorder

        def step(req: RequestConfig) -> Step:
            return Step(req, RUNNERS[req.kind](req, ctx),
                        rec.slot(self.phase, scen.name, req.name, req.expected_response_time,
                                 corrected=self.corrected))

        steps = [step(req) for req in requests]
        setup = [step(req) for req in scen.on_start]
        feeder = engine.feeder(scen) if scen.data is not None else None
        return User(ctx, steps, once=once, on_exit=self._exited, wait=scen.wait_time, setup=setup, feeder=feeder)

    def _exited(self, user: User) -> None:
        if user in self.stopping:
            self.stopping.discard(user)
        else:
            try:
                self.active.remove(user)
            except ValueError:
                pass
        self._gauge()

    def _gauge(self) -> None:
        n = len(self.active)
        self.peak = max(self.peak, n)
        self.window_peak = max(self.window_peak, n)
        self.window_untouched = False
        self.engine.recorder.set_users(self.phase, self.scenario.name, n)

    def set_target(self, target: int, offset: int = 0) -> None:
        self.offset = offset
        current = len(self.active)
        if target > current:
            new = [self._spawn(offset + i, once=False) for i in range(current, target)]
            self.active.extend(new)
            for user in new:
                user.start()
        elif target < current:
            surplus = self.active[target:]
            del self.active[target:]
            self._retire(surplus)
            if self.window_untouched:
                self.window_peak = 0
        self._gauge()

    def _retire(self, users: Sequence[User]) -> None:
        for user in users:
            user.stop()
            self.stopping.add(user)
        timeout = self.engine.stop_timeout
        gevent.spawn_later(timeout, self._kill_stragglers, list(users))

    def _kill_stragglers(self, users: list[User]) -> None:
        alive = [u for u in users if not u.dead]
        if alive:
            gevent.killall(alive, block=True)

    def run_batches(self, batches: Sequence[Batch], offset: int = 0) -> None:
        self.offset = offset
        self.batches = gevent.spawn(self._batches, list(batches))

    def _batches(self, batches: list[Batch]) -> None:
        for batch in batches:
            if batch.wait > 0:
                gevent.sleep(batch.wait)
            users = [self._spawn(self.offset + i, once=True) for i in range(batch.size)]
            self.active.extend(users)
            for user in users:
                user.start()
            self._gauge()
            gevent.joinall(users)
        self.done = True

    def stop(self, timeout: float) -> None:
        """Stop every user: at its iteration boundary, or killed after ``timeout``."""
        if self.batches is not None:
            self.batches.kill(block=True)
        users = self.active + list(self.stopping)
        self.active = []
        for user in users:
            user.stop()
            self.stopping.add(user)
        gevent.joinall(users, timeout=timeout)
        alive = [u for u in users if not u.dead]
        if alive:
            gevent.killall(alive, block=True)
        self._gauge()


class Engine:
    """All pools of this node, the recorder they write to, and the stop timeout."""

    def __init__(self, run: RunConfig, recorder: Recorder | None = None, *, worker: str = "local",
                 share: tuple[int, int] = (0, 1)) -> None:
        self.run = run
        self.worker = worker  # {{ worker }} and ctx.worker
        # Which rows of each data file are this node's: rows i, i+n, ... for share (i, n) (journeys.data).
        self.share = share
        self._feeders: dict[tuple[str, str, str], Feeder] = {}
        self.recorder = recorder or Recorder()
        self.stop_timeout = run.stop_timeout
        self.pools: dict[tuple[str, str], ScenarioPool | OpenPool] = {}
        self.phase: str | None = None
        self._origins: dict[str, float] = {}

    def start_phase(self, phase: str, keep_origin: bool = False) -> None:
        """Create the phase's pools; ``keep_origin`` (a worker rejoining a phase) keeps its stats clock."""
        config = self.run.phase(phase)
        self.phase = phase
        if not keep_origin or phase not in self._origins:
            self._origins[phase] = time.monotonic()
            self.recorder.set_phase_origin(phase, self._origins[phase])
        for scen in config.scenarios:
            replaced = self.pools.get((phase, scen.name))
            if replaced is not None:
                # Its users would run on with no pool left to stop them: load nobody supervises.
                replaced.stop(0.0)
            pool = OpenPool(self, phase, scen) if scen.open else ScenarioPool(self, phase, scen)
            self.pools[(phase, scen.name)] = pool

    def feeder(self, scen: ScenarioConfig) -> Feeder:
        """The scenario's row feeder on this node: one per scenario and file, shared by its users and
        phases (rows are read once per process, and unique rows stay unique across phases)."""
        spec = scen.data
        key = (scen.name, str(spec.file), spec.order)
        feeder = self._feeders.get(key)
        if feeder is None:
            feeder = self._feeders[key] = Feeder(spec, read_table(spec.file), self.share)
        return feeder

    def origin(self, phase: str | None) -> float | None:
        """The monotonic time ``phase`` started here (its stats windows count seconds from it)."""
        return self._origins.get(phase) if phase is not None else None

    def set_targets(self, phase: str, targets: dict[str, int], offsets: dict[str, int] | None = None,
                    rates: dict[str, Sequence[float]] | None = None) -> None:
        """Users per closed scenario; for an open one its cap of journeys, and ``rates`` [rate, theta]."""
        for scenario, target in targets.items():
            pool = self.pools.get((phase, scenario))
            if pool is None or pool.scenario.run_once:
                log.warning("ignoring target for unknown or run_once scenario %s/%s", phase, scenario)
                continue
            pool.set_target(max(0, int(target)), (offsets or {}).get(scenario, 0))
        for scenario, (rate, theta) in (rates or {}).items():
            pool = self.pools.get((phase, scenario))
            if not isinstance(pool, OpenPool):
                log.warning("ignoring a rate for unknown or closed scenario %s/%s", phase, scenario)
                continue
            pool.set_rate(float(rate), float(theta))

    def run_batches(self, phase: str, scenario: str, batches: Sequence[Batch], offset: int = 0) -> None:
        self.pools[(phase, scenario)].run_batches(batches, offset)

    def done(self, phase: str) -> set[str]:
        """run_once scenarios of ``phase`` whose batches have all finished."""
        return {name for (ph, name), pool in self.pools.items() if ph == phase and pool.done}

    def users(self, phase: str) -> dict[str, int]:
        return {name: pool.count() for (ph, name), pool in self.pools.items() if ph == phase}

    def total_users(self) -> int:
        return sum(pool.count() for pool in self.pools.values())

    def stop_phase(self, phase: str, timeout: float | None = None) -> None:
        timeout = self.stop_timeout if timeout is None else timeout
        pools = [pool for (ph, _), pool in self.pools.items() if ph == phase]
        gevent.joinall([gevent.spawn(pool.stop, timeout) for pool in pools])

    def stop_all(self, timeout: float = 0.0) -> None:
        """Stop every pool of every phase (kill at once with timeout 0)."""
        gevent.joinall([gevent.spawn(pool.stop, timeout) for pool in self.pools.values()])

    def drain(self) -> StatsBatch:
        """What was recorded since the previous drain.

        The batch's users gauge is each scenario's most users since the previous drain, not the count
        at this instant: a run_once batch or a short peak that starts and ends between two drains
        (the master samples once a second) would otherwise never show in peak_users or the series.
        """
        rec = self.recorder
        for pool in self.pools.values():
            rec.set_users(pool.phase, pool.scenario.name, pool.window_peak)
        batch = rec.drain()
        for pool in self.pools.values():
            pool.window_peak = pool.count()
            pool.window_untouched = True
            rec.set_users(pool.phase, pool.scenario.name, pool.window_peak)
        return batch
