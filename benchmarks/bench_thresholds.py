"""What one abort-threshold check with `for:` costs the master after a long run.

The master judges `abort: true` thresholds on every tick (once a second). A `for:` threshold is judged on
the per-second windows of the whole run, so without care each check grows with the run's length. This
builds a RunStats of `--seconds` one-second batches (`--keys` request keys, `--rps` requests a second
each, log-normal latencies), then times one check judged afresh (the reference, in the same run) and
checks that keep per-second verdicts between ticks (`SecondVerdicts`, as the controller does): the first
fills the cache, the next ones judge only what changed.

Run:  python benchmarks/bench_thresholds.py
      python benchmarks/bench_thresholds.py --seconds 3600 --keys 10
Nothing is sent anywhere: the batches are recorded in-process.
"""

from __future__ import annotations

import argparse
import math
import random
import time

from gradual.configs.thresholds import Threshold
from gradual.stats import Recorder, RunStats, StatsBatch
from gradual.stats.thresholds import SecondVerdicts, evaluate


def build(seconds: int, keys: int, rps: int) -> RunStats:
    rnd = random.Random(1)
    names = [f"request_{k}" for k in range(keys)]
    variants = []
    for _ in range(4):  # a few distinct one-second batches, shifted to every second of the run
        rec = Recorder(lambda: 0.0)
        rec.set_phase_origin("load", 0.0)
        slots = [rec.slot("load", "api", name, expected_response_time=0.5) for name in names]
        for slot in slots:
            for i in range(rps):
                slot.record(int(rnd.lognormvariate(math.log(20e6), 0.6)), 0.05 + i / rps, 200, 100)
        variants.append(rec.drain().to_wire())
    stats = RunStats()
    for sec in range(seconds):
        wire = variants[sec % len(variants)]
        entries = [dict(e, windows=[[w[0] + sec, *w[1:]] for w in e["windows"]]) for e in wire["entries"]]
        stats.merge(StatsBatch.from_wire({"entries": entries, "users": [], "custom": {}}), "w1")
    return stats


def timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=1800, help="length of the run so far (default 1800)")
    ap.add_argument("--keys", type=int, default=5, help="request keys in the threshold's scope (default 5)")
    ap.add_argument("--rps", type=int, default=2000, help="requests a second per key (default 2000)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    stats = build(args.seconds, args.keys, args.rps)
    print(f"RunStats of {args.seconds} s x {args.keys} keys x {args.rps} req/s built in "
          f"{time.perf_counter() - t0:.1f} s")
    t = Threshold("p99 < 500ms", "p99", "<", 500.0, "ms", phase="load", abort=True, for_s=5.0)
    durations, complete = {"load": float(args.seconds)}, {"load": args.seconds}

    def check(cache: SecondVerdicts | None = None) -> None:
        evaluate(t, stats, durations, set(), complete_seconds=complete, seconds_cache=cache)

    fresh = min(timed(check) for _ in range(3))
    cache = SecondVerdicts()
    first = timed(lambda: check(cache))
    later = min(timed(lambda: check(cache)) for _ in range(5))
    print(f"one check judged afresh (reference)    {fresh:8.1f} ms")
    print(f"first check with SecondVerdicts        {first:8.1f} ms")
    print(f"later checks with SecondVerdicts       {later:8.1f} ms  ({fresh / later:.1f}x less than afresh)")
    print(f"share of one core at one check a second: {later / 10:.1f}% (afresh: {fresh / 10:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
