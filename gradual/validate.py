"""`gradual validate`: load everything, print the run as a compact tree with each scenario's plan."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import plan
from .configs import ConfigError, ConfigIssue, RunConfig, load
from .configs.errors import display_path
from .configs.loader import BASES
from .configs.model import PYTHON, RequestConfig
from .configs.overrides import Overrides
from .configs.workload import describe_wait
from .preflight import missing_credentials


def print_config_warnings(warnings: Sequence[ConfigIssue]) -> None:
    """A config's warnings, one line each (file:line: key path: what gradual does instead), on stderr."""
    for issue in warnings:
        print(f"warning: {issue}", file=sys.stderr)


def strict_error(run: RunConfig) -> ConfigError | None:
    """``--strict``: the run's warnings as errors (CI that wants a file to run exactly as written), else None."""
    if not run.warnings:
        return None
    return ConfigError([replace(w, message=f"{w.message} [--strict: a warning is an error]") for w in run.warnings])


def print_config_error(exc: ConfigError) -> None:
    print_config_warnings(exc.warnings)
    for issue in exc.issues:
        print(f"error: {issue}", file=sys.stderr)
    count = len(exc.issues)
    print(f"{count} error{'s' if count != 1 else ''}: nothing was run", file=sys.stderr)


def _request_line(req: RequestConfig) -> str:
    if req.kind == PYTHON:
        fn = req.function
        where = getattr(fn, "__qualname__", "?")
        label = f" {req.method} {req.url}" if req.url else ""
        return f"{req.name} [python] {where}(){label}"
    if req.kind == "websocket":
        return f"{req.name} [websocket] {req.url}"
    return f"{req.name} [http] {req.method} {req.url}"


def render_tree(run: RunConfig) -> str:
    count = len(run.phases)
    lines = [f"run: {run.name}  ({count} phase{'' if count == 1 else 's'}, "
             f"wait_between_phases={run.wait_between_phases:g}s)"]
    for pi, phase in enumerate(run.phases):
        last_phase = pi == len(run.phases) - 1
        lines.append(f"{'└─' if last_phase else '├─'} phase {phase.name}  run_time={phase.run_time:g}s")
        pad = "   " if last_phase else "│  "
        for si, scen in enumerate(phase.scenarios):
            last_scen = si == len(phase.scenarios) - 1
            mode = []
            if scen.run_once:
                mode.append("run_once")
            if scen.iterate_through_requests:
                mode.append("iterate_through_requests")
            extra = f"  [{', '.join(mode)}]" if mode else ""
            if scen.open:
                size = (f"open model: {scen.min_rate:g}..{scen.max_rate:g}/s {scen.arrivals} arrivals, "
                        f"at most {scen.max_concurrency} in flight")
            else:
                size = f"users {scen.min_concurrency}..{scen.max_concurrency}"
            lines.append(f"{pad}{'└─' if last_scen else '├─'} scenario {scen.name}  {size}{extra}")
            spad = pad + ("   " if last_scen else "│  ")
            for file, base in scen.request_files:
                where = BASES.get(base, "")
                shown = display_path(file) + (f" ({where})" if where else "")
                lines.append(f"{spad}request_file: {shown}")
            if scen.run_once:
                batches = plan.run_once_batches(scen)
                shown = " → ".join(f"+{b.wait:g}s:{b.size}" for b in batches)
                lines.append(f"{spad}plan (batches): {shown}")
            else:
                label = "plan (rate)" if scen.open else "plan"
                lines.append(f"{spad}{label}: {plan.describe(plan.timeline(scen, phase.run_time), scen.open)}")
            if scen.wait_time is not None:
                lines.append(f"{spad}wait_time: {describe_wait(scen.wait_time)}")
            if scen.data is not None:
                d = scen.data
                lines.append(f"{spad}data: {display_path(d.file)} (order {d.order}, scope {d.scope}, "
                             f"on_exhausted {d.on_exhausted})")
            if scen.on_start:
                lines.append(f"{spad}on_start: {', '.join(r.name for r in scen.on_start)}")
            if not scen.cookies:
                lines.append(f"{spad}cookies: off")
            for ri, req in enumerate(scen.requests):
                lines.append(f"{spad}{'└─' if ri == len(scen.requests) - 1 else '├─'} {_request_line(req)}")
    return "\n".join(lines)


def validate_command(
    config: Path, request_config: Path | None, overrides: Overrides | None = None, strict: bool = False
) -> int:
    try:
        run = load(config, request_config, overrides)
    except ConfigError as exc:
        print_config_error(exc)
        return 2
    refused = strict_error(run) if strict else None
    if refused is not None:
        print_config_error(refused)
        return 2
    print_config_warnings(run.warnings)
    # The files are valid, but this environment lacks what a request needs: `gradual run` would stop on it.
    print_config_warnings([replace(i, message=f"{i.message}: gradual run would stop here (exit 2)")
                           for i in missing_credentials(run)])
    for line in run.overrides.describe():
        print(f"override: {line}")
    print(render_tree(run))
    print("ok: configuration is valid")
    return 0
