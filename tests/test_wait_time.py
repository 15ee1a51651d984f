"""Think time and pacing (closed model): Locust's wait_time kinds, against the demo target on 127.0.0.1.

Each kind's count lands in the band its semantics give, the server saw exactly those requests, the waits
are never part of a request's latency, and a user waiting out a long think time stops at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.gradual_run import HTTP_BASE, REPO_ROOT, gradual_env, run_gradual, write_run_config, write_yaml
from support.target import TargetProcess

from gradual.configs import load
from gradual.configs.model import WaitTime

RUN_TIME = 3.0


def test_each_wait_time_kind_paces_its_users(target: TargetProcess, tmp_path: Path) -> None:
    def scen(path: str, wait: object, users: int = 2) -> dict:
        return {"requests": [path], "min_concurrency": users, "max_concurrency": users, "wait_time": wait}

    config = write_run_config(tmp_path, {
        "p": {"run_time": RUN_TIME, "scenarios": {
            "constant": scen("constant", 0.25),
            "constant_map": scen("constant_map", {"constant": "250ms"}),
            "between": scen("between", {"between": [0.1, 0.4]}),
            "pacing": scen("pacing", {"constant_pacing": "300ms"}),
            # each iteration takes 100 ms of the 250 ms pacing: the user waits only the rest
            "pacing_slow": scen("pacing_slow", {"constant_pacing": 0.25}),
            "throughput": scen("throughput", {"constant_throughput": 5}),
            "unpaced": {"requests": ["unpaced"], "min_concurrency": 1, "max_concurrency": 1},
            # a user thinking for a minute still stops with its phase, at once
            "thinker": scen("thinker", "60s", users=3),
        }},
    }, requests={
        **{name: {"url": f"{HTTP_BASE}/{name}"} for name in
           ("constant", "constant_map", "between", "pacing", "throughput", "unpaced", "thinker")},
        "pacing_slow": {"url": f"{HTTP_BASE}/slow?ms=100"},
    }, stop_timeout=10)
    target.reset()

    run = run_gradual(config, target=target)

    assert run.returncode == 0, run.stderr
    counts = run.counts()
    seen = target.counts()["requests"]
    for name in counts:
        path = "/slow" if name == "pacing_slow" else f"/{name}"
        assert seen[f"GET {path}"] == counts[name], (name, seen, counts)  # exactly what the server saw
    users = 2
    # constant 250 ms: an iteration is a request (~1 ms) + 250 ms; a user starts at 0 and at most every 0.25 s.
    for name in ("constant", "constant_map"):
        assert users * 9 <= counts[name] <= users * 12, (name, counts[name])
    # between 0.1 and 0.4 s, mean 0.25 s: ~12 a user, with the randomness of ~12 uniform draws.
    assert users * 6 <= counts["between"] <= users * 24, counts["between"]
    # pacing: an iteration starts every 300 ms from t=0 -> 10 starts in [0, 3) (11 at the edge).
    assert users * 9 <= counts["pacing"] <= users * 11, counts["pacing"]
    # pacing with 100 ms requests still starts every 250 ms: 12 (13 at the edge), not 3 / 0.35 = 8.
    assert users * 11 <= counts["pacing_slow"] <= users * 13, counts["pacing_slow"]
    assert users * 14 <= counts["throughput"] <= users * 16, counts["throughput"]  # 5/s x 3 s, from t=0
    assert counts["unpaced"] > 10 * counts["constant"]  # no wait_time: as fast as the server answers
    assert counts["thinker"] == 3  # one iteration each, then a minute of thinking the phase's end cut short
    assert run.elapsed_s < RUN_TIME + 8, run.elapsed_s  # nobody slept through the stop (stop_timeout is 10 s)

    # Waits are outside the timed span: latency is the request's own (a few ms here), never the think time.
    # A wait inside the span would be in every sample (each at least 100 ms: between's shortest), so the
    # median shows it; one request can exceed 100 ms on its own when a loaded machine stalls the process
    # (max 110-123 ms seen at load average 10), so the max cannot tell the two apart.
    for name in ("constant", "constant_map", "between", "pacing", "throughput", "thinker"):
        latency = run.request(name)["latency_ms"]
        assert latency["p50"] < 100, (name, latency)
    slow = run.request("pacing_slow")["latency_ms"]
    assert 100 <= slow["p50"] < 200, slow
    for name in counts:
        assert run.request(name)["interrupted"] == 0  # a waiting user has nothing in flight to interrupt


def _config(tmp_path: Path, wait: object) -> Path:
    write_yaml(tmp_path / "requests.yaml", {"requests": {"r": {"url": "http://127.0.0.1:9/r"}}})
    return write_yaml(tmp_path / "config.yaml", {"runs": {"name": "t", "phases": {"p": {"run_time": 1, "scenarios": {
        "s": {"requests": ["r"], "request_file": "requests.yaml", "min_concurrency": 1, "max_concurrency": 1,
              "wait_time": wait}}}}}})


def test_wait_time_values_load_as_their_kind(tmp_path: Path) -> None:
    cases = {
        "0.5": (0.5, WaitTime("constant", 0.5)),
        "ms string": ("750ms", WaitTime("constant", 0.75)),
        "constant": ({"constant": 2}, WaitTime("constant", 2.0)),
        "between": ({"between": ["1s", 3]}, WaitTime("between", 1.0, 3.0)),
        "pacing": ({"constant_pacing": "2s"}, WaitTime("constant_pacing", 2.0)),
        "throughput": ({"constant_throughput": 4}, WaitTime("constant_pacing", 0.25, throughput=4.0)),
    }
    for label, (value, expected) in cases.items():
        run = load(_config(tmp_path, value))
        assert run.phases[0].scenarios[0].wait_time == expected, label


def test_validate_shows_the_wait_in_the_plan(tmp_path: Path) -> None:
    config = _config(tmp_path, {"constant_throughput": 2})
    proc = subprocess.run([sys.executable, "-m", "gradual", "validate", str(config)], capture_output=True,
                          text=True, env=gradual_env(), cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "wait_time: pacing: an iteration starts every 500ms (2/s per user)" in proc.stdout


def test_a_bad_wait_time_exits_2_naming_file_line_key_and_what_was_found(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gradual", "run", str(_config(tmp_path, {"between": [3, 1]}))],
                          capture_output=True, text=True, env=gradual_env(), cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 2
    assert "config.yaml:14: runs.phases.p.scenarios.s.wait_time.between: min (3s) is greater than max (1s)" \
        in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
