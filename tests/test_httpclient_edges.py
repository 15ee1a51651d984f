"""gradual's HTTP client on every HTTP/1.1 edge a server can produce, against a raw-socket server that counts.

For each case: what the server received equals what gradual counted, the body bytes are right, and the
failures are exactly the ones that should be. The runner is driven in this process (the server runs in
threads); one case also runs `gradual run` end to end, where the engine's count meets the server's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gevent
import pytest
from support.edge_server import BIG_BYTES, OK, EdgeServer
from support.gradual_run import run_gradual, write_run_config

from gradual.configs.model import HTTP, RequestConfig
from gradual.runners import HttpRunner, Outcome, UserContext


@pytest.fixture
def edge() -> Iterator[EdgeServer]:
    server = EdgeServer().start()
    try:
        yield server
    finally:
        server.stop()


class Client:
    """One user's runner for one request, as the engine builds it."""

    def __init__(self, url: str, method: str = "GET", **fields: object) -> None:
        self.ctx = UserContext(user=0, scenario="s", phase="p")
        self.runner = HttpRunner(replace(RequestConfig("r", HTTP, url, method), **fields), self.ctx)

    def run(self, times: int = 1, pause: float = 0.0) -> list[Outcome]:
        outcomes = []
        with gevent.Timeout(30):
            for _ in range(times):
                outcomes.append(self.runner.run())
                if pause:
                    gevent.sleep(pause)
        return outcomes

    @property
    def connects(self) -> int:
        return self.ctx._http_clients[self.runner._endpoint].connects

    @property
    def retries(self) -> int:
        return self.ctx._http_clients[self.runner._endpoint].retries

    def close(self) -> None:
        self.runner.close()
        self.ctx.close()


def _ok(outcomes: list[Outcome], status: int = 200, nbytes: int = 2) -> None:
    assert [(o.error_kind, o.error_message) for o in outcomes if o.error_kind] == []
    assert {(o.status, o.nbytes) for o in outcomes} == {(status, nbytes)}


