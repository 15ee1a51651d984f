"""What the links and the worker agent call so plugins behave the same in local mode and on every node.

``report_to_master()`` fires the event on a batch's custom data and keeps only data that can travel;
``WorkerPlugins`` holds a worker's plugins from one bundle to the next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import msgpack

from .. import events
from ..configs.model import PluginSpec
from .environment import LOCAL, MASTER, WORKER, Environment, current_environment

log = logging.getLogger("gradual.plugins")


def with_cli_plugins(run: Any, names: Iterable[str]) -> Any:
    """``run`` with the ``--plugin NAME`` entry points appended to its plugins (they travel in the bundle options)."""
    extra = tuple(PluginSpec(name=str(n), origin="cli") for n in names if str(n).strip())
    return replace(run, plugins=tuple(run.plugins) + extra) if extra else run


def cli_plugin_names(run: Any) -> list[str]:
    return [spec.name for spec in run.plugins if spec.origin == "cli" and spec.name]


def controller_environment(run: Any, link: Any, controller: Any, api: Any = None) -> tuple[Environment, str | None]:
    """The Environment of the node that runs ``controller``, with the run's plugins activated, and the
    failure of a required plugin (the environment is then closed), else None.

    With an in-process link the engine runs here too: local mode is both roles in one process.
    """
    engine = getattr(link, "engine", None)
    env = Environment(LOCAL if engine is not None else MASTER, run, controller=controller, engine=engine,
                      http_api=api, worker_id=getattr(link, "WORKER_ID", None) if engine is not None else None)
    controller.environment = env
    fatal = env.plugins.activate(run.plugins)
    if fatal is not None:
        env.close()
    return env, fatal


def finish_run(env: Environment, result: Any, summary: dict[str, Any], code: int) -> int:
    """Fire quitting (a listener may set env.process_exit_code), close the plugins, note both in the summary."""
    events.quitting.fire(environment=env, exit_code=code, summary=summary)
    if env.process_exit_code is not None:
        code = int(env.process_exit_code)
    env.close()
    summary["run"]["exit_code"] = code
    summary["run"]["stop_reason"] = result.stop_reason
    summary["plugins"] = env.plugins.report()
    return code


def report_to_master(data: dict[str, Any], worker_id: str) -> dict[str, Any]:
    """Fire ``report_to_master`` on ``data`` (a batch's custom dict) and return what can be shipped.

    Data that msgpack cannot pack (or a non-str key) would break the batch on the wire, or only in
    the cluster and not in local mode: it is dropped, logged, in both modes alike.
    """
    if events.report_to_master.listeners:
        events.report_to_master.fire(environment=current_environment(), data=data, worker_id=worker_id)
    if not data:
        return data
    try:
        if not all(type(k) is str for k in data):
            raise TypeError("keys must be str")
        msgpack.packb(data, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        log.error("report_to_master data cannot be sent (%s): dropped keys %s", exc, sorted(map(str, data)))
        return {}
    return data


class WorkerPlugins:
    """A worker's plugins: activated for each bundle it loads, closed when that run ends.

    ``notify(message, fatal)`` hears of every plugin failure but a fatal start-up one (which start()
    returns): the agent sends them to the master, so they show there and not only in this worker's log.
    """

    def __init__(self, worker_id: str, notify: Callable[[str, bool], None] | None = None) -> None:
        self.worker_id = worker_id
        self.notify = notify
        self.env: Environment | None = None
        self.problems: list[str] = []
        self._started = self._stopped = self._quit = False  # test_start / test_stop / quitting fired this run

    def start(self, run: Any, options: Mapping[str, Any] | None, engine: Any) -> str | None:
        """Load the run's plugins for the worker role; the failure of a required plugin, else None."""
        self.close()
        names = (options or {}).get("plugins") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            names = []
            log.warning("bundle options.plugins is not a list of names: ignored")
        env = Environment(WORKER, with_cli_plugins(run, names), engine=engine, worker_id=self.worker_id)
        env.plugins.on_problem = self.notify
        fatal = env.plugins.activate(env.run.plugins)
        self.problems = list(env.plugins.problems)
        if fatal is not None:
            env.close()
            return fatal
        self.env = env
        self._started = self._stopped = self._quit = False
        return None

    def test_start(self) -> None:
        """The run starts on this worker (its first phase of the bundle): Locust fires test_start on each node."""
        if self.env is not None and not self._started:
            self._started = True
            events.test_start.fire(environment=self.env, run=self.env.run)

    def test_stop(self, stats: Any) -> None:
        """The run is over on this worker: ``stats`` holds its own totals, every batch it sent included."""
        if self.env is not None and self._started and not self._stopped:
            self._stopped = True
            events.test_stop.fire(environment=self.env, run=self.env.run, result=None, stats=stats)

    def quitting(self, exit_code: int | None) -> None:
        """The worker leaves the run (the master's exit code, None when it never heard it)."""
        if self.env is not None and not self._quit:
            self._quit = True
            events.quitting.fire(environment=self.env, exit_code=exit_code, summary=None)

    def phase_start(self, phase: str) -> None:
        if self.env is not None and (events.phase_start.listeners):
            events.phase_start.fire(environment=self.env, phase=phase, index=self._index(phase), role=WORKER)

    def phase_stop(self, phase: str) -> None:
        if self.env is not None and events.phase_stop.listeners:
            events.phase_stop.fire(environment=self.env, phase=phase, index=self._index(phase), duration_s=None,
                                   role=WORKER)

    def _index(self, phase: str) -> int | None:
        names = [p.name for p in getattr(self.env.run, "phases", ())] if self.env is not None else []
        return names.index(phase) if phase in names else None

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None
