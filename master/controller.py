"""The controller: runs the plan phase by phase through a Link and aggregates what comes back.

The same controller drives local mode (an in-process link to one engine) and the cluster (a ZeroMQ
link to many workers), so single-node and cluster results come from one code path.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent

from gradual import events as event_hooks
from gradual import plan
from gradual.configs.model import PhaseConfig, RunConfig, ScenarioConfig
from gradual.plugins.runtime import finish_run
from gradual.reports.summary import build_summary
from gradual.runners.open_pool import MAX_LATENESS_S
from gradual.stats import RunStats
from gradual.stats.thresholds import SecondVerdicts, Verdict, evaluate, evaluate_all, watch
from gradual.verdict import failure_reason

from .dispatch import offsets, split, split_rate
from .link import Link, WorkerView
from .samples import SampleSeries

log = logging.getLogger("gradual.master")

TICK = 1.0  # stats collection and console refresh
EXIT_OK, EXIT_THRESHOLD, EXIT_INTERRUPTED = 0, 1, 130  # DESIGN.md's exit codes a finished run can end with
RUN_ONCE_POLL = 0.1  # how often a phase of run_once scenarios checks whether it is done


@dataclass
class PhaseRecord:
    name: str
    index: int
    started_at: float  # epoch seconds
    t0: float = 0.0  # monotonic
    duration_s: float = 0.0
    peak_users: dict[str, int] = field(default_factory=dict)
    ended_early: bool = False


@dataclass
class RunResult:
    run: RunConfig
    stats: RunStats
    phases: list[PhaseRecord]
    workers: list[WorkerView]
    started_at: float
    ended_at: float
    samples: SampleSeries
    interrupted: bool = False
    verdicts: list[Verdict] = field(default_factory=list)
    aborted_by: Verdict | None = None
    stop_reason: str | None = None  # why stop() ended the run early (a plugin), if it did
    stop_exit_code: int | None = None  # the exit code stop() asked for
    max_error_rate: float = 1.0  # --max-error-rate: a share of failed requests above which the run fails (1 = off)

    def failure_reason(self) -> str | None:
        """Why the run fails by its own rules (no request succeeded, --max-error-rate), or None.

        Not asked of an interrupted run or one a plugin stopped with its own exit code."""
        if self.interrupted or self.stop_exit_code is not None:
            return None
        totals = self.stats.totals()
        return failure_reason(totals.count, totals.failures, totals.interrupted, self.max_error_rate)

    def exit_code(self) -> int:
        """DESIGN.md's exit code for this outcome: 130 interrupted, stop()'s code, 1 a threshold failed or
        the run failed its own rules (failure_reason), else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.stop_exit_code is not None:
            return self.stop_exit_code
        if self.aborted_by is not None or not all(v.passed for v in self.verdicts):
            return EXIT_THRESHOLD
        if self.failure_reason() is not None:
            return EXIT_THRESHOLD
        return EXIT_OK


class Observer(Protocol):
    def update(self, controller: Controller) -> None: ...


