"""Locust's master under the load bench_master.py puts on gradual's: the reference for "scales further".

It starts a real Locust master (`locust --master --headless`, bound to 127.0.0.1, nothing to load: its
users point at 127.0.0.1:9 and never run) and K simulated Locust workers: DEALER sockets spread over a
few processes that speak Locust's worker protocol (client_ready, a heartbeat every second, spawning_complete
when told to spawn, and a stats report every `--interval` seconds, Locust's default being 3). The reports
are built by Locust's own RequestStats from the same traffic bench_master.py records: `--keys` request
names at `--rps` requests a second each, log-normal latencies (median 20 ms), 1% failures. It then
measures the master's CPU over a steady window, as bench_master.py does for gradual's master.

Run:  python benchmarks/bench_locust_master.py                    # 1,000 workers, a report every 3 s
      python benchmarks/bench_locust_master.py --interval 1       # the rate gradual's benchmark uses
      python benchmarks/bench_master.py                           # gradual's master, same machine
Every socket is on 127.0.0.1; nothing sends HTTP; every child process is ended by pid on exit.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import psutil

HOST = "127.0.0.1"
NAMES = ["get_user", "list_products", "get_product", "create_order", "search"]
LOCUSTFILE = """\
from locust import HttpUser, task


class Idle(HttpUser):
    host = "http://127.0.0.1:9"  # never reached: the workers are simulated and run no users

    @task
    def nothing(self):
        pass
"""


def report_data(keys: int, rps: int, seconds: float, seed: int) -> bytes:
    """The packed `data` of one Locust stats report covering `seconds` of traffic, as a worker builds it."""
    from locust.stats import RequestStats

    rnd = random.Random(seed)
    stats = RequestStats()
    for k in range(keys):
        name = NAMES[k % len(NAMES)] + ("" if k < len(NAMES) else f"_{k}")
        for _ in range(int(rps * seconds)):
            latency_ms = rnd.lognormvariate(math.log(20.0), 0.6)
            stats.log_request("GET", name, int(latency_ms), rnd.randint(512, 4096))
            if rnd.random() < 0.01:
                stats.log_error("GET", name, "HTTPError('500 Server Error')")
    data = {
        "stats": stats.serialize_stats(),
        "stats_total": stats.total.get_stripped_report(),
        "errors": stats.serialize_errors(),
        "user_classes_count": {"Idle": 4},
        "user_count": 4,
    }
    from locust.rpc.protocol import encode

    return bytes(msgpack.packb(data, default=encode))


def frame(kind: str, packed_data: bytes, node_id: str) -> bytes:
    """Locust's Message.serialize() for (type, data, node_id), with the data already packed."""
    return b"\x93" + msgpack.packb(kind) + packed_data + msgpack.packb(node_id)


