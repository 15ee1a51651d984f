"""The plugin classes: ``Plugin`` (a lifecycle), ``EventPlugin`` (handles one event), ``BackgroundPlugin``
(runs a greenlet for out-of-band work).

The plugin manager creates one instance of each plugin class per process, sets ``env`` and ``options``,
then calls ``initialize()``, then loads it (an EventPlugin's handler is added to its event, a
BackgroundPlugin is started), and calls ``close()`` when the run is over. All of it runs under gevent:
block only on cooperative I/O (gevent-patched sockets, ``gevent.sleep``), or hand blocking work to
``gevent.get_hub().threadpool``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import gevent
from gevent.event import Event

from .. import events

if TYPE_CHECKING:
    from .environment import Environment

log = logging.getLogger("gradual.plugins")

MASTER = events.MASTER
WORKER = events.WORKER
BOTH = events.BOTH
RUNS_ON = (MASTER, WORKER, BOTH)


class Plugin:
    """A plugin with a lifecycle. Subclass it, give it a ``name``, override what you need.

    ``runs_on`` says which node loads it in a cluster: "master" (the controller: thresholds,
    worker_report, HTTP routes), "worker" (the engine: request records, report_to_master) or "both".
    Local mode (`gradual run` without --workers) is both roles in one process and loads every plugin
    once. Module-level event listeners of a plugin file register on every node that imports the file.
    """

    name: str = ""  # defaults to the entry-point name, else the class name; set on the instance when loaded
    runs_on: ClassVar[str] = BOTH
    description: ClassVar[str] = ""  # one line for `gradual plugins`; defaults to the docstring's first line

    env: Environment
    options: Mapping[str, Any]

    def initialize(self) -> None:
        """Set up (open files, connections). ``self.env`` and ``self.options`` are set by now."""

    def close(self) -> None:
        """Release what initialize() took; called once when the run is over, even after a failure."""


class EventPlugin(Plugin):
    """A plugin that handles one event: ``handle_event(**kwargs)`` is added as a listener of ``event``.

    Its ``runs_on`` defaults to where the event fires: request and report_to_master on workers,
    spawning_complete and worker_* on the master; init, test_start/stop, phase_* and quitting on both.
    """

    event: ClassVar[str] = ""  # an event name of gradual.events, e.g. "request"

    def handle_event(self, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement handle_event(**kwargs)")


class BackgroundPlugin(Plugin):
    """A plugin that does out-of-band work in its own greenlet: ``start()`` spawns ``run()``.

    ``run()`` usually loops ``while self.sleep(interval): ...``; ``sleep`` returns False once the plugin
    is closing. Override ``start()`` to add HTTP routes on the master (call ``super().start()``).
    """

    greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._closing = Event()
        self.greenlet = gevent.spawn(self.run)

    def run(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement run()")

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the plugin is closing (end your loop then)."""
        closing = getattr(self, "_closing", None)
        if closing is None:
            gevent.sleep(seconds)
            return True
        return not closing.wait(seconds)

    def close(self) -> None:
        closing = getattr(self, "_closing", None)
        if closing is not None:
            closing.set()
        if self.greenlet is not None and not self.greenlet.dead:
            self.greenlet.join(1.0)  # a loop on self.sleep() ends by itself
            if not self.greenlet.dead:
                self.greenlet.kill(block=True, timeout=1.0)


def default_runs_on(cls: type[Plugin]) -> str:
    """``cls.runs_on`` if the class (or a parent below EventPlugin) set it, else the event's node."""
    for klass in cls.__mro__:
        if klass in (EventPlugin, Plugin, BackgroundPlugin):
            break
        if "runs_on" in vars(klass):
            return str(klass.runs_on)
    if issubclass(cls, EventPlugin):
        hook = events.all_events().get(cls.event)
        if hook is not None:
            return hook.nodes
    return str(cls.runs_on)
