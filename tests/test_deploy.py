"""The deployment files agree with gradual: deploy/Dockerfile, docker-compose.yml and deploy/k8s.

No Docker engine or cluster runs here, so each file is checked by what can run: every gradual command
line in them is parsed by gradual's own CLI parser, the Kubernetes manifests are validated against
the Kubernetes schemas (kubernetes-validate, offline), the kustomization is rendered (by a small
renderer below, and compared with kustomize's own where kubectl or kustomize is installed), the
image's health check and the master's wrapper script are run for real, and the Docker build context
is rebuilt into a wheel. `docker-compose config` and `kubectl kustomize` add their word where present.
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import importlib.util
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from gradual.proto.constants import DEFAULT_PORT

from gradual.cli import DEFAULT_HTTP_PORT, build_parser
from gradual.configs import load
from gradual.reports.render import report_dir_targets

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
DEMO = ROOT / "deploy" / "demo"
HTTP_PORT = 8089
TEST_MOUNT = "/etc/gradual/test"
REPORTS = "/reports"
# Native sidecars (initContainers with restartPolicy: Always) need 1.29; also check the newest schema.
K8S_MIN_VERSION = "1.29.0"


# -- helpers: gradual's command line -------------------------------------------------------------


def _help(argv: list[str]) -> str:
    out = subprocess.run([sys.executable, *argv, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return out.stdout


def parse_gradual(argv: list[str]) -> Any:
    """gradual's own parser on `argv`; a failure names the flags `gradual <cmd> --help` lacks."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            return build_parser().parse_args(argv)
        except SystemExit as exc:
            code, error = exc.code, err.getvalue().strip()
    help_text = _help(["-m", "gradual", argv[0]])
    missing = [flag for flag in (a.split("=")[0] for a in argv if a.startswith("--"))
               if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text)]
    pytest.fail(f"`gradual {' '.join(argv)}` does not parse (exit {code}): {error}"
                + (f"\nnot in `gradual {argv[0]} --help`: {', '.join(missing)}" if missing else ""))


