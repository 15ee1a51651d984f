"""Every event gradual fires, on one page: what it carries and on which node it fires.

Import it anywhere, before any run exists (at module level of a request file or plugin):

    from gradual import events

    @events.request.add_listener
    def on_request(record, **kwargs): ...

Listeners are called with keyword arguments only and must accept ``**kwargs``, so arguments added
later never break them. A listener that raises is logged with its name (and its plugin's) and the
run goes on; no event lets a listener's error stop a run. To stop a run on purpose call
``environment.stop(reason, exit_code)``.

Nodes: "master" is the process that runs the controller (`gradual master`, and `gradual run`), "worker"
a process that runs the load engine (`gradual worker`, and each of `gradual run --workers N`), and
"local" is `gradual run` without --workers, which is both roles in one process: every event fires
there, master-side and worker-side ones alike, each exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

log = logging.getLogger("gradual.events")

F = TypeVar("F", bound=Callable[..., Any])

MASTER = "master"
WORKER = "worker"
BOTH = "both"

# A listener failing on every request would write a traceback per request: the first failure is
# logged in full, later ones only every this many (with the count so far).
REPEAT_LOG_EVERY = 1000

# The plugin a listener belongs to, while the plugin manager imports, initializes or starts one.
_owners: list[str] = []


@contextmanager
def owned_by(owner: str) -> Iterator[None]:
    """Listeners added inside this block belong to ``owner`` (e.g. "plugin 'x'"): logs name it, and
    ``remove_owner(owner)`` removes them when the plugin closes."""
    _owners.append(owner)
    try:
        yield
    finally:
        _owners.pop()


class EventHook:
    """One event: a list of listeners, called in the order they were added."""

    def __init__(self, name: str, nodes: str, doc: str) -> None:
        self.name = name
        self.nodes = nodes  # MASTER, WORKER or BOTH: where it fires in the cluster
        self.__doc__ = doc
        # Mutated in place, never replaced: the engine keeps a reference to test "any listener?"
        # per request without a call (the hot path builds no completion record when it is empty).
        self.listeners: list[Callable[..., Any]] = []
        self._owner: dict[int, str] = {}
        self._failures: dict[int, int] = {}

    def add_listener(self, listener: F) -> F:
        """Call ``listener(**kwargs)`` on every fire; returns it, so it works as a decorator."""
        if not callable(listener):
            raise TypeError(f"events.{self.name}.add_listener needs a callable, got {type(listener).__name__}")
        self.listeners.append(listener)
        if _owners:
            self._owner[id(listener)] = _owners[-1]
        return listener

    def remove_listener(self, listener: Callable[..., Any]) -> None:
        """Remove one registration of ``listener``; a listener that is not registered is ignored."""
        try:
            index = self.listeners.index(listener)  # equality: a fresh bound method finds its twin
        except ValueError:
            return
        stored = self.listeners.pop(index)
        if not any(fn is stored for fn in self.listeners):
            self._owner.pop(id(stored), None)
            self._failures.pop(id(stored), None)

    def fire(self, **kwargs: Any) -> None:
        """Call every listener with ``kwargs``; one that raises is logged and the others still run."""
        for listener in tuple(self.listeners):  # a listener may add or remove listeners
            try:
                listener(**kwargs)
            except Exception:  # a plugin's bug is reported, the run goes on
                self._report(listener)

    def owner(self, listener: Callable[..., Any]) -> str | None:
        return self._owner.get(id(listener))

    def remove_owner(self, owner: str) -> None:
        kept = [fn for fn in self.listeners if self._owner.get(id(fn)) != owner]
        for fn in self.listeners:
            if self._owner.get(id(fn)) == owner:
                self._owner.pop(id(fn), None)
                self._failures.pop(id(fn), None)
        self.listeners[:] = kept  # in place: the engine holds a reference to this list

    def _report(self, listener: Callable[..., Any]) -> None:
        n = self._failures[id(listener)] = self._failures.get(id(listener), 0) + 1
        name = listener_name(listener)
        owner = self._owner.get(id(listener))
        who = f"{name} ({owner})" if owner else name
        if n == 1:
            log.exception("listener %s of event %r raised; the run goes on", who, self.name)
        elif n % REPEAT_LOG_EVERY == 0:
            log.error("listener %s of event %r has raised %d times", who, self.name, n)

    def __repr__(self) -> str:
        return f"<event {self.name} ({len(self.listeners)} listeners)>"


def listener_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or ""
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    # Request and plugin files are imported under generated module names; the function name is what a user knows.
    if module.startswith(("gradual_requestfile_", "gradual_pluginfile_")):
        return qual
    return f"{module}.{qual}" if module else qual


# --- the events --------------------------------------------------------------------------------------

init = EventHook("init", BOTH, """\
Once per process and run, after the plugins are loaded and before the first phase.

Fires on: master, worker, local.
Arguments:
  environment  the node's gradual.plugins.Environment: role ("master", "worker", "local"), run (the
               RunConfig), controller (master/local), engine (worker/local), http_api (master with
               --http-port), worker_id (worker), stop(reason, exit_code), add_route(path, handler)
  role         the same as environment.role
  runner       what drives the load on this node: the controller (master, local) or the engine (worker)
