"""The master's per-batch stats work, in-process: msgpack unpack + StatsBatch.from_wire + RunStats.merge.

Batches are the ones bench_master.py sends: recorded by the real Recorder, `--keys` request keys at
`--rps` requests a second each, log-normal latencies (median 20 ms), 1% HTTP 500s, drained just after a
phase second ends, so each key's windows straddle two seconds. K workers send one a second for S
seconds into one RunStats. Reference measured in the same run: a bare `msgpack.unpackb` loop over the
same bytes; compare the ratios between runs on a noisy machine, not the µs.

Run:  python benchmarks/bench_aggregate.py
      python benchmarks/bench_aggregate.py --baseline /tmp/old_stats   # a copy of an older gradual/stats/
      python benchmarks/bench_aggregate.py --workers 20 --seconds 300 --rounds 1 --memory   # a long run's memory

--baseline DIR measures DIR's *.py (an older copy of gradual/stats, imported as a separate package) on
the same requests in the same run, so two versions compare without switching the tree. Each version
encodes them with its own Recorder, since the wire form of a batch may differ between versions; each gets
its own bare unpackb reference. It also checks that both give the same whole-run numbers.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import msgpack

# The batches bench_master.py sends, from the same builder (this folder is on sys.path when run as a script).
from bench_master import PHASE, SCENARIO, build_batches


def frames(wires: list[dict[str, Any]], workers: int, seconds: int) -> list[list[bytes]]:
    """frames[s][w]: worker w's packed batch for second s, its windows moved to seconds s - 1 and s."""
    users = [[PHASE, SCENARIO, 4]]
    out = []
    for s in range(1, seconds + 1):
        row = []
        for w in range(workers):
            wire = wires[(w + s) % len(wires)]
            entries = [dict(e, windows=[[x[0] + s - 1, x[1], x[2], x[3]] for x in e["windows"]])
                       for e in wire["entries"]]
            row.append(msgpack.packb({"entries": entries, "users": users, "custom": {}}, use_bin_type=True))
        out.append(row)
    return out


def load_copy(src: Path) -> ModuleType:
    """Import the *.py of `src` (a copy of gradual/stats) as a separate package."""
    name = "_bench_stats_baseline"
    pkg = Path(tempfile.mkdtemp(prefix="bench_aggregate_")) / name
    pkg.mkdir()
    for f in src.glob("*.py"):
        if f.name == "thresholds.py":  # imports gradual.configs relatively; not on this path
            continue
        (pkg / f.name).write_text(f.read_text().replace("gradual.stats.", f"{name}."))
    sys.path.insert(0, str(pkg.parent))
    return importlib.import_module(name)


def bare(rows: list[list[bytes]]) -> float:
    t0 = time.perf_counter()
    for row in rows:
        for body in row:
            msgpack.unpackb(body, raw=False, strict_map_key=True)
    return time.perf_counter() - t0


def merge_all(stats_mod: Any, rows: list[list[bytes]]) -> tuple[float, Any]:
    stats = stats_mod.RunStats()
    from_wire = stats_mod.StatsBatch.from_wire
    sources = [f"w{i}" for i in range(len(rows[0]))]
    t0 = time.perf_counter()
    for row in rows:
        for source, body in zip(sources, row, strict=True):
            stats.merge(from_wire(msgpack.unpackb(body, raw=False, strict_map_key=True)), source)
    return time.perf_counter() - t0, stats


def reads(stats_mod: Any, stats: Any, bodies: list[bytes]) -> float:
    """A tick's reads (the run's totals, every key's latency, the phase's totals) just after a merge
    (so no cached view helps), µs: the best of one tick per body, each merged first (untimed)."""
    best = math.inf
    for body in bodies:
        stats.merge(stats_mod.StatsBatch.from_wire(msgpack.unpackb(body, raw=False, strict_map_key=True)), "w0")
        t0 = time.perf_counter()
        stats.totals().latency_ms()
        for key in stats.keys():
            stats.get(*key).latency_ms()
        stats.phase_totals(PHASE).latency_ms()
        best = min(best, time.perf_counter() - t0)
    return best * 1e6


