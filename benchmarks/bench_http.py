"""HTTP throughput of gradual's engine next to a bare httptools socket loop (the ceiling), a bare geventhttpclient
loop and Locust's FastHttpUser.

All run a keep-alive GET loop with the same number of users (default 50, no wait time) against one nginx on
127.0.0.1 (worker_processes 1, access_log off, `return 200 "ok"`), with the client and the server pinned to
different cores, and report requests/s:

  (a) gradual   `gradual run` of a one-scenario config, requests/s read from its --json summary; nginx's own
                request counter (stub_status) is read before and after, and must equal gradual's count
  (a') templated the same with a templated request: three {{ }} substitutions (path, query, header) filled in
                per iteration and a JSON check (expect: json) of every answer, against /items/...; compared in
                the same run with its static twin (`static`: the same route, answer and header, values written
                out, no check)
  (b) httptools N greenlets, each sending prebuilt request bytes on its own gevent socket and parsing the answer
                with httptools: what any gevent+httptools client can reach on this core (the ceiling)
  (c) ghc       N greenlets, each looping on its own geventhttpclient.HTTPClient (if geventhttpclient is installed)
  (d) locust    `locust --headless` with a FastHttpUser, requests/s read from its --csv stats (if installed)

Run: python benchmarks/bench_http.py [--users 50] [--seconds 10] [--repeat 1] [--server auto|nginx|demo]
                                     [--workers N] [--memory-users 10000]
With --repeat N the tools take turns N times and the median of each is reported, which evens out other load
on a shared machine. --workers N runs gradual with N local worker processes and Locust with --processes N
(cores are then shared, not pinned one each). --memory-users N also starts N idle-connection users in one
process and prints the memory each costs (RSS growth / N).
nginx is installed with apt-get when missing and running as root; without it the demo target
(python -m gradual.demo.target) serves instead, which is much slower, and the output says so.
Every process is bounded in time, talks to 127.0.0.1 only, and is stopped by its own pid.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
# Any run may take this much longer than its --seconds (imports, ramp, report) before it is killed.
OVERRUN_S = 60.0

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_rlimit_nofile 30000;
events {{ worker_connections 25000; }}
http {{
    access_log off;
    # nginx closes a keep-alive connection after 1000 requests by default: keep them open, so every
    # tool measures requests rather than reconnects.
    keepalive_requests 100000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port};
        location / {{ return 200 "ok"; }}
        # the templated request's target and its static twin's (bench_gradual_items): a small JSON answer
        location /items/ {{ default_type application/json; return 200 '{{"method":"GET","ok":true}}'; }}
        # nginx's own count of the requests it answered (each read of it is one more)
        location = /__status {{ stub_status; }}
    }}
}}
"""

HTTPTOOLS_LOOP = """\
import sys, time
import gevent, httptools
from gevent import socket

host, port, users, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
REQUEST = b"GET / HTTP/1.1\\r\\nHost: %s:%d\\r\\n\\r\\n" % (host.encode(), port)
counts = [0] * users
end = 0.0

class Done:
    complete = False
    def on_message_complete(self):
        self.complete = True

def user(i):
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    state = Done()
    parser = httptools.HttpResponseParser(state)
    buf = bytearray(65536)
    view = memoryview(buf)
    n = 0
    while time.monotonic() < end:
        sock.sendall(REQUEST)
        state.complete = False
        while not state.complete:
            got = sock.recv_into(buf)
            if not got:
                raise ConnectionError("closed")
            parser.feed_data(view[:got])
        n += 1
    counts[i] = n
    sock.close()

start = time.monotonic()
end = start + seconds
gevent.joinall([gevent.spawn(user, i) for i in range(users)], raise_error=True)
print(sum(counts) / (time.monotonic() - start), sum(counts))
"""

GHC_LOOP = """\
import sys, time
import gevent
from geventhttpclient import HTTPClient

host, port, users, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
counts = [0] * users
end = 0.0

def user(i):
    client = HTTPClient(host, port, concurrency=1, connection_timeout=10, network_timeout=10)
    n = 0
    while time.monotonic() < end:
        response = client.request("GET", "/")
        response.read()
        response.release()
        n += 1
    counts[i] = n
    client.close()

start = time.monotonic()
end = start + seconds
gevent.joinall([gevent.spawn(user, i) for i in range(users)])
print(sum(counts) / (time.monotonic() - start), sum(counts))
"""

