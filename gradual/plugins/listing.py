"""`gradual plugins`: what is installed and what a config would load, with source, node and state.

Plugins are imported (resolved) to show where they run and whether they import at all; none is
initialized, so listing never opens a database or starts a greenlet. ``--events`` lists the events.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .. import events
from ..configs import ConfigError, load
from ..configs.errors import display_path
from ..configs.model import PluginSpec
from .environment import LOCAL, Environment
from .manager import DISCOVERED, FAILED, GROUP, RESOLVED, PluginRecord, entry_points


def _source(rec: PluginRecord) -> str:
    if rec.source.startswith("file "):
        return "file " + display_path(rec.source[len("file "):])
    return rec.source


def _state(rec: PluginRecord) -> str:
    return f"failed at {rec.failed_stage}" if rec.state == FAILED else rec.state


def _about(rec: PluginRecord) -> str:
    return rec.error or "" if rec.state == FAILED else rec.description


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
                     for row in rows)


def print_events() -> None:
    for name, hook in events.all_events().items():
        print(f"{name}  [{hook.nodes}]")
        for line in (hook.__doc__ or "").rstrip().splitlines():
            print(f"    {line}" if line else "")
        print()


def plugins_command(config: Path | None, request_config: Path | None, names: list[str],
                    show_events: bool = False) -> int:
    if show_events:
        print_events()
        return 0
    specs: list[PluginSpec] = []
    run = None
    if config is not None:
        try:
            run = load(config, request_config)
        except ConfigError as exc:
            from ..validate import print_config_error

            print_config_error(exc)
            return 2
        specs.extend(run.plugins)
    specs.extend(PluginSpec(name=n, origin="cli") for n in names)
    # Failures are the table's business here, not log lines in front of it.
    logging.getLogger("gradual.plugins").setLevel(logging.CRITICAL)
    env = Environment(LOCAL, run)
    try:
        env.plugins.resolve(specs)
        enabled = list(env.plugins.records)
        wanted = {spec.name for spec in specs if spec.name}
        others = Environment(LOCAL, run)
        others.plugins.resolve([PluginSpec(name=ep.name) for ep in entry_points() if ep.name not in wanted])
        for rec in others.plugins.records:
            if rec.state == RESOLVED:
                rec.state = DISCOVERED
        others.close()
    finally:
        env.close()
    rows = [["NAME", "SOURCE", "RUNS ON", "ENABLED", "STATE", "DESCRIPTION / ERROR"]]
    for rec in enabled:
        rows.append([rec.name, _source(rec), rec.runs_on or "-", "required" if rec.required else "yes",
                     _state(rec), _about(rec)])
    for rec in others.plugins.records:
        rows.append([rec.name, _source(rec), rec.runs_on or "-", "no", _state(rec), _about(rec)])
    if len(rows) == 1:
        print(f"no plugins: none installed (entry-point group {GROUP!r})"
              + (" and none named in the config" if config is not None else ""))
        return 0
    print(_table(rows))
    if any(rec.state == DISCOVERED for rec in others.plugins.records):
        print("\nan installed plugin loads only when named: runs.plugins: [NAME] or --plugin NAME", file=sys.stderr)
    if any(rec.required and rec.state == FAILED for rec in enabled):
        return 3
    return 0
