"""Plugin files and configs for the plugin tests, and a reader for what the recorder plugin saw.

``RECORDER`` is a plugin that listens to every event on every node and, when it closes, writes one JSON
file per process (``<role>-<pid>.json``) with how often each event fired and the arguments it got.
Load comes from ``/slow?ms=10`` on the demo target, so counts stay modest and every request finishes
well inside the stop timeout (no interrupted requests: records == what the server counted).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .target import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "plugins"
SLOW_PATH = "GET /slow"

RECORDER = '''\
"""Test plugin: counts every event this process sees and writes them as JSON when it closes."""

import json
import os

from gradual import Plugin, events

OUT = os.environ["PLUGIN_EVENTS_DIR"]
KEEP = 200  # argument samples kept per event (request fires thousands of times)


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return type(value).__name__


class EventRecorder(Plugin):
    """Counts every event and records its arguments."""

    name = "event-recorder"
    runs_on = "both"

    def initialize(self):
        self.counts = {}
        self.args = {}
        self.pending = 0
        self.reported = 0
        self.received = {}
        for name, hook in events.all_events().items():
            hook.add_listener(self._listener(name))

    def _listener(self, name):
        def listener(**kwargs):
            self.counts[name] = self.counts.get(name, 0) + 1
            sample = {"keys": sorted(kwargs)}
            env = kwargs.get("environment")
            if env is not None:
                sample["env_role"] = env.role
            record = kwargs.get("record")
            if record is not None:
                self.pending += 1
                sample["record"] = {f: _plain(getattr(record, f)) for f in (
                    "request_name", "url", "status_code", "response_time", "start_time", "end_time", "iid",
                    "scenario_name", "phase_name", "error", "expected_response_time")}
            for key in ("role", "phase", "index", "duration_s", "scenario", "user_count", "final", "worker_id",
                        "host", "lost", "exit_code"):
                if key in kwargs:
                    sample[key] = _plain(kwargs[key])
            if name == "report_to_master":
                if self.pending:
                    kwargs["data"]["recorded_requests"] = self.pending
                    self.reported += self.pending
                    self.pending = 0
            if name == "worker_report":
                n = kwargs["data"].get("recorded_requests", 0)
                self.received[kwargs["worker_id"]] = self.received.get(kwargs["worker_id"], 0) + n
                sample["data_keys"] = sorted(kwargs["data"])
            if name == "test_stop":
                result = kwargs["result"]
                sample["result_interrupted"] = None if result is None else result.interrupted
                sample["stats_count"] = kwargs["stats"].totals().count
            samples = self.args.setdefault(name, [])
            if len(samples) < KEEP:
                samples.append(sample)
        listener.__name__ = "record_" + name
        return listener

    def close(self):
        path = os.path.join(OUT, f"{self.env.role}-{os.getpid()}.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"role": self.env.role, "worker_id": self.env.worker_id, "counts": self.counts,
                       "args": self.args, "reported": self.reported, "received": self.received}, fh)
'''

RAISER = '''\
"""Test plugin file: module-level listeners that raise on every request and at test start."""

from gradual import events


@events.request.add_listener
def boom_on_request(record, **kwargs):
    raise ValueError("listener bug on " + record.request_name)


@events.test_start.add_listener
def boom_on_start(**kwargs):
    raise RuntimeError("listener bug at test start")
'''

BROKEN = '''\
"""Test plugin: fails in initialize() on the nodes BROKEN_RUNS_ON names (default: every node)."""

import os

from gradual import Plugin


class Broken(Plugin):
    """Cannot reach its monitoring system."""

    name = "broken"
    runs_on = os.environ.get("BROKEN_RUNS_ON", "both")

    def initialize(self):
        raise RuntimeError("cannot reach the monitoring system")
'''

CRASHER = '''\
"""Test plugin: on workers only, its background greenlet dies half a second into the run."""

import gevent

from gradual import BackgroundPlugin


class Crasher(BackgroundPlugin):
    """Loses the connection to its sink."""

    name = "crasher"
    runs_on = "worker"

    def run(self):
        gevent.sleep(0.5)
        raise RuntimeError("lost the connection to its sink")
'''

MARKER = '''\
"""Test plugin: writes <role>-<pid>.marker into PLUGIN_EVENTS_DIR when initialized and when closed."""

import os

from gradual import Plugin


class Marker(Plugin):
    """Leaves a marker file."""

    name = "marker"

    def initialize(self):
        self.path = os.path.join(os.environ["PLUGIN_EVENTS_DIR"], f"{self.env.role}-{os.getpid()}.marker")
        with open(self.path, "w", encoding="utf-8") as fh:
            fh.write("initialized\\n")

    def close(self):
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("closed\\n")
'''

EXIT_CODE = '''\
"""Test plugin file: a quitting listener that sets the exit code."""

from gradual import events


@events.quitting.add_listener
def decide(environment, exit_code, summary, **kwargs):
    if exit_code == 0 and summary["totals"]["count"] > 0:
        environment.process_exit_code = 5
'''


def write_plugin_config(
    folder: Path,
    plugins: list[Any],
    *,
    phases: dict[str, float] | None = None,
    path: str = "/slow",
    params: dict[str, Any] | None = None,
    max_users: int = 3,
    files: dict[str, str] | None = None,
    stop_timeout: float = 3.0,
) -> Path:
    """config.yaml (+ requests.yaml, + plugin ``files``) in ``folder``: one scenario per phase, 1..max_users users."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    request = {"url": "${GRADUAL_TARGET}" + path, "method": "GET", "expected_response_time": 1.0, "timeout": 5}
    request["params"] = {"ms": 10} if params is None and path == "/slow" else params
    if request["params"] is None:
        del request["params"]
    (folder / "requests.yaml").write_text(yaml.safe_dump({"requests": {"hit": request}}), encoding="utf-8")
    scenario = {"requests": ["hit"], "request_file": "requests.yaml", "min_concurrency": 1,
                "max_concurrency": max_users, "ramp_up_add": 1, "ramp_up_wait": 0.5}
    runs: dict[str, Any] = {"name": "plugin test", "stop_timeout": stop_timeout, "plugins": plugins, "phases": {
        name: {"run_time": run_time, "scenarios": {"s": dict(scenario)}}
        for name, run_time in (phases or {"load": 2.0}).items()
    }}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"runs": runs}, sort_keys=False), encoding="utf-8")
    return config


def read_recordings(folder: Path) -> list[dict[str, Any]]:
    """Every <role>-<pid>.json the recorder wrote into ``folder``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*-*.json"))]


def copy_example(name: str, dest: Path) -> Path:
    """A copy of examples/plugins/<name> (file or folder) in ``dest``: tests never write into the repo."""
    src = EXAMPLES / name
    target = dest / name
    if src.is_dir():
        shutil.copytree(src, target, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    else:
        shutil.copy2(src, target)
    return target


def pip_install_target(package: Path, site: Path) -> None:
    """``pip install --target site package``, offline, with the setuptools already installed here."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
           "--disable-pip-version-check", "--root-user-action=ignore", "--target", str(site), str(package)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=package.parent)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
