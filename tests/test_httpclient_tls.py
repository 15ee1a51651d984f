"""HTTPS and wss: verified by default, ``verify: false`` and ``ca_file`` per request, SNI, keep-alive over TLS.

Certificates are made by the test with openssl (a self-signed one, and a test CA with a certificate it
signed); the servers are the raw-socket edge and WebSocket servers wrapped in TLS, and they count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import gevent
import pytest
from support.certs import Certs, make_certs
from support.cluster import free_port, stop_tree
from support.edge_server import EdgeServer
from support.gradual_run import finish, run_gradual, start_gradual, write_run_config
from support.ws_server import WsServer

from gradual.configs.model import HTTP, RequestConfig
from gradual.runners import HttpRunner, Outcome, UserContext


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def self_signed(certs: Certs) -> Iterator[EdgeServer]:
    server = EdgeServer(tls=certs.context(certs.self_signed, certs.self_signed_key)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ca_signed(certs: Certs) -> Iterator[tuple[EdgeServer, list[str]]]:
    sni: list[str] = []
    server = EdgeServer(tls=certs.context(certs.server, certs.server_key, sni)).start()
    try:
        yield server, sni
    finally:
        server.stop()


def _run(url: str, times: int, **fields: object) -> tuple[list[Outcome], int]:
    ctx = UserContext(user=0, scenario="s", phase="p")
    runner = HttpRunner(replace(RequestConfig("r", HTTP, url), **fields), ctx)
    with gevent.Timeout(30):
        outcomes = [runner.run() for _ in range(times)]
    connects = ctx._http_clients[runner._endpoint].connects
    ctx.close()
    return outcomes, connects


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_self_signed_certificate_is_refused_by_default(self_signed: EdgeServer) -> None:
    outcomes, _ = _run(f"https://localhost:{self_signed.port}/ok", 3)
    assert {o.error_kind for o in outcomes} == {"connection"}
    assert all(o.error_message.startswith("TLS certificate verify failed: self") for o in outcomes), outcomes
    _eventually(lambda: self_signed.tls_failures == 3)  # the server's thread may still be failing the last one
    assert self_signed.counts == {}


def test_verify_false_accepts_it_and_keeps_one_tls_connection(self_signed: EdgeServer) -> None:
    outcomes, connects = _run(f"https://localhost:{self_signed.port}/ok", 50, verify=False)
    assert [(o.status, o.nbytes, o.error_kind) for o in outcomes] == [(200, 2, None)] * 50
    assert connects == 1 and self_signed.connections == 1
    assert self_signed.counts == {"GET /ok": 50}


def test_ca_file_trusts_the_test_ca_and_sends_the_host_name_as_sni(
    ca_signed: tuple[EdgeServer, list[str]], certs: Certs
) -> None:
    server, sni = ca_signed
    outcomes, connects = _run(f"https://localhost:{server.port}/ok", 10, ca_file=str(certs.ca))
    assert [(o.status, o.error_kind) for o in outcomes] == [(200, None)] * 10
    assert connects == 1 and server.counts == {"GET /ok": 10}
    assert sni == ["localhost"]


def test_ca_file_does_not_trust_a_certificate_another_key_signed(self_signed: EdgeServer, certs: Certs) -> None:
    outcomes, _ = _run(f"https://localhost:{self_signed.port}/ok", 2, ca_file=str(certs.ca))
    assert [o.error_kind for o in outcomes] == ["connection"] * 2
    assert self_signed.counts == {}


def test_an_idle_tls_connection_the_server_closed_is_replaced_without_a_failure(self_signed: EdgeServer) -> None:
    ctx = UserContext(user=0, scenario="s", phase="p")
    runner = HttpRunner(RequestConfig("r", HTTP, f"https://127.0.0.1:{self_signed.port}/idle-close", verify=False),
                        ctx)
    with gevent.Timeout(30):
        outcomes = []
        for _ in range(10):
            outcomes.append(runner.run())
            gevent.sleep(0.1)
    conn = ctx._http_clients[runner._endpoint]
    assert [(o.status, o.error_kind) for o in outcomes] == [(200, None)] * 10
    assert self_signed.counts == {"GET /idle-close": 10}
    assert (conn.connects, conn.retries) == (10, 0)
    ctx.close()


def test_gradual_run_with_local_workers_ships_the_ca_file_in_the_bundle(
    ca_signed: tuple[EdgeServer, list[str]], certs: Certs, tmp_path: Path
) -> None:
    server, _ = ca_signed
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.pem").write_bytes(certs.ca.read_bytes())
    config = write_run_config(tmp_path, {"p": {"run_time": 1.5, "scenarios": {
        "secure": {"requests": ["secure"], "min_concurrency": 2, "max_concurrency": 2},
    }}}, requests={
        "secure": {"url": "https://localhost:${EDGE_PORT}/ok", "ca_file": "tls/ca.pem", "connect_timeout": "2s"},
    })
    run = run_gradual(config, env={"EDGE_PORT": str(server.port)}, extra_args=["--workers", "1"], timeout=60)
    assert run.returncode == 0, run.stderr
    secure = run.request("secure")
    assert secure["count"] > 20 and secure["failures"] == 0
    assert server.counts == {"GET /ok": secure["count"]}


def test_a_ca_file_found_in_the_working_directory_is_the_shipped_copy_on_a_worker(
    ca_signed: tuple[EdgeServer, list[str]], certs: Certs, tmp_path: Path
) -> None:
    # The CA file is not next to the request file but in the master's working directory: the master finds it
    # there and ships it. The worker runs from another directory (as on another host), where neither its
    # working directory nor the bundle's request-file folder holds tls/ca.pem: it must trust the shipped
    # copy, or every request fails verification.
    server, _ = ca_signed
    work, elsewhere, conf = tmp_path / "work", tmp_path / "elsewhere", tmp_path / "conf"
    (work / "tls").mkdir(parents=True)
    elsewhere.mkdir()
    conf.mkdir()
    (work / "tls" / "ca.pem").write_bytes(certs.ca.read_bytes())
    config = write_run_config(conf, {"p": {"run_time": 1.5, "scenarios": {
        "secure": {"requests": ["secure"], "min_concurrency": 2, "max_concurrency": 2},
    }}}, requests={
        "secure": {"url": "https://localhost:${EDGE_PORT}/ok", "ca_file": "tls/ca.pem", "connect_timeout": "2s"},
    })
    json_path, port = tmp_path / "summary.json", free_port()
    started = time.monotonic()
    env = {"EDGE_PORT": str(server.port)}
    master = start_gradual(["master", str(config), "--expect-workers", "1", "--bind", "127.0.0.1", "--port",
                            str(port), "--expect-workers-timeout", "30", "--quiet", "--json", str(json_path)],
                           env=env, cwd=work)
    worker = start_gradual(["worker", "--host", "127.0.0.1", "--port", str(port), "--worker-id", "w1"],
                           env=env, cwd=elsewhere)
    try:
        run = finish(master, json_path, started, timeout=60)
        assert run.returncode == 0, run.stderr
        assert worker.wait(15) == 0
    finally:
        stop_tree(master, worker)
    secure = run.request("secure")
    assert secure["count"] > 20 and secure["failures"] == 0, secure
    assert server.counts == {"GET /ok": secure["count"]}


@pytest.fixture
def wss(certs: Certs) -> Iterator[WsServer]:
    server = WsServer(tls=certs.context(certs.server, certs.server_key)).start()
    try:
        yield server
    finally:
        server.stop()


def test_wss_uses_the_same_tls_settings(wss: WsServer, certs: Certs, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p": {"run_time": 1.0, "scenarios": {
        "trusted": {"requests": ["trusted"], "min_concurrency": 1, "max_concurrency": 1},
        "untrusted": {"requests": ["untrusted"], "min_concurrency": 1, "max_concurrency": 1},
    }}}, requests={
        "trusted": {"url": f"wss://localhost:{wss.port}/ws", "message": "hi", "ca_file": str(certs.ca)},
        "untrusted": {"url": f"wss://localhost:{wss.port}/ws", "message": "hi"},
    })
    run = run_gradual(config)
    assert run.returncode == 0, run.stderr
    trusted, untrusted = run.request("trusted"), run.request("untrusted")
    assert trusted["count"] > 20 and trusted["failures"] == 0
    assert untrusted["count"] > 0 and untrusted["failures"] == untrusted["count"]
    assert "certificate verify failed" in untrusted["errors"][0]["message"]
    assert wss.messages == trusted["count"]
    assert wss.handshakes == 1
