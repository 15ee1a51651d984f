"""The plugin manager: finds plugins (files and entry points), and takes each through its lifecycle.

resolved (imported, class found) → initialized (instance made, ``initialize()`` ran) → loaded (its
event handler added or its greenlet started) → closed. A plugin that fails at a stage is reported with
its name and stage and the others go on; a ``required`` one makes ``activate()`` return the failure so
the caller aborts the run (exit 3).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .. import events
from ..configs.model import PluginSpec
from .base import RUNS_ON, BackgroundPlugin, EventPlugin, Plugin, default_runs_on

if TYPE_CHECKING:
    from .environment import Environment

log = logging.getLogger("gradual.plugins")

GROUP = "gradual.plugins"  # the entry-point group installed plugins declare

# Lifecycle states, and the stages a failure is reported at.
DISCOVERED, RESOLVED, INITIALIZED, LOADED, CLOSED, FAILED, SKIPPED = (
    "discovered", "resolved", "initialized", "loaded", "closed", "failed", "skipped")
RESOLVE, INITIALIZE, LOAD, RUN, CLOSE = "resolve", "initialize", "load", "run", "close"
_BASES = (Plugin, EventPlugin, BackgroundPlugin)

# Classes with a live instance in this process: a plugin exists once per process.
_live: dict[type, str] = {}


@dataclass
class PluginRecord:
    """One plugin as the manager tracks it (``gradual plugins`` and the summary JSON show these)."""

    name: str
    source: str  # "file <path>" or "entry point <module:attr> (<distribution> <version>)"
    required: bool = False
    runs_on: str | None = None
    state: str = DISCOVERED
    failed_stage: str | None = None
    error: str | None = None
    description: str = ""
    spec: PluginSpec | None = field(default=None, repr=False)
    cls: type[Plugin] | None = field(default=None, repr=False)
    plugin: Plugin | None = field(default=None, repr=False)
    owners: set[str] = field(default_factory=set, repr=False)  # event-listener owners to remove at close

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "runs_on": self.runs_on, "required": self.required,
                "state": self.state, "failed_stage": self.failed_stage, "error": self.error}


class Refused(Exception):
    """A plugin the manager itself rejects (not installed, bad declaration): reported without a traceback."""


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, Refused):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"gradual_pluginfile_{stem}_{digest}"


def import_plugin_file(path: Path) -> ModuleType:
    """Import a plugin file in isolation (like request files: same-named files in two folders never collide)."""
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:  # helpers next to the plugin import as they would from a script
        sys.path.append(folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def plugin_classes(module: ModuleType) -> list[type[Plugin]]:
    """Concrete Plugin subclasses defined in ``module`` (not imported into it), in definition order."""
    found = []
    for value in vars(module).values():
        if (isinstance(value, type) and issubclass(value, Plugin) and value not in _BASES
                and value.__module__ == module.__name__ and not inspect.isabstract(value)
                and not vars(value).get("abstract", False)):
            found.append(value)
    return found


def entry_points() -> list[metadata.EntryPoint]:
    """Installed plugins: entry points of the "gradual.plugins" group, one per name (first wins)."""
    seen: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=GROUP):
        seen.setdefault(ep.name, ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def _ep_source(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    where = f" ({dist.metadata['Name']} {dist.version})" if dist is not None else ""
    return f"entry point {ep.value}{where}"


def merge_specs(specs: Iterable[PluginSpec]) -> list[PluginSpec]:
    """One spec per plugin: a name given in the config and with --plugin loads once (required if either says so)."""
    out: dict[str, PluginSpec] = {}
    for spec in specs:
        key = str(spec.path) if spec.path is not None else f"name:{spec.name}"
        first = out.get(key)
        if first is None:
            out[key] = spec
        elif spec.required and not first.required:
            out[key] = PluginSpec(first.name, first.path, True, first.options or spec.options, first.origin)
    return list(out.values())


class PluginManager:
    """The plugins of one node and run."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.records: list[PluginRecord] = []
        self.problems: list[str] = []  # one line per failure, as logged
        self.fatal: str | None = None  # the first failure of a required plugin
        # Called with (message, fatal) for each failure but the start-up one returned by activate();
        # fatal: a required plugin failed while running. A worker sends these to the master.
        self.on_problem: Callable[[str, bool], None] | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------
    def activate(self, specs: Sequence[PluginSpec]) -> str | None:
        """Resolve, initialize and load the plugins this node runs, then fire ``init``.

        Returns the failure of a required plugin (the caller aborts the run with exit 3), else None.
        """
        if not self.resolve(specs):
            return self.fatal
        # Stage by stage: every plugin is initialized before any starts handling events.
        for wanted, stage in ((RESOLVED, self._initialize), (INITIALIZED, self._load)):
            for rec in list(self.records):
                if rec.state == wanted and not stage(rec) and self.fatal is not None:
                    return self.fatal
        runner = self.env.controller if self.env.controller is not None else self.env.engine
        events.init.fire(environment=self.env, role=self.env.role, runner=runner)
        return None

    def resolve(self, specs: Sequence[PluginSpec]) -> bool:
        """Import every plugin and find its classes; False when a required one failed."""
        for spec in merge_specs(specs):
            if spec.path is not None:
                self._resolve_file(spec)
            else:
                self._resolve_entry_point(spec)
            if self.fatal is not None:
                return False
        return True

    def close(self) -> None:
        """Close every plugin that was created (last loaded, first closed) and remove its listeners."""
        if self._closed:
            return
        self._closed = True
        for rec in reversed(self.records):
            plugin = rec.plugin
            if plugin is not None:
                try:
                    with events.owned_by(f"plugin {rec.name!r}"):
                        plugin.close()
                except Exception as exc:
                    self._fail(rec, CLOSE, exc, fatal=False)
                else:
                    if rec.state != FAILED:
                        rec.state = CLOSED
                greenlet = getattr(plugin, "greenlet", None)
                if greenlet is not None and not greenlet.dead:
                    greenlet.kill(block=True, timeout=1.0)
                if rec.cls is not None and _live.get(rec.cls) is not None:
                    _live.pop(rec.cls, None)
            elif rec.state == LOADED:  # a listener file: closing it is removing its listeners
                rec.state = CLOSED
            for owner in rec.owners:
                events.remove_owner(owner)

    def report(self) -> list[dict[str, Any]]:
        return [rec.to_dict() for rec in self.records]

    # -- stages ----------------------------------------------------------------------------------
    def _resolve_file(self, spec: PluginSpec) -> None:
        assert spec.path is not None
        path = spec.path
        name = path.stem
        owner = f"plugin {name!r}"
        source = f"file {path}"
        try:
            with events.owned_by(owner):
                module = import_plugin_file(path)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from a plugin file is the file's failure too
            rec = self._record(name, source, spec)
            rec.owners.add(owner)
            self._fail(rec, RESOLVE, exc)
            return
        classes = plugin_classes(module)
        if not classes:
            # A file of module-level listeners: nothing to initialize, it is loaded once imported.
            rec = self._record(name, source, spec, description=_first_line(module.__doc__))
            rec.owners.add(owner)
            rec.runs_on = events.BOTH
            rec.state = RESOLVED
            return
        for cls in classes:
            rec = self._record(cls.name or cls.__name__, source, spec, cls)
            rec.owners.add(owner)  # the file's module-level listeners go when its plugins close
            self._check_class(rec)

    def _resolve_entry_point(self, spec: PluginSpec) -> None:
        name = spec.name or ""
        found = [ep for ep in entry_points() if ep.name == name]
        if not found:
            rec = self._record(name, "entry point (not installed)", spec)
            installed = ", ".join(ep.name for ep in entry_points()) or "none"
            self._fail(rec, RESOLVE, Refused(
                f"no installed plugin named {name!r} in entry-point group {GROUP!r} (installed: {installed}); "
                "install its package on this machine"))
            return
        ep = found[0]
        rec = self._record(name, _ep_source(ep), spec)
        try:
            with events.owned_by(f"plugin {name!r}"):
                obj = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(rec, RESOLVE, exc)
            return
        if isinstance(obj, type) and issubclass(obj, Plugin) and obj not in _BASES:
            rec.cls = obj
            self._check_class(rec)
        elif isinstance(obj, ModuleType):
            classes = plugin_classes(obj)
            if len(classes) > 1:
                self._fail(rec, RESOLVE, Refused(
                    f"entry point {ep.value} names a module with {len(classes)} plugin classes: point it at one"))
            elif classes:
                rec.cls = classes[0]
                self._check_class(rec)
            else:
                rec.runs_on = events.BOTH
                rec.description = _first_line(obj.__doc__)
                rec.state = RESOLVED
        else:
            self._fail(rec, RESOLVE, Refused(
                f"entry point {ep.value} is a {type(obj).__name__}, not a Plugin subclass or a module"))

    def _check_class(self, rec: PluginRecord) -> None:
        cls = rec.cls
        assert cls is not None
        rec.description = cls.description or _first_line(cls.__doc__)
        runs_on = default_runs_on(cls)
        rec.runs_on = runs_on
        if runs_on not in RUNS_ON:
            self._fail(rec, RESOLVE, Refused(f"runs_on must be one of {', '.join(RUNS_ON)}, not {runs_on!r}"))
            return
        if issubclass(cls, EventPlugin) and cls.event not in events.all_events():
            self._fail(rec, RESOLVE, Refused(
                f"{cls.__name__}.event names no event: {cls.event!r} (events: {', '.join(events.all_events())})"))
            return
        twin = next((r for r in self.records if r is not rec and r.name == rec.name and r.state != FAILED), None)
        if twin is not None:
            self._fail(rec, RESOLVE, Refused(f"another plugin is named {rec.name!r} ({twin.source})"))
            return
        rec.state = RESOLVED

    def _initialize(self, rec: PluginRecord) -> bool:
        if rec.runs_on is not None and not self.env.runs(rec.runs_on):
            rec.state = SKIPPED
            return True
        if rec.cls is None:  # a listener file or module: its import was its initialization
            rec.state = INITIALIZED
            return True
        holder = _live.get(rec.cls)
        if holder is not None:
            self._fail(rec, INITIALIZE, Refused(f"already running in this process (as {holder!r})"))
            return False
        try:
            with events.owned_by(f"plugin {rec.name!r}"):
                plugin = rec.cls()
                plugin.name = rec.name
                plugin.env = self.env
                plugin.options = dict(rec.spec.options) if rec.spec is not None else {}
                rec.plugin = plugin
                _live[rec.cls] = rec.name
                plugin.initialize()
        except Exception as exc:
            return self._fail(rec, INITIALIZE, exc)
        rec.state = INITIALIZED
        return True

    def _load(self, rec: PluginRecord) -> bool:
        plugin = rec.plugin
        if plugin is None:
            rec.state = LOADED
            return True
        try:
            with events.owned_by(f"plugin {rec.name!r}"):
                if isinstance(plugin, EventPlugin):
                    events.all_events()[plugin.event].add_listener(plugin.handle_event)
                if isinstance(plugin, BackgroundPlugin):
                    plugin.start()
                    if plugin.greenlet is not None:
                        plugin.greenlet.link_exception(lambda g, rec=rec: self._run_failed(rec, g.exception))
        except Exception as exc:
            return self._fail(rec, LOAD, exc)
        rec.state = LOADED
        return True

    def _run_failed(self, rec: PluginRecord, exc: BaseException | None) -> None:
        self._fail(rec, RUN, exc or RuntimeError("greenlet died"), fatal=False)
        if rec.required and self.env.controller is not None:
            # Past start-up the run can only be stopped, by the master (exit 3); a worker reports it through
            # on_problem, as fatal.
            self.env.stop(self.problems[-1], 3)

    # -- helpers ---------------------------------------------------------------------------------
    def _record(self, name: str, source: str, spec: PluginSpec, cls: type[Plugin] | None = None,
                description: str = "") -> PluginRecord:
        rec = PluginRecord(name=name, source=source, required=spec.required, spec=spec, cls=cls,
                           description=description)
        rec.owners.add(f"plugin {name!r}")  # what it registers while the manager runs its code goes with it
        self.records.append(rec)
        return rec

    def _fail(self, rec: PluginRecord, stage: str, exc: BaseException, fatal: bool = True) -> bool:
        """Mark ``rec`` failed at ``stage`` and log it; a required plugin's failure becomes fatal. False."""
        rec.state = FAILED
        rec.failed_stage = stage
        rec.error = _error_text(exc)
        what = "required plugin" if rec.required else "plugin"
        message = f"{what} {rec.name!r} failed at {stage}: {rec.error}"
        self.problems.append(message)
        detail = None if isinstance(exc, Refused) else exc
        if rec.required and stage != CLOSE:
            if fatal and self.fatal is None:
                self.fatal = message
            log.error("%s", message, exc_info=detail)
        else:
            log.error("%s; the run goes on", message, exc_info=detail)
        if self.on_problem is not None and message != self.fatal:
            self.on_problem(message, rec.required and stage == RUN)
        return False


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""