MEMORY_PROBE = """\
import sys, gc, time
import gevent, gevent.event, psutil
from gradual.configs.model import HTTP, RequestConfig
from gradual.runners import HttpRunner, UserContext

url, users = sys.argv[1], int(sys.argv[2])
process = psutil.Process()
req = RequestConfig("get", HTTP, url)
release = gevent.event.Event()
ready = [0]

def user(i):
    ctx = UserContext(user=i, scenario="s", phase="p")
    runner = HttpRunner(req, ctx)
    outcome = runner.run()  # connects, and leaves its keep-alive connection open
    assert outcome.error_kind is None, outcome.error_message
    ready[0] += 1
    release.wait()  # parked like a user between requests: greenlet, runner and connection all held
    ctx.close()

def start(n):
    ready[0] = 0
    greenlets = [gevent.spawn(user, i) for i in range(n)]
    deadline = time.monotonic() + 60
    while ready[0] < n and time.monotonic() < deadline:
        gevent.sleep(0.1)
    assert ready[0] == n, f"only {ready[0]} of {n} users connected"
    return greenlets

warm = start(50)
gc.collect()
before = process.memory_info().rss
kept = start(users)
gc.collect()
after = process.memory_info().rss
print((after - before) / users)
release.set()
gevent.joinall(kept + warm, timeout=30)
"""


LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class Get(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pin(core: int) -> Callable[[], None]:
    """A preexec_fn pinning the child (and everything it starts) to one core."""
    return lambda: os.sched_setaffinity(0, {core})


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {HOST}:{port} after {START_TIMEOUT_S}s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process this script started, by its own pid."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def find_nginx() -> str | None:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(p, os.X_OK)), None)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("nginx not found: apt-get install -y nginx", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "nginx"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


@contextmanager
def nginx_server(binary: str, core: int, workdir: Path) -> Iterator[str]:
    prefix = workdir / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, host=HOST, port=port), encoding="utf-8")
    # daemon off: the pid we hold is nginx's master; SIGQUIT is its graceful stop.
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(prefix)], preexec_fn=pin(core),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        yield f"http://{HOST}:{port}/"
    finally:
        stop(proc, signal.SIGQUIT)


@contextmanager
def demo_server(core: int, workdir: Path) -> Iterator[str]:
    port_file = workdir / "demo-port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradual.demo.target", "--host", HOST, "--port", "0", "--port-file", str(port_file)],
        preexec_fn=pin(core), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo target did not start")
            time.sleep(0.05)
        port = int(port_file.read_text())
        wait_listening(port, proc)
        yield f"http://{HOST}:{port}/"
    finally:
        stop(proc)


@dataclass(frozen=True)
class Measured:
    rps: float  # requests/s over the run's wall time
    count: int  # requests done
    cpu_s: float  # the client's own CPU time (user + system, its children too), startup included

    @property
    def per_cpu_s(self) -> float:
        return self.count / self.cpu_s


def marginal(long: Measured, short: Measured) -> float:
    """Requests per CPU-second of the steady loop: what a longer run added, over the CPU it added. Startup
    (imports, config, the report: about 0.5 s of CPU for gradual and Locust, 0.1 s for a bare loop) cancels."""
    extra_cpu = long.cpu_s - short.cpu_s
    return (long.count - short.count) / extra_cpu if extra_cpu > 0 else float("nan")


def run_bounded(cmd: list[str], core: int | None, seconds: float, cwd: Path) -> tuple[subprocess.CompletedProcess[str],
                                                                                      float]:
    """Run ``cmd`` pinned to ``core`` (None: any core) and kill it if it overruns; also the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, preexec_fn=pin(core) if core is not None else None, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=seconds + OVERRUN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"{cmd[0]} overran its time limit") from None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), cpu


def nginx_count(url: str) -> int | None:
    """Requests nginx has answered so far (stub_status), or None for a server without it."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/__status", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    return int(text.splitlines()[2].split()[2])  # "accepts handled requests" line


