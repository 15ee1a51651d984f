"""An HTTP request's templated parts, compiled once: ``fill(scope)`` gives its target, headers and body.

A request without templates is filled once per runner (its bytes are then reused for every iteration);
a templated one is filled per iteration. Only the path and query of a url may hold templates: the
scheme, host and port pick the connection, which is made once per user.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .templates import Filler, Template, compile_template, compile_value

QUERY_METHODS = ("GET", "HEAD", "DELETE")
_SAFE = "/:@!$&'()*+,;=-._~%?#"


@dataclass(frozen=True)
class RequestTemplate:
    method: str
    target: Template  # path and query of the url
    params: Filler | None
    headers: tuple[tuple[str, Filler], ...]
    body: Filler | None  # JSON structure, or a text body (typed=False)
    json_body: bool
    auth: Filler | None  # the whole Authorization header value
    static: bool
    names: frozenset[str]

    def fill(self, scope: Any) -> tuple[str, list[tuple[str, str]], bytes]:
        """The request target, header pairs and body bytes; raises templates.Undefined."""
        target = self.target.render(scope)
        if not self.target.static:
            target = quote(target, safe=_SAFE)  # a value with a space or non-ASCII stays a valid target
        headers = [(name, str(f.fill(scope))) for name, f in self.headers]
        body: Any = None if self.body is None else self.body.fill(scope)
        if self.params is not None:
            params = self.params.fill(scope)
            if self.method in QUERY_METHODS:
                query = urlencode(params, doseq=True)
                target = f"{target}&{query}" if "?" in target else f"{target}?{query}"
            elif body is None:
                body = params
        if body is None:
            data = b""
        elif isinstance(body, (bytes, str)) and not self.json_body:
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers.append(("Content-Type", "application/json"))
        if self.auth is not None:
            headers.append(("Authorization", str(self.auth.fill(scope))))
        return target or "/", headers, data


def split_target(url: str) -> tuple[str, str]:
    """``(scheme://host:port, path?query)`` of a url whose path may hold templates."""
    if "{{" in url:
        # "http://host:8080{{ next }}": the template starts the path (an extracted Location, say).
        before = url[: url.index("{{")]
        head = urlsplit(before)
        if head.netloc and not head.path and not head.query and before.startswith(f"{head.scheme}://{head.netloc}"):
            return before, url[len(before):]
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    target = url[len(origin):].split("#", 1)[0] if url.startswith(origin) else (parts.path or "/")
    return origin, target or "/"


def compile_request(
    method: str, url: str, params: Mapping[str, Any] | None, headers: Mapping[str, str], body: Any,
    json_body: bool, auth: Filler | None,
) -> RequestTemplate:
    """Compile a request's parts; raises TemplateSyntaxError whose message starts with the key."""
    from .templates import TemplateSyntaxError

    _, target_text = split_target(url)
    try:
        target = compile_template(target_text)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxError(f"url: {exc}") from None
    params_f = compile_value(dict(params), where="params") if params else None
    header_f = tuple((str(k), compile_value(str(v), typed=False, where=f"headers.{k}"))
                     for k, v in headers.items())
    body_f = None
    if body is not None:
        typed = json_body or not isinstance(body, str)
        body_f = compile_value(body, typed=typed, where="json" if json_body else "body")
    fillers: list[Filler] = [f for f in (params_f, body_f, auth) if f is not None] + [f for _, f in header_f]
    names = frozenset(target.names).union(*(f.names for f in fillers)) if fillers else frozenset(target.names)
    static = target.static and all(f.static for f in fillers)
    is_json = json_body or (body is not None and not isinstance(body, (str, bytes)))
    return RequestTemplate(method, target, params_f, header_f, body_f, is_json, auth, static, names)


def auth_filler(fill: Callable[[Any], str], names: frozenset[str], static: bool) -> Filler:
    return Filler(fill, names, static, fill(None) if static else None)
