"""Command-line and environment overrides of a test config, in the habits of Locust and k6.

``--host`` (``-H``), ``--run-time`` (``-t``, ``--duration``), ``--users`` (``-u``, ``--vus``), ``--spawn-rate``
(``-r``) and ``--set KEY.PATH=VALUE`` change the raw parsed YAML before validation, so an overridden value is
checked by exactly the code that checks the file; an error about a value an override wrote names the flag
(``--set runs.phases.p1.run_time=abc: expected ...``) instead of a line of the file. ``--host`` is the one
override applied after parsing: it rewrites the URL each request ended up with (``${VAR}`` expanded).

The master ships its Overrides to the workers in the bundle options (``to_wire``/``from_wire``), and every
worker applies them to the same files, so the config a worker loads equals the master's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from .errors import ConfigIssue, did_you_mean, type_name

ENV_HOST = "GRADUAL_HOST"
ENV_RUN_TIME = "GRADUAL_RUN_TIME"
ENV_USERS = "GRADUAL_USERS"
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_OPEN_MODEL_KEYS = ("min_rate", "max_rate")  # an open-model scenario: --users leaves it alone
_SECURE = {"https": True, "wss": True, "http": False, "ws": False}
MAX_WIRE_SETS = 1000  # more --set pairs than anyone types: a malformed bundle, not a config


@dataclass(frozen=True)
class Override:
    """One value: what it is, and where it came from (``--host URL`` or ``GRADUAL_HOST=URL``), for errors."""

    value: str
    origin: str


@dataclass(frozen=True)
class Overrides:
    host: Override | None = None
    run_time: Override | None = None
    users: Override | None = None
    spawn_rate: Override | None = None
    sets: tuple[Override, ...] = field(default=())  # each value is "KEY.PATH=VALUE"

    def __bool__(self) -> bool:
        return any((self.host, self.run_time, self.users, self.spawn_rate, self.sets))

    def describe(self) -> list[str]:
        """One line per override, as the user gave it (validate prints them above the plan)."""
        return [o.origin for o in (self.host, self.run_time, self.users, self.spawn_rate, *self.sets) if o]

    # -- the wire (bundle options): plain strings, so msgpack carries them and a worker re-applies them --
    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("host", "run_time", "users", "spawn_rate"):
            o = getattr(self, name)
            if o is not None:
                out[name] = [o.value, o.origin]
        if self.sets:
            out["set"] = [[o.value, o.origin] for o in self.sets]
        return out

    @classmethod
    def from_wire(cls, data: Any) -> Overrides:
        """The inverse of to_wire; a malformed value raises ValueError (the worker refuses the bundle)."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError("bundle options.overrides: expected a mapping")

        def one(item: Any, where: str) -> Override:
            if (not isinstance(item, (list, tuple)) or len(item) != 2
                    or not all(isinstance(x, str) for x in item)):
                raise ValueError(f"bundle options.overrides.{where}: expected [value, origin] strings")
            return Override(item[0], item[1])

        unknown = set(data) - {"host", "run_time", "users", "spawn_rate", "set"}
        if unknown:
            raise ValueError(f"bundle options.overrides: unknown key {sorted(map(str, unknown))[0]!r}")
        sets = data.get("set", [])
        if not isinstance(sets, list) or len(sets) > MAX_WIRE_SETS:
            raise ValueError("bundle options.overrides.set: expected a list of [value, origin]")
        return cls(
            **{k: one(data[k], k) for k in ("host", "run_time", "users", "spawn_rate") if k in data},
            sets=tuple(one(item, "set") for item in sets),
        )


def from_sources(
    flags: Mapping[str, str | None], set_pairs: Iterable[str], environ: Mapping[str, str],
) -> Overrides:
    """Overrides from flags (``host``, ``run_time``, ``users``, ``spawn_rate``) over the environment.

    Precedence: the file < GRADUAL_HOST / GRADUAL_RUN_TIME / GRADUAL_USERS < the flags. An empty
    environment variable counts as unset.
    """
    spelled = {"host": "--host", "run_time": "--run-time", "users": "--users", "spawn_rate": "--spawn-rate"}
    env_names = {"host": ENV_HOST, "run_time": ENV_RUN_TIME, "users": ENV_USERS}
    values: dict[str, Override] = {}
    for name, flag in spelled.items():
        given = flags.get(name)
        if given is not None:
            values[name] = Override(given, f"{flag} {given}")
        elif name in env_names and environ.get(env_names[name]):
            text = environ[env_names[name]]
            values[name] = Override(text, f"{env_names[name]}={text}")
    return Overrides(**values, sets=tuple(Override(pair, f"--set {pair}") for pair in set_pairs))


