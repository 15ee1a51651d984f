"""WebSocket requests: one message and one reply per iteration over a kept connection, checked at the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gradual_run import WS_BASE, GradualRun, run_gradual, write_run_config
from support.target import TargetProcess


@pytest.fixture(scope="module")
def ws_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GradualRun, dict]:
    """One run of echo, wrong-expectation and server-closes WebSocket requests; summary and server counts."""
    tmp_path: Path = tmp_path_factory.mktemp("ws_run")
    config = write_run_config(tmp_path, {
        "sockets": {"run_time": 1.5, "scenarios": {
            "echo": {"requests": ["prices"], "min_concurrency": 2, "max_concurrency": 2},
            "mismatch": {"requests": ["wrong_expect"], "min_concurrency": 1, "max_concurrency": 1},
            "closing": {"requests": ["server_closes"], "min_concurrency": 1, "max_concurrency": 1},
        }},
    }, requests={
        "prices": {"url": f"{WS_BASE}/ws", "params": {"subscribe": "prices"}, "expect": "prices"},
        "wrong_expect": {"url": f"{WS_BASE}/ws", "message": "hello {counter}", "expect": "goodbye"},
        # /ws/counter answers {"n": k}; the text "close" makes the target drop the connection instead.
        "server_closes": {"url": f"{WS_BASE}/ws/counter", "message": "close", "timeout": 2},
    })
    with TargetProcess() as target:
        run = run_gradual(config, target=target)
        counts = target.counts()
    assert run.returncode == 0, run.stderr
    return run, counts


def test_echo_messages_reach_the_server_once_each_over_one_connection_per_user(ws_run: tuple[GradualRun, dict]) -> None:
    run, counts = ws_run
    echo, mismatch = run.request("prices"), run.request("wrong_expect")
    assert echo["type"] == "websocket"
    assert echo["count"] > 100 and mismatch["count"] > 100
    assert counts["ws_messages"]["/ws"] == echo["count"] + mismatch["count"]
    # Three users on /ws, each keeping its connection for the whole phase: three handshakes.
    assert counts["requests"]["GET /ws"] == 3
    assert echo["failures"] == 0
    assert echo["status_codes"] == {"101": echo["count"]}


def test_reply_without_the_expected_text_is_an_expect_failure(ws_run: tuple[GradualRun, dict]) -> None:
    run, _ = ws_run
    mismatch = run.request("wrong_expect")
    assert mismatch["failures"] == mismatch["count"]
    assert run.errors("wrong_expect") == {"expect": mismatch["count"]}


def test_server_closing_the_socket_is_a_websocket_failure_and_the_next_iteration_reconnects(
    ws_run: tuple[GradualRun, dict],
) -> None:
    run, counts = ws_run
    closing = run.request("server_closes")
    assert closing["count"] > 10
    assert closing["failures"] == closing["count"]
    assert run.errors("server_closes") == {"websocket": closing["count"]}
    # Every iteration opened a new connection (one handshake each) and delivered its message.
    assert counts["requests"]["GET /ws/counter"] == closing["count"]
    assert counts["ws_messages"]["/ws/counter"] == closing["count"]
    assert counts["ws_connections"] == 0
