"""Journey keys of requests (expect, extract, follow_redirects, templates, auth forms) and of scenarios
(data, on_start, cookies), validated with file:line and key path like every other key.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..journeys.checks import Expect, HeaderCheck, JsonCheck, compile_path
from ..journeys.data import ON_EXHAUSTED, ORDERS, SCOPES, DataFileError, DataSpec, read_table
from ..journeys.extract import Extraction, compile_regex
from ..journeys.request import RequestTemplate, compile_request, split_target
from ..journeys.templates import (
    BUILTINS,
    Filler,
    TemplateSyntaxError,
    compile_template,
    compile_value,
    has_template,
    variables,
)
from .checks import Checker
from .errors import did_you_mean, display_path, type_name
from .yamlfile import line_of

EXPECT_KEYS = ("status", "body_contains", "json", "header", "headers")
EXTRACT_SOURCES = ("json", "regex", "header")
DATA_KEYS = ("file", "order", "scope", "on_exhausted")
MAX_REDIRECTS = 30
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_HINT = "write {{ env.NAME }} and set NAME in the environment instead"


def template_names(check: Checker, value: Any, path: str, line: int | None, *, typed: bool = True) -> Filler | None:
    """Compile ``value``'s templates (reporting syntax errors); None when it does not compile."""
    try:
        return compile_value(value, typed=typed)
    except TemplateSyntaxError as exc:
        check.error(path, str(exc), line)
        return None


def parse_expect(check: Checker, value: Any, path: str, line: int | None) -> Expect | None:
    if not isinstance(value, dict):
        check.error(path, "expected a mapping (status, body_contains, json, header) for an HTTP request, "
                    f"found {type_name(value)}", line)
        return None
    check.keys(value, EXPECT_KEYS, path)
    status: tuple[int, ...] | None = None
    raw = value.get("status")
    if raw is not None:
        items = raw if isinstance(raw, list) else [raw]
        good = [s for s in items if isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599]
        if not items or len(good) != len(items):
            check.error(f"{path}.status", f"expected a status code (100-599) or a list of them, found {raw!r}",
                        line_of(value, "status"))
        else:
            status = tuple(good)
    body = check.string(value, "body_contains", f"{path}.body_contains")
    json_checks: list[JsonCheck] = []
    jmap = check.mapping(value, "json", f"{path}.json", required=False)
    for jpath, expected in (jmap or {}).items():
        key = f"{path}.json.{jpath}"
        jline = line_of(jmap, jpath)
        try:
            compiled = compile_path(str(jpath))
        except ValueError as exc:
            check.error(key, str(exc), jline)
            continue
        if isinstance(expected, dict):
            if set(expected) != {"exists"} or not isinstance(expected["exists"], bool):
                check.error(key, "expected a value to compare, or {exists: true} / {exists: false}", jline)
                continue
            json_checks.append(JsonCheck(str(jpath), compiled, None, expected["exists"]))
            continue
        filler = template_names(check, expected, key, jline)
        if filler is not None:
            json_checks.append(JsonCheck(str(jpath), compiled, filler))
    header_checks: list[HeaderCheck] = []
    hkey = "header" if "header" in value else "headers"
    hmap = check.mapping(value, hkey, f"{path}.{hkey}", required=False)
    for name, expected in (hmap or {}).items():
        key = f"{path}.{hkey}.{name}"
        if isinstance(expected, dict):
            if set(expected) != {"exists"} or not isinstance(expected["exists"], bool):
                check.error(key, "expected a value to compare, or {exists: true} / {exists: false}",
                            line_of(hmap, name))
                continue
            header_checks.append(HeaderCheck(str(name), None, expected["exists"]))
            continue
        if isinstance(expected, (list, bool)) or expected is None:
            check.error(key, f"expected a string, found {type_name(expected)}", line_of(hmap, name))
            continue
        filler = template_names(check, str(expected), key, line_of(hmap, name), typed=False)
        if filler is not None:
            header_checks.append(HeaderCheck(str(name), filler))
    return Expect(status, body, tuple(json_checks), tuple(header_checks))


def expect_names(expect: Expect | None) -> frozenset[str]:
    if expect is None:
        return frozenset()
    fillers = [c.expected for c in (*expect.json, *expect.headers) if c.expected is not None]
    return frozenset().union(*(f.names for f in fillers)) if fillers else frozenset()


