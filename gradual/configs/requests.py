"""Request definitions: entries of a YAML request config, or decorated functions of a Python request file.

Both produce ``RequestConfig`` objects keyed by request name. A Python file is imported in isolation
under a unique module name, so two files with the same stem in different folders never collide.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from .. import events
from . import journey
from .checks import Checker
from .decorators import DecoratorError, collecting
from .errors import ConfigError, ConfigIssue, did_you_mean, type_name
from .model import HTTP, PYTHON, WEBSOCKET, AuthConfig, RequestConfig
from .yamlfile import absolute, file_problem, line_of, load_yaml

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SCHEMES = {"http": HTTP, "https": HTTP, "ws": WEBSOCKET, "wss": WEBSOCKET}
REQUEST_KEYS = (
    "url", "method", "http_method", "params", "headers", "expected_response_time", "auth", "type",
    "timeout", "body", "json", "message", "expect", "websocket_config", "verify", "ca_file", "connect_timeout",
    "extract", "follow_redirects",
)
AUTH_KEYS = ("type", "token_env", "username_env", "password_env", "token", "username", "password")
TEMPLATE_KEYS = ("url", "params", "headers", "body", "json", "auth", "message", "websocket_config", "expect")
WEBSOCKET_CONFIG_KEYS = ("message_template", "message", "expect", "message_interval", "max_messages", "close_after")
DEFAULT_TOKEN_ENV = "GRADUAL_AUTH_TOKEN"
DEFAULT_USERNAME_ENV = "GRADUAL_AUTH_USERNAME"
DEFAULT_PASSWORD_ENV = "GRADUAL_AUTH_PASSWORD"


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(check: Checker, text: str, path: str, line: int | None) -> str:
    """Expand ``${NAME}`` and ``${NAME:-default}`` so one config can aim at different hosts."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                check.error(path, f"environment variable {name} is not set (write ${{{name}:-default}} "
                            "to give a default)", line)
                return ""
            return default
        return value

    return _ENV_REF.sub(sub, text)


def parse_auth(check: Checker, entry: dict, path: str) -> AuthConfig | None:
    """``auth: bearer|basic`` (credentials from the environment), ``auth: {type: bearer, token: ...}``,
    ``auth: {type: basic, username: ..., password: ...}`` or a whole header value ``"Bearer {{ token }}"``."""
    value = entry.get("auth")
    line = line_of(entry, "auth")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in ("bearer", "basic"):
        value = {"type": value.strip()}
    elif isinstance(value, str):
        header = journey.auth_template(check, value, path, line)
        return None if header is None else AuthConfig("template", header=header)
    if not isinstance(value, dict):
        check.error(path, f"expected null, 'bearer', 'basic', a header value or a mapping, found {type_name(value)}",
                    line)
        return None
    check.keys(value, AUTH_KEYS, path)
    kind = str(value.get("type", "")).lower()
    if kind == "bearer" and "token" in value:
        header = journey.auth_template(check, value, path, line)
        return None if header is None else AuthConfig("template", header=header)
    if kind == "basic" and ("username" in value or "password" in value):
        header = journey.auth_template(check, value, path, line)
        return None if header is None else AuthConfig("template", header=header)
    if kind == "bearer":
        return AuthConfig("bearer", token_env=str(value.get("token_env") or DEFAULT_TOKEN_ENV))
    if kind == "basic":
        return AuthConfig(
            "basic",
            username_env=str(value.get("username_env") or DEFAULT_USERNAME_ENV),
            password_env=str(value.get("password_env") or DEFAULT_PASSWORD_ENV),
        )
    check.error(f"{path}.type", f"unsupported auth type {value.get('type')!r} (use bearer or basic)", line)
    return None


def _split(url: str) -> SplitResult | None:
    """``urlsplit`` that answers None for a malformed URL (``http://[::1``) instead of raising.

    A templated url is split at its origin (``http://h:8080{{ next }}``: the template starts the path)."""
    if "{{" in url:
        from ..journeys.request import split_target

        url = split_target(url)[0]
    try:
        return urlsplit(url)
    except ValueError:
        return None


_HOST_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")  # \w: internationalized names too