def test_keep_alive_requests_share_one_connection(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/ok")
    _ok(client.run(50))
    assert client.connects == 1 and edge.connections == 1
    assert edge.counts == {"GET /ok": 50}
    client.close()


@pytest.mark.parametrize(("path", "nbytes"), [("/http10-length", 5), ("/http10-nolength", 11)])
def test_http10_answers_end_the_connection_and_the_next_request_reconnects(
    edge: EdgeServer, path: str, nbytes: int
) -> None:
    client = Client(f"{edge.url}{path}")
    outcomes = client.run(10)
    _ok(outcomes, nbytes=nbytes)
    assert edge.counts == {f"GET {path}": 10}
    assert client.connects == 10
    assert outcomes[0].response.http_version == "1.0"
    client.close()


@pytest.mark.parametrize("pause", [0.0, 0.002])
def test_a_server_closing_kept_alive_connections_without_the_header_costs_no_false_failure(
    edge: EdgeServer, pause: float
) -> None:
    # The server answers, then hangs up without "Connection: close": the client either finds the connection
    # closed before reusing it, or its next send meets the close before any answer and is sent again once.
    client = Client(f"{edge.url}/close-after")
    _ok(client.run(200, pause=pause))
    assert edge.counts == {"GET /close-after": 200}
    client.close()


def test_an_idle_connection_the_server_closed_is_replaced_before_reuse(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/idle-close")
    _ok(client.run(20, pause=0.1))  # every pause outlasts the server's 50 ms idle limit
    assert edge.counts == {"GET /idle-close": 20}
    assert client.connects == 20 and edge.connections == 20
    assert client.retries == 0  # found closed before a send, not after
    client.close()


def test_connection_close_header_closes_and_the_next_request_reconnects(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/conn-close")
    _ok(client.run(5))
    assert client.connects == 5 and edge.counts == {"GET /conn-close": 5}
    client.close()


def test_head_204_and_304_with_content_length_are_complete_at_their_headers(edge: EdgeServer) -> None:
    ctx = UserContext(user=0, scenario="s", phase="p")
    head = HttpRunner(RequestConfig("h", HTTP, f"{edge.url}/head", "HEAD"), ctx)
    empty = HttpRunner(RequestConfig("e", HTTP, f"{edge.url}/no-content", "DELETE"), ctx)
    cached = HttpRunner(RequestConfig("c", HTTP, f"{edge.url}/not-modified"), ctx)
    ok = HttpRunner(RequestConfig("o", HTTP, f"{edge.url}/ok"), ctx)
    with gevent.Timeout(10):
        outcomes = [runner.run() for _ in range(5) for runner in (head, empty, cached, ok)]
    assert [(o.status, o.nbytes, o.error_kind) for o in outcomes] == [
        (200, 0, None), (204, 0, None), (304, 0, None), (200, 2, None)] * 5
    # All twenty on one connection: nothing after a bodiless answer was mistaken for its body.
    assert edge.connections == 1
    assert edge.counts == {"HEAD /head": 5, "DELETE /no-content": 5, "GET /not-modified": 5, "GET /ok": 5}
    ctx.close()


def test_interim_100_continue_is_skipped_for_the_final_answer(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/continue")
    _ok(client.run(5))
    assert client.connects == 1 and edge.counts == {"GET /continue": 5}
    client.close()


def test_chunked_body_with_trailers_is_counted_and_kept_when_asked(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/chunked", callbacks=(lambda: None,))
    outcomes = client.run(5)
    _ok(outcomes, nbytes=10)
    assert outcomes[-1].response.content == b"abcdefghij"
    assert client.connects == 1 and edge.counts == {"GET /chunked": 5}
    client.close()


def test_body_is_counted_but_not_kept_without_a_consumer(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/chunked")
    [outcome] = client.run(1)
    assert outcome.nbytes == 10 and outcome.response.content is None and outcome.response.headers == []
    client.close()


def test_kept_headers_are_the_final_heads_after_an_interim_one(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/continue", callbacks=(lambda: None,))
    [outcome] = client.run(1)
    assert outcome.response.headers == [(b"Content-Type", b"text/plain"), (b"Content-Length", b"2")]
    assert outcome.response.content == b"ok"
    client.close()


@pytest.mark.parametrize(("path", "message"), [
    ("/truncated", "connection closed before the end of the body (50 bytes received)"),
    ("/truncated-chunked", "connection closed before the end of the chunked body"),
])
def test_a_truncated_body_is_one_connection_failure(edge: EdgeServer, path: str, message: str) -> None:
    client = Client(f"{edge.url}{path}")
    outcomes = client.run(3)
    assert [(o.error_kind, o.error_message) for o in outcomes] == [("connection", message)] * 3
    assert edge.counts == {f"GET {path}": 3}
    client.close()


def test_timeout_is_a_deadline_for_the_whole_response_not_an_idle_timer(edge: EdgeServer) -> None:
    # The body trickles one byte every 0.1 s for 3 s: no read ever waits 1 s, the whole answer takes 3.
    client = Client(f"{edge.url}/trickle", timeout=1.0)
    started = time.monotonic()
    [outcome] = client.run(1)
    elapsed = time.monotonic() - started
    assert (outcome.error_kind, outcome.error_message) == ("timeout", "no complete response within 1s")
    assert 0.9 <= elapsed < 2.0
    assert edge.counts == {"GET /trickle": 1}
    client.close()


def test_ten_megabyte_body_is_counted_exactly(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/big")
    _ok(client.run(3), nbytes=BIG_BYTES)
    assert client.connects == 1 and edge.counts == {"GET /big": 3}
    client.close()


def test_redirects_are_not_followed(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/redirect", callbacks=(lambda: None,))  # a consumer: the head is kept
    [outcome] = client.run(1)
    assert (outcome.status, outcome.error_kind) == (302, None)
    assert outcome.response.header("location") == "/ok"
    assert edge.counts == {"GET /redirect": 1}
    client.close()


def test_a_fresh_connection_closed_without_answer_is_one_failure_and_not_retried(edge: EdgeServer) -> None:
    client = Client(f"{edge.url}/drop")
    outcomes = client.run(3)
    assert [(o.error_kind, o.error_message) for o in outcomes] == [
        ("connection", "connection closed before any answer")] * 3
    assert edge.counts == {"GET /drop": 3}
    client.close()


def test_a_reused_connection_dropped_after_reading_the_request_is_sent_twice_once_counted(
    edge: EdgeServer,
) -> None:
    # The one case where the server sees more than gradual counts: the server read the request and hung up
    # without a byte of answer on a kept-alive connection. RFC 9112 §9.3.1 lets the client send it again
    # once; the second try, on a fresh connection, fails the same way and is the one failure counted.
    ctx = UserContext(user=0, scenario="s", phase="p")
    ok = HttpRunner(RequestConfig("ok", HTTP, f"{edge.url}/ok"), ctx)
    drop = HttpRunner(RequestConfig("drop", HTTP, f"{edge.url}/drop"), ctx)
    with gevent.Timeout(10):
        assert ok.run().status == 200
        outcome = drop.run()
    assert outcome.error_kind == "connection"
    assert edge.counts == {"GET /ok": 1, "GET /drop": 2}
    assert ctx._http_clients[drop._endpoint].retries == 1
    ctx.close()


def test_a_post_is_not_sent_again_when_its_kept_alive_connection_dies_unanswered(edge: EdgeServer) -> None:
    # RFC 9112 §9.3.1: a non-idempotent request may have been applied; one failure, and the server saw it once.
    ctx = UserContext(user=0, scenario="s", phase="p")
    ok = HttpRunner(RequestConfig("ok", HTTP, f"{edge.url}/ok"), ctx)
    drop = HttpRunner(RequestConfig("drop", HTTP, f"{edge.url}/drop", "POST", body="x"), ctx)
    with gevent.Timeout(10):
        assert ok.run().status == 200
        outcome = drop.run()
    assert outcome.error_kind == "connection"
    assert "not sent again" in (outcome.error_message or "")
    assert edge.counts == {"GET /ok": 1, "POST /drop": 1}
    ctx.close()


def _ipv6_loopback() -> str | None:
    """Why ::1 cannot be used here, or None when it can."""
    if not socket.has_ipv6:
        return "Python was built without IPv6"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError as exc:
        return f"cannot bind ::1: {exc}"
    return None


@pytest.mark.skipif(_ipv6_loopback() is not None, reason=str(_ipv6_loopback()))
def test_ipv6_literal_host_connects_and_sends_a_bracketed_host_header() -> None:
    seen: list[bytes] = []
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as listener:
        listener.bind(("::1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                for _ in range(3):
                    head = b""
                    while b"\r\n\r\n" not in head:
                        head += conn.recv(4096)
                    seen.append(head)
                    conn.sendall(OK)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client = Client(f"http://[::1]:{port}/six")
        _ok(client.run(3))
        client.close()
        thread.join(timeout=5)
    assert len(seen) == 3
    assert all(head.startswith(b"GET /six HTTP/1.1\r\n") for head in seen)
    assert all(f"\r\nHost: [::1]:{port}\r\n".encode() in head for head in seen)


def test_gradual_run_against_a_server_that_closes_kept_alive_connections_counts_what_the_server_saw(
    edge: EdgeServer, tmp_path: Path
) -> None:
    config = write_run_config(tmp_path, {"p": {"run_time": 1.5, "scenarios": {
        "closer": {"requests": ["close_after"], "min_concurrency": 4, "max_concurrency": 4},
        "idler": {"requests": ["idle_close"], "min_concurrency": 2, "max_concurrency": 2},
    }}}, requests={
        "close_after": {"url": "${GRADUAL_TARGET}/close-after"},
        "idle_close": {"url": "${GRADUAL_TARGET}/idle-close"},
    })
    run = run_gradual(config, env={"GRADUAL_TARGET": edge.url})
    assert run.returncode == 0, run.stderr
    closer, idler = run.request("close_after"), run.request("idle_close")
    assert closer["count"] > 50 and closer["failures"] == 0
    assert idler["count"] > 50 and idler["failures"] == 0
    assert edge.counts == {"GET /close-after": closer["count"], "GET /idle-close": idler["count"]}


def test_the_deadline_counts_from_now_even_when_the_event_loop_clock_is_stale(edge: EdgeServer) -> None:
    # A greenlet that ran without yielding leaves the loop's cached clock behind; a deadline counted from that
    # clock would expire at once. (time.sleep blocks the hub, as a long CPU-bound stretch would.)
    client = Client(f"{edge.url}/ok", timeout=0.5)
    _ok(client.run(1))
    time.sleep(0.8)
    _ok([client.runner.run() for _ in range(3)])  # no gevent.Timeout around them: it would refresh the clock
    client.close()


def test_connect_timeout_bounds_a_connect_the_server_never_accepts() -> None:
    # A listener with a full accept queue: Linux drops further SYNs, so a connect waits (no traffic leaves
    # 127.0.0.1). The first connection fills the queue; gradual's is the second.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.create_connection(("127.0.0.1", port), timeout=1)]
        try:
            client = Client(f"http://127.0.0.1:{port}/", connect_timeout=0.3, timeout=5.0)
            started = time.monotonic()
            [outcome] = client.run(1)
            elapsed = time.monotonic() - started
            client.close()
        finally:
            for sock in fillers:
                sock.close()
    if outcome.error_kind is None or "connect" not in (outcome.error_message or ""):
        pytest.skip(f"this kernel accepted the connect anyway: {outcome}")
    assert (outcome.error_kind, outcome.error_message) == ("timeout", f"connect to 127.0.0.1:{port} not done "
                                                                      "within 0.3s")
    assert 0.25 <= elapsed < 2.0
