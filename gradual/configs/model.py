"""The validated configuration: frozen dataclasses the plan, engine and master read.

Everything here has been checked by ``gradual.configs.load``; code downstream trusts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigIssue
from .overrides import Overrides
from .thresholds import Threshold

HTTP = "http"
WEBSOCKET = "websocket"
PYTHON = "python"


@dataclass(frozen=True)
class AuthConfig:
    """Credentials from environment variables named here (bearer, basic), or a templated header value."""

    kind: str  # "bearer" | "basic" (from the environment) | "template" (header, below)
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    header: Any = None  # journeys.templates.Filler of the whole Authorization value (kind "template")


@dataclass(frozen=True)
class RequestConfig:
    name: str
    kind: str  # HTTP | WEBSOCKET | PYTHON
    url: str = ""
    method: str = "GET"
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    expected_response_time: float | None = None  # seconds
    auth: AuthConfig | None = None
    timeout: float = 30.0
    type: str | None = None  # free label from the original format
    body: Any = None  # explicit body (`body`/`json`), overrides params
    message: str | None = None  # websocket: raw message instead of params as JSON
    expect: str | None = None  # websocket: substring the reply must contain
    verify: bool = True  # https/wss: verify the server's certificate (system store, or ca_file)
    ca_file: str | None = None  # https/wss: trust this PEM file instead of the system store (absolute path)
    connect_timeout: float | None = None  # seconds for the TCP (+TLS) connect alone; timeout bounds it too
    message_interval: float = 0.0  # websocket: seconds between a reply and the next message of a connection
    max_messages: int | None = None  # websocket: messages per connection, then it is closed and reopened
    close_after: float | None = None  # websocket: seconds a connection lives before it is closed and reopened
    # Journeys (gradual.journeys): compiled templates, checks, extractions, redirects to follow.
    template: Any = None  # journeys.request.RequestTemplate of an HTTP request (static or not)
    checks: Any = None  # journeys.checks.Expect: `expect` of an HTTP request (None: status < 400)
    extract: tuple[Any, ...] = ()  # journeys.extract.Extraction, in file order
    follow_redirects: int = 0  # redirects followed, each a recorded request
    uses: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)  # template name -> (key path, line)
    function: Callable[..., Any] | None = None  # python requests
    callbacks: tuple[Callable[..., Any], ...] = ()
    source: str = ""  # file that defined it


@dataclass(frozen=True)
class WaitTime:
    """A closed-model user's pause after each iteration (Locust's wait_time).

    ``constant``: ``seconds``; ``between``: uniform in [seconds, high]; ``constant_pacing``: each iteration
    starts ``seconds`` after the previous one started (an overrun waits 0, no catch-up);
    ``constant_throughput`` n is constant_pacing 1/n, ``throughput`` keeps n for display.
    """

    kind: str  # "constant" | "between" | "constant_pacing"
    seconds: float
    high: float = 0.0
    throughput: float | None = None

    @property
    def paced(self) -> bool:
        return self.kind == "constant_pacing"


@dataclass(frozen=True)
class ScenarioConfig:
    name: str
    requests: tuple[RequestConfig, ...]
    min_concurrency: int
    max_concurrency: int
    ramp_up_multiply: tuple[float, ...] | None = None
    ramp_up_add: tuple[float, ...] | None = None  # integers for users, numbers for rates
    ramp_up_wait: tuple[float, ...] = (1.0,)
    iterate_through_requests: bool = False
    run_once: bool = False
    wait_time: WaitTime | None = None
    # Open model (arrivals): iterations per second from min_rate toward max_rate, stepped by the ramp
    # keys; max_concurrency then caps the journeys in flight (min_concurrency is 0 and unused).
    min_rate: float | None = None
    max_rate: float | None = None
    arrivals: str = "uniform"  # "uniform" | "poisson"

    @property
    def open(self) -> bool:
        return self.min_rate is not None

    @property
    def model(self) -> str:
        return "open" if self.open else "closed"
    # Every request file with where it was found: "config" (next to the config) or "cwd" (the working
    # directory). A list mixes YAML steps and Python functions in one pool.
    request_files: tuple[tuple[Path, str], ...] = ()
    data: Any = None  # journeys.data.DataSpec: rows for the users (row.<column>, ctx.row)
    on_start: tuple[RequestConfig, ...] = ()  # setup steps each user runs once before its loop
    cookies: bool = True  # a cookie jar per user for its HTTP requests
    # Each user's starting variables: the template names nothing defines in a scenario of the original's
    # format (its examples' {{auth_token}}), from the environment or as written (journey.check_journey_names).
    vars: tuple[tuple[str, str], ...] = ()

    @property
    def request_file(self) -> Path | None:
        """The (first) request file, None when the requests came from --request-config."""
        return self.request_files[0][0] if self.request_files else None

    @property
    def request_file_base(self) -> str | None:
        return self.request_files[0][1] if self.request_files else None

    @property
    def recorded(self) -> tuple[RequestConfig, ...]:
        """Every request the scenario records: its on_start steps, then its requests (each name once)."""
        if not self.on_start:
            return self.requests
        seen: dict[str, RequestConfig] = {}
        for req in (*self.on_start, *self.requests):
            seen.setdefault(req.name, req)
        return tuple(seen.values())


@dataclass(frozen=True)
class PhaseConfig:
    name: str
    run_time: float
    scenarios: tuple[ScenarioConfig, ...]


@dataclass(frozen=True)
class PluginSpec:
    """One entry of ``runs.plugins`` (or a ``--plugin NAME``): a plugin file or an installed entry point."""

    name: str | None = None  # entry-point name in the "gradual.plugins" group
    path: Path | None = None  # a plugin file (shipped to workers in the bundle)
    required: bool = False  # a failure at any stage aborts the run (exit 3) instead of being reported
    options: Mapping[str, Any] = field(default_factory=dict)  # handed to the plugin as self.options
    origin: str = "config"  # "config" or "cli" (--plugin); cli names travel to workers in bundle options

    @property
    def label(self) -> str:
        return self.name if self.path is None else str(self.path)


@dataclass(frozen=True)
class RunConfig:
    name: str
    phases: tuple[PhaseConfig, ...]
    wait_between_phases: float = 0.0
    stop_timeout: float = 5.0
    source: Path = Path(".")
    request_config: Path | None = None
    files: tuple[Path, ...] = ()  # every file the run reads: config, request and plugin files (the bundle)
    thresholds: tuple[Threshold, ...] = ()
    plugins: tuple[PluginSpec, ...] = ()  # runs.plugins, then --plugin names
    overrides: Overrides = field(default_factory=Overrides, compare=False)  # --host, --set ...: workers get them
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # What loading warned about (the run goes on, differently from what the file says); shown once by
    # `validate` and `run` (gradual.validate.print_config_warnings).
    warnings: tuple[ConfigIssue, ...] = field(default=(), compare=False)
    # The working directory a request_file was found in (the original's rule), else None: the bundle
    # carries it so a worker resolves the same names to the same files.
    cwd: Path | None = None

    def phase(self, name: str) -> PhaseConfig:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    @property
    def host(self) -> str | None:
        """The --host (GRADUAL_HOST) base URL every request was moved to, or None."""
        return None if self.overrides.host is None else self.overrides.host.value

    @property
    def all_requests(self) -> list[RequestConfig]:
        seen: dict[str, RequestConfig] = {}
        for phase in self.phases:
            for scenario in phase.scenarios:
                for req in (*scenario.on_start, *scenario.requests):
                    seen.setdefault(req.name, req)
        return list(seen.values())
