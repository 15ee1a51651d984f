"""The open model's scheduler against nginx on 127.0.0.1: does it hold its rate, how late does it start
arrivals, and what does one arrival cost next to one closed-model request?

For each target rate (default 1,000 / 5,000 / 20,000 arrivals/s, 10 s each) one open scenario runs in this
process's engine (pinned to core 0) against one nginx (pinned to core 1; worker_processes 1, access_log
off, `return 200 "ok"`). Reported per rate:

  achieved/target  arrivals started per second / the target (nginx's own request counter must agree)
  lateness p99/max scheduled time -> the first request's send, µs (what the scheduler adds)
  dropped          arrivals that found max_concurrency journeys busy (or came > 0.5 s late)
  CPU/arrival      this process's CPU time (user + system) per started arrival, µs

and, in the same run, the closed model (--users users, no wait time) for its requests/s and CPU per request.
The achieved rate can only hold up to what the closed model reaches on one core: past that the one core is
the limit, and the output says so.

Run: python benchmarks/bench_open_model.py [--rates 1000,5000,20000] [--seconds 10] [--users 50] [--cap 2000]
Every load loop is bounded in time, talks to 127.0.0.1 only, and nginx is stopped by its own pid.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after monkey patching, as the CLI does
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import find_nginx, nginx_count, nginx_server  # noqa: E402

from gradual.configs import load  # noqa: E402
from gradual.runners.engine import Engine  # noqa: E402
from gradual.runners.open_pool import OpenPool  # noqa: E402

CLIENT_CORE, SERVER_CORE = 0, 1
STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Result:
    label: str
    target: float | None  # arrivals/s (open) or None (closed)
    seconds: float
    count: int  # requests counted by gradual
    served: int | None  # requests nginx answered meanwhile
    scheduled: int
    dropped: int
    cpu_s: float
    late_p99_us: float
    late_max_us: float


def _config(folder: Path, url: str, scenario: dict) -> Path:
    (folder / "requests.yaml").write_text(yaml.safe_dump({"requests": {"hit": {"url": url}}}), encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"runs": {"name": "bench", "phases": {"p": {"run_time": 3600, "scenarios": {
        "s": {"requests": ["hit"], "request_file": "requests.yaml", **scenario}}}}}}), encoding="utf-8")
    return config


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(label: str, url: str, folder: Path, seconds: float, *, rate: float | None, users: int,
            cap: int) -> Result:
    scenario = ({"min_rate": rate, "max_rate": rate, "max_concurrency": cap} if rate is not None
                else {"min_concurrency": users, "max_concurrency": users})
    run = load(_config(folder, url, scenario))
    engine = Engine(run)
    engine.start_phase("p")
    before = nginx_count(url)
    if rate is not None:
        engine.set_targets("p", {"s": cap}, rates={"s": [rate, 0.0]})
    else:
        engine.set_targets("p", {"s": users})
    pool = engine.pools[("p", "s")]
    cpu0, t0 = _cpu(), time.monotonic()
    gevent.sleep(seconds)
    wall = time.monotonic() - t0  # what the schedule covered (more than seconds when the core was saturated)
    engine.stop_phase("p", STOP_TIMEOUT_S)
    cpu = _cpu() - cpu0
    after = nginx_count(url)
    batch = engine.drain()
    count = sum(e.count for e in batch.entries)
    scheduled, dropped = batch.arrivals.get(("p", "s"), (0, 0))
    late = pool.lateness if isinstance(pool, OpenPool) else None
    return Result(
        label, rate, wall, count,
        None if before is None or after is None else after - before - 1,  # the first read counts itself
        scheduled, dropped, cpu,
        late.percentile(99.0) if late else 0.0, float(late.max) if late else 0.0,
    )


def timer_lateness(rate: float, seconds: float) -> tuple[float, float]:
    """The reference for start lateness: one greenlet sleeping to absolute deadlines ``1/rate`` apart, no
    request at all; (p99, max) µs of its wake-ups past them: what gevent's timers give on this core now."""
    from gradual.stats.histogram import Histogram

    hist = Histogram()
    start = time.perf_counter()
    k = 0
    while True:
        due = start + k / rate
        now = time.perf_counter()
        if due - start >= seconds:
            break
        if due > now:
            gevent.sleep(due - now)
            now = time.perf_counter()
        hist.record(int(max(0.0, now - due) * 1e6))
        k += 1
    return hist.percentile(99.0), float(hist.max)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,5000,20000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--cap", type=int, default=2000, help="max_concurrency of the open scenario")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    binary = find_nginx()
    if binary is None:
        print("nginx is required (apt-get install -y nginx)", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {CLIENT_CORE})
    from gradual.runners import http as http_runner

    client = getattr(http_runner, "__doc__", "") or ""
    print(f"client: gradual's HTTP runner ({client.strip().splitlines()[0] if client else 'runners/http.py'})")
    print(f"client on core {CLIENT_CORE}, nginx on core {SERVER_CORE}; {args.seconds:g} s per measurement")
    with tempfile.TemporaryDirectory() as tmp, nginx_server(binary, SERVER_CORE, Path(tmp)) as url:
        results = [measure("closed", url, Path(tmp), args.seconds, rate=None, users=args.users, cap=args.cap)]
        for rate in rates:
            results.append(measure(f"open {rate:g}/s", url, Path(tmp), args.seconds, rate=rate, users=args.users,
                                   cap=args.cap))
    ref_p99, ref_max = timer_lateness(1000.0, min(args.seconds, 5.0))
    closed = results[0]
    closed_rps = closed.count / closed.seconds
    closed_cpu_us = closed.cpu_s / closed.count * 1e6 if closed.count else float("nan")
    print(f"\nclosed model, {args.users} users, no wait: {closed_rps:,.0f} requests/s, "
          f"{closed_cpu_us:.1f} µs CPU per request (nginx answered {closed.served})")
    print(f"reference: a bare gevent timer loop at 1,000 wake-ups/s on this core is late by p99 {ref_p99:,.0f} µs, "
          f"max {ref_max:,.0f} µs (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"\n{'target/s':>9} {'achieved/s':>10} {'ach/target':>10} {'nginx/s':>9} {'late p99 µs':>11} "
          f"{'late max µs':>11} {'dropped':>8} {'CPU/arrival µs':>14} {'x closed':>8}")
    for r in results[1:]:
        assert r.target is not None
        started = r.scheduled - r.dropped
        achieved = started / r.seconds
        per = r.cpu_s / started * 1e6 if started else float("nan")
        served = f"{r.served / r.seconds:,.0f}" if r.served is not None else "-"
        note = "  (above the closed model's rate: one core is the limit)" if r.target > closed_rps else ""
        print(f"{r.target:>9,.0f} {achieved:>10,.0f} {achieved / r.target:>10.3f} {served:>9} {r.late_p99_us:>11,.0f} "
              f"{r.late_max_us:>11,.0f} {r.dropped:>8,} {per:>14.1f} {per / closed_cpu_us:>8.2f}{note}")
        if r.served is not None and abs(r.served - r.count) > 0:
            print(f"          nginx answered {r.served}, gradual counted {r.count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