def parse_extract(check: Checker, value: Any, path: str, line: int | None) -> tuple[Extraction, ...]:
    if not isinstance(value, dict) or not value:
        check.error(path, "expected a mapping of variable names to {json: path}, {regex: pattern} or "
                    f"{{header: Name}}, found {type_name(value)}", line)
        return ()
    out: list[Extraction] = []
    for name, spec in value.items():
        key = f"{path}.{name}"
        nline = line_of(value, name)
        name = str(name)
        if not _IDENT.fullmatch(name) or name in (*BUILTINS, "row", "env"):
            check.error(key, "a variable name is letters, digits and _ (not starting with a digit), and not "
                        f"one of {', '.join((*BUILTINS, 'row', 'env'))}", nline)
            continue
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in EXTRACT_SOURCES:
            check.error(key, "expected exactly one of {json: path}, {regex: pattern} or {header: Name}", nline)
            continue
        source, expression = next(iter(spec.items()))
        if not isinstance(expression, str) or not expression:
            check.error(f"{key}.{source}", f"expected a non-empty string, found {type_name(expression)}", nline)
            continue
        try:
            compiled: Any = (compile_path(expression) if source == "json"
                             else compile_regex(expression) if source == "regex" else None)
        except ValueError as exc:
            check.error(f"{key}.{source}", str(exc), nline)
            continue
        out.append(Extraction(name, source, expression, compiled))
    return tuple(out)


def auth_template(check: Checker, value: Any, path: str, line: int | None) -> Filler | None:
    """The new auth forms: a whole header value (``"Bearer {{ token }}"``), or bearer/basic with the
    credentials in the file (templates, or literals accepted with a warning)."""
    if isinstance(value, str):
        filler = template_names(check, value, path, line, typed=False)
        if filler is not None and filler.static:
            check.warn(path, f"a literal Authorization value is a secret in the file: {SECRET_HINT}", line)
        return filler
    kind = str(value.get("type", "")).lower()
    if kind == "bearer":
        token = value.get("token")
        if not isinstance(token, str) or not token:
            check.error(f"{path}.token", f"expected a string, found {type_name(token)}", line_of(value, "token"))
            return None
        filler = template_names(check, f"Bearer {token}", f"{path}.token", line_of(value, "token"), typed=False)
        if filler is not None and not has_template(token):
            check.warn(f"{path}.token", f"a literal token is a secret in the file: {SECRET_HINT}",
                       line_of(value, "token"))
        return filler
    fields: dict[str, Filler] = {}
    for part in ("username", "password"):
        raw = value.get(part)
        if not isinstance(raw, str):
            check.error(f"{path}.{part}", f"expected a string, found {type_name(raw)}", line_of(value, part))
            return None
        filler = template_names(check, raw, f"{path}.{part}", line_of(value, part), typed=False)
        if filler is None:
            return None
        fields[part] = filler
    if not has_template(str(value.get("password"))):
        check.warn(f"{path}.password", f"a literal password is a secret in the file: {SECRET_HINT}",
                   line_of(value, "password"))
    user, password = fields["username"], fields["password"]

    def basic(scope: Any) -> str:
        raw = f"{user.fill(scope)}:{password.fill(scope)}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    names = user.names | password.names
    static = user.static and password.static
    return Filler(basic, names, static, basic(None) if static else None)


def url_template_error(url: str) -> str | None:
    """Why a templated url is refused (a template in its scheme or host), or None."""
    if "{{" not in url:
        return None
    origin, _ = split_target(url)
    if "{{" in origin or "}}" in origin:
        return "templates may only be in the url's path and query: the scheme, host and port choose the " \
               "user's connection (use ${NAME} to choose a host from the environment)"
    return None


def compile_http(
    check: Checker, entry: dict, path: str, *, method: str, url: str, params: Any, headers: dict[str, str],
    body: Any, json_body: bool, auth: Filler | None,
) -> RequestTemplate | None:
    """The request's templates, compiled (syntax errors reported at their key); None when any is bad."""
    why = url_template_error(url)
    if why is not None:
        check.error(f"{path}.url", why, line_of(entry, "url"))
        return None
    if syntax_errors(check, entry, path, ("url", "params", "headers", "body", "json")):
        return None
    try:
        return compile_request(method, url, params, headers, body, json_body, auth)
    except TemplateSyntaxError as exc:  # every string compiled above: only a url part can get here
        check.error(f"{path}.url", str(exc), line_of(entry, "url"))
    return None