""")

test_start = EventHook("test_start", BOTH, """\
The run starts. On every node, as Locust's ("fired on each node"): on the master when every expected
worker is ready and the first phase is about to begin; on each worker when it starts its first phase
of the run (a worker that joins mid-run fires it then).

Fires on: master, worker, local (once).
Arguments:
  environment  the node's Environment
  run          the RunConfig
""")

test_stop = EventHook("test_stop", BOTH, """\
The run is over. On the master (and local): all phases done, interrupted or stopped, thresholds judged,
reports not yet written. On each worker: after its last stats batch, when the master's quit arrives
(or the worker is shut down).

Fires on: master, worker, local (once).
Arguments:
  environment  the node's Environment
  run          the RunConfig
  result       master, local: master.controller.RunResult (stats, phases, verdicts, interrupted,
               stop_reason); worker: None
  stats        gradual.stats.RunStats: the merged run's on the master and in local mode, this worker's
               own totals on a worker (stats.totals().count is what it sent), every batch included
""")

phase_start = EventHook("phase_start", BOTH, """\
A phase begins.

Fires on: master and local when the controller starts the phase; on each worker when its engine
starts the phase (once per phase, not again when a worker rejoins it).
Arguments:
  environment  the node's Environment
  phase        the phase name
  index        its position in the run (0-based)
  role         "master", "worker" or "local"
""")

phase_stop = EventHook("phase_stop", BOTH, """\
A phase has ended: its users have stopped (on a worker: before its last stats batch of the phase is
sent, so report_to_master listeners still see it).

Fires on: master, local (after the phase's last stats are merged), worker (after its users stopped).
Arguments:
  environment  the node's Environment
  phase        the phase name
  index        its position in the run (0-based)
  duration_s   how long the phase ran (master/local; None on a worker)
  role         "master", "worker" or "local"
""")

request = EventHook("request", WORKER, """\
A request finished (success or failure); requests killed at stop (interrupted) have no record.

Fires on: worker, local; in the user's greenlet, right after the request, outside its timed span.
Keep listeners quick: they run once per request. With no listener the engine builds no record.
Arguments:
  record  gradual.runners.records.CompletionRecord: request_name, url, params, context,
          response_time (ns), status_code, start_time, end_time (epoch ns), iid, scenario_name,
          expected_response_time, phase_name, error ("kind: message" or None), response
""")

spawning_complete = EventHook("spawning_complete", MASTER, """\
A ramp step was reached: the master has set a scenario's new user target on every worker.

Fires on: master, local; once per step of each closed (not run_once) scenario, the first at phase start.
Arguments:
  environment  the master's Environment
  phase        the phase name
  scenario     the scenario name
  user_count   the scenario's target after this step (over all workers)
  final        True for the step that reaches max_concurrency (from below, or from above in a ramp-down)
""")

worker_connect = EventHook("worker_connect", MASTER, """\
A worker is ready and takes a share of the load (at run start, or when it joins or comes back mid-run).

Fires on: master, local (once, for the in-process worker "local").
Arguments:
  environment  the master's Environment
  worker_id    the worker's id
  host         the worker's host name, as it reported it in its hello
""")

worker_lost = EventHook("worker_lost", MASTER, """\
A worker stopped taking load: it went silent (lost) or said goodbye mid-run. Its share moves to the others.

Fires on: master.
Arguments:
  environment  the master's Environment
  worker_id    the worker's id
  host         the worker's host name, as it reported it in its hello
  lost         True when it went silent, False when it left on purpose
""")

report_to_master = EventHook("report_to_master", WORKER, """\
A stats batch is about to be shipped to the master (about once a second, and at each phase end):
add your data to it.

Fires on: worker, local.
Arguments:
  environment  the node's Environment
  data         a dict travelling with the batch: set str keys to msgpack-safe values (None, bool,
               int, float, str, bytes, lists and str-keyed dicts of them). A batch whose data cannot
               be packed loses its data (logged), never its stats.
  worker_id    the sending worker's id ("local" in local mode)
""")

worker_report = EventHook("worker_report", MASTER, """\
The master received a stats batch carrying data added by report_to_master listeners.

Fires on: master, local; only for batches whose data is not empty.
Arguments:
  environment  the master's Environment
  worker_id    the worker that sent it ("local" in local mode)
  data         the dict report_to_master listeners filled on that worker
""")

quitting = EventHook("quitting", BOTH, """\
The node is done with the run. On the master (and local): the summary is built; reports are written
after this event, the process exits after. Set environment.process_exit_code to change the exit code
(the summary's run.exit_code follows). On a worker: after test_stop, when the master's quit arrives
(the process exits after, unless --serve keeps it for the next run).

Fires on: master, worker, local (once).
Arguments:
  environment  the node's Environment (process_exit_code is None unless a listener set it; on a worker
               setting it changes nothing: the master decides the run's exit code)
  exit_code    the exit code gradual would use (a worker: the master's from its quit; its own when it is
               shut down; None when a new master replaced the run)
  summary      the summary dict (schema gradual.summary/1) on the master and local; None on a worker
""")


def all_events() -> dict[str, EventHook]:
    """Every event by name, in the order they are declared above."""
    return {name: hook for name, hook in globals().items() if isinstance(hook, EventHook)}


def remove_owner(owner: str) -> None:
    """Remove every listener ``owner`` (a plugin) added, from every event."""
    for hook in all_events().values():
        hook.remove_owner(owner)
