"""HTTP throughput of gradual's engine next to a bare geventhttpclient loop and Locust's FastHttpUser.

All three run a keep-alive GET loop with the same number of users (default 50, no wait time) against
one nginx on 127.0.0.1 (worker_processes 1, access_log off, `return 200 "ok"`), with the client and the
server pinned to different cores, and report requests/s:

  (a) gradual   `gradual run` of a one-scenario config, requests/s read from its --json summary
  (b) raw       N greenlets, each looping on its own geventhttpclient.HTTPClient (the ceiling)
  (c) locust    `locust --headless` with a FastHttpUser, requests/s read from its --csv stats

Run: python benchmarks/bench_http.py [--users 50] [--seconds 10] [--repeat 1] [--server auto|nginx|demo]
With --repeat N the three tools take turns N times and the median of each is reported, which evens
out other load on a shared machine.
nginx is installed with apt-get when missing and running as root; without it the demo target
(python -m gradual.demo.target) serves instead, which is much slower, and the output says so.
Every process is bounded in time, talks to 127.0.0.1 only, and is stopped by its own pid.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
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
from pathlib import Path

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
events {{ worker_connections 4096; }}
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
    }}
}}
"""

RAW_LOOP = """\
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
print(sum(counts) / (time.monotonic() - start))
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


def run_bounded(cmd: list[str], core: int, seconds: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(cmd, preexec_fn=pin(core), cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=seconds + OVERRUN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"{cmd[0]} overran its time limit") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def bench_gradual(url: str, users: int, seconds: float, core: int, workdir: Path) -> float:
    folder = workdir / "gradual"
    folder.mkdir()
    (folder / "requests.yaml").write_text(yaml.safe_dump({"requests": {"get": {"url": url}}}), encoding="utf-8")
    scenario = {"requests": ["get"], "request_file": "requests.yaml",
                "min_concurrency": users, "max_concurrency": users}
    config = {"runs": {"name": "bench_http", "stop_timeout": 2,
                       "phases": {"load": {"run_time": seconds, "scenarios": {"get_loop": scenario}}}}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cmd = [sys.executable, "-m", "gradual", "run", "config.yaml", "--quiet", "--json", "summary.json"]
    done = run_bounded(cmd, core, seconds, folder)
    if done.returncode != 0:
        raise RuntimeError(f"gradual run exited {done.returncode}: {done.stderr.strip()[-500:]}")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    [req] = summary["phases"][0]["scenarios"][0]["requests"]
    if req["failures"]:
        raise RuntimeError(f"gradual saw {req['failures']} failures: {req['errors']}")
    return float(req["rps"])


def bench_raw(url: str, users: int, seconds: float, core: int, workdir: Path) -> float:
    port = int(url.rsplit(":", 1)[1].strip("/"))
    cmd = [sys.executable, "-c", RAW_LOOP, HOST, str(port), str(users), str(seconds)]
    done = run_bounded(cmd, core, seconds, workdir)
    if done.returncode != 0:
        raise RuntimeError(f"raw loop exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def bench_locust(url: str, users: int, seconds: float, core: int, workdir: Path) -> float:
    folder = workdir / "locust"
    folder.mkdir()
    (folder / "locustfile.py").write_text(LOCUSTFILE, encoding="utf-8")
    cmd = [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "-u", str(users), "-r", str(users),
           "-t", f"{int(seconds)}s", "--host", url.rstrip("/"), "--csv", "bench", "--only-summary",
           "--exit-code-on-error", "0"]
    done = run_bounded(cmd, core, seconds, folder)
    stats = folder / "bench_stats.csv"
    if not stats.exists():
        raise RuntimeError(f"locust exited {done.returncode} without stats: {done.stderr.strip()[-500:]}")
    with stats.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                if int(row["Failure Count"]):
                    raise RuntimeError(f"locust saw {row['Failure Count']} failures")
                return float(row["Requests/s"])
    raise RuntimeError("no Aggregated row in locust's stats CSV")


def locust_available() -> bool:
    try:
        import locust  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=1, help="take turns this many times, report medians")
    parser.add_argument("--server", choices=("auto", "nginx", "demo"), default="auto")
    args = parser.parse_args()
    if not 1 <= args.users <= 1000 or not 1 <= args.seconds <= 120 or not 1 <= args.repeat <= 10:
        parser.error("keep it bounded: 1..1000 users, 1..120 seconds, 1..10 repeats")

    cores = sorted(os.sched_getaffinity(0))
    server_core, client_core = cores[0], cores[-1]
    if server_core == client_core:
        print("note: only one core available, client and server share it")
    print(f"users={args.users} seconds={args.seconds:g} server core={server_core} client core={client_core} "
          f"load average={os.getloadavg()[0]:.2f}")

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
        measured: dict[str, list[float]] = {}
        with server as url:
            print(f"url: {url}")
            runs: list[tuple[str, Callable[..., float]]] = [("gradual", bench_gradual), ("raw", bench_raw)]
            if locust_available():
                runs.append(("locust", bench_locust))
            else:
                print("locust: not installed, skipped (pip install locust)")
            for turn in range(args.repeat):
                for name, bench in runs:
                    rundir = workdir / f"{name}-{turn}"
                    rundir.mkdir()
                    try:
                        rps = bench(url, args.users, args.seconds, client_core, rundir)
                    except RuntimeError as exc:
                        print(f"{name}: failed: {exc}")
                        continue
                    measured.setdefault(name, []).append(rps)
                    print(f"{name:>8}: {rps:10.1f} requests/s", flush=True)
        results = {name: statistics.median(values) for name, values in measured.items()}
        if args.repeat > 1:
            for name, value in results.items():
                print(f"{name:>8}: {value:10.1f} requests/s (median of {len(measured[name])})")

    gradual = results.get("gradual")
    for other in ("raw", "locust"):
        if gradual and results.get(other):
            print(f"gradual/{other}: {gradual / results[other]:.2f}")
    return 0 if gradual else 1


if __name__ == "__main__":
    sys.exit(main())
