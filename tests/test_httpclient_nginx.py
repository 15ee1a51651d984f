"""gradual against a real nginx on 127.0.0.1: every request nginx logged is one gradual counted, and back.

nginx runs with its own config on a free port, logging each request's method, path, status and body size;
it closes a kept-alive connection after 7 requests (keepalive_requests), so reconnects happen all the time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.gradual_run import run_gradual, write_run_config

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                       if Path(p).exists()), None)
CONF = """\
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format counted "$request_method $uri $status $body_bytes_sent";
    access_log {prefix}/access.log counted;
    keepalive_requests 7;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /ok {{ return 200 "ok"; }}
        location = /big {{ alias {prefix}/big.bin; }}
        location = /moved {{ return 301 /ok; }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "big.bin").write_bytes(b"b" * 300_000)
    port = _free_port()
    # As root, nginx's workers would drop to nobody and could not read the test's private tmp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(CONF.format(user=user, prefix=prefix, port=port), encoding="utf-8")
    proc = subprocess.Popen([NGINX, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, f"nginx exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", prefix / "access.log"
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: the access log is flushed
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_nginx_logs_exactly_what_gradual_counted(nginx: tuple[str, Path], tmp_path: Path) -> None:
    url, log = nginx
    config = write_run_config(tmp_path, {"p": {"run_time": 1.5, "scenarios": {
        "small": {"requests": ["ok"], "min_concurrency": 4, "max_concurrency": 4},
        "big": {"requests": ["big"], "min_concurrency": 2, "max_concurrency": 2},
        "head": {"requests": ["head_big"], "min_concurrency": 1, "max_concurrency": 1},
        "moved": {"requests": ["moved"], "min_concurrency": 1, "max_concurrency": 1},
    }}}, requests={
        "ok": {"url": f"{url}/ok"},
        "big": {"url": f"{url}/big"},
        "head_big": {"url": f"{url}/big", "method": "HEAD"},
        "moved": {"url": f"{url}/moved"},
    })
    run = run_gradual(config)
    assert run.returncode == 0, run.stderr
    ok, big, head, moved = (run.request(n) for n in ("ok", "big", "head_big", "moved"))
    for req in (ok, big, head, moved):
        assert req["count"] > 20 and req["failures"] == 0, (req["name"], req["errors"], req["status_codes"])
    assert big["status_codes"] == {"200": big["count"]}
    assert moved["status_codes"] == {"301": moved["count"]}  # not followed
    # The log is flushed when nginx stops; read it after the fixture's nginx had its last request.
    deadline = time.monotonic() + 5
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = log.read_text(encoding="utf-8").splitlines()
        if len(lines) >= sum(r["count"] for r in (ok, big, head, moved)):
            break
        time.sleep(0.1)
    seen = Counter(" ".join(line.split()[:3]) for line in lines)
    assert seen == {"GET /ok 200": ok["count"], "GET /big 200": big["count"], "HEAD /big 200": head["count"],
                    "GET /moved 301": moved["count"]}
    sizes = {line.split()[3] for line in lines if line.startswith("GET /big")}
    assert sizes == {"300000"}
