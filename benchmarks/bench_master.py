"""How much CPU the master needs for K workers each sending a realistic stats batch every second.

It starts a real master process (`python -m gradual master`) on 127.0.0.1 and K simulated workers:
DEALER sockets spread over a few simulator processes that speak the real protocol (hello, ready,
heartbeats, one stats batch per second built by the real Recorder) but run no load themselves. Over
a steady-state window it reports the master's CPU % of one core, its RSS, the acks it sent per second
against the K/s expected, and a reference measured in the same run: the CPU of a bare loop doing the
same msgpack unpackb calls on the same frames per second, so the master/bare ratio means something on
a noisy shared machine. Target (issue): 1,000 workers at one batch a second with at most 50% of a core.

With --dashboards N the master also serves its HTTP API and the benchmark measures three windows of
--seconds each: no dashboard open, N open (each a child process reading /events, the live dashboard's
Server-Sent Events, as a browser does), none again; it prints the master's CPU with N dashboards
against the mean of the two windows without (target of the dashboard issue: at most +5 points of one
core for 2 dashboards, 1,000 workers and 50 request keys).

Run:  python benchmarks/bench_master.py --workers 100
      python benchmarks/bench_master.py                      # 1,000 workers, 4 simulator processes
      python benchmarks/bench_master.py --keys 50 --dashboards 2   # the dashboards' cost
      python benchmarks/bench_master.py --profile /tmp/master.txt   # + py-spy profile of the master
Every socket is on 127.0.0.1; nothing sends HTTP but the dashboards' reads of the master's own API;
every child process is ended by pid on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import math
import os
import random
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgpack
import psutil

PHASE = "steady"
SCENARIO = "api"
REQUESTS = ["get_user", "list_products", "get_product", "create_order", "search"]
BATCH_VARIANTS = 8  # distinct pre-built batches per process, reused with increasing seq
TARGET_CPU = 50.0  # % of one core, for TARGET_WORKERS workers
TARGET_WORKERS = 1000
TARGET_DASHBOARD_POINTS = 5.0  # % of one core that N=2 open dashboards may add
SIM_TICK = 0.5  # seconds between a simulator's progress lines
SIM_SLOT = 0.02  # a simulator wakes at most this often: sends due by then go out together, spread 20 ms apart
HOST = "127.0.0.1"


# -- realistic batches ------------------------------------------------------------------------------


def key_names(keys: int) -> list[str]:
    """The request names of `keys` request keys: REQUESTS, then REQUESTS again with a suffix."""
    return [REQUESTS[k % len(REQUESTS)] + ("" if k < len(REQUESTS) else f"_{k}") for k in range(keys)]


def build_batches(
    keys: int, rps: int, variants: int, seed: int, seconds: int = 1, recorder: Any = None
) -> list[dict[str, Any]]:
    """Wire forms of one-second batches recorded by the real Recorder: `keys` request keys with `rps`
    requests each, log-normal latencies (median 20 ms), 1% HTTP 500s, drained as a real worker drains:
    just after a phase second ends, so most of a batch is one window and a sliver the next (windows 0
    and 1; the sender shifts them to the current second). `recorder`: another version's Recorder class
    (bench_aggregate.py --baseline), so it encodes the same requests in its own wire form."""
    from gradual.worker.agent import STATS_ALIGN_DELAY

    from gradual.stats import Recorder as current_recorder

    Recorder = recorder or current_recorder  # noqa: N806

    out = []
    for j in range(variants):
        rnd = random.Random(seed * 1000 + j)
        rec = Recorder(lambda: 0.0)
        rec.set_phase_origin(PHASE, 0.0)
        slots = [rec.slot(PHASE, SCENARIO, name, expected_response_time=0.5) for name in key_names(keys)]
        for slot in slots:
            for i in range(rps * seconds):  # a batch covers `seconds` of load (--stats-interval)
                latency_ns = int(rnd.lognormvariate(math.log(20e6), 0.6))
                end = STATS_ALIGN_DELAY + i / rps
                if rnd.random() < 0.01:
                    slot.record(latency_ns, end, 500, 120, "http", "HTTP 500")
                else:
                    slot.record(latency_ns, end, 200, rnd.randint(512, 4096))
        out.append(rec.drain().to_wire())
    return out


def stats_body(wire: dict[str, Any], second: int, users: list[list[Any]]) -> bytes:
    """The packed batch map, with the windows moved to seconds `second` - 1 and `second`."""
    shift = max(0, second - 1)
    entries = [dict(e, windows=[[w[0] + shift, w[1], w[2], w[3]] for w in e["windows"]]) for e in wire["entries"]]
    return msgpack.packb({"entries": entries, "users": users, "custom": {}}, use_bin_type=True)


def stats_frame_from_body(seq: int, body: bytes) -> bytes:
    """Byte for byte what encode(Stats(seq, batch)) gives: [version, "stats", {"seq": seq, "batch": batch}],
    assembled around the already packed batch so a simulator packs each distinct batch only once."""
    from gradual.proto import PROTOCOL_VERSION

    head = msgpack.packb([PROTOCOL_VERSION, "stats"])
    return b"\x93" + head[1:] + b"\x82" + msgpack.packb("seq") + msgpack.packb(seq) + msgpack.packb("batch") + body


def stats_frame(wire: dict[str, Any], seq: int, second: int, users: list[list[Any]]) -> bytes:
    """The frame encode(Stats(seq, batch)) would give, with windows moved to `second` - 1 and `second`."""
    return stats_frame_from_body(seq, stats_body(wire, second, users))


# -- simulator process ------------------------------------------------------------------------------


def simulate(cfg: dict[str, Any]) -> int:
    """One simulator process: cfg["count"] DEALER sockets, each a worker that reports every second."""
    import zmq
    from gradual.proto import Bundle, Bye, Heartbeat, Hello, Ready, Stopped, decode, encode

    stop = False

    def on_term(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    first, count, total = cfg["first"], cfg["count"], cfg["total"]
    interval = cfg.get("interval", 1)
    batches = build_batches(cfg["keys"], cfg["rps"], BATCH_VARIANTS, seed=cfg["index"] + 1, seconds=interval)
    ticks = [0] * cfg["count"]
    ctx = zmq.Context()
    socks: list[Any] = []
    ids = [f"sim-{g:05d}" for g in range(first, first + count)]
    by_sock: dict[Any, int] = {}
    poller = zmq.Poller()
    for i, wid in enumerate(ids):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IDENTITY, wid.encode())
        s.setsockopt(zmq.LINGER, 0)
        s.connect(f"tcp://{HOST}:{cfg['port']}")
        socks.append(s)
        by_sock[s] = i
        poller.register(s, zmq.POLLIN)

    welcomed = [False] * count
    ready = [False] * count
    phase = [""] * count
    t0 = [0.0] * count
    seq = [0] * count
    acked = [0] * count
    users: list[list[list[Any]]] = [[] for _ in range(count)]
    stopped = [False] * count
    quit_ = [False] * count
    n_ready = n_started = n_quit = 0
    acks = sent = 0
    late_max = 0.0
    hb_cache: dict[tuple[str, int, str], bytes] = {}
    bodies: dict[tuple[int, int, str], bytes] = {}
    pid = os.getpid()

    def send(i: int, frame: bytes) -> bool:
        nonlocal sent
        try:
            socks[i].send(frame, zmq.NOBLOCK)
        except zmq.Again:
            return False  # heartbeats: the next one covers it; stats: the seq is not used (no gap)
        sent += 1
        return True

    def heartbeat(i: int) -> bytes:
        n = sum(u[2] for u in users[i])
        state = "running" if phase[i] and not stopped[i] else "ready"
        key = (state, n, phase[i])
        frame = hb_cache.get(key)
        if frame is None:
            frame = hb_cache[key] = encode(Heartbeat(state, 3.0, 120_000_000, n, phase[i], []))
        return frame

    def tick(i: int, now: float) -> None:
        if quit_[i]:
            return
        if not welcomed[i]:
            send(i, encode(Hello(ids[i], "bench", "bench-sim", pid, 2, 1.0)))
            return
        send(i, heartbeat(i))
        ticks[i] += 1
        if phase[i] and not stopped[i] and ticks[i] % interval == 0:
            variant = (first + i + seq[i]) % len(batches)
            second = int(now - t0[i])
            key = (variant, second, repr(users[i]))
            body = bodies.get(key)
            if body is None:
                if len(bodies) > 16 * len(batches):
                    bodies.clear()
                body = bodies[key] = stats_body(batches[variant], second, users[i])
            if send(i, stats_frame_from_body(seq[i] + 1, body)):
                seq[i] += 1

    def handle(i: int, frame: bytes, now: float) -> None:
        nonlocal acks, n_ready, n_started, n_quit
        env = msgpack.unpackb(frame, raw=False)
        kind, payload = env[1], env[2]
        if kind == "ack":
            # Acks are cumulative: count the batches newly acknowledged, not the ack messages.
            if payload["seq"] > acked[i]:
                acks += payload["seq"] - acked[i]
                acked[i] = payload["seq"]
        elif kind == "heartbeat":
            pass
        elif kind == "welcome":
            welcomed[i] = True
        elif kind == "bundle":
            bundle = decode(frame)
            assert isinstance(bundle, Bundle)
            send(i, encode(Ready(bundle.digest())))
            if not ready[i]:
                ready[i] = True
                n_ready += 1
        elif kind == "phase_start":
            if not phase[i]:
                n_started += 1
            phase[i], t0[i], stopped[i] = payload["phase"], now, False
        elif kind == "set_targets":
            users[i] = [[payload["phase"], s, n] for s, n in payload["targets"].items()]
        elif kind == "phase_stop":
            stopped[i] = True
            send(i, encode(Stopped(payload["phase"], seq[i])))
        elif kind == "quit":
            send(i, encode(Bye("quit")))
            if not quit_[i]:
                quit_[i] = True
                n_quit += 1

    def report(now: float) -> None:
        nonlocal late_max
        line = {"t": now, "ready": n_ready, "started": n_started, "quit": n_quit, "acks": acks, "sent": sent,
                "late_ms": round(late_max * 1000, 1)}
        late_max = 0.0
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    # Worker g sends at base + g/total + n: spread evenly over the second across every process.
    base = cfg["base"]
    now = time.monotonic()
    due = []
    for i in range(count):
        t = base + (first + i) / total
        while t < now - 1.0:
            t += 1.0
        due.append((t, i))
    heapq.heapify(due)
    next_report = now
    try:
        while not stop and n_quit < count:
            now = time.monotonic()
            while due[0][0] <= now:
                t, i = heapq.heappop(due)
                late_max = max(late_max, now - t)
                tick(i, now)
                t += 1.0
                if t < now - 1.0:  # fell more than a second behind: skip rather than burst
                    t = now
                heapq.heappush(due, (t, i))
            if now >= next_report:
                report(now)
                next_report = now + SIM_TICK
            # One poll of every socket per slot: polling on each send's due time would make zmq_poll over
            # hundreds of sockets the simulator's main cost.
            for s, _ in poller.poll(0):
                i = by_sock[s]
                while True:
                    try:
                        frame = s.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    handle(i, frame, time.monotonic())
            time.sleep(max(0.0, now + SIM_SLOT - time.monotonic()))
        report(time.monotonic())
    finally:
        for s in socks:
            s.close(linger=0)
        ctx.term()
    return 0


# -- parent: master, simulators, measurement -------------------------------------------------------


CONFIG = """\
runs:
  name: "bench_master"
  phases:
    "{phase}":
      run_time: {run_time}
      scenarios:
        "{scenario}":
          requests: "FROM_REQUEST_YAML_FILE"
          request_file: "requests.yaml"
          min_concurrency: {users_min}
          max_concurrency: {users_max}
          ramp_up_multiply: 2
          ramp_up_wait: 1
          iterate_through_requests: true
