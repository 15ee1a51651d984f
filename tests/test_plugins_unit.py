"""Events, the plugin manager and `runs.plugins`, in this process: listener rules, lifecycle stages, failures,
where a plugin runs, and the engine's hot path building no record when nobody listens.

No load leaves this process here: the one engine test runs a Python request that does no I/O.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml
from gradual.master.zmq_link import bundle_for

import gradual
from gradual import events
from gradual.configs import ConfigError, load
from gradual.plugins import LOCAL, MASTER, WORKER, Environment
from gradual.plugins.runtime import report_to_master, with_cli_plugins
from gradual.runners import user as user_module
from gradual.runners.engine import Engine
from gradual.runners.records import CompletionRecord


@pytest.fixture(autouse=True)
def clean_events() -> Iterator[None]:
    """Every test starts and ends with no listener on any event (they are process-wide)."""
    saved = {name: list(hook.listeners) for name, hook in events.all_events().items()}
    for hook in events.all_events().values():
        hook.listeners.clear()
    yield
    for name, hook in events.all_events().items():
        hook.listeners[:] = saved[name]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _config(folder: Path, plugins: Any, request_file: str = "requests.py") -> Path:
    _write(folder, "requests.py", """\
        from gradual import request

        @request(name="noop", url="http://127.0.0.1:9/noop")
        def noop():
            return None
        """)
    runs = {"name": "unit", "plugins": plugins, "phases": {"p": {"run_time": 1, "scenarios": {"s": {
        "requests": ["noop"], "request_file": request_file, "min_concurrency": 1, "max_concurrency": 1}}}}}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"runs": runs}, sort_keys=False), encoding="utf-8")
    return config


# -- events --------------------------------------------------------------------------------------------


def test_add_listener_works_as_a_decorator_and_listeners_get_keyword_arguments() -> None:
    seen: list[dict[str, Any]] = []

    @events.test_start.add_listener
    def on_start(**kwargs: Any) -> None:
        seen.append(kwargs)

    assert on_start.__name__ == "on_start"  # the decorator returns the function itself
    events.test_start.fire(environment=None, run="r")
    assert seen == [{"environment": None, "run": "r"}]
    events.test_start.remove_listener(on_start)
    events.test_start.fire(environment=None, run="r")
    assert len(seen) == 1
    events.test_start.remove_listener(on_start)  # removing twice is harmless


def test_a_raising_listener_is_logged_with_its_name_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def broken_listener(**kwargs: Any) -> None:
        raise RuntimeError("listener bug")

    events.phase_start.add_listener(broken_listener)
    events.phase_start.add_listener(lambda **kwargs: calls.append(kwargs["phase"]))
    with caplog.at_level(logging.ERROR, logger="gradual.events"):
        events.phase_start.fire(environment=None, phase="p1", index=0, role=LOCAL)
        events.phase_start.fire(environment=None, phase="p2", index=1, role=LOCAL)
    assert calls == ["p1", "p2"]
    logged = [r for r in caplog.records if "broken_listener" in r.getMessage()]
    assert len(logged) == 1, "a repeating failure is logged in full once, not once per call"
    assert "'phase_start'" in logged[0].getMessage() and logged[0].exc_info is not None


def test_listeners_added_for_a_plugin_are_attributed_and_removed_with_it() -> None:
    listeners = events.request.listeners
    with events.owned_by("monitor"):
        events.request.add_listener(lambda **kwargs: None)
        events.worker_report.add_listener(lambda **kwargs: None)
    mine = events.request.add_listener(lambda **kwargs: None)
    assert events.request.owner(events.request.listeners[0]) == "monitor"
    events.remove_owner("monitor")
    assert events.request.listeners == [mine] and not events.worker_report.listeners
    assert events.request.listeners is listeners, "the list is changed in place: the engine holds it"


def test_every_event_is_declared_with_its_arguments_and_node() -> None:
    wanted = {"init", "test_start", "test_stop", "phase_start", "phase_stop", "request", "spawning_complete",
              "worker_connect", "worker_lost", "report_to_master", "worker_report", "quitting"}
    declared = events.all_events()
    assert wanted <= set(declared)
    for name, hook in declared.items():
        assert hook.name == name and hook.nodes in (events.MASTER, events.WORKER, events.BOTH)
        assert "Fires on:" in (hook.__doc__ or "") and "Arguments:" in (hook.__doc__ or ""), name
    assert gradual.events is events and {"events", "Plugin", "EventPlugin", "BackgroundPlugin"} <= set(gradual.__all__)


def test_report_to_master_keeps_only_data_that_can_travel(caplog: pytest.LogCaptureFixture) -> None:
    @events.report_to_master.add_listener
    def add(data: dict[str, Any], worker_id: str, **kwargs: Any) -> None:
        data["from"] = worker_id
        if worker_id == "bad":
            data["oops"] = object()

    assert report_to_master({}, "w1") == {"from": "w1"}
    with caplog.at_level(logging.ERROR, logger="gradual.plugins"):
        assert report_to_master({}, "bad") == {}
    assert "cannot be sent" in caplog.text


# -- the hot path --------------------------------------------------------------------------------------


def test_the_engine_builds_no_completion_record_without_a_request_listener(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    class CountingRecord(CompletionRecord):
        __slots__ = ()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(user_module, "CompletionRecord", CountingRecord)
    engine = Engine(load(_config(tmp_path, [])))
    engine.start_phase("p")
    engine.set_targets("p", {"s": 1})
    try:
        gevent.sleep(0.05)
        assert engine.recorder.slots()[0].count > 0 and not built

        heard: list[Any] = []
        events.request.add_listener(lambda record, **kwargs: heard.append(record))  # live: no restart needed
        gevent.sleep(0.05)
        assert heard and len(built) >= len(heard) > 0
        assert heard[0].request_name == "noop" and heard[0].phase_name == "p" and heard[0].scenario_name == "s"

        events.request.listeners.clear()
        gevent.sleep(0.01)
        before = len(built)
        gevent.sleep(0.05)
        assert len(built) == before
    finally:
        engine.stop_all(0.0)


# -- the manager ---------------------------------------------------------------------------------------

GOOD = """\
    from gradual import BackgroundPlugin, EventPlugin, Plugin

    class Counter(EventPlugin):
        name = "counter"
        event = "spawning_complete"

        def initialize(self):
            self.seen = []

        def handle_event(self, **kwargs):
            self.seen.append(kwargs)

    class Ticker(BackgroundPlugin):
        name = "ticker"

        def initialize(self):
            self.ticks = 0

        def run(self):
            while self.sleep(0.01):
                self.ticks += 1

    class OnlyMaster(Plugin):
        name = "only-master"
        runs_on = "master"
    """


def _plugins(env: Environment) -> dict[str, Any]:
    return {rec.name: rec for rec in env.plugins.records}


def test_plugins_go_through_resolved_initialized_loaded_closed(tmp_path: Path) -> None:
    run = load(_config(tmp_path, [str(_write(tmp_path, "good.py", GOOD).name)]))
    env = Environment(LOCAL, run)
    assert env.plugins.activate(run.plugins) is None
    recs = _plugins(env)
    assert {name: rec.state for name, rec in recs.items()} == {
        "counter": "loaded", "ticker": "loaded", "only-master": "loaded"}
    assert recs["counter"].runs_on == MASTER, "an EventPlugin runs where its event fires"
    counter, ticker = recs["counter"].plugin, recs["ticker"].plugin
    assert counter.env is env and counter.options == {}
    events.spawning_complete.fire(environment=env, phase="p", scenario="s", user_count=1, final=True)
    gevent.sleep(0.05)
    assert counter.seen == [{"environment": env, "phase": "p", "scenario": "s", "user_count": 1, "final": True}]
    assert ticker.ticks > 0
    env.close()
    assert {rec.state for rec in recs.values()} == {"closed"}
    assert not events.spawning_complete.listeners and ticker.greenlet.dead


def test_a_worker_skips_master_plugins_and_the_master_skips_worker_plugins(tmp_path: Path) -> None:
    _write(tmp_path, "sink.py", """\
        from gradual import EventPlugin

        class Sink(EventPlugin):
            event = "request"

            def handle_event(self, **kwargs):
                pass
        """)
    _write(tmp_path, "good.py", GOOD)
    run = load(_config(tmp_path, ["good.py", "sink.py"]))
    states = {}
    for role in (MASTER, WORKER):
        env = Environment(role, run)
        assert env.plugins.activate(run.plugins) is None
        states[role] = {rec.name: rec.state for rec in env.plugins.records}
        env.close()
    assert states[MASTER] == {"counter": "loaded", "ticker": "loaded", "only-master": "loaded", "Sink": "skipped"}
    assert states[WORKER] == {"counter": "skipped", "ticker": "loaded", "only-master": "skipped", "Sink": "loaded"}


def test_a_failing_plugin_is_reported_with_its_stage_and_the_others_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "good.py", GOOD)
    _write(tmp_path, "syntax.py", "def broken(:\n")
    _write(tmp_path, "stages.py", """\
        from gradual import BackgroundPlugin, EventPlugin, Plugin

        class BadInit(Plugin):
            name = "bad-init"

            def initialize(self):
                raise RuntimeError("no database")

        class BadStart(BackgroundPlugin):
            name = "bad-start"

            def start(self):
                raise OSError("port taken")

        class BadEvent(EventPlugin):
            name = "bad-event"
            event = "requets"

        class BadRun(BackgroundPlugin):
            name = "bad-run"

            def run(self):
                raise ValueError("crashed in its loop")
        """)
    run = load(_config(tmp_path, ["syntax.py", "stages.py", "good.py", "not-installed"]))
    env = Environment(LOCAL, run)
    with caplog.at_level(logging.ERROR, logger="gradual.plugins"):
        assert env.plugins.activate(run.plugins) is None
        gevent.sleep(0.02)
    recs = _plugins(env)
    failed = {name: (rec.failed_stage, rec.error) for name, rec in recs.items() if rec.state == "failed"}
    assert set(failed) == {"syntax", "bad-init", "bad-start", "bad-event", "bad-run", "not-installed"}
    assert failed["syntax"][0] == "resolve" and "SyntaxError" in failed["syntax"][1]
    assert failed["bad-event"] == ("resolve", failed["bad-event"][1]) and "'requets'" in failed["bad-event"][1]
    assert failed["not-installed"][0] == "resolve" and "no installed plugin" in failed["not-installed"][1]
    assert failed["bad-init"] == ("initialize", "RuntimeError: no database")
    assert failed["bad-start"] == ("load", "OSError: port taken")
    assert failed["bad-run"] == ("run", "ValueError: crashed in its loop")
    assert {recs[n].state for n in ("counter", "ticker", "only-master")} == {"loaded"}
    for name, (stage, _) in failed.items():
        assert f"plugin {name!r} failed at {stage}" in caplog.text
    env.close()


def test_a_required_plugin_failure_is_returned_and_nothing_after_it_loads(tmp_path: Path) -> None:
    _write(tmp_path, "good.py", GOOD)
    _write(tmp_path, "bad.py", """\
        from gradual import Plugin

        class Bad(Plugin):
            name = "bad"

            def initialize(self):
                raise RuntimeError("no database")
        """)
    run = load(_config(tmp_path, [{"path": "bad.py", "required": True}, "good.py"]))
    env = Environment(LOCAL, run)
    fatal = env.plugins.activate(run.plugins)
    assert fatal == "required plugin 'bad' failed at initialize: RuntimeError: no database"
    recs = _plugins(env)
    assert all(rec.state != "loaded" for rec in recs.values())
    env.close()


def test_a_plugin_exists_once_per_process_and_names_are_unique(tmp_path: Path) -> None:
    _write(tmp_path, "good.py", GOOD)
    _write(tmp_path, "twin.py", """\
        from gradual import Plugin

        class Counter(Plugin):
            name = "counter"
        """)
    run = load(_config(tmp_path, ["good.py", "twin.py"]))
    env = Environment(LOCAL, run)
    env.plugins.activate(run.plugins)
    twin = [rec for rec in env.plugins.records if rec.source.endswith("twin.py")][0]
    assert twin.state == "failed" and "another plugin is named 'counter'" in (twin.error or "")
    counter = next(rec for rec in env.plugins.records if rec.name == "counter" and rec.state == "loaded")
    second = Environment(LOCAL, run)  # the same class again while the first instance lives
    rec = second.plugins._record("counter", "test", run.plugins[0], counter.cls)
    rec.runs_on = "both"
    assert not second.plugins._initialize(rec) and "already running in this process" in (rec.error or "")
    env.close()
    second.close()


def test_plugins_get_their_options_and_the_environment_can_stop_the_run(tmp_path: Path) -> None:
    _write(tmp_path, "opts.py", """\
        from gradual import Plugin

        class Opts(Plugin):
            def initialize(self):
                self.env.stop("enough: " + self.options["why"], 4)
        """)
    run = load(_config(tmp_path, [{"path": "opts.py", "options": {"why": "testing"}}]))

    class FakeController:
        stopped: tuple[str, int] | None = None

        def stop(self, reason: str, exit_code: int = 1) -> None:
            self.stopped = (reason, exit_code)

    controller = FakeController()
    env = Environment(MASTER, run, controller=controller)
    assert env.plugins.activate(run.plugins) is None
    assert controller.stopped == ("enough: testing", 4)
    assert not Environment(WORKER, run).stop("no controller here")
    env.close()


# -- runs.plugins --------------------------------------------------------------------------------------


def test_runs_plugins_accepts_files_names_and_mappings_and_bundles_the_files(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    _write(plugin_dir, "sink.py", GOOD)
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    run = load(_config(conf_dir, [
        "../plugins/sink.py",
        "status-codes",
        {"name": "other", "required": True, "options": {"limit": 3, "nested": {"a": [1, 2]}}},
    ]))
    assert [(s.name, s.path, s.required) for s in run.plugins] == [
        (None, (plugin_dir / "sink.py").resolve(), False), ("status-codes", None, False), ("other", None, True)]
    assert run.plugins[2].options == {"limit": 3, "nested": {"a": [1, 2]}}
    assert (plugin_dir / "sink.py").resolve() in run.files

    bundle = bundle_for(with_cli_plugins(run, ["extra"]), "run1")
    assert "plugins/sink.py" in bundle.files and bundle.options == {"plugins": ["extra"]}
    assert bundle_for(run, "run2").options == {}


@pytest.mark.parametrize(("entry", "message"), [
    ({"path": "x.py", "name": "x"}, "not both"),
    ({"required": True}, "not neither"),
    ("missing.py", "file not found"),
    ({"path": "requests.txt"}, "must be a .py file"),
    ({"name": "x", "required": "yes"}, "expected true or false"),
    ({"name": "x", "options": [1]}, "expected a mapping"),
    ({"name": "x", "when": 1}, "unknown key"),
    (3, "expected a plugin file, a name or a mapping"),
])
def test_runs_plugins_mistakes_are_configuration_errors(tmp_path: Path, entry: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(_config(tmp_path, [entry]))
    assert message in str(info.value) and "runs.plugins[0]" in str(info.value)


def test_a_plugin_listed_twice_is_a_configuration_error(tmp_path: Path) -> None:
    _write(tmp_path, "good.py", GOOD)
    with pytest.raises(ConfigError, match=r"runs.plugins\[1\]: plugin listed twice"):
        load(_config(tmp_path, ["good.py", {"path": "good.py", "required": True}]))