def _netloc_problem(parts: SplitResult) -> str | None:
    """A port outside 1-65535 or a host no resolver would take, in a URL that has a host."""
    try:
        port = parts.port
    except ValueError:
        return "a port outside 1-65535"
    if port == 0:
        return "port 0 (use 1-65535)"
    host = parts.hostname or ""
    if not host:
        return "no host"
    if "{" in host or "$" in host:
        return None  # filled in later (a template): checked when the request is made
    if ":" in host:  # an IPv6 literal: urlsplit took it from between brackets
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"an invalid IPv6 address {host!r}"
        return None
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        return f"an invalid host name {host[:80]!r}"
    return None


def parse_request_entry(
    check: Checker, name: str, entry: Any, path: str, source: str, line: int | None = None
) -> RequestConfig | None:
    """One entry of a YAML request config; issues go to ``check``. ``line`` is where the entry's name is."""
    if not isinstance(entry, dict):
        check.error(path, f"expected a mapping with at least a url, found {type_name(entry)}", line)
        return None
    before = len(check.issues)
    check.keys(entry, REQUEST_KEYS, path)
    url = check.string(entry, "url", f"{path}.url", required=True, default="")
    if url:
        raw_url = url
        parts = _split(raw_url)
        if parts is None:
            check.error(f"{path}.url", f"not a valid URL: {raw_url!r}", line_of(entry, "url"))
            url = ""
        elif parts.password and "${" not in raw_url.partition("@")[0]:
            check.error(f"{path}.url", "credentials are never read from the file: remove user:password@ from "
                        "the url and use auth with username_env/password_env", line_of(entry, "url"))
            url = ""
        else:
            expanded = len(check.issues)
            url = expand_env(check, url, f"{path}.url", line_of(entry, "url"))
            if len(check.issues) > expanded:
                url = ""  # already reported; a scheme error on the half-expanded url would only add noise
    if "method" in entry and "http_method" in entry:
        check.error(f"{path}.http_method", "give either method or http_method, not both",
                    line_of(entry, "http_method"))
    method_key = "http_method" if "http_method" in entry else "method"
    method = str(check.string(entry, method_key, f"{path}.{method_key}", default="GET")).upper()
    kind = HTTP
    parts = _split(url) if url else None
    if url and parts is None:
        check.error(f"{path}.url", f"not a valid URL: {url!r}", line_of(entry, "url"))
    elif url and parts is not None:
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            shown = f"'{scheme}'" if scheme else "none"
            check.error(f"{path}.url",
                        f"unsupported URL scheme {shown} in {url!r} (use http, https, ws or wss)",
                        line_of(entry, "url"))
        else:
            kind = SCHEMES[scheme]
            if not parts.netloc:
                check.error(f"{path}.url", f"no host in {url!r} (write {scheme}://host:port/path)",
                            line_of(entry, "url"))
            elif (problem := _netloc_problem(parts)) is not None:
                check.error(f"{path}.url", f"{problem} in {url!r}", line_of(entry, "url"))
            if method == "WEBSOCKET" and kind != WEBSOCKET:
                check.error(f"{path}.url", f"method WEBSOCKET needs a ws:// or wss:// url, found {url!r}",
                            line_of(entry, "url"))
    if kind == HTTP and method not in HTTP_METHODS and method != "WEBSOCKET":
        check.error(f"{path}.{method_key}",
                    f"unsupported HTTP method {method!r} (use {', '.join(HTTP_METHODS)})",
                    line_of(entry, method_key))
    params = entry.get("params")
    if params is not None and not isinstance(params, dict):
        check.error(f"{path}.params", f"expected a mapping, found {type_name(params)}",
                    line_of(entry, "params"))
    headers = check.str_map(entry, "headers", f"{path}.headers")
    expected = check.duration(entry, "expected_response_time", f"{path}.expected_response_time")
    if expected == 0:
        # The original accepted 0; no response is within 0 s, so it can only mean "no expectation".
        check.warn(f"{path}.expected_response_time", "0 sets no expectation: within_expected_ratio is not "
                   "reported for this request (omit the key to say so)", line_of(entry, "expected_response_time"))
        expected = None
    timeout = check.duration(entry, "timeout", f"{path}.timeout", positive=True, default=30.0)
    auth = parse_auth(check, entry, f"{path}.auth")
    label = check.string(entry, "type", f"{path}.type")
    if "body" in entry and "json" in entry:
        check.error(f"{path}.json", "give either body or json, not both", line_of(entry, "json"))
    body = entry.get("json", entry.get("body"))
    message = check.string(entry, "message", f"{path}.message")
    http_expect = None
    if kind == HTTP and "expect" in entry and entry["expect"] is not None:
        http_expect = journey.parse_expect(check, entry["expect"], f"{path}.expect", line_of(entry, "expect"))
        expect = None
    else:
        expect = check.string(entry, "expect", f"{path}.expect")
    extract: tuple = ()
    if "extract" in entry:
        extract = journey.parse_extract(check, entry["extract"], f"{path}.extract", line_of(entry, "extract"))
    redirects = check.number(entry, "follow_redirects", f"{path}.follow_redirects", integer=True, minimum=0,
                             default=0)
    if redirects and redirects > journey.MAX_REDIRECTS:
        check.error(f"{path}.follow_redirects", f"at most {journey.MAX_REDIRECTS}, found {redirects}",
                    line_of(entry, "follow_redirects"))
    ws_config = check.mapping(entry, "websocket_config", f"{path}.websocket_config", required=False)
    if ws_config:
        check.keys(ws_config, WEBSOCKET_CONFIG_KEYS, f"{path}.websocket_config")
        message = check.string(ws_config, "message_template", f"{path}.websocket_config.message_template",
                               default=check.string(ws_config, "message", f"{path}.websocket_config.message",
                                                    default=message))
        expect = check.string(ws_config, "expect", f"{path}.websocket_config.expect", default=expect)
    ws_path = f"{path}.websocket_config"
    interval = check.duration(ws_config or {}, "message_interval", f"{ws_path}.message_interval", default=0.0)
    max_messages = check.number(ws_config or {}, "max_messages", f"{ws_path}.max_messages", integer=True,
                                minimum=1)
    close_after = check.duration(ws_config or {}, "close_after", f"{ws_path}.close_after", positive=True)
    connect_timeout = check.duration(entry, "connect_timeout", f"{path}.connect_timeout", positive=True)
    verify = check.boolean(entry, "verify", f"{path}.verify", default=True)
    ca_file = _ca_file(check, entry, path, source)
    secure = url.lower().startswith(("https:", "wss:"))
    for key in ("verify", "ca_file"):
        if key in entry and url and not secure:
            check.error(f"{path}.{key}", "only applies to https:// and wss:// requests", line_of(entry, key))
    if "verify" in entry and verify is False and "ca_file" in entry:
        check.error(f"{path}.ca_file", "give either verify: false or ca_file, not both", line_of(entry, "ca_file"))
    journey.check_message_template(check, message, f"{path}.message", line_of(entry, "message"))
    if (extract or redirects) and kind != HTTP and url:
        key = "extract" if extract else "follow_redirects"
        check.error(f"{path}.{key}", "only applies to HTTP requests (http:// or https:// url)", line_of(entry, key))
    template = None
    if kind == HTTP and url:
        template = journey.compile_http(
            check, entry, path, method=method, url=url, params=params if isinstance(params, dict) else None,
            headers=headers or {}, body=body, json_body="json" in entry,
            auth=auth.header if auth is not None and auth.kind == "template" else None,
        )
    if (message is not None or expect is not None or ws_config) and kind != WEBSOCKET and url:
        key = "message" if message is not None else "expect" if expect is not None else "websocket_config"
        check.error(f"{path}.{key}", "only applies to WebSocket requests (ws:// or wss:// url)",
                    line_of(entry, key))
    if len(check.issues) > before:
        return None
    return RequestConfig(
        name=name,
        kind=kind,
        url=url,
        method="GET" if kind == WEBSOCKET else method,
        params=dict(params) if params else None,
        headers=headers or {},
        expected_response_time=None if expected is None else float(expected),
        auth=auth,
        timeout=float(timeout),
        type=label,
        body=body,
        message=message,
        expect=expect,
        verify=verify,
        ca_file=ca_file,
        connect_timeout=None if connect_timeout is None else float(connect_timeout),
        message_interval=float(interval),
        max_messages=None if max_messages is None else int(max_messages),
        close_after=None if close_after is None else float(close_after),
        template=template,
        checks=http_expect,
        extract=extract,
        follow_redirects=int(redirects or 0),
        uses=journey.collect_uses(entry, path, TEMPLATE_KEYS),
        source=source,
    )


