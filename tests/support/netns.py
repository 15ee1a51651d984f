"""Test hosts in network namespaces: a multi-host cluster rehearsed on one machine.

A `Lab` makes a hub namespace with two bridges, "ctl" (master and workers) and "load" (workers and
target), and one namespace per host, joined to the bridges by veth pairs with 10.77.x.y addresses
that exist only inside these namespaces. `close()` stops every process it started (by process group)
and deletes every namespace, which takes the links and bridges with it.

Run as a script (inside a namespace) this file is the counting server: `serve --host H --port P
--counts FILE` answers every request and keeps FILE up to date with the count per client address.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]
NETWORKS = {"ctl": "10.77.1", "load": "10.77.2"}
PREFIX_LEN = 24
STOP_WAIT_S = 5.0
SERVER_STARTUP_S = 10.0
COUNTS_INTERVAL_S = 0.05


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here (None if they can): tries a throwaway namespace and link."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"gradual-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        return f"ip netns add is not permitted here: {added.stderr.strip() or added.returncode}"
    try:
        for argv in (["ip", "-n", probe, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"],
                     ["ip", "netns", "exec", probe, "true"]):
            done = subprocess.run(argv, capture_output=True, text=True)
            if done.returncode != 0:
                return f"{' '.join(argv[:4])} ... is not permitted here: {done.stderr.strip() or done.returncode}"
    finally:
        subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


@dataclass
class Host:
    """One test host: its namespace, its address on each network, its hub-side link ends."""

    name: str
    netns: str
    addresses: dict[str, str] = field(default_factory=dict)  # network -> address
    hub_links: dict[str, str] = field(default_factory=dict)  # network -> interface in the hub namespace

    def ip(self, network: str) -> str:
        return self.addresses[network]


class Lab:
    """Namespaces, bridges and links of one test, and the processes started in them."""

    def __init__(self) -> None:
        self.tag = f"gr{os.getpid()}{uuid.uuid4().hex[:4]}"
        self.hub = f"{self.tag}-hub"
        self.namespaces: list[str] = []
        self.hosts: dict[str, Host] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def __enter__(self) -> Lab:
        try:
            self._add_netns(self.hub)
            for network in NETWORKS:
                self._ip(self.hub, "link", "add", f"br-{network}", "type", "bridge")
                self._ip(self.hub, "link", "set", f"br-{network}", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- topology --------------------------------------------------------------------------------
    def add_host(self, name: str, **octets: int) -> Host:
        """A namespace `name` with an address `10.77.N.<octet>` on each network named in `octets`."""
        host = Host(name, f"{self.tag}-{name}")
        self._add_netns(host.netns)
        self.hosts[name] = host
        for network, octet in octets.items():
            hub_end, host_end = f"{network[0]}-{name}", f"{network}0"
            self._ip(self.hub, "link", "add", hub_end, "type", "veth", "peer", "name", host_end, "netns", host.netns)
            self._ip(self.hub, "link", "set", hub_end, "master", f"br-{network}", "up")
            address = f"{NETWORKS[network]}.{octet}"
            self._ip(host.netns, "addr", "add", f"{address}/{PREFIX_LEN}", "dev", host_end)
            self._ip(host.netns, "link", "set", host_end, "up")
            host.addresses[network] = address
            host.hub_links[network] = hub_end
        return host

    def cut(self, host: Host, network: str) -> None:
        """Pull the host's cable on `network`: its link's hub end goes down, its own end stays configured."""
        self._ip(self.hub, "link", "set", host.hub_links[network], "down")

    def restore(self, host: Host, network: str) -> None:
        self._ip(self.hub, "link", "set", host.hub_links[network], "up")

    # -- processes -------------------------------------------------------------------------------
    def spawn(self, host: Host, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None,
              ) -> subprocess.Popen[bytes]:
        """`ip netns exec` argv in the host's namespace, in its own process group, output to `log`."""
        out = open(log, "wb")  # closed in close(), after the process has stopped
        self._logs.append(out)
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), full_env.get("PYTHONPATH")]))
        for key in ("GRADUAL_TARGET", "GRADUAL_WS_TARGET"):
            full_env.pop(key, None)
        full_env.update(env or {})
        proc = subprocess.Popen(["ip", "netns", "exec", host.netns, *argv], stdout=out, stderr=subprocess.STDOUT,
                                env=full_env, cwd=REPO_ROOT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = STOP_WAIT_S) -> int:
        """SIGTERM to the process group, then SIGKILL after `timeout`; the exit code."""
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout)
        return proc.returncode

    def close(self) -> None:
        """Stop every process, delete every namespace; safe after a partial setup, safe twice."""
        for proc in self.procs:
            try:
                self.stop(proc)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for out in self._logs:
            out.close()
        self._logs.clear()
        for netns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "delete", netns], capture_output=True)
        self.namespaces.clear()

    def leftovers(self) -> list[str]:
        """Namespaces of this lab that still exist (none after close())."""
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return [line.split()[0] for line in listed.splitlines() if line.startswith(self.tag)]

    # -- helpers ---------------------------------------------------------------------------------
    def _add_netns(self, name: str) -> None:
        _run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self._ip(name, "link", "set", "lo", "up")

    @staticmethod
    def _ip(netns: str, *args: str) -> None:
        _run(["ip", "-n", netns, *args])


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass


