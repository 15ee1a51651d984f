"""The demo target counts exactly what it received and answers each endpoint as documented.

Everything runs over real loopback sockets against a real server process (the `target` fixture).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import gevent
import gevent.socket
import pytest
import requests
import websocket
from support.target import REPO_ROOT, TargetProcess

from gradual.demo.target import DemoTarget, NonLoopbackAddress, websocket_accept
from gradual.runners.httpclient import Endpoint, HttpConnection, RequestHead


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class _GeventClient:
    """gradual's own keep-alive client, one connection (what the engine's users use)."""

    def __init__(self, port: int) -> None:
        self.endpoint = Endpoint("127.0.0.1", port)
        self.conn = HttpConnection(self.endpoint)

    def request(self, method: str, target: str, body: bytes = b""):
        data = RequestHead(method, target, self.endpoint.host_header, (), body).encode()
        return self.conn.request(data, keep_body=True, timeout=5)

    def get(self, target: str):
        return self.request("GET", target)

    def post(self, target: str, body: bytes):
        return self.request("POST", target, body)

    def close(self) -> None:
        self.conn.close()


def _gevent_client(port: int) -> _GeventClient:
    return _GeventClient(port)


# -- HTTP counting -----------------------------------------------------------------------------------


def test_counts_are_exact_after_keep_alive_requests_with_requests_session(target: TargetProcess) -> None:
    target.reset()
    with requests.Session() as session:
        for i in range(50):
            assert session.get(f"{target.url}/users?page={i}", timeout=5).status_code == 200
        for _ in range(20):
            response = session.post(f"{target.url}/orders", json={"item": "x"}, timeout=5)
            assert response.json()["body_bytes"] == len(b'{"item": "x"}')
        session.delete(f"{target.url}/users/7", timeout=5)

    counts = target.counts()
    assert counts["requests"] == {"GET /users": 50, "POST /orders": 20, "DELETE /users/7": 1}
    assert counts["total"] == 71
    # One keep-alive connection for the load plus the fixture's own control connection.
    assert counts["peak_connections"] == 2


def test_counts_are_exact_after_keep_alive_requests_with_gradual_client(target: TargetProcess) -> None:
    target.reset()
    client = _gevent_client(target.port)
    try:
        for _ in range(100):
            response = client.get("/products?sort=price")
            body = response.json()
            assert response.status_code == 200
        assert body == {
            "method": "GET",
            "path": "/products",
            "query": {"sort": "price"},
            "body_bytes": 0,
            "auth": None,
        }
        response = client.post("/orders", body=b"x" * 5000)
        assert response.json()["body_bytes"] == 5000
    finally:
        client.close()

    counts = target.counts()
    assert counts["requests"] == {"GET /products": 100, "POST /orders": 1}
    assert counts["total"] == 101
    assert counts["peak_connections"] == 2


def test_control_endpoints_are_never_counted(target: TargetProcess) -> None:
    for _ in range(3):
        target.counts()
    requests.get(f"{target.url}/__nope", timeout=5)
    assert target.counts()["requests"] == {}


def test_reset_zeroes_every_counter(target: TargetProcess) -> None:
    requests.get(f"{target.url}/health", timeout=5)
    ws = websocket.create_connection(f"{target.ws_url}/ws", timeout=5)
    ws.send("hi")
    assert ws.recv() == "hi"
    ws.close()
    counts = target.counts()
    assert counts["requests"] == {"GET /health": 1, "GET /ws": 1}
    assert counts["ws_messages"]["/ws"] == 1

    target.reset()
    counts = target.counts()
    assert counts["requests"] == {}
    assert counts["total"] == 0
    assert counts["ws_messages"] == {"/ws": 0, "/ws/counter": 0}


def test_peak_connections_tracks_the_most_open_at_once_and_reset_lowers_it(target: TargetProcess) -> None:
    target.reset()
    sockets = [socket.create_connection(("127.0.0.1", target.port), timeout=5) for _ in range(5)]
    try:
        target.wait_for(lambda c: c["connections"] == 6)
    finally:
        for sock in sockets:
            sock.close()
    counts = target.wait_for(lambda c: c["connections"] == 1)
    assert counts["peak_connections"] == 6

    target.reset()
    assert target.counts()["peak_connections"] == 1


# -- HTTP endpoints ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 201, 204, 302, 404, 418, 429, 500, 503])
def test_status_endpoint_answers_with_the_requested_code(target: TargetProcess, code: int) -> None:
    response = requests.post(f"{target.url}/status/{code}", timeout=5, allow_redirects=False)
    assert response.status_code == code
    if code == 204:
        assert response.content == b""
    else:
        assert response.json()["status"] == code
    assert target.counts()["requests"] == {f"POST /status/{code}": 1}


def test_slow_endpoint_waits_at_least_the_requested_time(target: TargetProcess) -> None:
    started = time.monotonic()
    response = requests.get(f"{target.url}/slow?ms=300", timeout=5)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.29
    assert target.counts()["requests"] == {"GET /slow": 1}


def test_hang_never_answers_but_is_counted(target: TargetProcess) -> None:
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{target.url}/hang", timeout=0.3)
    counts = target.wait_for(lambda c: c["connections"] == 1)
    assert counts["requests"] == {"GET /hang": 1}


def test_head_has_headers_but_no_body_and_options_lists_allowed_methods(target: TargetProcess) -> None:
    head = requests.head(f"{target.url}/users", timeout=5)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) > 0

    options = requests.options(f"{target.url}/users", timeout=5)
    assert options.status_code == 204
    assert "GET" in options.headers["Allow"] and "OPTIONS" in options.headers["Allow"]
    assert target.counts()["requests"] == {"HEAD /users": 1, "OPTIONS /users": 1}


def test_required_auth_gets_401_without_the_matching_bearer_token(target: TargetProcess) -> None:
    url = f"{target.url}/users/1"
    require = {"X-Require-Auth": "s3cret"}
    assert requests.get(url, headers=require, timeout=5).status_code == 401
    wrong = {**require, "Authorization": "Bearer nope"}
    assert requests.get(url, headers=wrong, timeout=5).status_code == 401
    right = requests.get(url, headers={**require, "Authorization": "Bearer s3cret"}, timeout=5)
    assert right.status_code == 200
    assert right.json()["auth"] == "Bearer"
    assert requests.get(url, auth=("user", "pw"), timeout=5).json()["auth"] == "Basic"
    assert target.counts()["requests"] == {"GET /users/1": 4}


def test_connection_close_is_honoured(target: TargetProcess) -> None:
    reply = _raw_exchange(target.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close\r\n" in reply


def test_chunked_request_body_is_rejected_and_the_connection_closed(target: TargetProcess) -> None:
    request = b"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    assert _raw_exchange(target.port, request).startswith(b"HTTP/1.1 411 ")
    assert target.counts()["requests"] == {"POST /orders": 1}


def test_malformed_request_line_gets_400(target: TargetProcess) -> None:
    assert _raw_exchange(target.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")


# -- WebSocket ---------------------------------------------------------------------------------------


def test_websocket_handshake_uses_the_rfc_6455_accept_value(target: TargetProcess) -> None:
    # The worked example from RFC 6455 section 1.3.
    assert websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 101 ")
    assert b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in reply


def test_websocket_echoes_text_and_binary_of_every_length_encoding(target: TargetProcess) -> None:
    ws = websocket.create_connection(f"{target.ws_url}/ws", timeout=5)
    try:
        ws.send("hello")
        assert ws.recv() == "hello"
        medium = bytes(range(256)) * 2  # 16-bit length
        ws.send_binary(medium)
        assert ws.recv() == medium
        large = os.urandom(70_000)  # 64-bit length
        ws.send_binary(large)
        assert ws.recv() == large

        ws.ping(b"are you there")
        opcode, data = ws.recv_data(control_frame=True)
        assert (opcode, data) == (websocket.ABNF.OPCODE_PONG, b"are you there")

        ws.send_frame(websocket.ABNF.create_frame("frag", websocket.ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(websocket.ABNF.create_frame("mented", websocket.ABNF.OPCODE_CONT, fin=1))
        assert ws.recv() == "fragmented"
    finally:
        ws.close()
    counts = target.wait_for(lambda c: c["ws_connections"] == 0)
    assert counts["ws_messages"]["/ws"] == 4
    assert counts["requests"] == {"GET /ws": 1}


def test_websocket_close_frame_is_answered_with_a_close_frame(target: TargetProcess) -> None:
    ws = websocket.create_connection(f"{target.ws_url}/ws", timeout=5)
    ws.send_close(websocket.STATUS_NORMAL)
    frame = ws.recv_frame()
    assert frame.opcode == websocket.ABNF.OPCODE_CLOSE
    assert frame.data[:2] == websocket.STATUS_NORMAL.to_bytes(2, "big")
    ws.shutdown()


def test_websocket_counter_replies_with_messages_sent_so_far(target: TargetProcess) -> None:
    ws = websocket.create_connection(f"{target.ws_url}/ws/counter", timeout=5)
    try:
        replies = []
        for text in ("a", "b", "c"):
            ws.send(text)
            replies.append(json.loads(ws.recv()))
    finally:
        ws.close()
    assert replies == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert target.counts()["ws_messages"]["/ws/counter"] == 3


def test_websocket_close_message_drops_the_connection_without_reply(target: TargetProcess) -> None:
    ws = websocket.create_connection(f"{target.ws_url}/ws", timeout=5)
    ws.send("close")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()
    ws.shutdown()
    counts = target.wait_for(lambda c: c["ws_connections"] == 0)
    assert counts["ws_messages"]["/ws"] == 1


def test_websocket_hang_message_gets_no_reply_but_the_connection_stays_usable(
    target: TargetProcess,
) -> None:
    ws = websocket.create_connection(f"{target.ws_url}/ws", timeout=5)
    try:
        ws.settimeout(0.3)
        ws.send("hang")
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
        ws.settimeout(5)
        ws.send("after")
        assert ws.recv() == "after"
    finally:
        ws.close()
    assert target.counts()["ws_messages"]["/ws"] == 2


def test_websocket_path_without_upgrade_gets_426(target: TargetProcess) -> None:
    assert requests.get(f"{target.ws_url.replace('ws', 'http', 1)}/ws", timeout=5).status_code == 426


# -- process and safety ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])
def test_binding_a_non_loopback_address_is_refused_with_exit_code_2(host: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "gradual.demo.target", "--host", host, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "refusing to bind" in result.stderr
    with pytest.raises(NonLoopbackAddress):
        DemoTarget(host)


def test_ipv6_loopback_is_allowed() -> None:
    with TargetProcess(host="::1") as proc:
        assert proc.url.startswith("http://[::1]:")
        assert requests.get(f"{proc.url}/health", timeout=5).status_code == 200
        assert proc.counts()["requests"] == {"GET /health": 1}


def test_fixture_process_is_gone_after_stop(target: TargetProcess) -> None:
    pid = target.pid
    assert pid is not None
    target.stop()
    assert target.returncode == 0  # SIGTERM is a clean shutdown
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    target.stop()


def test_target_process_works_as_a_context_manager() -> None:
    with TargetProcess() as proc:
        assert requests.get(f"{proc.url}/health", timeout=5).status_code == 200
        pid = proc.pid
    assert proc.returncode == 0
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_in_process_target_counts_and_stop_drops_hanging_connections() -> None:
    server = DemoTarget()
    server.start()
    try:
        client = _gevent_client(server.port)
        assert client.get("/users/9").status_code == 200
        client.close()
        assert server.counts == {"GET /users/9": 1}

        hanging = gevent.socket.create_connection(("127.0.0.1", server.port), timeout=5)
        hanging.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 5
        while "GET /hang" not in server.counts and time.monotonic() < deadline:
            gevent.sleep(0.01)
        assert server.counts["GET /hang"] == 1
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 1.0  # idle and hanging connections do not wait out the grace
    assert hanging.recv(1) == b""
    hanging.close()
    assert server.connections == 0


def test_throughput_sanity_one_connection_for_one_second(target: TargetProcess) -> None:
    client = _gevent_client(target.port)
    done = 0
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            client.get("/health")
            done += 1
    finally:
        client.close()
    print(f"\ndemo target: {done} req/s over one keep-alive connection of gradual's client")
    assert target.counts()["requests"] == {"GET /health": done}