def templated_strings(entry: dict, path: str, keys: tuple[str, ...]) -> Iterator[tuple[str, str, int | None]]:
    """Every string holding a template under ``keys`` of a request entry: (text, key path, line)."""

    def walk(value: Any, key: str, line: int | None) -> Iterator[tuple[str, str, int | None]]:
        if isinstance(value, str):
            if has_template(value):
                yield value, key, line
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, f"{key}.{k}", line_of(value, k) or line)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{key}[{i}]", line_of(value, i) or line)

    for k in keys:
        if k in entry:
            yield from walk(entry[k], f"{path}.{k}", line_of(entry, k))


def syntax_errors(check: Checker, entry: dict, path: str, keys: tuple[str, ...]) -> bool:
    """Report every template syntax error under ``keys`` (each at its own key path and line)."""
    found = False
    for text, key, line in templated_strings(entry, path, keys):
        try:
            compile_template(text)
        except TemplateSyntaxError as exc:
            check.error(key, str(exc), line)
            found = True
    return found


def check_message_template(check: Checker, message: str | None, path: str, line: int | None) -> frozenset[str]:
    if message is None or not has_template(message):
        return frozenset()
    try:
        return compile_template(message).names
    except TemplateSyntaxError as exc:
        check.error(path, str(exc), line)
        return frozenset()


# --- scenarios ------------------------------------------------------------------------------------


def parse_data(
    check: Checker, scen: dict, path: str, config: Path, files: list[Path],
) -> tuple[DataSpec, tuple[str, ...]] | None:
    """The scenario's ``data:`` and the columns of its file; the file joins the bundle."""
    raw = scen.get("data")
    if raw is None:
        return None
    line = line_of(scen, "data")
    if isinstance(raw, str):
        raw = {"file": raw}
    if not isinstance(raw, dict):
        check.error(f"{path}.data", f"expected a mapping with a file (or a file name), found {type_name(raw)}", line)
        return None
    check.keys(raw, DATA_KEYS, f"{path}.data")
    rel = check.string(raw, "file", f"{path}.data.file", required=True)
    values = {}
    for key, choices, default in (("order", ORDERS, "sequential"), ("scope", SCOPES, "user"),
                                  ("on_exhausted", ON_EXHAUSTED, None)):
        value = raw.get(key, default)
        if value is not None and value not in choices:
            check.error(f"{path}.data.{key}", f"expected one of {', '.join(choices)}, found {value!r}"
                        f"{did_you_mean(str(value), choices)}", line_of(raw, key))
            value = default
        values[key] = value
    if values["order"] == "unique" and values["on_exhausted"] == "recycle":
        check.error(f"{path}.data.on_exhausted", "unique rows are never used twice, so they cannot recycle: "
                    "use on_exhausted: stop, or order: sequential", line_of(raw, "on_exhausted"))
        values["on_exhausted"] = "stop"
    if values["on_exhausted"] is None:
        values["on_exhausted"] = "stop" if values["order"] == "unique" else "recycle"
    if not rel:
        return None
    file = (config.parent / rel).resolve()
    fline = line_of(raw, "file") or line
    try:
        table = read_table(file)
    except DataFileError as exc:
        where = display_path(file) + (f":{exc.line}" if exc.line else "")
        check.error(f"{path}.data.file", f"{where}: {exc}", fline)
        return None
    files.append(file)
    return DataSpec(file, values["order"], values["scope"], values["on_exhausted"]), table.columns