def assert_demo_target_flags(argv: list[str]) -> dict[str, str]:
    """Every flag of a `python -m gradual.demo.target` command exists there; the flags as a dict."""
    help_text = _help(["-m", "gradual.demo.target"])
    flags = dict(zip(argv[::2], argv[1::2], strict=True))
    for flag in flags:
        assert flag.startswith("--") and flag in help_text, f"{flag} not in `python -m gradual.demo.target --help`"
    return flags


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def load_as_worker(config: Path, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test as a worker with `env` loads it (request URLs are expanded from the environment)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load(config, None)


def request_urls(run: Any) -> list[str]:
    return [req.url for req in run.all_requests]


# -- Dockerfile and .dockerignore ----------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions per stage as (KEYWORD, rest), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest.strip()))
    return stages


def instructions(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [rest for kw, rest in stage if kw == keyword]


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out = out[:-2] + "(?:.*/)?"
                i += 1
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent folder matches too."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        regex = _dockerignore_regex(pattern.strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not negate
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def build_context_files() -> list[str]:
    patterns = dockerignore_patterns()
    files = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        if path.is_file() and not dockerignored(rel, patterns):
            files.append(rel)
    return files


def test_image_is_multi_stage_slim_and_runs_gradual_as_a_non_root_user() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a build stage and a runtime stage"
    froms = [instructions(s, "FROM")[0] for s in stages]
    assert all(re.match(r"python:\$\{PYTHON_VERSION\}-slim|python:3\.\d+-slim", f) for f in froms), froms
    assert froms[0].endswith(" AS build"), froms[0]
    runtime = stages[-1]
    (user,) = instructions(runtime, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: numeric and not root, so runAsNonRoot can check it"
    (entrypoint,) = instructions(runtime, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["gradual"]
    # The runtime installs the wheels built in the first stage, from nowhere else, and copies nothing.
    assert instructions(runtime, "COPY") == []
    (install,) = [r for r in instructions(runtime, "RUN") if "pip install" in r]
    assert install.startswith("--mount=type=bind,from=build,source=/wheels,target=/tmp/wheels ")
    assert "--no-index --find-links /tmp/wheels gradual-load" in install
    assert any("pip wheel" in r for r in instructions(stages[0], "RUN"))


def test_buildkit_parser_reads_the_dockerfile_as_these_tests_do() -> None:
    dockerfile = pytest.importorskip("dockerfile", reason="pip install dockerfile: Docker's own (Go) parser")
    commands = dockerfile.parse_file(str(DOCKERFILE))
    theirs = [c.cmd.upper() for c in commands if c.cmd.upper() != "ARG"]
    assert theirs == [kw for stage in dockerfile_stages() for kw, _ in stage if kw != "ARG"]
    (healthcheck,) = [c for c in commands if c.cmd.upper() == "HEALTHCHECK"]
    assert healthcheck.json and healthcheck.value[:3] == ("CMD", "python", "-c")


def test_image_exposes_the_zeromq_and_http_ports_of_the_master() -> None:
    exposed = {p.split("/")[0] for line in instructions(dockerfile_stages()[-1], "EXPOSE") for p in line.split()}
    assert exposed == {str(DEFAULT_PORT), str(HTTP_PORT)}
    master = parse_gradual(["master", "config.yaml"])
    assert master.port == DEFAULT_PORT
    # None is "the default port": 8089, used whenever it is free (the container's own port always is).
    assert master.http_port is None and DEFAULT_HTTP_PORT == HTTP_PORT, "gradual master serves /status on 8089"


class _StatusHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        code = self.status if self.path == "/status" else 404
        body = json.dumps({"state": "running"}).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


@contextlib.contextmanager
def status_server(status: int) -> Iterator[int]:
    handler = type("Handler", (_StatusHandler,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_image_healthcheck_asks_the_master_status_endpoint() -> None:
    (healthcheck,) = instructions(dockerfile_stages()[-1], "HEALTHCHECK")
    options, _, cmd = healthcheck.partition("CMD ")
    argv = json.loads(cmd)
    assert argv[:2] == ["python", "-c"], "exec form, python only: the slim image has no curl"
    assert f"http://127.0.0.1:{HTTP_PORT}/status" in argv[2]
    assert "--timeout=" in options

    def check(url: str) -> int:
        env = {**os.environ, "GRADUAL_HEALTH_URL": url}
        return subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30).returncode

    with status_server(200) as port:
        assert check(f"http://127.0.0.1:{port}/status") == 0
    with status_server(503) as port:
        assert check(f"http://127.0.0.1:{port}/status") != 0
    with status_server(200) as port:
        pass
    assert check(f"http://127.0.0.1:{port}/status") != 0, "nothing listening must be unhealthy"


def test_build_context_holds_the_package_and_nothing_else() -> None:
    patterns = dockerignore_patterns()
    for kept in ("pyproject.toml", "README.md", "gradual/cli.py", "master/controller.py", "worker/agent.py",
                 "proto/constants.py", "gradual/demo/demo.yaml"):
        assert not dockerignored(kept, patterns), f"{kept} must be in the build context"
    for dropped in (".git/HEAD", "tests/test_deploy.py", "docs/deploy.md", "benchmarks/x.py", "deploy/Dockerfile",
                    "dist/gradual.whl", "py_spy-0.4.3-py2.py3-none-manylinux1_x86_64.whl",
                    "gradual/__pycache__/cli.cpython-311.pyc", ".venv/bin/python", "docker-compose.yml"):
        assert dockerignored(dropped, patterns), f"{dropped} must stay out of the build context"
    # Every COPY source of the build stage exists and survives .dockerignore.
    for copy_line in instructions(dockerfile_stages()[0], "COPY"):
        *sources, _dest = copy_line.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not dockerignored(source, patterns), source


def test_build_context_builds_the_wheel_the_image_installs(tmp_path: Path) -> None:
    """What the build stage copies (filtered by .dockerignore) is enough to build gradual's wheel."""
    context = tmp_path / "context"
    copied = set()
    for copy_line in instructions(dockerfile_stages()[0], "COPY"):
        *sources, _dest = copy_line.split()
        copied.update(sources)
    for rel in build_context_files():
        if rel.split("/")[0] in copied:
            (context / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, context / rel)
    # With setuptools at hand no isolated build environment (and no download) is needed.
    isolation = ["--no-isolation", "--skip-dependency-check"] if importlib.util.find_spec("setuptools") else []
    out = tmp_path / "wheels"
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", str(out), str(context)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = out.glob("gradual_load-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("gradual/cli.py", "gradual/master/controller.py", "gradual/worker/agent.py",
                   "gradual/proto/constants.py", "gradual/demo/target.py", "gradual/demo/demo.yaml"):
        assert module in names, f"{module} missing from the image's wheel"


# -- docker-compose.yml --------------------------------------------------------------------------

_COMPOSE_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def compose_interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $VAR and $$, over a whole document."""
    if isinstance(value, dict):
        return {k: compose_interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [compose_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        current = env.get(name)
        if op in (":-", ":?") and not current or op in ("-", "?") and current is None:
            if op.endswith("?"):
                raise AssertionError(f"compose requires {name}: {arg}")
            return arg
        return current or ""

    return _COMPOSE_VAR.sub(sub, value)


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as compose sees it with `env` (the defaults when empty); merge keys resolved."""
    data = yaml.safe_load(COMPOSE.read_text())
    return compose_interpolate(data, env or {})


def argv_of(command: Any) -> list[str]:
    assert isinstance(command, list), "commands in exec form (a list), so no shell splits them"
    return [str(part) for part in command]


def test_compose_runs_a_master_scalable_workers_and_the_demo_target() -> None:
    services = compose()["services"]
    assert set(services) == {"keys", "master", "worker", "demo-target", *OBSERVE}
    for name, service in services.items():
        if name in OBSERVE:
            continue
        assert "profiles" not in service, f"{name} starts with a plain `docker compose up`"
        assert service["image"] == "gradual:local", name
        assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}, name
    keys = parse_gradual(argv_of(services["keys"]["command"]))
    assert keys.command == "keys" and keys.keys_action == "init" and keys.if_missing, "made once, kept after"
    for name in ("master", "worker"):
        assert services[name]["depends_on"]["keys"] == {"condition": "service_completed_successfully"}, name
        assert "keys:/keys:ro" in services[name]["volumes"], name
    assert "keys" in compose()["volumes"]
    worker = services["worker"]
    # `--scale worker=N` needs workers without a fixed name or published host port.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["healthcheck"] == {"disable": True}, "workers serve no /status"


def test_compose_commands_parse_with_the_gradual_cli() -> None:
    services = compose()["services"]
    master = parse_gradual(argv_of(services["master"]["command"]))
    worker = parse_gradual(argv_of(services["worker"]["command"]))
    assert master.command == "master" and worker.command == "worker"
    assert "entrypoint" not in services["master"] and "entrypoint" not in services["worker"], \
        "master and worker run the image's entrypoint, gradual"


def test_compose_master_waits_for_as_many_workers_as_compose_starts() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "${GRADUAL_WORKERS:-4}" in raw["master"]["command"], "--expect-workers from GRADUAL_WORKERS, default 4"
    for env in ({}, {"GRADUAL_WORKERS": "7"}):
        services = compose(env)["services"]
        master = parse_gradual(argv_of(services["master"]["command"]))
        assert master.expect_workers == int(env.get("GRADUAL_WORKERS", 4))
        assert int(services["worker"]["deploy"]["replicas"]) == master.expect_workers


def test_compose_workers_find_the_master_by_its_service_name() -> None:
    services = compose()["services"]
    master = parse_gradual(argv_of(services["master"]["command"]))
    worker = parse_gradual(argv_of(services["worker"]["command"]))
    assert worker.host == "master"
    assert worker.port == master.port == DEFAULT_PORT
    assert master.bind == "*", "the master listens on every interface of its container"
    assert master.keys == worker.keys == Path("/keys"), "which is safe with CURVE keys on both sides"
    assert worker.processes == 1 and not worker.serve, "one process per container; it exits when the master quits"


def test_compose_mounts_the_demo_test_read_only_and_keeps_reports_in_a_volume() -> None:
    services = compose()["services"]
    master_service = services["master"]
    master = parse_gradual(argv_of(master_service["command"]))
    mounts = {v.split(":")[1]: v.split(":") for v in master_service["volumes"]}
    source, _, mode = mounts[TEST_MOUNT]
    assert mode == "ro"
    assert (ROOT / source).resolve() == DEMO
    config = Path(str(master.config))
    assert config.parent == Path(TEST_MOUNT) and (DEMO / config.name).is_file()
    assert mounts[REPORTS][0] in compose()["volumes"], "reports in a named volume the image's user owns"
    assert master.report_dir == Path(REPORTS)
    assert master.http_port == HTTP_PORT
    assert master_service["ports"] == [f"127.0.0.1:{HTTP_PORT}:{HTTP_PORT}"], "/metrics on the host's loopback only"


def test_compose_workers_reach_the_demo_target_where_it_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    target = services["demo-target"]
    assert argv_of(target["entrypoint"]) == ["python", "-m", "gradual.demo.target"]
    flags = assert_demo_target_flags(argv_of(target["command"]))
    worker = services["worker"]
    env = {k: str(v) for k, v in worker.get("environment", {}).items()}
    run = load_as_worker(DEMO / "config.yaml", env, monkeypatch)
    for url in request_urls(run):
        parts = urlsplit(url)
        assert parts.port == int(flags["--port"]), url
        if worker.get("network_mode") == "service:demo-target":
            # Sharing the target's network namespace: its loopback is the workers' loopback.
            assert is_loopback(flags["--host"]) and parts.hostname == flags["--host"], url
        else:
            assert parts.hostname == "demo-target" and not is_loopback(flags["--host"]), url


def _compose_client() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_config_accepts_the_file_and_interpolates_as_we_do() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client installed (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADUAL_")}
    env["GRADUAL_WORKERS"] = "6"
    done = subprocess.run([*client, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    theirs = yaml.safe_load(done.stdout)["services"]
    ours = compose({"GRADUAL_WORKERS": "6"})["services"]
    for name in ours:
        if "command" in ours[name]:
            assert [str(a) for a in theirs[name]["command"]] == argv_of(ours[name]["command"]), name
    assert int(theirs["worker"]["deploy"]["replicas"]) == 6


# -- Prometheus and Grafana: the "observe" profile ------------------------------------------------

OBSERVE = ("prometheus", "grafana")
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
GRAFANA_DASHBOARD = GRAFANA / "dashboards" / "gradual.json"


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """container path -> (host source, mode) of a service's short-form volumes."""
    out = {}
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        out[parts[1]] = (parts[0], parts[2] if len(parts) > 2 else "rw")
    return out


def test_docker_compose_observe_profile_config_is_valid() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client installed (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADUAL_")}
    done = subprocess.run([*client, "-f", str(COMPOSE), "--profile", "observe", "config"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert {"master", "worker", "demo-target", *OBSERVE} <= set(services)
    for name in OBSERVE:
        assert services[name]["profiles"] == ["observe"], name


def test_observe_services_mount_files_that_exist_and_publish_on_loopback_only() -> None:
    services = compose()["services"]
    for name in OBSERVE:
        service = services[name]
        assert service["profiles"] == ["observe"]
        assert all(str(p).startswith("127.0.0.1:") for p in service["ports"]), name
        for target, (source, mode) in _mounts(service).items():
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
                assert mode == "ro", (name, target)
    prom_mounts = _mounts(services["prometheus"])
    assert (ROOT / prom_mounts["/etc/prometheus/prometheus.yml"][0]).resolve() == PROMETHEUS
    config_flag = [a for a in services["prometheus"]["command"] if a.startswith("--config.file=")]
    assert config_flag == ["--config.file=/etc/prometheus/prometheus.yml"]
    graf_mounts = _mounts(services["grafana"])
    assert (ROOT / graf_mounts["/etc/grafana/provisioning"][0]).resolve() == GRAFANA / "provisioning"
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    dashboards_dir = (ROOT / graf_mounts[str(Path(home).parent)][0]).resolve()
    assert dashboards_dir / Path(home).name == GRAFANA_DASHBOARD


def test_prometheus_scrapes_the_master_where_it_serves_metrics() -> None:
    services = compose()["services"]
    master = parse_gradual(argv_of(services["master"]["command"]))
    config = yaml.safe_load(PROMETHEUS.read_text())
    (job,) = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    (static,) = job["static_configs"]
    assert static["targets"] == [f"master:{master.http_port}"]


def test_grafana_provisioning_fits_together() -> None:
    (datasource,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())[
        "datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    services = compose()["services"]
    assert any(str(p).endswith(":9090") for p in services["prometheus"]["ports"])
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "gradual.yaml").read_text())["providers"]
    assert provider["options"]["path"] in _mounts(services["grafana"])
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]}
    uids |= {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    uids |= {v["datasource"]["uid"] for v in dashboard["templating"]["list"]}
    assert uids == {datasource["uid"]}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 8


def _promql(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_every_promql_expression_names_metrics_and_labels_a_real_scrape_contains(
        target: Any, tmp_path: Path) -> None:
    """A real `gradual run` with failures serves /metrics; the dashboard may only ask for what is in it."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families
    from support.gradual_run import closed_port, finish, start_gradual, write_run_config

    scenario = {"requests": ["ok", "broken"], "min_concurrency": 1, "max_concurrency": 1, "ramp_up_add": 1,
                "ramp_up_wait": 1, "iterate_through_requests": True}
    config = write_run_config(tmp_path, {"only": {"run_time": 4, "scenarios": {"s": scenario}}},
                              requests={"ok": {"url": "${GRADUAL_TARGET}/products", "method": "GET"},
                                        "broken": {"url": "${GRADUAL_TARGET}/status/500", "method": "GET"}})
    port = closed_port()
    started = time.monotonic()
    proc = start_gradual(["run", str(config), "--quiet", "--http-port", str(port)], target=target)
    text = ""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "gradual_failures_total{" not in text:
            time.sleep(0.3)
            with contextlib.suppress(requests.RequestException):
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        finish(proc, None, started, 60)
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    assert "gradual_users" in labels and "gradual_failures_total" in labels, sorted(labels)
    exprs = _promql(json.loads(GRAFANA_DASHBOARD.read_text()))
    assert len(exprs) >= 10
    for expr in exprs:
        names = set(re.findall(r"\b(gradual_[a-z0-9_]+)", expr))
        assert names, expr
        for name in names:
            assert name in labels, f"{expr}: {name} is not in a real /metrics scrape"
        used = set(re.findall(r"\bby \(([^)]*)\)", expr))
        used = {label.strip() for group in used for label in group.split(",")}
        used |= set(re.findall(r"[{,]\s*([a-z_]+)\s*=~?", expr))
        used |= set(re.findall(r"label_values\([a-z_]+,\s*([a-z_]+)\)", expr))
        have = set().union(*(labels[n] for n in names))
        assert used <= have, f"{expr}: labels {sorted(used - have)} are not on {sorted(names)}"


# -- Kubernetes ----------------------------------------------------------------------------------


def kustomization(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / "kustomization.yaml").read_text())
    return data


def kustomize_roots(root: Path = K8S) -> list[Path]:
    """`root` and every kustomization it includes through resources, depth first."""
    found = [root]
    for res in kustomization(root).get("resources", []):
        if (root / res).is_dir():
            found += kustomize_roots((root / res).resolve())
    return found


def manifest_files() -> list[Path]:
    """Every complete manifest: resource files of each kustomization (patches are partial)."""
    files = []
    for root in kustomize_roots():
        for res in kustomization(root).get("resources", []):
            if (root / res).is_file():
                files.append((root / res).resolve())
    return files


def _within(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def generate_configmap(root: Path, generator: dict[str, Any]) -> dict[str, Any]:
    """A configMapGenerator entry as kustomize renders it (without the name's hash suffix)."""
    data: dict[str, str] = {}
    for entry in generator.get("files", []):
        key, _, rel = entry.rpartition("=")
        path = root / rel
        assert path.is_file(), f"{root / 'kustomization.yaml'}: configMapGenerator file {rel} does not exist"
        assert _within(path, root), f"{rel}: kustomize only reads files in or below {root}"
        key = key or path.name
        assert key not in data, f"ConfigMap key {key} twice"
        data[key] = path.read_text()
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}


def strategic_merge(base: Any, patch: Any) -> Any:
    """Enough of Kubernetes' strategic merge for these manifests: maps merge, lists of named maps merge
    by name (containers, initContainers, env, volumes), any other list is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    named = isinstance(base, list) and isinstance(patch, list) and all(
        isinstance(x, dict) and "name" in x for x in [*base, *patch])
    if named:
        patches = {x["name"]: x for x in patch}
        merged_list = [strategic_merge(x, patches[x["name"]]) if x["name"] in patches else copy.deepcopy(x)
                       for x in base]
        known = {x["name"] for x in base}
        # New items go first, as kustomize puts them.
        return [copy.deepcopy(x) for x in patch if x["name"] not in known] + merged_list
    return copy.deepcopy(patch)


def _field(doc: Any, field_path: str) -> tuple[Any, str | int]:
    """The parent node and key of a kustomize fieldPath such as `a.b.[name=x].c`."""
    *steps, last = field_path.split(".")
    node = doc
    for step in steps:
        selector = re.fullmatch(r"\[(\w+)=(.*)\]", step)
        if selector:
            node = next(x for x in node if x.get(selector[1]) == selector[2])
        elif isinstance(node, list):
            node = node[int(step)]
        else:
            node = node[step]
    return node, (int(last) if isinstance(node, list) else last)


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def render(root: Path = K8S) -> list[dict[str, Any]]:
    """A kustomization rendered with the features these files use: resources, configMapGenerator,
    patches (strategic merge), images, replacements. ConfigMaps keep their names (no hash)."""
    spec = kustomization(root)
    docs: list[dict[str, Any]] = []
    for res in spec.get("resources", []):
        path = root / res
        if path.is_dir():
            docs += render(path.resolve())
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    docs += [generate_configmap(root, g) for g in spec.get("configMapGenerator", [])]
    for patch in spec.get("patches", []):
        patch_doc = yaml.safe_load((root / patch["path"]).read_text())
        target = find(docs, patch_doc["kind"], patch_doc["metadata"]["name"])
        docs[docs.index(target)] = strategic_merge(target, patch_doc)
    for image in spec.get("images", []):
        for container in (c for d in docs for c in pod_containers(d)):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    for replacement in spec.get("replacements", []):
        source = replacement["source"]
        node, key = _field(find(docs, source["kind"], source["name"]), source["fieldPath"])
        value = node[key]
        for target in replacement["targets"]:
            doc = find(docs, target["select"]["kind"], target["select"]["name"])
            for field_path in target["fieldPaths"]:
                parent, field_key = _field(doc, field_path)
                # As kustomize does: a string field gets the value as a string.
                parent[field_key] = str(value) if isinstance(parent[field_key], str) else value
    return docs


def pod_containers(doc: dict[str, Any], *, init: bool = True) -> list[dict[str, Any]]:
    if doc["kind"] != "Job":
        return []
    pod = doc["spec"]["template"]["spec"]
    return [*(pod.get("initContainers", []) if init else []), *pod["containers"]]


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in pod_containers(doc) if c["name"] == name]
    return found


def expand_k8s(argv: list[str], c: dict[str, Any]) -> list[str]:
    """Kubernetes' $(VAR) expansion of args from the container's env values."""
    env = {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
    env.update({e["name"]: f"<{e['name']}>" for e in c.get("env", []) if "valueFrom" in e})
    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), a) for a in argv]


def gradual_argv(c: dict[str, Any]) -> list[str]:
    """The gradual command line a container runs: its args, whether run by the entrypoint or the wrapper."""
    command = c.get("command")
    if command is not None:
        assert command[:2] == ["/bin/sh", "-c"] and 'gradual "$@"' in command[2], command
    return expand_k8s([str(a) for a in c["args"]], c)


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render()


def test_configmap_generator_files_exist_within_each_kustomization() -> None:
    generated = []
    for root in kustomize_roots():
        for generator in kustomization(root).get("configMapGenerator", []):
            generated.append(generate_configmap(root, generator))
    (test,) = [g for g in generated if g["metadata"]["name"] == "gradual-test"]
    assert set(test["data"]) == {"config.yaml", "requests.yaml"}
    assert test["data"]["config.yaml"] == (DEMO / "config.yaml").read_text(), "the ConfigMap is deploy/demo"


def test_kubernetes_manifests_validate_against_the_kubernetes_schemas(rendered: list[dict[str, Any]]) -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate: offline Kubernetes "
                             "schemas for validating deploy/k8s")
    docs = [(f.name, d) for f in manifest_files() for d in yaml.safe_load_all(f.read_text()) if d]
    docs += [(f"rendered {d['kind']}/{d['metadata']['name']}", d) for d in rendered]
    assert {d["kind"] for _, d in docs} == {"ConfigMap", "Service", "Job"}
    for version in (K8S_MIN_VERSION, kv.latest_version()):
        for name, doc in docs:
            try:
                kv.validate(doc, version, strict=True)
            except kv.ValidationError as exc:
                path = "/".join(str(p) for p in exc.path)
                pytest.fail(f"{name} is not a valid {doc['kind']} for Kubernetes {version}: {path}: {exc.message}")


def _kustomize_client() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def test_kustomize_renders_what_the_tests_check(rendered: list[dict[str, Any]]) -> None:
    client = _kustomize_client()
    if client is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    done = subprocess.run([*client, str(K8S)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    theirs = [d for d in yaml.safe_load_all(done.stdout) if d]
    # kustomize suffixes generated ConfigMaps with a content hash and rewrites references to them.
    names = {d["metadata"]["name"] for d in rendered if d["kind"] == "ConfigMap"}
    hashed = re.compile(rf"^({'|'.join(map(re.escape, names))})-[a-z0-9]{{10}}$")

    def unhash(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: unhash(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unhash(v) for v in value]
        return hashed.sub(r"\1", value) if isinstance(value, str) else value

    def key(d: dict[str, Any]) -> tuple[str, str]:
        return d["kind"], d["metadata"]["name"]

    assert sorted(map(unhash, theirs), key=key) == sorted(rendered, key=key)


def test_master_and_worker_commands_parse_with_the_gradual_cli(rendered: list[dict[str, Any]]) -> None:
    master = parse_gradual(gradual_argv(container(find(rendered, "Job", "gradual-master"), "master")))
    worker = parse_gradual(gradual_argv(container(find(rendered, "Job", "gradual-worker"), "worker")))
    assert master.command == "master" and worker.command == "worker"
    assert worker.worker_id == "<POD_NAME>", "each pod names its worker after itself"
    target = container(find(rendered, "Job", "gradual-worker"), "demo-target")
    assert target["command"][:3] == ["python", "-m", "gradual.demo.target"]
    assert_demo_target_flags(target["command"][3:])


def test_workers_connect_to_the_master_service(rendered: list[dict[str, Any]]) -> None:
    service = find(rendered, "Service", "gradual-master")
    master_job = find(rendered, "Job", "gradual-master")
    master_c = container(master_job, "master")
    master = parse_gradual(gradual_argv(master_c))
    worker = parse_gradual(gradual_argv(container(find(rendered, "Job", "gradual-worker"), "worker")))
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    container_ports = {p["name"]: p["containerPort"] for p in master_c["ports"]}
    assert worker.host == service["metadata"]["name"]
    assert worker.port == ports["zmq"]["port"] == master.port == container_ports[ports["zmq"]["targetPort"]]
    assert master.http_port == ports["http"]["port"] == container_ports[ports["http"]["targetPort"]]
    labels = master_job["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items(), "the Service selects the master pod"
    assert master_c["readinessProbe"]["tcpSocket"]["port"] == "zmq", \
        "ready (in the Service) once it listens, whatever its HTTP port does"


def test_prometheus_finds_the_master_by_the_services_scrape_annotations(rendered: list[dict[str, Any]]) -> None:
    service = find(rendered, "Service", "gradual-master")
    master = parse_gradual(gradual_argv(container(find(rendered, "Job", "gradual-master"), "master")))
    notes = service["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/path"] == "/metrics"
    http = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    assert int(notes["prometheus.io/port"]) == http["port"] == master.http_port


def _with_parallelism(tmp_path: Path, workers: int) -> list[dict[str, Any]]:
    tree = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", tree)
    job = tree / "k8s" / "base" / "worker-job.yaml"
    text, count = re.subn(r"(?m)^  parallelism: \d+$", f"  parallelism: {workers}", job.read_text())
    assert count == 1
    job.write_text(text)
    return render(tree / "k8s")


@pytest.mark.parametrize("workers", [4, 7])
def test_the_worker_count_is_one_knob(tmp_path: Path, workers: int) -> None:
    docs = render() if workers == 4 else _with_parallelism(tmp_path, workers)
    worker_job = find(docs, "Job", "gradual-worker")
    master = parse_gradual(gradual_argv(container(find(docs, "Job", "gradual-master"), "master")))
    assert worker_job["spec"]["parallelism"] == worker_job["spec"]["completions"] == workers
    assert master.expect_workers == workers
    assert worker_job["spec"]["completionMode"] == "Indexed"


def test_the_worker_count_knob_works_in_kustomize_too(tmp_path: Path) -> None:
    client = _kustomize_client()
    if client is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    _with_parallelism(tmp_path, 7)
    done = subprocess.run([*client, str(tmp_path / "deploy" / "k8s")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    master = parse_gradual(gradual_argv(container(find(docs, "Job", "gradual-master"), "master")))
    assert master.expect_workers == find(docs, "Job", "gradual-worker")["spec"]["completions"] == 7


def test_the_demo_configmap_is_a_valid_test_where_the_master_reads_it(
    rendered: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    configmap = find(rendered, "ConfigMap", "gradual-test")
    master_job = find(rendered, "Job", "gradual-master")
    master = parse_gradual(gradual_argv(container(master_job, "master")))
    volumes = {v["name"]: v for v in master_job["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container(master_job, "master")["volumeMounts"]}
    config = Path(str(master.config))
    mount = mounts[str(config.parent)]
    assert mount.get("readOnly") is True
    assert volumes[mount["name"]]["configMap"]["name"] == "gradual-test"
    # The folder as the pod sees it: one file per ConfigMap key.
    for key, text in configmap["data"].items():
        (tmp_path / key).write_text(text)
    worker_c = container(find(rendered, "Job", "gradual-worker"), "worker")
    worker_env = {e["name"]: e["value"] for e in worker_c["env"] if "value" in e}
    run = load_as_worker(tmp_path / config.name, worker_env, monkeypatch)
    target = container(find(rendered, "Job", "gradual-worker"), "demo-target")
    flags = dict(zip(target["command"][3::2], target["command"][4::2], strict=True))
    assert target.get("restartPolicy") == "Always", "a native sidecar: it ends when the worker does"
    for url in request_urls(run):
        parts = urlsplit(url)
        assert (parts.hostname, parts.port) == (flags["--host"], int(flags["--port"])), url


def test_every_container_has_resource_requests_and_limits(rendered: list[dict[str, Any]]) -> None:
    containers = [c for d in rendered for c in pod_containers(d)]
    assert {c["name"] for c in containers} == {"master", "reports", "worker", "demo-target"}
    for c in containers:
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{c['name']}: {kind}"


def test_pods_run_as_non_root_with_a_read_only_root_filesystem(rendered: list[dict[str, Any]]) -> None:
    for job in (d for d in rendered if d["kind"] == "Job"):
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for c in pod_containers(job):
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, c["name"]
        gradual_containers = [c for c in pod["containers"] if c["name"] in ("master", "worker")]
        for c in gradual_containers:
            assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}, f"{c['name']} needs a writable /tmp"


def test_jobs_end_by_themselves(rendered: list[dict[str, Any]]) -> None:
    master_job, worker_job = find(rendered, "Job", "gradual-master"), find(rendered, "Job", "gradual-worker")
    assert master_job["spec"]["backoffLimit"] == 0, "a retried master would run the test twice"
    for job in (master_job, worker_job):
        assert job["spec"]["activeDeadlineSeconds"] > 0
    worker = parse_gradual(gradual_argv(container(worker_job, "worker")))
    assert not worker.serve, "a worker exits when its master sends quit"


def test_reports_stay_where_kubectl_logs_and_kubectl_cp_find_them(rendered: list[dict[str, Any]]) -> None:
    master_job = find(rendered, "Job", "gradual-master")
    pod = master_job["spec"]["template"]["spec"]
    master_c, keeper = container(master_job, "master"), container(master_job, "reports")
    master = parse_gradual(gradual_argv(master_c))
    volumes = {v["name"]: v for v in pod["volumes"]}
    master_mounts = {m["mountPath"]: m["name"] for m in master_c["volumeMounts"]}
    keeper_mounts = {m["mountPath"]: m["name"] for m in keeper["volumeMounts"]}
    assert master.report_dir == Path(REPORTS)
    assert master_mounts[REPORTS] == keeper_mounts[REPORTS]
    assert "emptyDir" in volumes[master_mounts[REPORTS]]
    assert f"{REPORTS}/exit-code" in master_c["command"][2]
    # The reports container prints the summary the master writes into --report-dir.
    summary_name = report_dir_targets(master.report_dir)["json"].name
    assert "exit-code" in keeper["command"][2] and f'"{summary_name}"' in keeper["command"][2]


def _wrapper(tmp_path: Path, gradual_script: str) -> tuple[list[str], dict[str, str], Path]:
    """The master container's command, run here: /reports moved to tmp_path, a fake gradual on PATH."""
    master_c = container(find(render(), "Job", "gradual-master"), "master")
    reports = tmp_path / "reports"
    reports.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gradual"
    fake.write_text("#!/bin/sh\n" + gradual_script)
    fake.chmod(0o755)
    script = master_c["command"][2].replace(REPORTS, str(reports))
    argv = ["/bin/sh", "-c", script, *master_c["command"][3:], *gradual_argv(master_c)]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return argv, env, reports


def test_master_wrapper_passes_the_arguments_and_keeps_the_exit_code(tmp_path: Path) -> None:
    argv, env, reports = _wrapper(tmp_path, 'echo "$@" > "$(dirname "$0")/args"\nexit 3\n')
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 3
    assert (reports / "exit-code").read_text().strip() == "3"
    assert (tmp_path / "bin" / "args").read_text().split() == argv[4:]


def test_master_wrapper_forwards_sigterm_to_gradual(tmp_path: Path) -> None:
    argv, env, reports = _wrapper(tmp_path, "trap 'exit 130' TERM\nwhile :; do sleep 0.05; done\n")
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (reports / "exit-code").read_text().strip() == "130"


@pytest.mark.parametrize("summary", ['{"schema": "gradual.summary/1"}\n', None])
def test_reports_container_log_is_the_summary(tmp_path: Path, summary: str | None) -> None:
    keeper = container(find(render(), "Job", "gradual-master"), "reports")
    reports = tmp_path / "reports"
    reports.mkdir()
    if summary is not None:
        (reports / "summary.json").write_text(summary)
    (reports / "exit-code").write_text("0\n" if summary else "3\n")
    script = keeper["command"][2].replace(f'"{REPORTS}"', repr(str(reports)))
    env = {**os.environ, "GRADUAL_REPORT_KEEP_SECONDS": "0"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    if summary is not None:
        assert done.stdout == summary, "`kubectl logs job/gradual-master -c reports` must be the JSON as is"
    else:
        assert done.stdout == "no summary: the master exited 3 before writing its reports\n"


def test_the_own_test_overlay_in_the_docs_renders_with_its_worker_count(tmp_path: Path) -> None:
    client = _kustomize_client()
    if client is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    docs_text = (ROOT / "docs" / "deploy.md").read_text()
    (overlay,) = re.findall(r"```yaml\n(apiVersion: kustomize\.config\.k8s\.io/v1beta1\n.*?)```", docs_text, re.S)
    spec = yaml.safe_load(overlay)
    assert spec["resources"] == ["../gradual/deploy/k8s/base"]
    spec["resources"] = [os.path.relpath(K8S / "base", tmp_path)]  # kustomize takes no absolute path
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(spec))
    shutil.copy(DEMO / "config.yaml", tmp_path / "test.yaml")
    shutil.copy(DEMO / "requests.yaml", tmp_path / "requests.yaml")
    done = subprocess.run([*client, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    worker_job = find(docs, "Job", "gradual-worker")
    master = parse_gradual(gradual_argv(container(find(docs, "Job", "gradual-master"), "master")))
    assert master.expect_workers == worker_job["spec"]["parallelism"] == worker_job["spec"]["completions"] == 10
    worker_c = container(worker_job, "worker")
    assert {"name": "GRADUAL_TARGET", "value": "https://staging.example.com"} in worker_c["env"]
    assert worker_c["image"] == "registry.example.com/gradual:0.1.0"
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    assert set(configmap["data"]) == {"config.yaml", "requests.yaml"}
