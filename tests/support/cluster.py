"""Real `gradual master` / `gradual worker` processes on 127.0.0.1 for the cluster tests.

`Cluster` starts each process with its output in a log file and stops every one of them, children
included, by pid at teardown (SIGTERM, wait, SIGKILL), even when the test failed. `write_recording_config`
writes a run whose Python request hits `/w/<worker name>` on the demo target and logs every call per
process, so a test can tell how many users each worker ran and when. `RawPeer` is a bare ZeroMQ socket
that speaks (or breaks) the wire protocol by hand.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import yaml
import zmq
from gradual.proto import Message, ProtocolError, decode, encode

from .target import REPO_ROOT, TargetProcess

LOOPBACK = "127.0.0.1"
STOP_WAIT_S = 5.0
# Generous ceiling for one cluster process: every run in this suite is a few seconds long.
PROCESS_TIMEOUT_S = 30.0

REQUEST_FILE = '''\
"""Cluster-test request file: every call hits /w/<worker> on the demo target and is logged per process."""

import os
import time

from gradual import request

BASE = os.environ.get("GRADUAL_TARGET", "http://127.0.0.1:9")
NAME = os.environ.get("CLUSTER_WORKER", "unnamed")
RECORD_DIR = os.environ.get("CLUSTER_RECORD_DIR", "")
PAUSE = float(os.environ.get("CLUSTER_PAUSE", "0.02"))

if os.environ.get("FAIL_ON_WORKER") == "1":
    raise RuntimeError("this worker refuses to load the request file")

_log = None


@request(name="hit", url=f"{BASE}/w", http_method="get", expected_response_time=1.0)
def hit(ctx):
    global _log
    if _log is None and RECORD_DIR:
        _log = open(os.path.join(RECORD_DIR, f"{NAME}.{os.getpid()}.calls"), "a", buffering=1)
    if _log is not None:
        _log.write(f"{time.time():.4f} {id(ctx)}\\n")
    response = ctx.session.get(f"{BASE}/w/{NAME}", timeout=5)
    time.sleep(PAUSE)  # gevent-patched: caps each user's rate so the machine stays responsive
    return response
'''
# The line of the `raise` above, as a worker reports it.
FAIL_LINE = REQUEST_FILE.splitlines().index(
    '    raise RuntimeError("this worker refuses to load the request file")') + 1


def free_port() -> int:
    """A loopback port that was free a moment ago: bound to port 0, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def parse_time(iso: str) -> float:
    """Epoch seconds of a summary timestamp (ISO 8601 UTC with a Z)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def write_recording_config(
    folder: Path,
    scenario: Mapping[str, Any],
    *,
    run_time: float,
    stop_timeout: float = 1.0,
    name: str = "cluster test",
) -> Path:
    """config.yaml with one phase "load" of one scenario "s" running REQUEST_FILE's `hit`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "record_requests.py").write_text(REQUEST_FILE, encoding="utf-8")
    scen = {"requests": ["hit"], "request_file": "record_requests.py", **scenario}
    runs = {"name": name, "stop_timeout": stop_timeout,
            "phases": {"load": {"run_time": run_time, "scenarios": {"s": scen}}}}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"runs": runs}, sort_keys=False), encoding="utf-8")
    return config


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def running(proc: psutil.Process) -> bool:
    """Alive and not a zombie (an orphan's zombie may linger here: this sandbox's init does not reap)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_tree(*procs: subprocess.Popen[bytes], wait: float = STOP_WAIT_S) -> None:
    """SIGTERM every proc at once (each forwards it to its own workers), wait, SIGKILL; then the same for
    any child left behind."""
    children = [child for proc in procs for child in _descendants(proc.pid)]
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + wait
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(wait)
    alive = [c for c in children if running(c)]
    for child in alive:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(alive, timeout=wait)
    for child in still:
        try:
            child.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(still, timeout=wait)


@dataclass
class Proc:
    """One started gradual process; its combined stdout/stderr goes to ``log_path``."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = PROCESS_TIMEOUT_S) -> int:
        """The exit code; AssertionError (with the log) if it is still running after ``timeout``."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout}s; log:\n{self.log()}") from None

    def kill9(self) -> float:
        """SIGKILL now (no goodbye on the wire); returns the epoch time of the kill."""
        killed_at = time.time()
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(STOP_WAIT_S)
        return killed_at

    def wait_for_log(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {text!r} not logged within {timeout}s; log:\n{self.log()}")
            if not self.alive():
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}) before logging {text!r}:\n"
                                     f"{self.log()}")
            time.sleep(0.05)


class Cluster:
    """Master and worker processes of one test, on one free loopback port, all stopped by stop_all()."""

    def __init__(self, folder: Path, target: TargetProcess | None = None) -> None:
        self.folder = folder
        self.target = target
        self.port = free_port()
        self.record_dir = folder / "calls"
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self.json_path = folder / "summary.json"
        self.procs: list[Proc] = []

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        for key in ("GRADUAL_TARGET", "GRADUAL_WS_TARGET", "CLUSTER_WORKER", "FAIL_ON_WORKER"):
            env.pop(key, None)
        if self.target is not None:
            env["GRADUAL_TARGET"] = self.target.url
        env["CLUSTER_RECORD_DIR"] = str(self.record_dir)
        env.update(extra or {})
        return env

    def start(self, name: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> Proc:
        log_path = self.folder / f"{name}.log"
        if log_path.exists():  # a second process of the same name (a restarted master)
            log_path = self.folder / f"{name}-{len(self.procs)}.log"
        with open(log_path, "wb") as out:
            popen = subprocess.Popen([sys.executable, "-m", "gradual", *args], stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env(env), cwd=self.folder)
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def master(self, config: Path, expect_workers: int, *extra: str, env: Mapping[str, str] | None = None) -> Proc:
        """`gradual master` on 127.0.0.1:<port> writing the summary JSON to ``json_path``."""
        args = ["master", str(config), "--expect-workers", str(expect_workers), "--bind", LOOPBACK,
                "--port", str(self.port), "--expect-workers-timeout", "20", "--quiet", "--json", str(self.json_path),
                *extra]
        return self.start("master", args, env)

    def worker(self, name: str, *extra: str, env: Mapping[str, str] | None = None) -> Proc:
        """`gradual worker --worker-id name`; its requests hit /w/<name> on the target."""
        args = ["worker", "--host", LOOPBACK, "--port", str(self.port), "--worker-id", name, *extra]
        return self.start(f"worker-{name}", args, {"CLUSTER_WORKER": name, **(env or {})})

    def summary(self) -> dict[str, Any]:
        assert self.json_path.exists(), "no summary JSON; logs:\n" + self.logs()
        result: dict[str, Any] = json.loads(self.json_path.read_text(encoding="utf-8"))
        return result

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid}, exit {p.popen.poll()}) ---\n{p.log()}" for p in self.procs)

    def stop_all(self) -> None:
        stop_tree(*(proc.popen for proc in self.procs))

    def calls(self) -> dict[str, list[tuple[float, int]]]:
        """Worker name -> [(epoch time, user token)] of every call its processes logged, in time order."""
        out: dict[str, list[tuple[float, int]]] = {}
        for path in sorted(self.record_dir.glob("*.calls")):
            name = path.name.split(".")[0]
            rows = out.setdefault(name, [])
            for line in path.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 2:  # a line cut short by a kill -9 is skipped
                    rows.append((float(parts[0]), int(parts[1])))
        for rows in out.values():
            rows.sort()
        return out


def users_between(calls: Sequence[tuple[float, int]], start: float, end: float) -> int:
    """Distinct users that made a call in [start, end)."""
    return len({user for t, user in calls if start <= t < end})


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(interval)


def by_id(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["id"]: w for w in summary["workers"]}


def users_over_time(summary: Mapping[str, Any], phase: str = "load", scenario: str = "s") -> list[tuple[float, int]]:
    """(seconds into the phase when sampled, users) of one scenario, from the summary's time series."""
    if "series" in summary:  # the controller's raw samples
        return [(s["t"], s["users"].get(scenario, 0)) for s in summary["series"] if s["phase"] == phase]
    # Per-second rows: second t shows the sample taken at its end.
    return [(s["t"] + 1, s["users"]) for s in summary["timeseries"]
            if s["phase"] == phase and s["scenario"] == scenario]


