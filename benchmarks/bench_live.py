"""What the live dashboard's view (master/live.py) costs the master per tick, with and without a page open.

In one process, no sockets: K sources' stats batches (bench_master.build_batches: the real Recorder,
N request keys, 200 requests a second each) are merged into a real RunStats second by second, and after
each second a real LiveView makes its frame, as the controller's tick does. The reference, measured in
the same run, is the merge of those batches itself (what the master does anyway). Printed: CPU ms per
tick (thread time, so a busy machine does not inflate it) with one page open (the frame: table,
verdicts, workers, per-second points, encoded once; each further page only adds a socket write) and
with none (the points only), and their ratio to the merge.

The controller is a stand-in (a namespace with the fields LiveView reads): this measures the view's own
work, not the controller's. bench_master.py --dashboards N measures the whole master with real readers.

Run:  python benchmarks/bench_live.py                      # 1,000 sources x 50 keys
      python benchmarks/bench_live.py --sources 100 --keys 50
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

# The batches bench_master.py sends, from the same builder (this folder is on sys.path when run as a script).
import bench_master as bm
import msgpack
from gradual.master.controller import PhaseRecord
from gradual.master.link import WorkerView
from gradual.master.live import LiveView
from gradual.master.registry import Registry, WorkerRecord
from gradual.master.samples import SampleSeries

from gradual.configs import load
from gradual.stats import RunStats
from gradual.stats.batch import StatsBatch


class _Page:
    """An open page as LiveView sees one: a queue that takes every frame."""

    def put_nowait(self, frame: bytes) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", type=int, default=1000, help="workers whose batches are merged (default 1000)")
    p.add_argument("--keys", type=int, default=50, help="request keys (default 50)")
    p.add_argument("--seconds", type=int, default=12, help="seconds of load; the first 4 are not measured")
    a = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="gradual-bench-live-"))
    (tmp / "config.yaml").write_text(bm.CONFIG.format(phase=bm.PHASE, run_time=3600, scenario=bm.SCENARIO,
                                                      users_min=1, users_max=a.sources))
    (tmp / "requests.yaml").write_text("requests:\n" + "".join(bm.REQUEST.format(name=n)
                                                             for n in bm.key_names(max(a.keys, 5))))
    run = load(tmp / "config.yaml", None)
    wires = bm.build_batches(a.keys, 200, 4, seed=1)
    stats = RunStats()
    record = PhaseRecord(bm.PHASE, 0, time.time())
    record.t0 = time.monotonic()
    # Workers as the ZeroMQ link's registry holds them (state, CPU, RSS, users from their heartbeats).
    registry = Registry()
    for i in range(a.sources):
        registry.add(WorkerRecord(WorkerView(f"w{i}", "bench"), f"w{i}".encode(), state="running",
                                  cpu_percent=40.0, rss=120_000_000, users=4, ready=True))
    views = [w.view for w in registry.all()]
    controller = types.SimpleNamespace(
        run=run, stats=stats, phase=run.phases[0], phases=[record], samples=SampleSeries(), started_at=time.time(),
        state="running", stopping=False, expected=set(), tick=1.0,
        link=types.SimpleNamespace(workers=lambda: views, registry=registry),
        durations=lambda now=None: {bm.PHASE: (now or time.monotonic()) - record.t0},
    )
    live = LiveView(controller)
    page = _Page()
    merge_s = open_s = none_s = 0.0
    measured = 0
    for sec in range(a.seconds):
        bodies = [msgpack.unpackb(bm.stats_body(wires[i % len(wires)], sec, [[bm.PHASE, bm.SCENARIO, 1]]),
                                  raw=False, strict_map_key=False) for i in range(a.sources)]
        t0 = time.thread_time()
        for i, body in enumerate(bodies):
            stats.merge(StatsBatch.from_wire(body), source=f"w{i}")
        merge = time.thread_time() - t0
        record.t0 -= 1.0  # one second of the phase has passed
        controller.samples.add(sec + 1.0, bm.PHASE, {bm.SCENARIO: a.sources}, {}, {})
        # Alternate: a page open on even seconds, none on odd ones (each tick's points are new either way).
        live._queues.clear()
        if sec % 2 == 0:
            live._queues.add(page)  # type: ignore[arg-type]
        t0 = time.thread_time()
        live.update(controller)
        took = time.thread_time() - t0
        if sec >= 4:
            measured += 1
            merge_s += merge
            if sec % 2 == 0:
                open_s += took
            else:
                none_s += took
    half = max(1, measured // 2)
    merge_ms, open_ms, none_ms = 1000 * merge_s / measured, 1000 * open_s / half, 1000 * none_s / half
    print(f"{a.sources} sources x {a.keys} keys, {measured} measured ticks")
    print(f"merging a second of batches (reference)   {merge_ms:8.1f} ms")
    print(f"live view, a page open                    {open_ms:8.1f} ms a tick = {open_ms / 10:.1f}% of one core "
          f"({open_ms / merge_ms:.2f}x the merge)")
    print(f"live view, no page open                   {none_ms:8.1f} ms a tick = {none_ms / 10:.1f}% of one core "
          f"({none_ms / merge_ms:.2f}x the merge)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