# -- applying them to the raw test config ---------------------------------------------------------------


def apply(data: Any, overrides: Overrides) -> tuple[dict[str, str], list[ConfigIssue]]:
    """Change ``data`` (the parsed test config) in place: ({key path written: origin}, issues).

    The issues are overrides that could not be applied (a --set path that leads nowhere, a value that is
    not YAML), each naming its flag. Values are checked afterwards, by the loader, like the file's own.
    """
    written: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    phases = _phases(data)
    if overrides.run_time is not None:
        value = _scalar(overrides.run_time, issues)
        for name, phase in phases.items():
            if isinstance(phase, dict):
                phase["run_time"] = value
                written[f"runs.phases.{name}.run_time"] = overrides.run_time.origin
    for path, scen in _closed_scenarios(phases):
        if overrides.users is not None:
            users = _scalar(overrides.users, issues)
            scen["max_concurrency"] = users
            written[f"{path}.max_concurrency"] = overrides.users.origin
            low = scen.get("min_concurrency")
            if _is_int(users) and _is_int(low) and low > users:
                scen["min_concurrency"] = users
                written[f"{path}.min_concurrency"] = overrides.users.origin
        if overrides.spawn_rate is not None:
            rate = _spawn_rate(overrides.spawn_rate, issues)
            if rate is not None:
                # Locust's spawn rate: one user every 1/R seconds, from min_concurrency up to max_concurrency.
                scen.pop("ramp_up_multiply", None)
                scen["ramp_up_add"] = 1
                scen["ramp_up_wait"] = round(1.0 / rate, 6)
                for key in ("ramp_up_add", "ramp_up_wait"):
                    written[f"{path}.{key}"] = overrides.spawn_rate.origin
    for o in overrides.sets:
        path = _set_one(data, o, issues)
        if path is not None:
            written[path] = o.origin
    return written, _unique(issues)


def attribute(issues: Iterable[ConfigIssue], written: Mapping[str, str], file: str) -> list[ConfigIssue]:
    """Issues about a value an override wrote, re-addressed to that override (``--run-time abc: ...``)."""
    out = []
    for issue in issues:
        origin = _origin_of(issue, written, file)
        out.append(issue if origin is None else ConfigIssue(origin, "", issue.message))
    return _unique(out)


def _origin_of(issue: ConfigIssue, written: Mapping[str, str], file: str) -> str | None:
    if issue.file != file:
        return None
    for path, origin in written.items():
        if issue.key == path or issue.key.startswith((path + ".", path + "[")):
            return origin
    return None