class Controller:
    def __init__(self, run: RunConfig, link: Link, observers: Sequence[Observer] = (), tick: float = TICK) -> None:
        self.run = run
        self.link = link
        link.stop_run = self.stop
        self.observers = list(observers)
        self.tick = tick
        self.stats = RunStats()
        watch(self.stats, run.thresholds)  # for: thresholds judge each second as the stats compact it
        self.phases: list[PhaseRecord] = []
        self.samples = SampleSeries()
        self.phase: PhaseConfig | None = None
        self.targets: dict[str, float] = {}  # users per closed scenario, arrivals/s per open one
        self._interrupted = False
        self._stop: tuple[str, int] | None = None  # (reason, exit code) from stop()
        self.environment: Any = None  # the plugins' Environment: handed to every event this controller fires
        self.records: Any = None  # --records: a reports.records.RecordsFile that every batch's records go to
        self._connected: dict[str, str] = {}  # live workers as last reported by events: id -> host
        self.state = "starting"
        self.aborted_by: Verdict | None = None
        self.expected = {
            (p.name, s.name, r.name) for p in run.phases for s in p.scenarios for r in s.recorded
            if r.expected_response_time is not None
        }
        self._abort_thresholds = [t for t in run.thresholds if t.abort]
        self._dropping: set[tuple[str, str]] = set()  # open scenarios already warned about dropping
        self._second_verdicts = SecondVerdicts()  # for: abort checks judge each second once, not every tick
        self._cmd_time = 0.0
        self.started_at = 0.0

    # -- control ---------------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Ctrl-C: stop the current phase now and skip the rest; the summary is still written."""
        self._interrupted = True

    def stop(self, reason: str, exit_code: int = 1) -> None:
        """End the run early on purpose (a plugin's watchdog): like Ctrl-C, but the run exits with
        ``exit_code`` (1 by default, 3 for a broken required plugin) instead of 130. The first stop wins."""
        if self._stop is None:
            log.warning("stopping the run: %s", reason)
            self._stop = (reason, exit_code)

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    @property
    def stopping(self) -> bool:
        return self._interrupted or self.aborted_by is not None or self._stop is not None

    def durations(self, now: float | None = None) -> dict[str, float]:
        """Seconds each phase ran so far (the current one up to ``now``)."""
        out = {p.name: p.duration_s for p in self.phases}
        if self.phases and now is not None and not self.phases[-1].duration_s:
            out[self.phases[-1].name] = now - self.phases[-1].t0
        return out

    def execute(self) -> RunResult:
        self.started_at = time.time()
        self.state = "waiting for workers"
        self._start_link()
        self.state = "running"
        self._watch_workers()
        self._fire(event_hooks.test_start, run=self.run)
        for index, phase in enumerate(self.run.phases):
            if self.stopping:
                break
            if index > 0 and self.run.wait_between_phases > 0:
                self._wait(self.run.wait_between_phases)
                if self.stopping:
                    break
            self._run_phase(index, phase)
        self.state = "finished"
        verdicts = evaluate_all(self.run.thresholds, self.stats, self.durations(), self.expected)
        if self.aborted_by is not None:
            # The abort verdict stands even if the whole-run value recovered after the stop.
            verdicts = [self.aborted_by if v.threshold is self.aborted_by.threshold else v for v in verdicts]
        result = RunResult(
            run=self.run, stats=self.stats, phases=self.phases, workers=self.link.workers(),
            started_at=self.started_at, ended_at=time.time(), samples=self.samples,
            interrupted=self._interrupted, verdicts=verdicts, aborted_by=self.aborted_by,
            stop_reason=self._stop[0] if self._stop else None, stop_exit_code=self._stop[1] if self._stop else None,
        )
        self._fire(event_hooks.test_stop, run=self.run, result=result, stats=self.stats)
        return result

    def conclude(self, result: RunResult, env: Any, max_error_rate: float = 1.0) -> tuple[dict[str, Any], int]:
        """A finished run's last steps, the same for ``gradual run`` and ``gradual.run()``: its exit code, the
        link closed with it, the summary (with the --records file's count), then the plugins' quitting, whose
        listeners may change the code. Returns the summary and the exit code the process ends with."""
        result.max_error_rate = max_error_rate
        code = result.exit_code()
        self.link.close(code)
        result.workers = self.link.workers()
        summary = build_summary(result, code)
        if self.records is not None:
            summary["records"] = self.records.close()
        return summary, finish_run(env, result, summary, code)

    def _start_link(self) -> None:
        """Wait until the link is ready (its workers joined), or a Ctrl-C: then the run has no phase to run."""
        def start() -> Exception | None:
            try:
                self.link.start()
            except Exception as exc:  # returned, not raised: gevent would print a raised one's traceback
                return exc
            return None

        starting = gevent.spawn(start)
        while not starting.ready():
            if self.stopping:
                starting.kill()
                return
            starting.join(RUN_ONCE_POLL)
        failed = starting.get()
        if failed is not None:
            raise failed  # a LinkError (no workers, a bundle that failed) goes to the caller

    def _fire(self, hook: event_hooks.EventHook, **kwargs: Any) -> None:
        if hook.listeners:
            hook.fire(environment=self.environment, **kwargs)

    @property
    def role(self) -> str:
        return str(getattr(self.environment, "role", "master"))

    def _watch_workers(self) -> None:
        """Fire worker_connect / worker_lost for the live workers that changed since the last look."""
        live = {w.id: w.host for w in self.link.live_workers()}
        for wid, host in live.items():
            if wid not in self._connected:
                self._fire(event_hooks.worker_connect, worker_id=wid, host=host)
        gone = [wid for wid in self._connected if wid not in live]
        for wid in gone:
            view = next((w for w in self.link.workers() if w.id == wid), None)
            self._fire(event_hooks.worker_lost, worker_id=wid, host=self._connected[wid],
                       lost=bool(view is not None and view.lost))
        self._connected = live

    def _wait(self, seconds: float) -> None:
        """The pause between phases; each tick, observers with a ``between_phases`` are told what is left."""
        end = time.monotonic() + seconds
        next_tick = time.monotonic()
        while not self.stopping and (left := end - time.monotonic()) > 0:
            if time.monotonic() >= next_tick:
                next_tick += self.tick
                for observer in self.observers:
                    between = getattr(observer, "between_phases", None)
                    if between is not None:
                        try:
                            between(self, left)
                        except Exception:  # a broken display must not stop the load
                            log.exception("observer %r failed", observer)
            gevent.sleep(min(0.1, left))

    # -- one phase -------------------------------------------------------------------------------
    def _run_phase(self, index: int, phase: PhaseConfig) -> None:
        self.phase = phase
        self.targets = {}
        record = PhaseRecord(phase.name, index, time.time())
        self.phases.append(record)
        self.link.phase_start(phase.name, index)
        self._fire(event_hooks.phase_start, phase=phase.name, index=index, role=self.role)
        t0 = record.t0 = time.monotonic()
        closed = [s for s in phase.scenarios if not s.run_once]
        once = [s for s in phase.scenarios if s.run_once]
        events = sorted(
            ((step.offset, s.name, step.target) for s in closed for step in plan.timeline(s, phase.run_time)),
            key=lambda e: e[0],
        )
        for scen in once:
            self._send_batches(phase, scen)
        end = t0 + phase.run_time
        next_tick = t0 + self.tick
        i = 0
        while True:
            now = time.monotonic()
            if now >= next_tick:
                # Sampled before this instant's steps start users: the sample closing second N holds the
                # users second N had, not those of the step that opens second N + 1 (the summary's users).
                self._collect(phase, now - t0)
                next_tick += self.tick * max(1, int((now - next_tick) / self.tick) + 1)
            stepped: list[str] = []
            while i < len(events) and t0 + events[i][0] <= now:
                _, name, target = events[i]
                self.targets[name] = target
                i += 1
                stepped.append(name)
            if stepped:
                self._dispatch(phase)
                self._steps_reached(phase, stepped)
            if now >= end or self.stopping:
                break
            if once and not closed and self.link.done(phase.name) >= {s.name for s in once}:
                record.ended_early = True
                break
            wake = min(end, next_tick)
            if i < len(events):
                wake = min(wake, t0 + events[i][0])
            if once:
                wake = min(wake, now + RUN_ONCE_POLL)
            gevent.sleep(max(0.0, wake - time.monotonic()))
        stop_timeout = 0.0 if self.stopping else self.run.stop_timeout
        self.link.phase_stop(phase.name, stop_timeout)
        record.duration_s = time.monotonic() - t0
        self._collect(phase, record.duration_s, final=True)
        self._fire(event_hooks.phase_stop, phase=phase.name, index=index, duration_s=record.duration_s,
                   role=self.role)

    def _steps_reached(self, phase: PhaseConfig, names: list[str]) -> None:
        if not event_hooks.spawning_complete.listeners:
            return
        for name in dict.fromkeys(names):
            scen = next(s for s in phase.scenarios if s.name == name)
            target = self.targets[name]
            self._fire(event_hooks.spawning_complete, phase=phase.name, scenario=name, user_count=target,
                       final=target == (scen.max_rate if scen.open else scen.max_concurrency))

    def _dispatch(self, phase: PhaseConfig) -> None:
        """Send every live worker its absolute share of each closed scenario's current target."""
        live = self.link.live_workers()
        if not live or not self.targets:
            return
        order = [w.id for w in live]
        weights = [(w.id, w.capacity) for w in live]
        per_worker: dict[str, dict[str, int]] = {wid: {} for wid in order}
        per_offsets: dict[str, dict[str, int]] = {wid: {} for wid in order}
        per_rates: dict[str, dict[str, list[float]]] = {wid: {} for wid in order}
        open_caps = {s.name: s.max_concurrency for s in phase.scenarios if s.open}
        for scenario, target in self.targets.items():
            cap = open_caps.get(scenario)
            # Open model: the rate is split by capacity, and so is the cap of journeys in flight.
            shares = split(int(target) if cap is None else cap, weights)
            starts = offsets(shares, order)
            rates = split_rate(float(target), weights) if cap is not None else {}
            for wid in order:
                per_worker[wid][scenario] = shares[wid]
                per_offsets[wid][scenario] = starts[wid]
                if cap is not None:
                    per_rates[wid][scenario] = list(rates[wid])
        for wid in order:
            if per_rates[wid]:
                self.link.send_targets(wid, phase.name, per_worker[wid], per_offsets[wid], per_rates[wid])
            else:
                self.link.send_targets(wid, phase.name, per_worker[wid], per_offsets[wid])

    def _send_batches(self, phase: PhaseConfig, scen: ScenarioConfig) -> None:
        """run_once: each worker runs its share of every batch, one batch after the other."""
        live = self.link.live_workers()
        if not live:
            return
        weights = [(w.id, w.capacity) for w in live]
        order = [w.id for w in live]
        batches = plan.run_once_batches(scen)
        per_worker: dict[str, list[plan.Batch]] = {wid: [] for wid in order}
        first = split(batches[0].size, weights)
        for batch in batches:
            shares = split(batch.size, weights)
            for wid in order:
                per_worker[wid].append(plan.Batch(batch.wait, shares[wid]))
        starts = offsets(first, order)
        for wid in order:
            self.link.send_batches(wid, phase.name, scen.name, per_worker[wid], starts[wid])

    def _collect(self, phase: PhaseConfig, t: float, final: bool = False) -> None:
        batches, changed = self.link.poll()
        counts: dict[str, int] = {}
        failures: dict[str, int] = {}
        for source, batch in batches:
            if self.records is not None and (batch.records or batch.records_dropped):
                self.records.write(source, batch.records, batch.records_dropped)
            self.stats.merge(batch, source=source)
            if batch.custom:
                self._fire(event_hooks.worker_report, worker_id=source, data=batch.custom)
            for entry in batch.entries:
                if entry.phase == phase.name:
                    counts[entry.scenario] = counts.get(entry.scenario, 0) + entry.count
                    failures[entry.scenario] = failures.get(entry.scenario, 0) + entry.failures
        if changed:
            live = {w.id for w in self.link.live_workers()}
            for worker in self.link.workers():
                if worker.id not in live:
                    self.stats.forget_users(worker.id)
            if not final:  # after the stop, new targets would start users whose requests nobody counts
                self._dispatch(phase)
            self._watch_workers()
        self._warn_dropping(phase)
        self._check_aborts(phase, t)
        users = {s.name: self.stats.users(phase.name, s.name) for s in phase.scenarios}
        if final:
            # After the stop, workers report 0 users at different moments: the last sample keeps the
            # users the phase ended with rather than a mix of stopped and not-yet-stopped workers.
            previous = self.samples.of_phase(phase.name)
            if previous:
                users = previous.users(-1)
        record = self.phases[-1]
        for name, n in users.items():
            record.peak_users[name] = max(record.peak_users.get(name, 0), n)
        self.samples.add(round(t, 3), phase.name, users, counts, failures)
        for observer in self.observers:
            try:
                observer.update(self)
            except Exception:  # a broken display must not stop the load
                log.exception("observer %r failed", observer)

    def _warn_dropping(self, phase: PhaseConfig) -> None:
        """Once per open scenario and phase, when it starts dropping arrivals: how many journeys it needs."""
        for scen in phase.scenarios:
            key = (phase.name, scen.name)
            counts = self.stats.arrivals(*key)
            if not scen.open or counts is None or not counts[1] or key in self._dropping:
                continue
            self._dropping.add(key)
            rate = float(self.targets.get(scen.name, scen.min_rate or 0.0))
            started = counts[0] - counts[1]
            spent_us = 0
            for phase_name, scen_name, request in self.stats.keys():
                if (phase_name, scen_name) == key:
                    totals = self.stats.get(phase_name, scen_name, request)
                    spent_us += totals.hist.sum if totals is not None else 0
            journey_s = spent_us / started / 1e6 if started else None
            need = (f"it would need about {math.ceil(rate * journey_s)} (rate x observed journey time "
                    f"{journey_s * 1000:.1f} ms)") if journey_s else "no journey has finished yet"
            log.warning("scenario %s/%s drops arrivals at %g/s: they found all %d journeys of its max_concurrency "
                        "busy (or came over %g s late to a starved scheduler); %s", phase.name, scen.name, rate,
                        scen.max_concurrency, MAX_LATENESS_S, need)

    def _check_aborts(self, phase: PhaseConfig, t: float) -> None:
        """abort: true thresholds are judged every tick on what has been merged so far."""
        if not self._abort_thresholds or self.aborted_by is not None:
            return
        now = time.monotonic()
        durations = self.durations(now)
        complete = {p.name: 1 << 30 for p in self.phases}
        complete[phase.name] = int(t)
        for threshold in self._abort_thresholds:
            verdict = evaluate(threshold, self.stats, durations, self.expected, complete_seconds=complete,
                               seconds_cache=self._second_verdicts)
            if not verdict.passed and verdict.observed is not None:
                log.warning("threshold %r failed (observed %s): aborting the run", threshold.expression,
                            verdict.observed)
                self.aborted_by = verdict
                return