# Where a ca_file is looked for after its request file's folder: the working directory load() was given (on a
# worker, the master's inside the bundle), and the CA files found only there, so the run records that it needs
# that folder (RunConfig.cwd) and its workers resolve them against the shipped copy, as the master did.
_ca_search: ContextVar[tuple[Path, list[Path]] | None] = ContextVar("ca_search", default=None)


@contextmanager
def ca_search(cwd: Path) -> Iterator[list[Path]]:
    """While loading one run: ca_file's second place is ``cwd``; yields the CA files found only there."""
    found: list[Path] = []
    token = _ca_search.set((cwd, found))
    try:
        yield found
    finally:
        _ca_search.reset(token)


def _ca_file(check: Checker, entry: dict, path: str, source: str) -> str | None:
    """``ca_file`` resolved against the request file that names it, then the working directory."""
    rel = check.string(entry, "ca_file", f"{path}.ca_file")
    if not rel:
        if rel == "":
            check.error(f"{path}.ca_file", "is empty (give the path of a PEM file of CA certificates)",
                        line_of(entry, "ca_file"))
        return None
    search = _ca_search.get()
    cwd = search[0] if search is not None else Path.cwd()
    for base in (Path(source).parent, cwd):
        candidate = absolute(base / rel)
        if file_problem(candidate) is None:
            if base is cwd and search is not None:
                search[1].append(candidate)
            return str(candidate)
    check.error(f"{path}.ca_file", f"file not found: {rel} (looked next to {Path(source).name} and in the "
                "working directory)", line_of(entry, "ca_file"))
    return None