def bench_gradual(url: str, users: int, seconds: float, core: int | None, workdir: Path,
                  workers: int = 0) -> Measured:
    folder = workdir / "gradual"
    folder.mkdir()
    (folder / "requests.yaml").write_text(yaml.safe_dump({"requests": {"get": {"url": url}}}), encoding="utf-8")
    scenario = {"requests": ["get"], "request_file": "requests.yaml",
                "min_concurrency": users, "max_concurrency": users}
    config = {"runs": {"name": "bench_http", "stop_timeout": 2,
                       "phases": {"load": {"run_time": seconds, "scenarios": {"get_loop": scenario}}}}}
    return run_gradual(folder, config, url, seconds, core, workers)


def run_gradual(folder: Path, config: dict[str, Any], url: str, seconds: float, core: int | None,
                workers: int = 0) -> Measured:
    """``gradual run`` of ``config`` in ``folder`` (its one request's figures), checked against nginx's count."""
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cmd = [sys.executable, "-m", "gradual", "run", "config.yaml", "--quiet", "--json", "summary.json"]
    if workers:
        cmd += ["--workers", str(workers)]
    before = nginx_count(url)
    done, cpu = run_bounded(cmd, core, seconds, folder)
    after = nginx_count(url)
    if done.returncode != 0:
        raise RuntimeError(f"gradual run exited {done.returncode}: {done.stderr.strip()[-500:]}")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    [req] = summary["phases"][0]["scenarios"][0]["requests"]
    if req["failures"]:
        raise RuntimeError(f"gradual saw {req['failures']} failures: {req['errors']}")
    if before is not None and after is not None:
        seen = after - before - 1  # the second status read counts itself
        verdict = "equal" if seen == req["count"] else "DIFFERENT"
        print(f"          nginx answered {seen} requests, gradual counted {req['count']}: {verdict}")
    return Measured(float(req["rps"]), req["count"], cpu)


def bench_gradual_items(url: str, users: int, seconds: float, core: int | None, workdir: Path,
                        templated: bool = True) -> Measured:
    """gradual against /items/..., which nginx (and the demo target) answer with {"method": "GET", ...}.

    ``templated``: three substitutions (two in the path and query, one in a header) filled in per iteration,
    and a JSON check of each answer. Otherwise its static twin: the same route, answer and header, with the
    values written out and no check; templated/static is the cost of the templates and the check alone.
    """
    folder = workdir / ("gradual-templated" if templated else "gradual-static")
    folder.mkdir()
    base = url.rstrip("/")
    if templated:
        request = {"url": base + "/items/{{ user }}?i={{ iteration }}",
                   "headers": {"X-Scenario": "{{ scenario }}"}, "expect": {"json": {"method": "GET"}}}
    else:
        request = {"url": base + "/items/7?i=1234", "headers": {"X-Scenario": "item_loop"}}
    (folder / "requests.yaml").write_text(yaml.safe_dump({"requests": {"item": request}}), encoding="utf-8")
    scenario = {"requests": ["item"], "request_file": "requests.yaml",
                "min_concurrency": users, "max_concurrency": users}
    config = {"runs": {"name": "bench_http items", "stop_timeout": 2,
                       "phases": {"load": {"run_time": seconds, "scenarios": {"item_loop": scenario}}}}}
    return run_gradual(folder, config, url, seconds, core)


def bench_gradual_static(url: str, users: int, seconds: float, core: int | None, workdir: Path) -> Measured:
    return bench_gradual_items(url, users, seconds, core, workdir, templated=False)


def bench_loop(script: str, url: str, users: int, seconds: float, core: int | None, workdir: Path) -> Measured:
    port = int(url.rsplit(":", 1)[1].strip("/"))
    cmd = [sys.executable, "-c", script, HOST, str(port), str(users), str(seconds)]
    done, cpu = run_bounded(cmd, core, seconds, workdir)
    if done.returncode != 0:
        raise RuntimeError(f"loop exited {done.returncode}: {done.stderr.strip()[-500:]}")
    rps, count = done.stdout.strip().splitlines()[-1].split()
    return Measured(float(rps), int(count), cpu)


def bench_httptools(url: str, users: int, seconds: float, core: int | None, workdir: Path) -> Measured:
    return bench_loop(HTTPTOOLS_LOOP, url, users, seconds, core, workdir)


def bench_ghc(url: str, users: int, seconds: float, core: int | None, workdir: Path) -> Measured:
    return bench_loop(GHC_LOOP, url, users, seconds, core, workdir)


