"""Fuzz the master's decoder for N minutes: decode() under the worker frame limits, the stats batch
decoder and the plausibility rules, on random, malformed, corrupted and amplification frames.

Run:  python benchmarks/fuzz_proto.py --minutes 5
Prints the cases tried and every distinct failure (an exception other than ProtocolError/ValueError).
"""

from __future__ import annotations

import argparse
import sys

from fuzz_common import fuzz
from support.fuzzing import FRAMES, check_frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args()
    return fuzz("fuzz_proto", FRAMES, check_frame, args.minutes)


if __name__ == "__main__":
    sys.exit(main())