def request_data_files(requests: dict[str, RequestConfig]) -> list[Path]:
    """Files the requests read at run time (CA files): they travel to workers in the bundle."""
    return sorted({Path(req.ca_file) for req in requests.values() if req.ca_file})


def load_request_yaml(path: Path, warnings: list[ConfigIssue] | None = None) -> dict[str, RequestConfig]:
    """The requests of a YAML request file; its warnings are appended to ``warnings``."""
    data = load_yaml(path)
    check = Checker(path)
    requests: dict[str, RequestConfig] = {}
    if not isinstance(data, dict):
        check.error("", f"expected a mapping with a 'requests' key, found {type_name(data)}")
        raise ConfigError(check.issues)
    check.keys(data, ("requests",), "")
    entries = check.mapping(data, "requests", "requests")
    if entries is not None and not entries:
        check.error("requests", "defines no request", line_of(data, "requests"))
    for name, entry in (entries or {}).items():
        req = parse_request_entry(check, str(name), entry, f"requests.{name}", str(path),
                                  line_of(entries, name))
        if req is not None:
            requests[str(name)] = req
    if warnings is not None:
        warnings.extend(check.warnings)
    if check.issues:
        raise ConfigError(check.issues, check.warnings)
    return requests


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"gradual_requestfile_{stem}_{digest}"


def _import_error(path: Path, exc: BaseException) -> ConfigError:
    if isinstance(exc, SyntaxError):
        # The syntax error may be in a helper module the request file imports: name that file.
        where = Path(exc.filename) if exc.filename and not exc.filename.startswith("<") else path
        kind = type(exc).__name__.replace("Error", " error").lower()  # syntax / indentation / tab error
        return ConfigError.single(where, "", f"{kind}: {exc.msg}", exc.lineno)
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    if isinstance(exc, DecoratorError):
        # A function's own line is exact on every Python version; the frame line of a decorator
        # application is the `@` line on some and the `def` line on others.
        return ConfigError.single(path, exc.key, str(exc), exc.line or line)
    return ConfigError.single(path, "", f"error while importing: {type(exc).__name__}: {exc}", line)


_helpers: dict[Path, set[Path]] = {}  # request-file folder -> helper modules imported from below it


def _note_helpers(path: Path, modules: Any) -> None:
    """Remember modules a request file imported from its own folder: workers need them in the bundle."""
    folder = path.parent.resolve()
    found = _helpers.setdefault(folder, set())
    for module in modules:
        file = getattr(module, "__file__", None)
        if file and file.endswith(".py"):
            resolved = Path(file).resolve()
            if resolved.is_relative_to(folder) and resolved != path.resolve():
                found.add(resolved)


def helper_files(path: Path) -> list[Path]:
    """Python modules that request files in ``path``'s folder imported from that folder (sorted)."""
    return sorted(_helpers.get(path.parent.resolve(), ()))


