"""The engine driven directly, in this process, the way the controller and workers drive it: targets that go
down as well as up, phases started again, hooks that fail. Load goes to the demo target process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from support.gradual_run import HTTP_BASE, write_run_config
from support.target import TargetProcess

from gradual import events
from gradual.configs import load
from gradual.runners.engine import Engine
from gradual.runners.records import CompletionRecord
from gradual.stats import RunStats


@pytest.fixture
def make_engine(
    target: TargetProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Engine]]:
    """Build an Engine for a one-phase run ("p", scenario "s") of the given requests; stops it afterwards."""
    monkeypatch.setenv("GRADUAL_TARGET", target.url)
    engines: list[Engine] = []

    def build(requests: dict[str, Any], stop_timeout: float = 1.0) -> Engine:
        config = write_run_config(tmp_path, {
            "p": {"run_time": 5, "scenarios": {"s": {"requests": list(requests), "min_concurrency": 1,
                                                     "max_concurrency": 10}}},
        }, requests=requests, stop_timeout=stop_timeout)
        engine = Engine(load(config))
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.stop_all(0.0)


def _totals(engine: Engine) -> Any:
    stats = RunStats()
    stats.merge(engine.drain())
    return stats.get("p", "s", next(iter(engine.run.phases[0].scenarios[0].requests)).name)


def _wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.02)


def test_lowering_the_target_retires_users_and_kills_stragglers_after_stop_timeout(
    target: TargetProcess, make_engine: Callable[..., Engine]
) -> None:
    engine = make_engine({"hang": {"url": f"{HTTP_BASE}/hang"}}, stop_timeout=0.5)
    target.reset()
    engine.start_phase("p")
    engine.set_targets("p", {"s": 3})
    _wait(lambda: target.counts()["requests"].get("GET /hang") == 3)

    engine.set_targets("p", {"s": 1})
    assert engine.users("p") == {"s": 1}
    gevent.sleep(0.8)  # past the stop timeout: the two retired users, stuck in /hang, were killed

    totals = _totals(engine)
    assert totals.count == totals.interrupted == 2
    _wait(lambda: target.counts()["connections"] == 2)  # the remaining user's and the control one
    engine.stop_phase("p", 0.0)
    assert _totals(engine).interrupted == 1


def test_starting_a_phase_again_stops_the_users_it_replaces(
    target: TargetProcess, make_engine: Callable[..., Engine]
) -> None:
    engine = make_engine({"quick": {"url": f"{HTTP_BASE}/quick"}})
    engine.start_phase("p")
    engine.set_targets("p", {"s": 2})
    _wait(lambda: target.counts()["total"] > 10)

    engine.start_phase("p")
    gevent.sleep(0.1)
    before = target.counts()["total"]
    gevent.sleep(0.3)

    # No user is left sending with no pool to stop it.
    assert target.counts()["total"] == before
    assert engine.users("p") == {"s": 0}


def test_a_failing_request_listener_does_not_stop_the_user(
    target: TargetProcess, make_engine: Callable[..., Engine]
) -> None:
    seen: list[CompletionRecord] = []

    def broken(record: CompletionRecord, **kwargs: Any) -> None:
        seen.append(record)
        raise RuntimeError("plugin bug")

    engine = make_engine({"quick": {"url": f"{HTTP_BASE}/quick"}})
    target.reset()
    events.request.add_listener(broken)
    try:
        engine.start_phase("p")
        engine.set_targets("p", {"s": 1})
        _wait(lambda: len(seen) >= 20)

        assert engine.users("p") == {"s": 1}
        engine.stop_phase("p", 1.0)
    finally:
        events.request.remove_listener(broken)
    assert _totals(engine).count == len(seen) == target.counts()["requests"]["GET /quick"]


def test_users_gauge_reports_the_most_users_since_the_last_drain(
    target: TargetProcess, make_engine: Callable[..., Engine]
) -> None:
    engine = make_engine({"quick": {"url": f"{HTTP_BASE}/quick"}})
    engine.start_phase("p")
    engine.set_targets("p", {"s": 4})
    engine.set_targets("p", {"s": 1})

    # Four users ran for a moment between two drains: the gauge shows them, then the current count.
    assert engine.drain().users[("p", "s")] == 4
    assert engine.drain().users[("p", "s")] == 1