"""

# Never contacted: the simulated workers send no HTTP. Port 9 (discard) on loopback in any case.
REQUEST = """\
  "{name}":
    url: "http://127.0.0.1:9/{name}"
    method: "GET"
    expected_response_time: 0.5
"""


# `--master-patch FILE`: the master runs FILE first (after gevent's monkey-patching, as the CLI does), so
# an optimisation can be measured by monkey-patching it in, without editing the tree.
PATCHED_MASTER = (
    "import sys; from gevent import monkey; monkey.patch_all(); path = sys.argv.pop(1); "
    "exec(compile(open(path).read(), path, 'exec'), {'__name__': 'master_patch'}); "
    "from gradual.cli import main; sys.exit(main(sys.argv[1:]))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Child:
    """A simulator process and its latest progress line."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.buf = b""
        self.last: dict[str, Any] = {"t": 0.0, "ready": 0, "started": 0, "quit": 0, "acks": 0, "sent": 0,
                                     "late_ms": 0.0}
        self.late_max = 0.0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="gradual-bench-master-"))
        self.master: subprocess.Popen[bytes] | None = None
        self.children: list[Child] = []
        self.others: list[subprocess.Popen[bytes]] = []
        self.sel = selectors.DefaultSelector()
        self.port = args.port or free_port()
        self.http_port = free_port() if args.dashboards else 0
        self.dashboards: list[subprocess.Popen[bytes]] = []

    # -- processes -------------------------------------------------------------------------------
    def write_config(self) -> Path:
        a = self.args
        windows = 3 if a.dashboards else 1
        run_time = a.settle + windows * a.seconds + a.bare_seconds + (a.profile_seconds if a.profile else 0) + 10
        # A few thousand users in all, reached by doubling each second: the ramp is over before the
        # window opens, so the window sees steady state only.
        users_max = max(a.users, a.workers)
        users_min = max(1, users_max // 8)
        (self.tmp / "config.yaml").write_text(CONFIG.format(
            phase=PHASE, run_time=run_time, scenario=SCENARIO, users_min=users_min, users_max=users_max))
        (self.tmp / "requests.yaml").write_text(
            "requests:\n" + "".join(REQUEST.format(name=n) for n in key_names(max(a.keys, len(REQUESTS)))))
        return self.tmp / "config.yaml"

    def start_master(self) -> None:
        a = self.args
        config = self.write_config()
        cmd = [sys.executable]
        if a.cprofile:
            cmd += ["-m", "cProfile", "-o", str(a.cprofile)]
        if a.master_patch:
            cmd += ["-c", PATCHED_MASTER, str(Path(a.master_patch).resolve())]
        else:
            cmd += ["-m", "gradual"]
        cmd += ["master", str(config), "--expect-workers", str(a.workers), "--bind", HOST,
                "--port", str(self.port), "--quiet", "--expect-workers-timeout", "120",
                "--http-port", str(self.http_port), "--stats-interval", str(a.stats_interval)]
        self.master_log = open(self.tmp / "master.log", "wb")  # closed in cleanup()
        self.master = subprocess.Popen(cmd, stdout=self.master_log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while b"master listening" not in (self.tmp / "master.log").read_bytes():
            self.check_master()
            if time.monotonic() > deadline:
                raise RuntimeError("the master did not start listening within 30 s")
            time.sleep(0.05)

    def start_sims(self) -> None:
        a = self.args
        procs = max(1, min(a.procs, a.workers))
        base = time.monotonic() + 0.5
        first = 0
        for p in range(procs):
            count = a.workers // procs + (1 if p < a.workers % procs else 0)
            cfg = {"index": p, "first": first, "count": count, "total": a.workers, "port": self.port,
                   "keys": a.keys, "rps": a.rps, "base": base, "interval": a.stats_interval}
            first += count
            err = open(self.tmp / f"sim{p}.log", "wb")
            proc = subprocess.Popen([sys.executable, __file__, "--_sim", json.dumps(cfg)], stdout=subprocess.PIPE,
                                    stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
            err.close()
            child = Child(proc)
            assert proc.stdout is not None
            os.set_blocking(proc.stdout.fileno(), False)
            self.sel.register(proc.stdout, selectors.EVENT_READ, child)
            self.children.append(child)

    def open_dashboards(self, n: int) -> None:
        url = f"http://{HOST}:{self.http_port}/events"
        for _ in range(n):
            self.dashboards.append(subprocess.Popen(
                [sys.executable, __file__, "--_sse", url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL, start_new_session=True))

    def wait_dashboards(self, timeout: float = 60.0) -> None:
        """Until every reader has its first event (the history), reading the simulators meanwhile."""
        waiting = list(self.dashboards)
        deadline = time.monotonic() + timeout
        while waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(waiting)} dashboard reader(s) got no event within {timeout:g} s")
            ready, _, _ = select.select([p.stdout for p in waiting], [], [], 0)
            for proc in [p for p in waiting if p.stdout in ready]:
                assert proc.stdout is not None
                proc.stdout.readline()
                waiting.remove(proc)
            self.pump(0.1)

    def close_dashboards(self) -> list[dict[str, Any]]:
        """Stop the readers; each prints what it read (ticks, bytes, seconds)."""
        out = []
        for proc in self.dashboards:
            proc.send_signal(signal.SIGTERM)
            try:
                stdout, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, _ = proc.communicate()
            with contextlib.suppress(ValueError):
                out.append(json.loads(stdout.decode().strip().splitlines()[-1]))
        self.dashboards = []
        return out

    def check_master(self) -> None:
        assert self.master is not None
        if self.master.poll() is not None:
            raise RuntimeError(f"the master exited early with code {self.master.returncode}:\n{self.master_tail()}")

    def master_tail(self, lines: int = 15) -> str:
        text = (self.tmp / "master.log").read_text(errors="replace").splitlines()
        return "\n".join("  | " + line for line in text[-lines:])

    def pump(self, seconds: float) -> None:
        """Read the simulators' progress lines for `seconds`; fail fast if a process died."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            for key, _ in self.sel.select(max(0.0, min(left, 0.2))):
                child: Child = key.data
                try:
                    data = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not data:
                    self.sel.unregister(key.fileobj)
                    continue
                child.buf += data
                *lines, child.buf = child.buf.split(b"\n")
                for line in lines:
                    child.last = json.loads(line)
                    child.late_max = max(child.late_max, child.last["late_ms"])
            for c in self.children:
                if c.proc.poll() is not None and c.last["quit"] == 0:
                    log = (self.tmp / f"sim{self.children.index(c)}.log").read_text(errors="replace")
                    raise RuntimeError(f"simulator {c.proc.pid} exited with {c.proc.returncode}:\n{log[-2000:]}")
            if left <= 0:
                return

    def total(self, field: str) -> int:
        return sum(int(c.last[field]) for c in self.children)

    def wait_for(self, field: str, what: str, timeout: float) -> float:
        start = time.monotonic()
        while self.total(field) < self.args.workers:
            self.check_master()
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"only {self.total(field)} of {self.args.workers} workers {what} after "
                                   f"{timeout:g} s:\n{self.master_tail()}")
            self.pump(0.1)
        return time.monotonic() - start

    def cleanup(self) -> None:
        if self.dashboards:
            self.close_dashboards()
        self._cleanup()

    def _cleanup(self) -> None:
        procs = [c.proc for c in self.children] + self.others + ([self.master] if self.master else [])
        for p in procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                p.wait()
        for c in self.children:
            if c.proc.stdout:
                c.proc.stdout.close()
        if getattr(self, "master_log", None):
            self.master_log.close()
        if self.args.keep:
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- measurement -----------------------------------------------------------------------------
    def measure(self) -> dict[str, Any]:
        a = self.args
        assert self.master is not None
        m = psutil.Process(self.master.pid)
        sims = [psutil.Process(c.proc.pid) for c in self.children]
        for c in self.children:
            c.late_max = 0.0
        snap0 = [dict(c.last) for c in self.children]
        c0 = m.cpu_times()
        th0 = {t.id: t.user_time + t.system_time for t in m.threads()}
        s0 = [p.cpu_times() for p in sims]
        psutil.cpu_percent(None)
        t0 = time.monotonic()
        per_second = []
        rss_max = m.memory_info().rss
        prev, prev_t = c0, t0
        while time.monotonic() - t0 < a.seconds:
            self.check_master()
            self.pump(min(1.0, a.seconds - (time.monotonic() - t0)))
            cur, now = m.cpu_times(), time.monotonic()
            per_second.append(100 * (cur.user + cur.system - prev.user - prev.system) / (now - prev_t))
            prev, prev_t = cur, now
            rss_max = max(rss_max, m.memory_info().rss)
        c1 = m.cpu_times()
        t1 = time.monotonic()
        th1 = {t.id: t.user_time + t.system_time for t in m.threads()}
        system = psutil.cpu_percent(None)
        s1 = [p.cpu_times() for p in sims]
        rss = m.memory_info().rss
        snap1 = [dict(c.last) for c in self.children]
        wall = t1 - t0
        acks = sum((b["acks"] - a_["acks"]) / (b["t"] - a_["t"]) for a_, b in zip(snap0, snap1, strict=True)
                   if b["t"] > a_["t"])
        cpu_s = c1.user + c1.system - c0.user - c0.system
        sim_cpu = sum(b.user + b.system - a_.user - a_.system for a_, b in zip(s0, s1, strict=True))
        per_second.sort()
        return {
            "wall": wall,
            "cpu": 100 * cpu_s / wall,
            "cpu_user": 100 * (c1.user - c0.user) / wall,
            "cpu_sys": 100 * (c1.system - c0.system) / wall,
            "cpu_p95_1s": per_second[min(len(per_second) - 1, int(0.95 * len(per_second)))] if per_second else 0.0,
            "rss_mb": rss / 2**20,
            "rss_max_mb": max(rss, rss_max) / 2**20,
            "acks_per_s": acks,
            "us_per_batch": 1e6 * cpu_s / (acks * wall) if acks else float("nan"),
            "sim_cpu": 100 * sim_cpu / wall,
            "system_cpu": system,
            "late_ms": max(c.late_max for c in self.children),
            # The main thread runs Python (gevent, decoding, merging); the others are ZeroMQ's I/O threads.
            "cpu_main": 100 * (th1.get(m.pid, 0.0) - th0.get(m.pid, 0.0)) / wall,
            "cpu_other_threads": 100 * sum(v - th0.get(t, 0.0) for t, v in th1.items() if t != m.pid) / wall,
        }

    def bare_reference(self) -> float:
        """CPU % of one core for K stats frames + K heartbeat frames unpacked per second, paced."""
        from gradual.proto import Heartbeat, encode

        a = self.args
        batches = build_batches(a.keys, a.rps, BATCH_VARIANTS, seed=1)
        users = [[PHASE, SCENARIO, max(a.users, a.workers) // a.workers]]
        frames = [stats_frame(b, 100 + j, 100, users) for j, b in enumerate(batches)]
        hb = encode(Heartbeat("running", 3.0, 120_000_000, users[0][2], PHASE, []))
        unpackb = msgpack.unpackb
        cpu0, t0 = time.thread_time(), time.monotonic()
        second = t0
        while second - t0 < a.bare_seconds:
            for i in range(a.workers):
                unpackb(frames[i % len(frames)], raw=False, strict_map_key=True)
                unpackb(hb, raw=False, strict_map_key=True)
            second += 1.0
            self.pump(max(0.0, second - time.monotonic()))  # keep reading the simulators meanwhile
        return 100 * (time.thread_time() - cpu0) / (time.monotonic() - t0)

    def frame_size(self) -> int:
        a = self.args
        b = build_batches(a.keys, a.rps, 1, seed=1)[0]
        return len(stats_frame(b, 100, 100, [[PHASE, SCENARIO, 4]]))

    def profile(self) -> None:
        a = self.args
        assert self.master is not None
        out = Path(a.profile)
        fmt = "flamegraph" if out.suffix == ".svg" else ("speedscope" if out.suffix == ".json" else "raw")
        exe = shutil.which("py-spy")
        if exe is None:
            print("py-spy is not installed (pip install py-spy): no profile")
            return
        cmd = [exe, "record", "--pid", str(self.master.pid), "--duration", str(a.profile_seconds), "--rate", "200",
               "--format", fmt, "--output", str(out)]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.others.append(p)
        while p.poll() is None:
            self.check_master()
            self.pump(0.5)
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if p.returncode != 0:
            print(f"py-spy failed ({p.returncode}): {err.strip()[-500:]}")
            return
        print(f"\npy-spy profile of the master ({a.profile_seconds} s, {fmt}): {out}")
        if fmt == "raw":
            summarise_collapsed(out)

    def finish_master(self) -> int | None:
        """Interrupt the master (as Ctrl-C would) while the simulators still answer, so it exits cleanly."""
        assert self.master is not None
        self.master.send_signal(signal.SIGINT)
        try:
            code = self.master.wait(timeout=20)
        except subprocess.TimeoutExpired:
            return None
        self.pump(0.5)
        return code

    def lost_workers(self) -> int:
        return len(re.findall(r"worker \S+ lost", (self.tmp / "master.log").read_text(errors="replace")))


def sse_reader(url: str) -> int:
    """A dashboard as the master sees one: reads /events until SIGTERM, then prints what it read."""
    import urllib.request

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    ticks = size = 0
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            for line in resp:
                if not size:
                    print(json.dumps({"connected": True}), flush=True)
                size += len(line)
                if line.startswith(b"event: tick"):
                    ticks += 1
    except KeyboardInterrupt:
        pass
    print(json.dumps({"ticks": ticks, "bytes": size, "seconds": time.monotonic() - t0}), flush=True)
    return 0


def summarise_collapsed(path: Path, top: int = 15) -> None:
    """Self and inclusive sample shares per function from py-spy's collapsed ("raw") stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        # "func (path/to/file.py:123)" -> "func (file.py)": one row per function, not per line.
        frames = [re.sub(r"\((?:.*/)?([^/:]+)(?::\d+)?\)", r"(\1)", f) for f in stack.split(";")]
        own[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    if not total:
        print("  (no samples)")
        return
    print(f"  {total} samples. Self time (on-CPU, where the sample was taken):")
    for f, n in own.most_common(top):
        print(f"    {100 * n / total:5.1f}%  {f}")
    print("  Inclusive (the function or anything it called):")
    for f, n in incl.most_common(top + 10):
        print(f"    {100 * n / total:5.1f}%  {f}")


def print_cprofile(path: Path) -> None:
    import pstats

    print(f"\ncProfile of the whole master run: {path} (top 20 by own time)")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(20)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=1000, metavar="K", help="simulated workers (default 1000)")
    p.add_argument("--seconds", type=float, default=20.0, help="steady-state measurement window (default 20)")
    p.add_argument("--procs", type=int, default=4, help="simulator processes (default 4)")
    p.add_argument("--keys", type=int, default=5, help="request keys per batch (default 5)")
    p.add_argument("--stats-interval", type=int, default=1, metavar="S",
                   help="the master's --stats-interval: each simulated worker sends one batch of S seconds every S s")
    p.add_argument("--rps", type=int, default=200, help="requests per key per second in a batch (default 200)")
    p.add_argument("--users", type=int, default=4000, help="the scenario's max users (default 4000)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds after the phase starts before measuring")
    p.add_argument("--bare-seconds", type=float, default=5.0, help="length of the bare unpackb reference")
    p.add_argument("--port", type=int, default=0, help="master port on 127.0.0.1 (default: a free one)")
    p.add_argument("--profile", metavar="PATH", help="py-spy the master after the window: .svg flamegraph, "
                   ".json speedscope, anything else collapsed stacks + a printed summary")
    p.add_argument("--profile-seconds", type=int, default=15)
    p.add_argument("--cprofile", metavar="PATH", help="run the master under cProfile (inflates its CPU figure)")
    p.add_argument("--master-patch", metavar="FILE", help="Python file the master runs before starting (to measure "
                   "a monkey-patched optimisation without editing the tree)")
    p.add_argument("--keep", action="store_true", help="keep the master and simulator logs")
    p.add_argument("--dashboards", type=int, default=0, metavar="N",
                   help="also measure the master with N live dashboards reading its /events (default 0: HTTP API off)")
    p.add_argument("--_sim", help=argparse.SUPPRESS)
    p.add_argument("--_sse", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a._sim:
        return simulate(json.loads(a._sim))
    if a._sse:
        return sse_reader(a._sse)
    if a.workers < 1 or a.procs < 1 or a.seconds < 1:
        p.error("--workers, --procs and --seconds must be at least 1")
    if a.cprofile and a.master_patch:
        p.error("--cprofile and --master-patch do not combine")

    # Each simulated worker holds a socket and a few fds in its process, the master one per worker.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * a.workers + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Explicit, so Ctrl-C and `kill` clean up even when started where SIGINT is ignored (`cmd &`).
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    bench = Bench(a)
    code = None
    try:
        print(f"master on tcp://{HOST}:{bench.port}; {a.workers} simulated workers in {min(a.procs, a.workers)} "
              f"processes; {a.keys} keys x {a.rps} req/s per batch ({bench.frame_size()} bytes a frame)", flush=True)
        bench.start_master()
        bench.start_sims()
        took = bench.wait_for("ready", "ready", 150)
        print(f"all {a.workers} workers ready in {took:.1f} s", flush=True)
        bench.wait_for("started", "started the phase", 30)
        bench.pump(a.settle)
        print(f"measuring the master for {a.seconds:g} s ...", flush=True)
        r = bench.measure()
        dash: dict[str, Any] | None = None
        if a.dashboards:
            bench.open_dashboards(a.dashboards)
            bench.wait_dashboards()
            bench.pump(2.0)  # past the history they get first
            print(f"measuring the master for {a.seconds:g} s with {a.dashboards} dashboard(s) open ...", flush=True)
            with_dash = bench.measure()
            readers = bench.close_dashboards()
            bench.pump(2.0)
            print(f"measuring the master for {a.seconds:g} s with none again ...", flush=True)
            after = bench.measure()
            dash = {"with": with_dash, "after": after, "readers": readers}
        bare = bench.bare_reference()
        if a.profile:
            bench.profile()
        code = bench.finish_master()
        lost = bench.lost_workers()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.cleanup()

    k = a.workers
    expected = k / a.stats_interval
    kept_up = r["acks_per_s"] >= 0.98 * expected and lost == 0
    scaled = r["cpu"] * TARGET_WORKERS / k
    print()
    print(f"workers (K)                 {k}")
    print(f"master CPU, % of one core   {r['cpu']:.1f}%  (user {r['cpu_user']:.1f}, sys {r['cpu_sys']:.1f}; "
          f"p95 of 1 s samples {r['cpu_p95_1s']:.1f}%) over {r['wall']:.1f} s")
    print(f"  of which                  main thread {r['cpu_main']:.1f}%, ZeroMQ I/O thread(s) "
          f"{r['cpu_other_threads']:.1f}%")
    print(f"master RSS                  {r['rss_mb']:.1f} MB at the end of the window (max {r['rss_max_mb']:.1f})")
    print(f"batches acked/s             {r['acks_per_s']:.1f} of {expected:g} expected"
          f"{'' if kept_up else '  <-- did not keep up'}; workers lost: {lost}")
    print(f"master CPU per batch        {r['us_per_batch']:.0f} µs (all work included: heartbeats, acks, merge)")
    print(f"bare unpackb reference      {bare:.1f}% of one core for {2 * k} unpackb/s (stats + heartbeat frames)")
    print(f"master / bare               {r['cpu'] / bare:.1f}x" if bare > 0 else "master / bare               n/a")
    print(f"simulators' CPU (all)       {r['sim_cpu']:.1f}% of one core; max send lateness {r['late_ms']:.0f} ms; "
          f"machine {r['system_cpu']:.0f}% of {psutil.cpu_count()} cores")
    if code is not None:
        print(f"master exit code            {code} (130 = interrupted by the benchmark, as intended)")
    else:
        print("master exit code            none: it ignored SIGINT for 20 s and was terminated")
    if r["system_cpu"] > 90:
        print(f"note                        the machine was {r['system_cpu']:.0f}% busy: the master may have been "
              "short of CPU; compare master/bare between runs rather than absolute figures")
    if k == TARGET_WORKERS:
        verdict = "PASS" if r["cpu"] <= TARGET_CPU and kept_up else "FAIL"
        print(f"verdict                     {verdict}: target <= {TARGET_CPU:.0f}% of one core at {k} workers")
    else:
        verdict = "PASS" if scaled <= TARGET_CPU and kept_up else "FAIL"
        print(f"verdict (linear estimate)   {verdict}: {scaled:.0f}% at {TARGET_WORKERS} workers "
              f"(target <= {TARGET_CPU:.0f}%); pessimistic below {TARGET_WORKERS} (fewer messages per wake-up): "
              f"run --workers {TARGET_WORKERS} for the real figure")
    if dash is not None:
        base = (r["cpu"] + dash["after"]["cpu"]) / 2
        added = dash["with"]["cpu"] - base
        readers = dash["readers"]
        rates = ", ".join(f"{d['ticks'] / d['seconds']:.2f} frames/s {d['bytes'] / d['seconds'] / 1024:.0f} KiB/s"
                          for d in readers if d.get("seconds"))
        print(f"no dashboard                {r['cpu']:.1f}% then {dash['after']['cpu']:.1f}% of one core "
              f"(mean {base:.1f}%)")
        print(f"{a.dashboards} dashboard(s) open         {dash['with']['cpu']:.1f}% of one core: "
              f"{added:+.1f} points; acked/s {dash['with']['acks_per_s']:.1f}")
        print(f"  each dashboard read       {rates or 'nothing'}")
        ok = added <= TARGET_DASHBOARD_POINTS and all(d.get("ticks", 0) > 0 for d in readers) and len(readers) == \
            a.dashboards
        print(f"dashboards verdict          {'PASS' if ok else 'FAIL'}: target <= +{TARGET_DASHBOARD_POINTS:g} points "
              f"of one core for {a.dashboards} open, every one receiving frames")
        if not ok:
            verdict = "FAIL"
    if a.cprofile and Path(a.cprofile).exists():
        print_cprofile(Path(a.cprofile))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
