"""The composition root: parses the command line and starts validate, run, master or worker.

Exit codes (DESIGN.md): 0 success, 1 a threshold failed, 2 bad usage or configuration, 3 run aborted,
130 interrupted. A user mistake prints one line per problem, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "validate":
        from .validate import validate_command

        return validate_command(args.config, args.request_config)
    parser.error(f"unknown command {args.command}")  # argparse already rejects it; kept for type checkers
    return EXIT_USAGE