class CountingServer:
    """The counting server (this file as a script) in a lab host, read through its counts file."""

    def __init__(self, lab: Lab, host: Host, network: str, port: int, workdir: Path, delay_ms: int = 10) -> None:
        self.lab, self.host = lab, host
        self.url = f"http://{host.ip(network)}:{port}"
        self.counts_file = workdir / f"counts-{host.name}.json"
        self.log = workdir / f"server-{host.name}.log"
        self.proc = lab.spawn(host, [sys.executable, str(Path(__file__).resolve()), "serve", "--host",
                                     host.ip(network), "--port", str(port), "--counts", str(self.counts_file),
                                     "--delay-ms", str(delay_ms)], self.log)
        deadline = time.monotonic() + SERVER_STARTUP_S
        while not self.counts_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"counting server did not start: {self.log.read_text(errors='replace')}")
            time.sleep(0.02)

    def counts(self) -> dict[str, Any]:
        """{"total": n, "by_client": {address: n}} as of the last write (every 50 ms)."""
        result: dict[str, Any] = json.loads(self.counts_file.read_text())
        return result

    def by_client(self, address: str) -> int:
        return int(self.counts()["by_client"].get(address, 0))

    def stop(self) -> dict[str, Any]:
        """Stop the server (it writes its counts once more on the way out); the final counts."""
        self.lab.stop(self.proc)
        return self.counts()


# -- the counting server -------------------------------------------------------------------------


def serve(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netns.py serve", description="count requests per client address")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--counts", required=True, help="JSON file kept up to date with the counts")
    parser.add_argument("--delay-ms", type=int, default=10, help="time each answer takes (bounds the rate)")
    args = parser.parse_args(argv)

    from gevent import monkey

    monkey.patch_all()
    import gevent
    from gevent.event import Event
    from gevent.pywsgi import WSGIServer

    counts: dict[str, int] = {}
    body = b'{"ok":true}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        # Counted on arrival, as the demo target does: a request the server saw is counted.
        client = str(environ.get("REMOTE_ADDR", "?"))
        counts[client] = counts.get(client, 0) + 1
        gevent.sleep(args.delay_ms / 1000.0)
        start_response("200 OK", headers)
        return [body]

    def write() -> None:
        tmp = f"{args.counts}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"total": sum(counts.values()), "by_client": dict(counts)}, fh)
        os.replace(tmp, args.counts)

    class Server(WSGIServer):
        def handle(self, sock: Any, address: Any) -> None:
            # Without it, delayed ACKs add about 40 ms to every keep-alive request.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)

    stopping = Event()
    server = Server((args.host, args.port), app, log=None, error_log=None)
    server.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stopping.set)
    while not stopping.wait(COUNTS_INTERVAL_S):
        write()
    server.stop(timeout=1)
    write()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        sys.exit("usage: netns.py serve --host H --port P --counts FILE [--delay-ms N]")
    sys.exit(serve(sys.argv[2:]))
