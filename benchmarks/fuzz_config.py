"""Fuzz the config loader for N minutes: mutated test configs and request files (wrong types, huge
numbers, control characters, aliases, tags, deep nesting) must load or fail with one-line ConfigErrors.

Run:  python benchmarks/fuzz_config.py --minutes 5
Prints the cases tried and every distinct failure (a traceback, or an error that is not one short line).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from fuzz_common import fuzz
from support.fuzzing import CONFIGS, check_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gradual-fuzz-") as folder:
        def oracle(texts: Any) -> str | None:
            return check_config(Path(folder), texts)

        return fuzz("fuzz_config", CONFIGS, oracle, args.minutes)


if __name__ == "__main__":
    sys.exit(main())