def _unique(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    return list(dict.fromkeys(issues))


def _phases(data: Any) -> dict:
    runs = data.get("runs") if isinstance(data, dict) else None
    phases = runs.get("phases") if isinstance(runs, dict) else None
    return phases if isinstance(phases, dict) else {}


def _closed_scenarios(phases: dict) -> list[tuple[str, dict]]:
    out = []
    for phase_name, phase in phases.items():
        scenarios = phase.get("scenarios") if isinstance(phase, dict) else None
        for scen_name, scen in (scenarios or {}).items() if isinstance(scenarios, dict) else ():
            if isinstance(scen, dict) and not any(k in scen for k in _OPEN_MODEL_KEYS):
                out.append((f"runs.phases.{phase_name}.scenarios.{scen_name}", scen))
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scalar(o: Override, issues: list[ConfigIssue], text: str | None = None) -> Any:
    """A value as YAML reads it (``10`` an integer, ``10s`` a string, ``[1, 2]`` a list)."""
    text = o.value if text is None else text
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        issues.append(ConfigIssue(o.origin, "", f"cannot read the value {text!r}: {problem}"))
        return None


def _spawn_rate(o: Override, issues: list[ConfigIssue]) -> float | None:
    try:
        rate = float(o.value)
    except ValueError:
        rate = -1.0
    if not rate > 0 or rate == float("inf"):
        issues.append(ConfigIssue(o.origin, "", "expected a number of users started per second, greater than 0"))
        return None
    return rate


def _set_one(data: Any, o: Override, issues: list[ConfigIssue]) -> str | None:
    """Apply one ``KEY.PATH=VALUE``; the canonical key path it wrote, or None (an issue was added)."""
    path_text, eq, value_text = o.value.partition("=")
    steps = _parse_path(path_text.strip()) if eq else None
    if steps is None:
        issues.append(ConfigIssue(o.origin, "", "expected KEY.PATH=VALUE, e.g. runs.phases.p1.run_time=10s"))
        return None
    before = len(issues)
    value = _scalar(o, issues, value_text)
    if len(issues) > before:
        return None
    node: Any = data
    where = ""
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        here = f"{where}[{step}]" if isinstance(step, int) else (f"{where}.{step}" if where else step)
        if isinstance(step, int):
            if not isinstance(node, list):
                issues.append(ConfigIssue(o.origin, "", f"{where or 'the config'} is {type_name(node)}, not a list"))
                return None
            if step >= len(node):
                issues.append(ConfigIssue(o.origin, "", f"{where} has {len(node)} item(s), no index {step}"))
                return None
            if last:
                node[step] = value
            node = node[step]
        else:
            if not isinstance(node, dict):
                issues.append(ConfigIssue(o.origin, "", f"{where or 'the config'} is {type_name(node)}, "
                                          "not a mapping"))
                return None
            key = _existing_key(node, step)
            if last:
                node[key] = value
            elif key not in node:
                hint = did_you_mean(step, [str(k) for k in node])
                issues.append(ConfigIssue(o.origin, "", f"no key {here} in the config{hint}"))
                return None
            node = node[key]
        where = here
    return where


def _existing_key(node: dict, step: str) -> Any:
    """The key as the file has it: a phase named ``2024`` is the integer key 2024 in the YAML."""
    for key in node:
        if str(key) == step:
            return key
    return step


def _parse_path(text: str) -> list[str | int] | None:
    """``runs.phases.p1.scenarios.s1.ramp_up_wait[0]`` -> ['runs', 'phases', 'p1', ..., 'ramp_up_wait', 0]."""
    if not text:
        return None
    steps: list[str | int] = []
    for part in text.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            return None
        steps.append(match.group(1))
        steps.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return steps


# -- --host: the URL of every request -----------------------------------------------------------------


def check_host(o: Override) -> str | None:
    """The problem with a --host value, or None: scheme://host[:port], nothing after it but a '/'."""
    try:
        parts = urlsplit(o.value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme.lower() not in _SECURE or not parts.hostname:
        return "expected scheme://host[:port] with scheme http, https, ws or wss (e.g. http://127.0.0.1:8080)"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "give only scheme://host[:port]: --host replaces the scheme, host and port of each URL, not its path"
    if parts.username or parts.password:
        return "credentials are never read from the command line: use auth with environment variables"
    return None


def with_host(url: str, host: str) -> str:
    """``url`` with the scheme, host and port of ``host``; its path, query and fragment stay.

    The kind of the request stays: an http(s) URL takes http or https, a ws(s) URL ws or wss, after
    whether ``host`` is secure (https/wss). A URL that does not parse is returned unchanged.
    """
    if not url:
        return url
    if "{{" in url:  # a templated path (journeys): move the origin, keep the template text as it is
        from ..journeys.request import split_target

        origin, rest = split_target(url)
        return with_host(origin, host).rstrip("/") + rest if origin != url else url
    try:
        parts = urlsplit(url)
        base = urlsplit(host)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    secure = _SECURE.get(base.scheme.lower(), False)
    websocket = parts.scheme.lower() in ("ws", "wss")
    scheme = ("wss" if secure else "ws") if websocket else ("https" if secure else "http")
    return urlunsplit((scheme, base.netloc, parts.path, parts.query, parts.fragment))


def host_requests(requests: Mapping[str, Any], host: str) -> dict[str, Any]:
    """Each RequestConfig with its url (a Python request's labelled url too) moved to ``host``."""
    return {name: replace(req, url=with_host(req.url, host)) for name, req in requests.items()}
