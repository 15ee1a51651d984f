"""Shared by fuzz_proto.py and fuzz_config.py: run a hypothesis strategy against an oracle for N minutes.

The generators and oracles are the suite's (tests/support/fuzzing.py); the suite runs them for seconds,
these scripts for as long as asked. Failures are collected, not shrunk: the run goes on and prints them.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BATCH = 200  # examples per hypothesis run; runs repeat until the time is up


def fuzz(name: str, strategy: st.SearchStrategy[Any], oracle: Callable[[Any], str | None], minutes: float) -> int:
    """Print cases tried, failures, and the distinct failures (first 20); exit code 1 if any."""
    cases = 0
    failures: Counter[str] = Counter()
    deadline = time.monotonic() + minutes * 60
    started = time.monotonic()

    @settings(max_examples=BATCH, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def run(value: Any) -> None:
        nonlocal cases
        if time.monotonic() > deadline:
            return
        cases += 1
        problem = oracle(value)
        if problem is not None:
            failures[problem] += 1

    while time.monotonic() < deadline:
        run()
    elapsed = time.monotonic() - started
    print(f"{name}: {cases} cases in {elapsed:.0f} s ({cases / max(elapsed, 1e-9):.0f}/s), "
          f"{sum(failures.values())} failures, {len(failures)} distinct")
    for problem, n in failures.most_common(20):
        print(f"  {n} x {problem}")
    return 1 if failures else 0