def memory(stats_mod: Any, rows: list[list[bytes]]) -> tuple[int, int]:
    """Bytes a RunStats keeps after merging every row, and the peak while merging (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        _, stats = merge_all(stats_mod, rows)
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del stats
    return kept, peak


def same_numbers(a: Any, b: Any) -> bool:
    if sorted(a.keys()) != sorted(b.keys()):
        return False
    for key in a.keys():
        ta, tb = a.get(*key), b.get(*key)
        ha, hb = ta.hist, tb.hist
        if (ta.count, ta.failures, ha.counts, ha.total, ha.min, ha.max, ha.sum) != (
            tb.count, tb.failures, hb.counts, hb.total, hb.min, hb.max, hb.sum
        ):
            return False
        if ta.latency_ms() != tb.latency_ms() or ta.window_series() != tb.window_series():
            return False
    return a.totals().latency_ms() == b.totals().latency_ms()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=200, help="batches a second (default 200)")
    ap.add_argument("--seconds", type=int, default=10, help="seconds of batches per round (default 10)")
    ap.add_argument("--keys", type=int, default=5)
    ap.add_argument("--rps", type=int, default=200, help="requests a second per key (default 200)")
    ap.add_argument("--rounds", type=int, default=5, help="best of this many rounds (default 5)")
    ap.add_argument("--baseline", type=Path, help="a copy of an older gradual/stats/ to measure beside this tree")
    ap.add_argument("--memory", action="store_true",
                    help="also merge one round under tracemalloc: what the RunStats keeps, and the peak")
    args = ap.parse_args(argv)

    import gradual.stats as current

    versions: dict[str, Any] = {"current": current}
    if args.baseline:
        versions = {"baseline": load_copy(args.baseline), **versions}
    rows = {name: frames(build_batches(args.keys, args.rps, 8, 1, recorder=mod.Recorder), args.workers, args.seconds)
            for name, mod in versions.items()}
    n = args.workers * args.seconds
    sizes = ", ".join(f"{sum(len(b) for b in r[0]) / len(r[0]) / 1000:.1f} KB ({name})" for name, r in rows.items())
    print(f"{n} batches a round ({args.workers} workers x {args.seconds} s), {args.keys} keys x {args.rps} "
          f"requests/s, {sizes} each; best of {args.rounds} rounds")

    best = {f"{name} {what}": math.inf for name in versions for what in ("bare", "merge")}
    final: dict[str, Any] = {}
    gc.collect()
    for _ in range(args.rounds):  # interleaved, so a busy spell hits every variant alike
        for name, mod in versions.items():
            best[f"{name} bare"] = min(best[f"{name} bare"], bare(rows[name]))
            gc.collect()
            t, final[name] = merge_all(mod, rows[name])
            best[f"{name} merge"] = min(best[f"{name} merge"], t)
    us = {key: t / n * 1e6 for key, t in best.items()}
    if args.baseline:  # compare before the reads below merge a few more batches
        same = same_numbers(final["baseline"], final["current"])
    for name, mod in versions.items():
        merge, bare_us = us[f"{name} merge"], us[f"{name} bare"]
        print(f"{name:<10} {merge:8.1f} µs/batch ({merge / bare_us:.1f}x its bare unpackb, {bare_us:.1f} µs)   "
              f"reads of one tick: {reads(mod, final[name], rows[name][-1][:10]):.0f} µs")
    if args.memory:
        wire = sum(len(b) for row in next(iter(rows.values())) for b in row)
        print(f"memory (one more round under tracemalloc; the round's frames hold {wire / 1e6:.1f} MB):")
        for name, mod in versions.items():
            kept, peak = memory(mod, rows[name])
            print(f"{name:<10} RunStats keeps {kept / 1e6:7.1f} MB ({kept / wire:.2f}x the frames), "
                  f"peak {peak / 1e6:.1f} MB")
    if args.baseline:
        ratio = us["current merge"] / us["baseline merge"]
        print(f"current / baseline: {ratio:.3f} ({(1 - ratio) * 100:+.1f}% less work per batch)")
        print(f"same numbers: {same}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
