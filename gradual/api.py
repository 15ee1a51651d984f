"""``gradual.run()``: a test driven from Python (pytest, notebooks), the same run ``gradual run`` makes.

This is the library's second composition root (the CLI is the first): it loads the config, drives the
controller through the in-process engine or ``workers`` local worker processes, and returns the
summary. It installs no signal handler, configures no logging, monkey-patches nothing, and leaves no
run behind: the run's plugins are closed, the listeners its request files registered are removed and
those files are forgotten, so the next call imports them afresh.

Before calling it: the load runs on gevent in the calling thread. gradual's own HTTP client needs
nothing more, but a WebSocket request or a Python request function that blocks (``requests``,
``time.sleep``) blocks every user unless the caller ran ``gevent.monkey.patch_all()`` first, at the
very top of the program, before anything else imports ``socket``, ``ssl`` or ``threading`` (the CLI
does exactly that). Call it from the main thread, one run at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when run() is called: `import gradual` must not import ssl before the CLI patches it
    from .configs import RunConfig
    from .configs.overrides import Overrides


EXIT_ABORTED = 3
OVERRIDE_KEYS = ("host", "run_time", "users", "spawn_rate", "set")


class Summary(dict):  # type: ignore[type-arg]
    """The run's summary (schema gradual.summary/1) as a plain dict, plus the exit code as an attribute."""

    @property
    def exit_code(self) -> int:
        """DESIGN.md's exit code: 0 passed, 1 a threshold failed, 3 aborted, 130 interrupted."""
        return int(self["run"]["exit_code"])

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


class RunAborted(Exception):
    """The run could not start or go on (no workers, a bundle a worker could not load, a required plugin
    failed): what the CLI reports with exit code 3. ``exit_code`` says so."""

    def __init__(self, message: str, exit_code: int = EXIT_ABORTED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(
    config: str | Path | RunConfig,
    request_config: str | Path | None = None,
    *,
    workers: int = 0,
    overrides: Overrides | Mapping[str, Any] | None = None,
    reports: Mapping[str, str | Path] | str | Path | None = None,
    records: str | Path | None = None,
    max_error_rate: float = 1.0,
) -> Summary:
    """Run the test ``config`` and return its summary; ``summary.exit_code`` is the CLI's exit code.

    ``workers``: 0 runs the load in this process; N starts N local worker processes over loopback
    (as ``gradual run --workers N``). ``overrides``: an ``Overrides`` or a mapping with the CLI's
    flags: ``host``, ``run_time``, ``users``, ``spawn_rate`` and ``set`` (a mapping of key paths to values,
    or ``"KEY.PATH=VALUE"`` strings); the GRADUAL_* environment variables are not read. ``reports``: a
    folder for every report, or a mapping of report name (json, csv, html, junit) to path. ``records``: a
    path for every completion record as JSON lines (``--records``). ``max_error_rate``: as
    ``--max-error-rate``, a share from 0 to 1 (1 = off); a run where no request succeeded fails regardless.

    A config that does not validate raises ``gradual.configs.ConfigError`` (``str()`` lists every
    issue, one a line); a run that cannot start raises ``RunAborted``.
    """
    from .configs import RunConfig, load
    from .preflight import check_credentials

    if workers < 0:
        raise ValueError("workers must be 0 or more")
    if not 0 <= max_error_rate <= 1:
        raise ValueError("max_error_rate must be a share from 0 to 1")
    if isinstance(config, RunConfig):  # loaded by the caller, who keeps what its request files registered
        check_credentials(config)
        return _execute(config, workers, _targets(reports), records, max_error_rate)
    run_config = load(config, request_config, _overrides(overrides))
    try:
        check_credentials(run_config)
        return _execute(run_config, workers, _targets(reports), records, max_error_rate)
    finally:
        _forget(run_config)


def _overrides(given: Overrides | Mapping[str, Any] | None) -> Overrides | None:
    from .configs.overrides import Overrides, from_sources

    if given is None or isinstance(given, Overrides):
        return given
    unknown = sorted(set(given) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"unknown override {unknown[0]!r} (use {', '.join(OVERRIDE_KEYS)})")
    flags = {k: None if given.get(k) is None else str(given[k]) for k in OVERRIDE_KEYS if k != "set"}
    sets = given.get("set") or ()
    pairs: Iterable[str]
    if isinstance(sets, Mapping):
        # Values travel as YAML text, as on the command line: JSON is YAML, and keeps a string a string.
        pairs = [f"{key}={json.dumps(value)}" for key, value in sets.items()]
    elif isinstance(sets, str):
        pairs = [sets]
    else:
        pairs = [str(p) for p in sets]
    return from_sources(flags, pairs, {})


def _targets(reports: Mapping[str, str | Path] | str | Path | None) -> dict[str, Path]:
    from .reports.render import report_dir_targets

    if reports is None:
        return {}
    if isinstance(reports, (str, Path)):
        return report_dir_targets(Path(reports))
    known = ("json", "csv", "html", "junit")
    unknown = sorted(set(reports) - set(known))
    if unknown:
        raise ValueError(f"unknown report {unknown[0]!r} (use {', '.join(known)})")
    return {name: Path(path) for name, path in reports.items()}


def _execute(run: RunConfig, workers: int, targets: dict[str, Path], records: str | Path | None,
             max_error_rate: float = 1.0) -> Summary:
    from .master.controller import Controller
    from .master.link import LinkError
    from .plugins.runtime import controller_environment
    from .reports.csv import CsvReporter
    from .reports.render import write_reports

    with ExitStack() as stack:
        if workers == 0:
            from .master.local import InProcessLink

            link: Any = InProcessLink(run, records=records is not None)
        else:
            from .master.local_cluster import LocalCluster
            from .master.zmq_link import ZmqLink

            link = ZmqLink(run, bind="127.0.0.1", port=0, expect_workers=workers, expect_timeout=60.0,
                           records=records is not None)
            cluster = stack.enter_context(LocalCluster(link.port, workers))
            link.start_guard = cluster.failed
        observers: list[Any] = [CsvReporter(targets["csv"])] if "csv" in targets else []
        controller = Controller(run, link, observers=observers)
        if records is not None:
            from .reports.records import RecordsFile

            controller.records = stack.enter_context(_closing(RecordsFile(Path(records))))
        env, fatal = controller_environment(run, link, controller)
        if fatal is not None:
            link.close(EXIT_ABORTED)
            raise RunAborted(f"{fatal}: the run is aborted")
        try:
            result = controller.execute()
        except LinkError as exc:
            link.close(EXIT_ABORTED)
            env.close()
            raise RunAborted(str(exc)) from None
        except BaseException:
            link.close(EXIT_ABORTED)
            env.close()
            raise
        summary, _ = controller.conclude(result, env, max_error_rate)  # the code is in the summary
    write_reports(summary, targets)
    return Summary(summary)


@contextmanager
def _closing(records: Any) -> Iterator[Any]:
    """The records file is closed even when the run fails (close() twice is harmless)."""
    try:
        yield records
    finally:
        records.close()


def _forget(run: RunConfig) -> None:
    """Nothing of this run stays registered: its request files' listeners go, and the files are imported
    afresh by the next run (their module-level code runs again, as in a new process)."""
    from . import events
    from .configs.requests import forget_request_file, request_file_owner

    for file in run.files:
        events.remove_owner(request_file_owner(file))
        forget_request_file(file)