def request_file_owner(path: Path) -> str:
    """The events owner of the listeners a request file registers."""
    return f"request file {path.resolve()}"


def load_request_module(path: Path) -> dict[str, RequestConfig]:
    """Import a Python request file in isolation and build a RequestConfig per @request function."""
    if not path.is_file():
        raise ConfigError.single(path, "", "file not found")
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError.single(path, "", "cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    # Helpers next to the request file should import as they would when run as a script.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    sys.modules[name] = module
    before = set(sys.modules)
    # Listeners a request file adds at import belong to it, so a worker serving run after run can
    # drop them with the file's bundle instead of firing them once more per run.
    with collecting() as found, events.owned_by(request_file_owner(path)):
        try:
            spec.loader.exec_module(module)
        except KeyboardInterrupt:
            sys.modules.pop(name, None)
            raise
        except BaseException as exc:  # any import-time failure, SystemExit included, is the user's file
            sys.modules.pop(name, None)
            raise _import_error(path, exc) from None
    _note_helpers(path, (sys.modules[m] for m in set(sys.modules) - before - {name}))
    issues: list[ConfigIssue] = []
    by_name: dict[str, Any] = {}
    for spec_ in found.requests:
        if spec_.name in by_name:
            first = by_name[spec_.name].line
            issues.append(ConfigIssue(str(path), f"@request {spec_.name}",
                                      f"duplicate request name (first defined at line {first}): "
                                      "give each @request a unique name", spec_.line))
            continue
        by_name[spec_.name] = spec_
    callbacks: dict[str, list] = {n: [] for n in by_name}
    for cb in found.callbacks:
        if cb.name not in by_name:
            hint = did_you_mean(cb.name, by_name)
            issues.append(ConfigIssue(str(path), f"@on_call_completion {cb.name}",
                                      f"no @request named {cb.name!r} in this file{hint}", cb.line))
            continue
        callbacks[cb.name].append(cb.function)
    if not by_name and not issues:
        issues.append(ConfigIssue(str(path), "", "defines no @request function"))
    check = Checker(path)
    result: dict[str, RequestConfig] = {}
    for req_name, rs in by_name.items():
        key = f"@request {req_name}"
        method = rs.http_method.upper()
        if method not in HTTP_METHODS and method != "WEBSOCKET":
            check.error(key, f"unsupported http_method {rs.http_method!r} (use {', '.join(HTTP_METHODS)})",
                        rs.line)
        auth = parse_auth(check, {"auth": rs.auth}, f"{key}.auth") if rs.auth is not None else None
        result[req_name] = RequestConfig(
            name=req_name,
            kind=PYTHON,
            url=rs.url,
            method=method,
            params=rs.params,
            expected_response_time=rs.expected_response_time,
            auth=auth,
            type=rs.type,
            function=rs.function,
            callbacks=tuple(callbacks[req_name]),
            source=str(path),
        )
    issues.extend(check.issues)
    if issues:
        raise ConfigError(issues)
    return result


_cache: dict[tuple[Path, str], dict[str, RequestConfig]] = {}


def load_request_file(path: Path, warnings: list[ConfigIssue] | None = None) -> dict[str, RequestConfig]:
    """Requests of a .py or .yaml/.yml file; a .py file is imported once per (path, content).

    A YAML file's warnings are appended to ``warnings``."""
    path = absolute(path)
    problem = file_problem(path)
    if problem is not None:
        raise ConfigError.single(path, "", problem)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError.single(path, "", "file not found") from None
    except OSError as exc:
        raise ConfigError.single(path, "", f"cannot read file: {exc}") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        # Not cached: ${VAR} expansion depends on the environment, which may change between loads.
        return load_request_yaml(path, warnings)
    if suffix != ".py":
        raise ConfigError.single(path, "", "unsupported request file type (use .py, .yaml or .yml)")
    key = (path, hashlib.sha256(data).hexdigest())
    if key not in _cache:  # a module is imported once per content: its import-time code runs once
        _cache[key] = load_request_module(path)
    return _cache[key]


def forget_request_file(path: Path) -> None:
    """Drop what loading ``path`` left in this process (its imported module), so the next load imports it
    afresh: ``gradual.run()`` leaves no run behind."""
    path = Path(path).resolve()
    for key in [k for k in _cache if k[0] == path]:
        del _cache[key]
    sys.modules.pop(_module_name(path), None)
