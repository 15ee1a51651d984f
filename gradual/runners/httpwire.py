"""The bytes of a templated HTTP request, from pieces compiled once and values filled in per iteration.

A static request's bytes are built once (RequestHead.encode). A templated one is compiled into one
%-format string for its whole head (request line, headers, the blank line) whose fields are filled in
per iteration. A WireTemplate belongs to one user's runner: ``user``, ``worker``, ``phase`` and
``scenario`` are the same for the user's whole life (the engine sets them when it makes the user), so
they are written into the text once, when it is compiled; a request whose only other field is
``iteration`` is then one bytes %-format with one ``%d`` (``per_iteration``), and one with no field
left is built once, as a static one is (``fixed_wire``). Other builtin names are read off the user's
context by one ``operator.attrgetter`` call; any other expression (a variable, a data column, a
function) is computed by a small function. A header's filled-in text is checked for line breaks
(a fixed value with one stays a field, so each request fails with kind ``template`` as before), a
target's text values are quoted when they need it. benchmarks/bench_http.py measures the templated
request beside its static twin in one run.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from ..journeys.request import QUERY_METHODS, RequestTemplate
from ..journeys.templates import Expr, Filler, Template, _text
from .httpclient import USER_AGENT

_UNSAFE_IN_TARGET = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=\-._~%?#]")
INT_FIELDS = ("user", "iteration")  # always ints: safe in a target and a header as they are
TEXT_FIELDS = ("worker", "phase", "scenario")  # text: read by str.format in headers, quoted in a target
FIXED_FIELDS = ("user", "worker", "phase", "scenario")  # the same for a user's life: written in once per runner


class UnsafeValue(ValueError):
    """A filled-in value that cannot go on the wire as it is (a line break in a header)."""


def _target_piece(expr: Expr) -> Callable[[Any], str]:
    evaluate = expr.evaluate

    def piece(scope: Any) -> str:
        value = evaluate(scope)
        if value.__class__ is int:  # random_int(), a number from a data row: nothing to quote
            return str(value)
        value = _text(value)
        # Only a value with a space, a non-ASCII or another unsafe character pays for quoting.
        return quote(value, safe="/:@!$&'()*+,;=-._~%?#") if _UNSAFE_IN_TARGET.search(value) else value

    return piece


def _header_piece(expr: Expr) -> Callable[[Any], str]:
    evaluate = expr.evaluate
    return lambda scope: _text(evaluate(scope))


class _Format:
    """A %-format string being compiled: literal text, and a ``%s`` for each value, read off the scope by
    ``operator.attrgetter`` (a builtin name) or computed by a function (any other expression).

    With ``fixed`` (the user's context), the builtin names in FIXED_FIELDS are written in as text."""

    def __init__(self, fixed: Any = None) -> None:
        self.fixed = fixed
        self.parts: list[str] = []
        self.attrs: list[str | None] = []  # per field: the scope attribute it reads, None for a function
        self.funcs: list[Callable[[Any], Any]] = []  # per field: how it is computed
        self.where: list[str] = []  # per field: the header it goes into ("" for the target)

    def text(self, text: str) -> None:
        self.parts.append(text.replace("%", "%%"))

    def field(self, attr: str, where: str) -> None:
        self.parts.append("%s")
        self.attrs.append(attr)
        self.funcs.append(operator.attrgetter(attr))
        self.where.append(where)

    def value(self, func: Callable[[Any], Any], where: str) -> None:
        self.parts.append("%s")
        self.attrs.append(None)
        self.funcs.append(func)
        self.where.append(where)

    def _fixed(self, attr: str | None) -> bool:
        return self.fixed is not None and attr in FIXED_FIELDS

    def target(self, t: Template) -> None:
        for part in t.parts:
            if isinstance(part, str):
                self.text(part)
            elif part.attr in INT_FIELDS:
                if self._fixed(part.attr):
                    self.text(str(getattr(self.fixed, part.attr)))  # as "%s" would write it
                else:
                    self.field(part.attr, "")
            elif self._fixed(part.attr):
                self.text(_target_piece(part)(self.fixed))
            else:
                self.value(_target_piece(part), "")

    def header(self, name: str, filler: Filler) -> None:
        if filler.static:
            self.text(f"{name}: {filler.constant}\r\n")
            return
        self.text(f"{name}: ")
        t = filler.template
        if t is None:  # a value built in code (Basic auth): one positional field
            fill = filler.fill
            self.value(lambda scope: str(fill(scope)), name)
        else:
            for part in t.parts:
                if isinstance(part, str):
                    self.text(part)
                elif part.attr is not None:
                    text = str(getattr(self.fixed, part.attr)) if self._fixed(part.attr) else None
                    if text is not None and "\n" not in text and "\r" not in text:
                        self.text(text)
                    else:  # a line break is found per request, failing each as it did before
                        self.field(part.attr, name)
                else:
                    self.value(_header_piece(part), name)
        self.text("\r\n")


class WireTemplate:
    """``build(scope, cookie_for)`` -> the request's bytes for a templated request."""

    __slots__ = ("_format", "_attrs", "_funcs", "_where", "_body", "_static_body", "_length",
                 "_checked", "_target_start", "simple", "per_iteration", "fixed_wire")

    def __init__(self, t: RequestTemplate, host: str, extra_headers: list[tuple[str, str]],
                 fixed: Any = None) -> None:
        """``fixed``: the context of the one user this template is for (FIXED_FIELDS written in), or None."""
        f = _Format(fixed)
        f.text(f"{t.method} ")
        self._target_start = len(t.method) + 1
        f.target(t.target)
        if t.params is not None and t.method in QUERY_METHODS:
            params = t.params
            joiner = "&" if "?" in t.target.source else "?"
            if params.static:
                f.text(joiner + urlencode(params.constant, doseq=True))
            else:
                fill = params.fill
                f.value(lambda scope: joiner + urlencode(fill(scope), doseq=True), "")
        f.text(f" HTTP/1.1\r\nHost: {host}\r\n")
        names = set()
        for name, filler in t.headers:
            names.add(name.lower())
            f.header(name, filler)
        body: Filler | None = t.body
        json_body = t.json_body
        if t.params is not None and t.method not in QUERY_METHODS and body is None:
            body, json_body = t.params, True
        if body is not None and json_body and "content-type" not in names:
            f.text("Content-Type: application/json\r\n")
        if t.auth is not None:
            f.header("Authorization", t.auth)
        for name, value in extra_headers:
            names.add(name.lower())
            f.text(f"{name}: {value}\r\n")
        if "user-agent" not in names:
            f.text(f"User-Agent: {USER_AGENT}\r\n")
        length = "content-length" not in names and (body is not None or t.method in ("POST", "PUT", "PATCH"))
        self._static_body = b""
        self._body: Callable[[Any], bytes] | None = None
        if body is not None:
            if body.static:
                self._static_body = _encode_body(body.constant, json_body)
            else:
                fill = body.fill
                self._body = (lambda scope: json.dumps(fill(scope), separators=(",", ":")).encode()) if json_body \
                    else (lambda scope: _encode_body(fill(scope), False))
        self._length = length and self._body is not None  # then the last field: the filled-in body's length
        if length and self._body is None:
            f.text(f"Content-Length: {len(self._static_body)}\r\n")
        elif length:
            f.parts.append("Content-Length: %d\r\n")
        f.text("\r\n")
        self._format = "".join(f.parts)
        # Every field a builtin name: one attrgetter call reads them all (a tuple, in order), in C.
        attrs = f.attrs
        self._attrs = operator.attrgetter(*attrs) if attrs and None not in attrs else None
        if self._attrs is not None and len(attrs) == 1:
            getter = self._attrs
            self._attrs = lambda scope: (getter(scope),)
        self._funcs = tuple(f.funcs)
        self._where = tuple(f.where)
        # The fields whose text goes into a header (not an int): each is checked for a line break.
        self._checked = tuple(i for i, (w, a) in enumerate(zip(f.where, attrs, strict=True))
                              if w and a not in INT_FIELDS)
        # The commonest form, filled in by HttpRunner.run() itself: builtin names only, no body to fill in.
        self.simple = None if self._attrs is None or self._body is not None or self._static_body else (
            self._format, self._attrs, self._checked)
        # No field left but ``iteration`` (once), or none at all, and no body to fill in: the bytes are a
        # bytes %-format of the iteration number (per_iteration), or the same every time (fixed_wire).
        self.per_iteration: bytes | None = None
        self.fixed_wire: bytes | None = None
        if self._body is None and (not attrs or attrs == ["iteration"]):
            try:
                if attrs:  # a field's part is "%s" (a literal "%s" was written "%%s")
                    form = "".join("%d" if part == "%s" else part for part in f.parts)
                    self.per_iteration = form.encode("latin-1") + self._static_body.replace(b"%", b"%%")
                else:
                    self.fixed_wire = (self._format % ()).encode("latin-1") + self._static_body
            except UnicodeEncodeError:  # a header that is not latin-1 text fails each request, as before
                pass

    def build(self, scope: Any, cookie_for: Callable[[str], str | None] | None = None) -> bytes:
        """The request's bytes; ``cookie_for(target)`` gives the Cookie header (or None).

        Raises journeys.templates.Undefined, UnsafeValue or UnicodeEncodeError (a non-latin-1 header).
        """
        attrs = self._attrs
        values = attrs(scope) if attrs is not None else tuple([f(scope) for f in self._funcs])
        if self._body is None:
            body = self._static_body
            head = self._format % values
        else:
            body = self._body(scope)
            head = self._format % (values + (len(body),) if self._length else values)
        for i in self._checked:
            text = values[i]
            if "\n" in text or "\r" in text:
                raise self.line_break(i, text)
        if cookie_for is not None:
            cookie = cookie_for(self.target_of(head))
            if cookie is not None:
                head = f"{head[:-2]}Cookie: {cookie}\r\n\r\n"
        return head.encode("latin-1") + body if body else head.encode("latin-1")

    def line_break(self, field: int, text: str) -> UnsafeValue:
        return UnsafeValue(f"header {self._where[field]}: a line break in the filled-in value {text[:40]!r}")

    def target_of(self, head: str) -> str:
        """The request target in a built head (text up to the request line's " HTTP/1.1")."""
        return head[self._target_start:head.index(" HTTP/1.1\r\n", self._target_start)]

    def target_of_wire(self, wire: bytes) -> str:
        """The request target in built request bytes."""
        start = self._target_start
        return wire[start:wire.index(b" HTTP/1.1\r\n", start)].decode("latin-1")


def _encode_body(value: Any, json_body: bool) -> bytes:
    if json_body or not isinstance(value, (str, bytes)):
        return json.dumps(value, separators=(",", ":")).encode()
    return value.encode() if isinstance(value, str) else value
