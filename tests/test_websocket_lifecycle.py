"""A WebSocket connection's life: reopened when the server closed it (never a phantom failed send), and shaped by
the original format's websocket_config keys message_interval, max_messages and close_after.

Each case is a `gradual run` against a raw-socket WebSocket server that counts the messages it read and the
handshakes it answered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.gradual_run import GradualRun, run_gradual, write_run_config
from support.ws_server import WsServer


@pytest.fixture
def servers() -> Iterator[list[WsServer]]:
    started: list[WsServer] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def _run(tmp_path: Path, server: WsServer, websocket_config: dict | None = None, run_time: float = 1.5,
         users: int = 1) -> dict:
    entry: dict = {"url": server.url(), "message": "m{counter}"}
    if websocket_config:
        entry["websocket_config"] = websocket_config
    config = write_run_config(tmp_path, {"p": {"run_time": run_time, "scenarios": {
        "ws": {"requests": ["ws"], "min_concurrency": users, "max_concurrency": users},
    }}}, requests={"ws": entry})
    run: GradualRun = run_gradual(config)
    assert run.returncode == 0, run.stderr
    return run.request("ws")


@pytest.mark.parametrize("mode", ["close", "eof"])
def test_a_server_closing_after_n_messages_costs_no_phantom_send(
    servers: list[WsServer], tmp_path: Path, mode: str
) -> None:
    server = WsServer(close_after=3, mode=mode).start()
    servers.append(server)
    ws = _run(tmp_path, server, users=2)
    assert ws["count"] > 30
    assert ws["failures"] == 0, ws["errors"]
    assert server.messages == ws["count"]
    # Each connection carried three messages (a user's last one may have carried fewer).
    assert math.ceil(ws["count"] / 3) <= server.handshakes <= ws["count"] // 3 + 2


def test_max_messages_closes_the_connection_politely_and_the_next_send_reopens(
    servers: list[WsServer], tmp_path: Path
) -> None:
    server = WsServer().start()
    servers.append(server)
    ws = _run(tmp_path, server, {"max_messages": 5})
    assert ws["count"] > 20 and ws["failures"] == 0
    assert server.messages == ws["count"]
    assert server.handshakes == math.ceil(ws["count"] / 5)
    # Every connection but possibly the last ended with a close frame from gradual.
    assert server.client_closes >= server.handshakes - 1


def test_close_after_bounds_a_connections_lifetime(servers: list[WsServer], tmp_path: Path) -> None:
    server = WsServer().start()
    servers.append(server)
    ws = _run(tmp_path, server, {"close_after": "300ms"}, run_time=1.5)
    assert ws["failures"] == 0 and server.messages == ws["count"]
    assert 4 <= server.handshakes <= 7  # 1.5 s in connections of 0.3 s, plus slack for a busy machine


def test_message_interval_paces_sends_and_is_not_part_of_the_latency(servers: list[WsServer], tmp_path: Path) -> None:
    server = WsServer().start()
    servers.append(server)
    ws = _run(tmp_path, server, {"message_interval": 0.2}, run_time=1.5)
    assert 5 <= ws["count"] <= 8  # one send every 0.2 s over 1.5 s
    assert ws["failures"] == 0 and server.messages == ws["count"]
    assert server.handshakes == 1
    assert ws["latency_ms"]["max"] < 150  # the wait between sends is not timed
