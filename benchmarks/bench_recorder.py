"""Hot-path cost of the stats recorder: ns per Slot.record() next to a bare dict-increment loop
measured in the same run (machine-independent ratio), plus drain and wire costs of a batch.

Run: python benchmarks/bench_recorder.py   (pure CPU, no network; bounded in time)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import msgpack

from gradual.stats import Recorder, RunStats, StatsBatch

N = 1_000_000
KEYS = 20
RECORDS_PER_KEY = 1_000  # 20 keys x 1000 = a 20k requests/s node
REPEATS = 5


class FakeClock:
    """Stands in for time.monotonic so every record lands in a chosen second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def latencies(n: int) -> list[int]:
    rnd = random.Random(1)
    # Log-normal around 20 ms: a spread of buckets like real HTTP latencies.
    return [int(rnd.lognormvariate(16.8, 0.6)) for _ in range(n)]


def bench_dict_baseline(keys: list[int]) -> float:
    d: dict[int, int] = {}
    get = d.get
    t = time.perf_counter_ns()
    for k in keys:
        d[k] = get(k, 0) + 1
    return (time.perf_counter_ns() - t) / len(keys)


def bench_record(lat: list[int]) -> float:
    clock = FakeClock()
    rec = Recorder(clock)
    rec.set_phase_origin("p", 0.0)
    slot = rec.slot("p", "s", "GET /", expected_response_time=0.05)
    record = slot.record
    # Ends spread over 10 seconds so the window lookup is exercised, not just its cache.
    ends = [i * 10.0 / len(lat) for i in range(len(lat))]
    t = time.perf_counter_ns()
    for latency_ns, end in zip(lat, ends, strict=True):
        record(latency_ns, end, 200, 512)
    return (time.perf_counter_ns() - t) / len(lat)


def one_second_batch(lat: list[int]) -> Recorder:
    clock = FakeClock()
    rec = Recorder(clock)
    rec.set_phase_origin("p", 0.0)
    slots = [rec.slot("p", f"s{i % 4}", f"GET /{i}") for i in range(KEYS)]
    rec.set_users("p", "s0", 100)
    j = 0
    for slot in slots:
        for i in range(RECORDS_PER_KEY):
            # Straddle a second boundary, as a real drain does.
            slot.record(lat[j], 3.5 + i / RECORDS_PER_KEY, 200, 512)
            j += 1
    return rec


def best(fn: Callable[..., float], *args: Any) -> float:
    return min(fn(*args) for _ in range(REPEATS))


def main() -> None:
    lat = latencies(N)
    keys = [x % 997 for x in lat]
    base = best(bench_dict_baseline, keys)
    rec_ns = best(bench_record, lat)
    print(f"dict[k] = get(k, 0) + 1     {base:8.1f} ns/op")
    print(f"Slot.record()               {rec_ns:8.1f} ns/op   ({rec_ns / base:.1f}x the dict loop)")

    drain_us = []
    wire_us = []
    merge_us = []
    size = 0
    for _ in range(REPEATS):
        rec = one_second_batch(lat)
        t = time.perf_counter_ns()
        batch = rec.drain()
        drain_us.append((time.perf_counter_ns() - t) / 1000)

        t = time.perf_counter_ns()
        data = msgpack.packb(batch.to_wire(), use_bin_type=True)
        wire_us.append((time.perf_counter_ns() - t) / 1000)
        size = len(data)

        stats = RunStats()
        t = time.perf_counter_ns()
        decoded = StatsBatch.from_wire(msgpack.unpackb(data, raw=False, strict_map_key=True))
        stats.merge(decoded, "w1")
        merge_us.append((time.perf_counter_ns() - t) / 1000)
    n = KEYS * RECORDS_PER_KEY
    print(f"drain() 1 s batch, {KEYS} keys, {n} records   {min(drain_us):8.1f} µs")
    print(f"to_wire + packb                           {min(wire_us):8.1f} µs  ({size} bytes)")
    print(f"unpackb + from_wire + RunStats.merge      {min(merge_us):8.1f} µs  (master, per worker batch)")


if __name__ == "__main__":
    main()
