"""The original gradual's own files run unchanged (docs/compat.md): its shipped example, the custom-request
branch's example, its docs' examples and its unit-test fixtures, copied into tests/compat_corpus/ with only
their URLs moved to 127.0.0.1 and run_time shortened (each file's header says where it comes from).

Each one validates (warnings allowed) and runs against a local demo target, and what gradual counted per
request equals what the server saw. The original's broken snippets are refused with exit 2, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from support.gradual_run import finish, gradual_env, start_gradual
from support.target import TargetProcess

from gradual.configs import load
from gradual.configs.model import PYTHON, WEBSOCKET

CORPUS = Path(__file__).parent / "compat_corpus"
PCHAR = "/:@!$&'()*+,;=-._~%"  # what a URL path keeps unencoded (RFC 3986 pchar, and '/')


@dataclass(frozen=True)
class Case:
    config: str
    request_config: str | None = None
    cwd: str | None = None  # relative to CORPUS; the original ran its example from examples/fastapi_app
    xfail: str | None = None

    @property
    def id(self) -> str:
        return self.config.removesuffix(".yaml").replace("/", ":")


RUNNABLE = [
    Case("shipped/stress_test_configs/test_config.yaml", "shipped/stress_test_configs/request_config.yaml"),
    Case("stress_test_configs/test_config_with_plugins.yaml", cwd="shipped"),
    Case("plugin_system/test_config.yaml"),
    Case("user_guide/structure/test_config.yaml", "user_guide/structure/request_config.yaml"),
    Case("user_guide/basic/test_config.yaml", "user_guide/basic/request_config.yaml"),
    Case("user_guide/multi_phase/test_config.yaml", "user_guide/multi_phase/request_config.yaml"),
    Case("user_guide/distributed/test_config.yaml", "user_guide/distributed/request_config.yaml"),
    Case("configuration_reference/multi_phase/test_config.yaml",
         "configuration_reference/multi_phase/request_config.yaml"),
    Case("configuration_reference/websocket/test_config.yaml", "configuration_reference/websocket/request_config.yaml"),
    Case("configuration_reference/auth/test_config.yaml", "configuration_reference/auth/request_config.yaml"),
    Case("examples/simple_api/simple_api_test.yaml", "examples/simple_api/requests.yaml"),
    Case("examples/ecommerce/multi_scenario_test.yaml", "examples/ecommerce/ecommerce_requests.yaml"),
    Case("examples/auth/auth_test.yaml", "examples/auth/auth_requests.yaml"),
    Case("examples/database/database_test.yaml", "examples/database/db_requests.yaml"),
    Case("examples/ramp_up/ramp_up_test.yaml", "examples/ramp_up/health_requests.yaml"),
    Case("examples/stress/stress_test.yaml", "examples/stress/stress_requests.yaml"),
    Case("unit_fixtures/parser_test_config.yaml", "unit_fixtures/parser_request_config.yaml"),
    Case("unit_fixtures/multiple_phases_test_config.yaml", "unit_fixtures/multiple_phases_request_config.yaml"),
    Case("unit_fixtures/optional_fields_test_config.yaml", "unit_fixtures/parser_request_config.yaml"),
]

# Snippets the original could not run either: refused with exit 2, one line naming file:line, no traceback.
BROKEN = [
    ("configuration_reference/simple_load_test.yaml", "runs: duplicate key"),  # two `runs:` in one document
    ("configuration_reference/parameterized.yaml", "invalid YAML"),  # `*light_load.scenarios.light_scenario`
    ("getting_started/first_test.yaml", "name: unknown key"),  # a format the original never read
    ("unit_fixtures/invalid_ramp_up_type.yaml", "ramp_up_add: expected an integer or a list of them"),
    ("unit_fixtures/missing_runs.yaml", "runs: is required"),
]


def _params(cases: list[Case]) -> list:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else [])
            for c in cases]


def _args(case: Case) -> list[str]:
    args = [case.config]
    if case.request_config:
        args += ["--request-config", case.request_config]
    return args


def _cwd(case: Case) -> Path:
    return CORPUS / case.cwd if case.cwd else CORPUS


def _server_key(method: str, url: str, kind: str) -> str | None:
    """What the demo target counts a request under; None for a Python function that sends nothing there."""
    parts = urlsplit(url)
    if kind == PYTHON and parts.scheme not in ("http", "https"):
        return None
    if kind == WEBSOCKET:
        return f"ws {parts.path}"
    # A placeholder nothing defines is sent as written, percent-encoded as any client does ({{ -> %7B%7B).
    return f"{method} {quote(parts.path, safe=PCHAR) or '/'}"


def _gradual(args: list[str], cwd: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradual", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=gradual_env(extra={"CORPUS_PORT": str(port)}))


@pytest.mark.parametrize("case", _params(RUNNABLE))
def test_the_originals_file_validates_and_runs_with_exact_counts(
    case: Case, target: TargetProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(urlsplit(target.url).port or 0)
    checked = _gradual(["validate", *_args(case)], _cwd(case), port)
    assert checked.returncode == 0, checked.stderr
    assert "Traceback" not in checked.stderr

    monkeypatch.setenv("CORPUS_PORT", str(port))
    monkeypatch.chdir(_cwd(case))
    run = load(case.config, case.request_config)
    keys = {r.name: _server_key(r.method, r.url, r.kind) for r in run.all_requests}

    summary_path = tmp_path / "summary.json"
    started = time.monotonic()
    # The docs wait up to 30 s between phases: the test does not, with the override every run takes.
    proc = start_gradual(["run", *_args(case), "--quiet", "--json", str(summary_path),
                          "--set", "runs.wait_between_phases=0"], target=target, cwd=_cwd(case),
                         env={"CORPUS_PORT": str(port)})
    done = finish(proc, summary_path, started, timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.summary is not None
    counted: dict[str | None, int] = {}
    for phase in done.summary["phases"]:
        for scen in phase["scenarios"]:
            for req in scen["requests"]:
                assert req["failures"] == 0, (req["name"], req["errors"])
                counted[keys[req["name"]]] = counted.get(keys[req["name"]], 0) + req["count"]
    server = target.counts()
    seen = {k: n for k, n in server["requests"].items() if not k.startswith("GET /ws")}
    seen.update({f"ws {path}": n for path, n in server["ws_messages"].items() if n})
    counted.pop(None, None)
    assert counted == seen
    assert sum(counted.values()) > 0


@pytest.mark.parametrize(("config", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_originals_broken_snippets_are_refused_with_exit_2(config: str, message: str) -> None:
    done = _gradual(["validate", config], CORPUS, 9)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors and any(message in line and f"{config}:" in line for line in errors), done.stderr


def test_stress_run_runs_the_shipped_example_as_the_quick_start_does(target: TargetProcess, tmp_path: Path) -> None:
    port = int(urlsplit(target.url).port or 0)
    summary = tmp_path / "summary.json"
    code = ("import sys; from gradual.compat import stress_run; sys.exit(stress_run(sys.argv[1:]))")
    done = subprocess.run(
        [sys.executable, "-c", code, "--test_config", "stress_test_configs/test_config.yaml",
         "--request_config", "stress_test_configs/request_config.yaml", "--quiet", "--json", str(summary)],
        cwd=CORPUS / "shipped", env=gradual_env(target, {"CORPUS_PORT": str(port)}), capture_output=True, text=True,
        timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(summary.read_text(encoding="utf-8"))["totals"]["count"] == target.counts()["total"] > 0