def server_paths(target: TargetProcess) -> dict[str, int]:
    """Requests the target received per worker name (from the GET /w/<name> counts)."""
    prefix = "GET /w/"
    return {key[len(prefix):]: n for key, n in target.counts()["requests"].items() if key.startswith(prefix)}


class RawPeer:
    """A bare, blocking ZeroMQ socket on the master's port: a DEALER posing as a worker, or a ROUTER as a master."""

    def __init__(self, kind: int, identity: str | None = None) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        if identity is not None:
            self.sock.setsockopt(zmq.IDENTITY, identity.encode())
        self.routing_id: bytes | None = None  # ROUTER: the one peer that spoke to us

    def connect(self, port: int) -> RawPeer:
        self.sock.connect(f"tcp://{LOOPBACK}:{port}")
        return self

    def bind(self, port: int) -> RawPeer:
        self.sock.bind(f"tcp://{LOOPBACK}:{port}")
        return self

    def send_raw(self, frame: bytes) -> None:
        if self.routing_id is not None:
            self.sock.send_multipart([self.routing_id, frame])
        else:
            self.sock.send(frame)

    def send(self, msg: Message) -> None:
        self.send_raw(encode(msg))

    def recv(self, timeout: float) -> Message | None:
        """The next valid message within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                return None
            frames = self.sock.recv_multipart()
            if len(frames) == 2:
                self.routing_id = frames[0]
            try:
                return decode(frames[-1])
            except ProtocolError:
                continue

    def recv_type(self, cls: type[Message], timeout: float) -> Any:
        """The next message of type ``cls``, skipping others; AssertionError if none comes in time."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise AssertionError(f"no {cls.TYPE} within {timeout}s")
            if isinstance(msg, cls):
                return msg

    def close(self) -> None:
        self.sock.close(linger=0)
        self.ctx.term()
