"""The composition root: parses the command line and starts validate, run, master or worker.

Exit codes (DESIGN.md): 0 success, 1 a threshold failed, 2 bad usage or configuration, 3 run aborted,
130 interrupted. A user mistake prints one line per problem, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from .configs import RunConfig

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_ABORTED = 3
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradual",
        description="Distributed stress testing: phases of scenarios that ramp up gradually.",
    )
    parser.add_argument("--version", action="version", version=f"gradual {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check a test config and its request files, print the plan")
    p.add_argument("config", type=Path, help="test config (YAML)")
    p.add_argument("--request-config", type=Path, help="request config for scenarios without request_file")

    p = sub.add_parser("run", help="run a test on this machine")
    p.add_argument("config", type=Path, help="test config (YAML)")
    p.add_argument("--request-config", type=Path, help="request config for scenarios without request_file")
    _report_options(p)

    p = sub.add_parser("demo", help="start a local demo target and run a short multi-phase test against it")
    p.add_argument("--serve", action="store_true", help="only serve the demo target until Ctrl-C")
    p.add_argument("--port", type=int, default=0, help="demo target port (default: a free one; 8080 with --serve)")
    _report_options(p)
    return parser


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", type=Path, metavar="PATH", help="write the summary JSON (gradual.summary/1)")
    p.add_argument("--quiet", action="store_true", help="no live table, only the final summary")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "validate":
        from .validate import validate_command

        return validate_command(args.config, args.request_config)
    # Everything below runs load: sockets must be cooperative before anything imports them.
    from gevent import monkey

    monkey.patch_all()
    if args.command == "run":
        return _run_local(args.config, args.request_config, args)
    if args.command == "demo":
        return _demo(args)
    parser.error(f"unknown command {args.command}")  # argparse already rejects it; kept for type checkers
    return EXIT_USAGE


def _load(config: Path, request_config: Path | None) -> RunConfig | None:
    from .configs import ConfigError, load
    from .preflight import check_credentials
    from .validate import print_config_error

    try:
        run = load(config, request_config)
        check_credentials(run)
    except ConfigError as exc:
        print_config_error(exc)
        return None
    return run


def _run_local(config: Path, request_config: Path | None, args: argparse.Namespace) -> int:
    run = _load(config, request_config)
    if run is None:
        return EXIT_USAGE
    from .master.local import InProcessLink

    return _execute(run, InProcessLink(run), args)


def _execute(run: RunConfig, link: Any, args: argparse.Namespace) -> int:
    """Drive ``link`` through the controller, then report; the exit code follows DESIGN.md."""
    import signal

    import gevent

    from .master.controller import Controller
    from .master.link import LinkError
    from .reports.console import ConsoleReporter
    from .reports.json import JsonReporter
    from .reports.summary import build_summary

    console = ConsoleReporter()
    controller = Controller(run, link, observers=[] if args.quiet else [console])
    handler = gevent.signal_handler(signal.SIGINT, controller.interrupt)
    term = gevent.signal_handler(signal.SIGTERM, controller.interrupt)
    try:
        result = controller.execute()
    except LinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        link.close(EXIT_ABORTED)
        return EXIT_ABORTED
    finally:
        handler.cancel()
        term.cancel()
    code = EXIT_INTERRUPTED if result.interrupted else EXIT_OK
    summary = build_summary(result, code)
    link.close(code)
    if args.json is not None:
        JsonReporter(args.json).write(summary)
    console.final(summary)
    return code


def _demo(args: argparse.Namespace) -> int:
    from .demo.run import demo_command

    return demo_command(args, _load, _execute)
