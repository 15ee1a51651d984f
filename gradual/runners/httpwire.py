"""The bytes of a templated HTTP request, from pieces compiled once and values filled in per iteration.

A static request's bytes are built once (RequestHead.encode). A templated one would otherwise rebuild
a RequestHead and re-encode every line each iteration; here the head is a list of constant text and
value functions, joined and encoded once per request, so three substitutions cost little more than
the static request's copy (benchmarks/bench_http.py measures both in one run).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from ..journeys.request import QUERY_METHODS, RequestTemplate
from ..journeys.templates import Expr, Filler, Template, _text
from .httpclient import USER_AGENT

Piece = str | Callable[[Any], str]
_UNSAFE_IN_TARGET = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=\-._~%?#]")


class UnsafeValue(ValueError):
    """A filled-in value that cannot go on the wire as it is (a line break in a header)."""


def _target_piece(expr: Expr) -> Callable[[Any], str]:
    evaluate = expr.evaluate

    def piece(scope: Any) -> str:
        value = evaluate(scope)
        if value.__class__ is int:  # user, iteration, random_int(): nothing to quote
            return str(value)
        value = _text(value)
        # Only a value with a space, a non-ASCII or another unsafe character pays for quoting.
        return quote(value, safe="/:@!$&'()*+,;=-._~%?#") if _UNSAFE_IN_TARGET.search(value) else value

    return piece


def _header_piece(name: str, filler: Filler) -> Callable[[Any], str]:
    fill = filler.fill

    def piece(scope: Any) -> str:
        value = str(fill(scope))
        if "\r" in value or "\n" in value:
            raise UnsafeValue(f"header {name}: a line break in the filled-in value {value[:40]!r}")
        return value

    return piece


def _template_pieces(t: Template) -> list[Piece]:
    return [p if isinstance(p, str) else _target_piece(p) for p in t.parts]


def _join(pieces: list[Piece]) -> list[Piece]:
    """Adjacent constant text merged into one string."""
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        elif p != "":
            out.append(p)
    return out


class WireTemplate:
    """``build(scope, cookie)`` -> (request bytes, request target) for a templated request."""

    __slots__ = ("_method", "_head", "_body", "_static_body", "_length", "_target")

    def __init__(self, t: RequestTemplate, host: str, extra_headers: list[tuple[str, str]]) -> None:
        target = _template_pieces(t.target)
        if t.params is not None and t.method in QUERY_METHODS:
            params = t.params
            joiner = "&" if "?" in t.target.source else "?"
            if params.static:
                target.append(joiner + urlencode(params.constant, doseq=True))
            else:
                fill = params.fill
                target.append(lambda scope: joiner + urlencode(fill(scope), doseq=True))
        self._target = _join(target)
        self._method = f"{t.method} "
        head: list[Piece] = [f" HTTP/1.1\r\nHost: {host}\r\n"]
        names = set()
        for name, filler in t.headers:
            names.add(name.lower())
            if filler.static:
                head.append(f"{name}: {filler.constant}\r\n")
            else:
                head += [f"{name}: ", _header_piece(name, filler), "\r\n"]
        body: Filler | None = t.body
        json_body = t.json_body
        if t.params is not None and t.method not in QUERY_METHODS and body is None:
            body, json_body = t.params, True
        if body is not None and json_body and "content-type" not in names:
            head.append("Content-Type: application/json\r\n")
        if t.auth is not None:
            head += (["Authorization: ", _header_piece("Authorization", t.auth), "\r\n"] if not t.auth.static
                     else [f"Authorization: {t.auth.constant}\r\n"])
        for name, value in extra_headers:
            names.add(name.lower())
            head.append(f"{name}: {value}\r\n")
        if "user-agent" not in names:
            head.append(f"User-Agent: {USER_AGENT}\r\n")
        self._head = _join(head)
        self._length = "content-length" not in names and (body is not None or t.method in ("POST", "PUT", "PATCH"))
        self._static_body = b""
        self._body: Callable[[Any], bytes] | None = None
        if body is not None:
            if body.static:
                self._static_body = _encode_body(body.constant, json_body)
            else:
                fill = body.fill
                self._body = (lambda scope: json.dumps(fill(scope), separators=(",", ":")).encode()) if json_body \
                    else (lambda scope: _encode_body(fill(scope), False))

    def build(self, scope: Any, cookie_for: Callable[[str], str | None] | None = None) -> tuple[bytes, str]:
        """The request's bytes and target; ``cookie_for(target)`` gives the Cookie header (or None).

        Raises journeys.templates.Undefined, UnsafeValue or UnicodeEncodeError (a non-latin-1 header).
        """
        target = "".join([p if p.__class__ is str else p(scope) for p in self._target])
        head = [self._method, target]
        head += [p if p.__class__ is str else p(scope) for p in self._head]
        body = self._static_body if self._body is None else self._body(scope)
        if self._length:
            head.append(f"Content-Length: {len(body)}\r\n")
        if cookie_for is not None:
            cookie = cookie_for(target)
            if cookie is not None:
                head.append(f"Cookie: {cookie}\r\n")
        head.append("\r\n")
        return "".join(head).encode("latin-1") + body, target


def _encode_body(value: Any, json_body: bool) -> bytes:
    if json_body or not isinstance(value, (str, bytes)):
        return json.dumps(value, separators=(",", ":")).encode()
    return value.encode() if isinstance(value, str) else value