def simulate(first: int, count: int, port: int, interval: float, bodies: list[bytes], stop_at: float) -> None:
    """`count` simulated workers in this process until `stop_at` (time.time())."""
    import zmq

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ctx = zmq.Context()
    socks, ids = [], []
    for i in range(first, first + count):
        node_id = f"{socket.gethostname()}_sim{i:05d}"
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IDENTITY, node_id.encode())
        s.setsockopt(zmq.LINGER, 0)
        s.connect(f"tcp://{HOST}:{port}")
        socks.append(s)
        ids.append(node_id)
    nil = msgpack.packb(None)
    version = msgpack.packb(__import__("locust").__version__)
    # A worker says "ready" until it is told to spawn (the master counts only those as connected), then "running".
    beats = {state: msgpack.packb({"state": state, "current_cpu_usage": 10.0, "current_memory_usage": 50_000_000})
             for state in ("ready", "running")}
    state = ["ready"] * count
    index = {s: j for j, s in enumerate(socks)}
    done = msgpack.packb({"user_classes_count": {"Idle": 4}, "user_count": 4})
    for s, node_id in zip(socks, ids, strict=True):
        s.send(frame("client_ready", version, node_id))
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    start = time.monotonic()
    # Spread every worker's heartbeats and reports evenly over their periods.
    next_beat = [start + 1.0 * (j / count) for j in range(count)]
    next_stats = [start + interval * (j / count) for j in range(count)]
    n = 0
    while time.time() < stop_at:
        now = time.monotonic()
        for j in range(count):
            if now >= next_beat[j]:
                socks[j].send(frame("heartbeat", beats[state[j]], ids[j]))
                next_beat[j] += 1.0
            if now >= next_stats[j]:
                socks[j].send(frame("stats", bodies[n % len(bodies)], ids[j]))
                n += 1
                next_stats[j] += interval
        for s, _ in poller.poll(10):
            while True:
                try:
                    raw = s.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                kind = msgpack.unpackb(raw, raw=False, strict_map_key=False)[0]
                if kind == "spawn":
                    j = index[s]
                    state[j] = "running"
                    s.send(frame("spawning", nil, ids[j]))
                    s.send(frame("spawning_complete", done, ids[j]))
    for s in socks:
        s.close()
    ctx.term()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between a worker's reports (Locust: 3)")
    ap.add_argument("--keys", type=int, default=5)
    ap.add_argument("--rps", type=int, default=200, help="requests a second per key in a report (default 200)")
    ap.add_argument("--procs", type=int, default=4, help="simulator processes (default 4)")
    ap.add_argument("--settle", type=float, default=15.0, help="seconds after the workers connect, before measuring")
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window (default 20)")
    args = ap.parse_args(argv)

    bodies = [report_data(args.keys, args.rps, args.interval, seed) for seed in range(4)]
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bench_locust_"))
    (folder / "locustfile.py").write_text(LOCUSTFILE, encoding="utf-8")
    log = (folder / "master.log").open("wb")
    master = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(folder / "locustfile.py"), "--master", "--headless",
         "--master-bind-host", HOST, "--master-bind-port", str(port), "--expect-workers", str(args.workers),
         "--expect-workers-max-wait", "120", "-u", str(4 * args.workers), "-r", str(4 * args.workers),
         "--run-time", str(int(args.settle + args.seconds + 120)), "--only-summary", "--loglevel", "INFO"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    sims: list[mp.Process] = []
    try:
        time.sleep(2.0)
        stop_at = time.time() + 60 + args.settle + args.seconds
        share = math.ceil(args.workers / args.procs)
        for p in range(args.procs):
            first, count = p * share, min(share, args.workers - p * share)
            if count > 0:
                proc = mp.Process(target=simulate, args=(first, count, port, args.interval, bodies, stop_at))
                proc.start()
                sims.append(proc)
        t_sims = time.monotonic()
        size = len(frame("stats", bodies[0], "x"))
        print(f"locust master on tcp://{HOST}:{port}; {args.workers} simulated workers in {len(sims)} processes; "
              f"a report every {args.interval:g} s each ({args.keys} keys x {args.rps} req/s, {size} bytes a frame)")
        time.sleep(args.settle)
        if master.poll() is not None:
            print(f"locust master exited with {master.returncode}; log: {folder / 'master.log'}")
            return 1
        ps = psutil.Process(master.pid)
        c0, t0 = ps.cpu_times(), time.monotonic()
        samples = []
        while time.monotonic() - t0 < args.seconds:
            a, ta = ps.cpu_times(), time.monotonic()
            time.sleep(1.0)
            b, tb = ps.cpu_times(), time.monotonic()
            samples.append(((b.user + b.system) - (a.user + a.system)) / (tb - ta) * 100)
        c1, t1 = ps.cpu_times(), time.monotonic()
        cpu = ((c1.user + c1.system) - (c0.user + c0.system)) / (t1 - t0) * 100
        rss = ps.memory_info().rss / 1e6
        samples.sort()
        print()
        print(f"workers (K)                 {args.workers}")
        print(f"report interval             {args.interval:g} s  ({args.workers / args.interval:.0f} reports/s "
              f"+ {args.workers} heartbeats/s)")
        print(f"locust master CPU           {cpu:.1f}% of one core (p95 of 1 s samples "
              f"{samples[int(0.95 * (len(samples) - 1))]:.1f}%) over {t1 - t0:.1f} s")
        print(f"locust master RSS           {rss:.1f} MB")
        print(f"CPU per report              {cpu / 100 * 1e6 / (args.workers / args.interval):.0f} µs")
        sims_started = t_sims
        stop(sims, master)
        log.flush()
        merged = aggregated_requests(folder / "master.log")
        sent = (time.monotonic() - sims_started) * args.workers / args.interval * args.keys * args.rps * args.interval
        print(f"requests the master merged  {merged:,} (about {merged / max(sent, 1) * 100:.0f}% of what the simulated "
              f"workers reported; the rest was in flight or not yet due; log {folder / 'master.log'})")
        return 0
    finally:
        stop(sims, master)
        log.close()


def stop(sims: list[mp.Process], master: subprocess.Popen[bytes]) -> None:
    """End the simulators, then the master (SIGTERM: it prints its summary), each by its own pid."""
    for proc in sims:
        if proc.is_alive():
            proc.terminate()
    for proc in sims:
        proc.join(5)
        if proc.is_alive() and proc.pid is not None:
            os.kill(proc.pid, signal.SIGKILL)
    if master.poll() is None:
        os.killpg(master.pid, signal.SIGTERM)
        try:
            master.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(master.pid, signal.SIGKILL)
            master.wait()


def aggregated_requests(log: Path) -> int:
    """The request count of the summary Locust prints at exit (its first "Aggregated" row), 0 if none."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.split()[:1] == ["Aggregated"]:
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
