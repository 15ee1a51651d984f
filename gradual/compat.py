"""The original framework's entry points, for users moving over: ``Orchestrator`` and ``stress-run``.

Both run exactly what ``gradual run`` runs; docs/compat.md says what else of the original maps where.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .api import Summary, run


class Orchestrator:
    """``Orchestrator(test_config, request_config).start_stress_test()``, as in the original framework.

    The same arguments; ``start_stress_test()`` runs the test in this process (see ``gradual.run`` for
    what the caller must do first) and returns its summary, where the original returned nothing.
    """

    def __init__(self, test_config_file_path: str | Path, request_configs_path: str | Path | None = None) -> None:
        self.test_config_file_path = Path(test_config_file_path)
        self.request_configs_path = Path(request_configs_path) if request_configs_path else None

    def start_stress_test(self) -> Summary:
        return run(self.test_config_file_path, self.request_configs_path)


def stress_run(argv: Sequence[str] | None = None) -> int:
    """``stress-run --test_config T [--request_config R] [gradual run options]``: calls ``gradual run``.

    The original's underscore flags and the positional form its examples page uses both work; any other
    argument (``--workers 2``, ``--json out.json``) goes to ``gradual run`` as it is.
    """
    parser = argparse.ArgumentParser(prog="stress-run", description="the original command: runs `gradual run`")
    parser.add_argument("--test_config", "--test-config", dest="test_config", type=Path,
                        help="test config (YAML); also accepted as the first argument")
    parser.add_argument("--request_config", "--request-config", dest="request_config", type=Path,
                        help="request config for scenarios without request_file")
    args, rest = parser.parse_known_args(argv)
    config = args.test_config
    if config is None and rest and not rest[0].startswith("-"):
        config = Path(rest.pop(0))  # `stress-run stress_test_configs/test_config.yaml`, as the examples page runs it
    if config is None:
        parser.print_usage(sys.stderr)
        print("stress-run: error: give the test config: --test_config PATH", file=sys.stderr)
        return 2
    forwarded = ["run", str(config)]
    if args.request_config is not None:
        forwarded += ["--request-config", str(args.request_config)]
    from .cli import main

    return main(forwarded + list(rest))