def memory_per_user(url: str, users: int, core: int | None, workdir: Path) -> float:
    cmd = [sys.executable, "-c", MEMORY_PROBE, url, str(users)]
    done, _ = run_bounded(cmd, core, 60, workdir)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def bench_locust(url: str, users: int, seconds: float, core: int | None, workdir: Path,
                 workers: int = 0) -> Measured:
    folder = workdir / "locust"
    folder.mkdir()
    (folder / "locustfile.py").write_text(LOCUSTFILE, encoding="utf-8")
    cmd = [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "-u", str(users), "-r", str(users),
           "-t", f"{int(seconds)}s", "--host", url.rstrip("/"), "--csv", "bench", "--only-summary",
           "--exit-code-on-error", "0"]
    if workers:
        cmd += ["--processes", str(workers)]
    done, cpu = run_bounded(cmd, core, seconds, folder)
    stats = folder / "bench_stats.csv"
    if not stats.exists():
        raise RuntimeError(f"locust exited {done.returncode} without stats: {done.stderr.strip()[-500:]}")
    with stats.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                if int(row["Failure Count"]):
                    raise RuntimeError(f"locust saw {row['Failure Count']} failures")
                return Measured(float(row["Requests/s"]), int(row["Request Count"]), cpu)
    raise RuntimeError("no Aggregated row in locust's stats CSV")


def importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def main() -> int:  # noqa: C901 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=1, help="take turns this many times, report medians")
    parser.add_argument("--server", choices=("auto", "nginx", "demo"), default="auto")
    parser.add_argument("--workers", type=int, default=0,
                        help="also run gradual --workers N against locust --processes N")
    parser.add_argument("--memory-users", type=int, default=0, help="also measure memory per user at N users")
    parser.add_argument("--short", type=float, default=3.0,
                        help="also a run this long per tool, to take startup out of the CPU per request (0: off)")
    args = parser.parse_args()
    if not 1 <= args.users <= 1000 or not 1 <= args.seconds <= 120 or not 1 <= args.repeat <= 10:
        parser.error("keep it bounded: 1..1000 users, 1..120 seconds, 1..10 repeats")
    if not 0 <= args.workers <= 8 or not 0 <= args.memory_users <= 15000:
        parser.error("keep it bounded: --workers 0..8, --memory-users 0..15000")
    if args.short and not 1 <= args.short < args.seconds:
        parser.error("--short must be at least 1 and shorter than --seconds (or 0)")

    cores = sorted(os.sched_getaffinity(0))
    server_core, client_core = cores[0], cores[-1]
    if server_core == client_core:
        print("note: only one core available, client and server share it")
    print(f"users={args.users} seconds={args.seconds:g} server core={server_core} client core={client_core} "
          f"load average={os.getloadavg()[0]:.2f} (a shared machine: compare the ratios, not the figures)")

    with tempfile.TemporaryDirectory(prefix="gradual-bench-http-") as tmp:
        workdir = Path(tmp)
        nginx = find_nginx() if args.server in ("auto", "nginx") else None
        if args.server == "nginx" and nginx is None:
            print("error: nginx is not available", file=sys.stderr)
            return 2
        if nginx is not None:
            server = nginx_server(nginx, server_core, workdir)
            print(f"server: nginx ({nginx})")
        else:
            server = demo_server(server_core, workdir)
            print("server: the demo target (note: no nginx; the server is the bottleneck here, so the "
                  "ratios below understate the clients' differences)")
        measured: dict[str, list[Measured]] = {}
        with server as url:
            print(f"url: {url}")
            runs: list[tuple[str, Callable[..., Measured]]] = [("gradual", bench_gradual),
                                                           ("static", bench_gradual_static),
                                                           ("templated", bench_gradual_items),
                                                           ("httptools", bench_httptools)]
            if importable("geventhttpclient"):
                runs.append(("ghc", bench_ghc))
            else:
                print("ghc: geventhttpclient not installed, skipped")
            has_locust = importable("locust")
            if has_locust:
                runs.append(("locust", bench_locust))
            else:
                print("locust: not installed, skipped (pip install locust)")
            if args.workers:
                runs.append((f"gradual-w{args.workers}", lambda *a: bench_gradual(*a[:3], None, a[4], args.workers)))
                if has_locust:
                    runs.append((f"locust-p{args.workers}", lambda *a: bench_locust(*a[:3], None, a[4], args.workers)))
                print(f"--workers {args.workers}: gradual's and Locust's processes are not pinned (any core, the "
                      "server's too)")
            steady: dict[str, list[float]] = {}
            for turn in range(args.repeat):
                for name, bench in runs:
                    rundir = workdir / f"{name}-{turn}"
                    rundir.mkdir()
                    try:
                        got = bench(url, args.users, args.seconds, client_core, rundir)
                        short = None
                        if args.short and "-" not in name:  # the one-core tools: their steady loop's cost too
                            (rundir / "short").mkdir()
                            short = bench(url, args.users, args.short, client_core, rundir / "short")
                    except RuntimeError as exc:
                        print(f"{name}: failed: {exc}")
                        continue
                    measured.setdefault(name, []).append(got)
                    line = f"{name:>10}: {got.rps:10.1f} requests/s  {got.per_cpu_s:10.1f} requests per CPU-second"
                    if short is not None:
                        steady.setdefault(name, []).append(marginal(got, short))
                        line += f"  {steady[name][-1]:10.1f} in the steady loop"
                    print(line, flush=True)
            if args.memory_users:
                rundir = workdir / "memory"
                rundir.mkdir()
                try:
                    per_user = memory_per_user(url, args.memory_users, client_core, rundir)
                    print(f"memory: {per_user / 1024:.1f} KB per user at {args.memory_users} users "
                          "(RSS growth with each user's greenlet, runner and open keep-alive connection)")
                except RuntimeError as exc:
                    print(f"memory: failed: {exc}")
        rps = {name: statistics.median(m.rps for m in values) for name, values in measured.items()}
        per_cpu = {name: statistics.median(m.per_cpu_s for m in values) for name, values in measured.items()}
        loop = {name: statistics.median(values) for name, values in steady.items()}
        if args.repeat > 1:
            for name in rps:
                spread = f"{min(m.rps for m in measured[name]):.0f}..{max(m.rps for m in measured[name]):.0f}"
                extra = f"  {loop[name]:10.1f} in the steady loop" if name in loop else ""
                print(f"{name:>10}: {rps[name]:10.1f} requests/s (median of {len(measured[name])}, range {spread})"
                      f"  {per_cpu[name]:10.1f} requests per CPU-second{extra}")

    # Per CPU-second is the figure to compare on a shared machine: requests/s follows whatever else runs.
    if "gradual" not in rps:
        return 1
    if "templated" in rps and "static" in rps:
        steady_t = f", {loop['templated'] / loop['static']:.2f} in the steady loop" if "templated" in loop and \
            "static" in loop else ""
        print(f"templated/static: {rps['templated'] / rps['static']:.2f} requests/s, "
              f"{per_cpu['templated'] / per_cpu['static']:.2f} per CPU-second{steady_t} (goal >= 0.85; three "
              "substitutions and a JSON check per request, against the same request written out, same route "
              "and answer)")
        if len(measured["templated"]) == len(measured["static"]) > 1:
            # Each turn runs the two back to back: the ratio within a turn sees the same machine load.
            turns = [t.per_cpu_s / s.per_cpu_s for t, s in zip(measured["templated"], measured["static"],
                                                                 strict=True)]
            print(f"templated/static per CPU-second turn by turn: {', '.join(f'{r:.2f}' for r in turns)} "
                  f"(median {statistics.median(turns):.2f})")
    for other in ("locust", "ghc", "httptools"):
        if other in rps:
            steady_ratio = f", {loop['gradual'] / loop[other]:.2f} in the steady loop" if other in loop and \
                "gradual" in loop else ""
            print(f"gradual/{other}: {per_cpu['gradual'] / per_cpu[other]:.2f} per CPU-second{steady_ratio}, "
                  f"{rps['gradual'] / rps[other]:.2f} requests/s")
    many, locusts = f"gradual-w{args.workers}", f"locust-p{args.workers}"
    if args.workers and many in rps and locusts in rps:
        print(f"gradual --workers {args.workers} / locust --processes {args.workers}: "
              f"{per_cpu[many] / per_cpu[locusts]:.2f} per CPU-second, {rps[many] / rps[locusts]:.2f} requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
