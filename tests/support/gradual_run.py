"""Run `gradual run` as a real subprocess against a demo target and read back what it reported.

Configs are written to a test's tmp_path; request URLs use ``${GRADUAL_TARGET}`` / ``${GRADUAL_WS_TARGET}``,
which `run_gradual` sets to the target's loopback URLs, so nothing here can aim load anywhere else.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .target import REPO_ROOT, TargetProcess

HTTP_BASE = "${GRADUAL_TARGET}"
WS_BASE = "${GRADUAL_WS_TARGET}"
# Every run in the engine suite lasts a few seconds; this only catches a run that never stops.
RUN_TIMEOUT_S = 30.0


@dataclass
class GradualRun:
    """What one `gradual run` did: exit code, output, the --json summary (None if not written), wall time."""

    returncode: int
    stdout: str
    stderr: str
    summary: dict[str, Any] | None
    elapsed_s: float

    def requests(self) -> list[dict[str, Any]]:
        """Every per-request entry of the summary, each with its phase and scenario added."""
        assert self.summary is not None, f"no JSON summary; stderr:\n{self.stderr}"
        out = []
        for phase in self.summary["phases"]:
            for scen in phase["scenarios"]:
                for req in scen["requests"]:
                    out.append({**req, "phase": phase["name"], "scenario": scen["name"]})
        return out

    def request(self, name: str) -> dict[str, Any]:
        """The one summary entry for request ``name`` (the test configs use each name in one scenario)."""
        found = [r for r in self.requests() if r["name"] == name]
        assert len(found) == 1, f"expected one entry for {name!r}, found {len(found)}: {self.requests()}"
        return found[0]

    def counts(self) -> dict[str, int]:
        """Request name -> count, summed over phases and scenarios."""
        out: dict[str, int] = {}
        for req in self.requests():
            out[req["name"]] = out.get(req["name"], 0) + req["count"]
        return out

    def users_over_time(self, phase: str) -> list[tuple[float, dict[str, int]]]:
        """(seconds since the phase started, users per scenario) for each sample of ``phase``.

        Reads ``series`` (one entry per controller tick) or ``timeseries`` (one entry per scenario and
        second ``t``, holding the users sampled at the end of that second, i.e. near t + 1).
        """
        assert self.summary is not None, f"no JSON summary; stderr:\n{self.stderr}"
        if "series" in self.summary:
            return [(s["t"], dict(s["users"])) for s in self.summary["series"] if s["phase"] == phase]
        by_second: dict[float, dict[str, int]] = {}
        for entry in self.summary["timeseries"]:
            if entry["phase"] == phase:
                by_second.setdefault(entry["t"] + 1.0, {})[entry["scenario"]] = entry["users"]
        return sorted(by_second.items())

    def errors(self, name: str) -> dict[str, int]:
        """Error kind -> count for request ``name``."""
        out: dict[str, int] = {}
        for error in self.request(name)["errors"]:
            out[error["kind"]] = out.get(error["kind"], 0) + error["count"]
        return out


def write_yaml(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")
    return path


def write_run_config(
    tmp_path: Path,
    phases: Mapping[str, Mapping[str, Any]],
    *,
    requests: Mapping[str, Mapping[str, Any]] | None = None,
    stop_timeout: float | None = None,
    wait_between_phases: float | None = None,
    name: str = "engine test",
) -> Path:
    """Write config.yaml (and requests.yaml from ``requests``) to tmp_path; return the config's path.

    ``phases`` maps a phase name to ``{"run_time": s, "scenarios": {...}}``; a scenario without a
    ``request_file`` gets ``requests.yaml``, one with ``request_file: None`` none at all.
    """
    if requests is not None:
        write_yaml(tmp_path / "requests.yaml", {"requests": dict(requests)})
    runs: dict[str, Any] = {"name": name}
    if stop_timeout is not None:
        runs["stop_timeout"] = stop_timeout
    if wait_between_phases is not None:
        runs["wait_between_phases"] = wait_between_phases
    runs["phases"] = {}
    for phase_name, phase in phases.items():
        scenarios = {}
        for scen_name, scen in phase["scenarios"].items():
            scen = dict(scen)
            scen.setdefault("request_file", "requests.yaml")
            if scen["request_file"] is None:  # requests from --request-config
                del scen["request_file"]
            scenarios[scen_name] = scen
        runs["phases"][phase_name] = {"run_time": phase["run_time"], "scenarios": scenarios}
    return write_yaml(tmp_path / "config.yaml", {"runs": runs})


def gradual_env(target: TargetProcess | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    # The overrides' variables too: a developer's GRADUAL_HOST must not aim a test's load elsewhere.
    for key in ("GRADUAL_TARGET", "GRADUAL_WS_TARGET", "GRADUAL_HOST", "GRADUAL_RUN_TIME", "GRADUAL_USERS",
                "GRADUAL_REPORT_DIR"):
        env.pop(key, None)
    if target is not None:
        env["GRADUAL_TARGET"] = target.url
        env["GRADUAL_WS_TARGET"] = target.ws_url
    env.update(extra or {})
    return env


def start_gradual(
    args: list[str],
    *,
    target: TargetProcess | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "gradual", *args]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=gradual_env(target, env), cwd=cwd or REPO_ROOT,
    )


def finish(proc: subprocess.Popen[str], json_path: Path | None, started: float,
           timeout: float = RUN_TIMEOUT_S) -> GradualRun:
    """Wait for ``proc`` (killed by its own pid if it overruns) and read its summary."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(f"gradual did not finish within {timeout}s; stderr:\n{stderr}") from None
    elapsed = time.monotonic() - started
    summary = None
    if json_path is not None and json_path.exists():
        summary = json.loads(json_path.read_text(encoding="utf-8"))
    return GradualRun(proc.returncode, stdout, stderr, summary, elapsed)


def run_gradual(
    config: Path,
    *,
    target: TargetProcess | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: list[str] | None = None,
    json_out: bool = True,
    timeout: float = RUN_TIMEOUT_S,
) -> GradualRun:
    """`gradual run CONFIG --quiet [--json config_dir/summary.json]` as a subprocess."""
    json_path = config.parent / "summary.json" if json_out else None
    args = ["run", str(config), "--quiet", *(extra_args or [])]
    if json_path is not None:
        args += ["--json", str(json_path)]
    started = time.monotonic()
    proc = start_gradual(args, target=target, env=env)
    return finish(proc, json_path, started, timeout)


def closed_port() -> int:
    """A loopback port with nothing listening: bound to learn a free number, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_counts(target: TargetProcess) -> dict[str, int]:
    """The target's per-"METHOD /path" request counts."""
    return dict(target.counts()["requests"])