def parse_run_files(check: Checker, runs: dict, config: Path, files: list[Path]) -> None:
    """``runs.files``: files Python request functions read, shipped to workers in the bundle."""
    raw = runs.get("files")
    if raw is None:
        return
    line = line_of(runs, "files")
    if not isinstance(raw, list):
        check.error("runs.files", f"expected a list of file names, found {type_name(raw)}", line)
        return
    for i, item in enumerate(raw):
        iline = line_of(raw, i)
        if not isinstance(item, str) or not item:
            check.error(f"runs.files[{i}]", f"expected a file name, found {type_name(item)}", iline)
            continue
        file = (config.parent / item).resolve()
        if not file.is_file():
            check.error(f"runs.files[{i}]", f"file not found: {item} (resolved to {file})", iline)
            continue
        try:
            with file.open("rb"):
                pass
        except OSError as exc:
            check.error(f"runs.files[{i}]", f"cannot read {item}: {exc.strerror or exc}", iline)
            continue
        files.append(file)


def check_journey_names(check: Checker, scenario_path: str, steps: list[Any],
                        data: tuple[DataSpec, tuple[str, ...]] | None) -> dict[str, str]:
    """Every variable a template names can be defined: a data column, or an extract of the journey.

    Reported where the template is (the request file's line and key path). A journey with a Python
    request may set any ctx.vars, so its extracted names are not checked.

    A scenario that defines nothing (no extract, no data file) is in the original framework's format,
    whose examples send ``auth: "Bearer {{auth_token}}"`` and ``/users/{{user_id}}`` with nothing defining
    them: there a name nothing defines is a warning, not an error. Answers those names' values: the
    environment variable of the name in capitals when this process has it, else the placeholder as
    written, which is what the original sent.
    """
    from .errors import ConfigIssue
    from .model import PYTHON

    defined = {ex.name for req in steps for ex in req.extract}
    free = any(req.kind == PYTHON for req in steps)
    cols = set(data[1]) if data is not None else None
    scenario = scenario_path.rsplit(".", 1)[-1]
    defaults: dict[str, str] = {}
    for req in steps:
        for name, (key, line) in req.uses.items():
            message = None
            if name.startswith("row."):
                column = name[4:]
                if cols is None:
                    message = (f"{{{{ {name} }}}}: scenario {scenario} has no data file "
                               f"(add data: {{file: ...}} to {scenario_path})")
                elif column not in cols:
                    assert data is not None
                    message = (f"{{{{ {name} }}}}: {display_path(data[0].file)} (data of {scenario_path}) has no "
                               f"column {column!r}{did_you_mean(column, cols)} (columns: {', '.join(sorted(cols))})")
            elif name in variables([name]) and not free and name not in defined:
                if not defined and cols is None:
                    defaults[name] = _original_placeholder(check, req.source, key, line, name)
                    continue
                message = (f"{{{{ {name} }}}}: nothing in scenario {scenario} defines {name}"
                           f"{did_you_mean(name, defined)} (extract it in an earlier step or an on_start step: "
                           f"extract: {{{name}: {{json: ...}}}})")
            if message is not None:
                check.issues.append(ConfigIssue(req.source, key, message, line))
    return defaults


def _original_placeholder(check: Checker, source: str, key: str, line: int | None, name: str) -> str:
    """The value of a variable nothing defines in the original's format, with its warning (once per place)."""
    from .errors import ConfigIssue

    env_name = name.upper()
    placeholder = f"{{{{{name}}}}}"
    message = (f"{{{{ {name} }}}}: nothing defines {name}; gradual sends {placeholder} as written, as the original "
               f"did, unless the environment sets {env_name} (say so with {{{{ env.{env_name} }}}}, or define "
               f"{name} with extract in an on_start step)")
    issue = ConfigIssue(source, key, message, line)
    if issue not in check.warnings:
        check.warnings.append(issue)
    return os.environ.get(env_name, placeholder)


__all__ = [
    "auth_template", "check_journey_names", "check_message_template", "compile_http", "expect_names",
    "parse_data", "parse_expect", "parse_extract", "parse_run_files",
]


def collect_uses(entry: dict, path: str, keys: tuple[str, ...]) -> dict[str, tuple[str, int | None]]:
    """Each template name a request entry uses, with the key path and line of its first use."""
    uses: dict[str, tuple[str, int | None]] = {}
    for text, key, line in templated_strings(entry, path, keys):
        try:
            names = compile_template(text).names
        except TemplateSyntaxError:
            continue  # reported where the value is compiled
        for name in sorted(names):
            uses.setdefault(name, (key, line))
    return uses
