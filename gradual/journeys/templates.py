"""``{{ expr }}`` templates: compiled once into closures, filled in per iteration.

The grammar is deliberately tiny (no eval of Python):

    expr    := call | name | literal
    call    := IDENT "(" [expr ("," expr)*] ")"
    name    := IDENT ("." IDENT)*          user, iteration, worker, phase, scenario, row.col, env.NAME, token
    literal := integer | float | 'text' | "text" | true | false | null

``env.NAME`` is read when the template is compiled (each process reads its own environment once), so a
request whose only templates are ``env`` references is still static. A template string that is one
whole expression (``"{{ random_int(1, 5) }}"``) keeps the expression's type where a JSON value is built.
"""

from __future__ import annotations

import operator
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

BUILTINS = ("user", "iteration", "worker", "phase", "scenario")
ROOTS = (*BUILTINS, "row", "env")


class TemplateSyntaxError(ValueError):
    """A template that cannot be compiled (bad syntax, unknown function, wrong arity, unset env var)."""


class Undefined(LookupError):
    """A variable that has no value yet at run time (an extraction that has not happened)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Scope(Protocol):
    """What a template reads at run time: the user's context (runners.base.UserContext)."""

    user: int
    iteration: int
    worker: str
    phase: str
    scenario: str
    vars: dict[str, Any]
    row: Mapping[str, Any] | None


Evaluator = Callable[[Any], Any]


def _uuid() -> str:
    return str(uuid.uuid4())


def _random_int(a: Any, b: Any) -> int:
    return random.randint(int(a), int(b))


def _random_choice(*options: Any) -> Any:
    return random.choice(options)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# name -> (function, minimum arity, maximum arity or None)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "uuid": (_uuid, 0, 0),
    "random_int": (_random_int, 2, 2),
    "random_choice": (_random_choice, 1, None),
    "now_ms": (_now_ms, 0, 0),
}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[().,]))"
)
_TAG = re.compile(r"\{\{(.*?)\}\}", re.S)


@dataclass(frozen=True)
class Expr:
    """One compiled expression: its evaluator, the variable names it reads, whether it is constant."""

    source: str
    evaluate: Evaluator
    names: frozenset[str]
    constant: bool
    attr: str | None = None  # the scope attribute a builtin name reads (user, iteration, ...), else None


class _Parser:
    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.text = text
        self.env = env
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = _TOKEN.match(stripped, pos)
            if m is None or m.end() == pos:
                raise TemplateSyntaxError(f"unexpected {stripped[pos:].strip()[:20]!r} in {{{{ {text.strip()} }}}}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise TemplateSyntaxError(f"unexpected end of {{{{ {self.text.strip()} }}}}")
        self.i += 1
        return tok

    def expect(self, op: str) -> None:
        tok = self.take()
        if tok != ("op", op):
            raise TemplateSyntaxError(f"expected {op!r}, found {tok[1]!r} in {{{{ {self.text.strip()} }}}}")

    def parse(self) -> Expr:
        if not self.tokens:
            raise TemplateSyntaxError("empty {{ }}")
        expr = self.expr()
        if self.peek() is not None:
            raise TemplateSyntaxError(f"unexpected {self.peek()[1]!r} in {{{{ {self.text.strip()} }}}}")  # type: ignore[index]
        return expr

    def expr(self) -> Expr:
        kind, value = self.take()
        if kind == "num":
            number: Any = float(value) if "." in value else int(value)
            return _const(value, number)
        if kind == "str":
            return _const(value, value[1:-1])
        if kind != "ident":
            raise TemplateSyntaxError(f"unexpected {value!r} in {{{{ {self.text.strip()} }}}}")
        if value in ("true", "false", "null"):
            return _const(value, {"true": True, "false": False, "null": None}[value])
        if self.peek() == ("op", "("):
            return self.call(value)
        path = [value]
        while self.peek() == ("op", "."):
            self.take()
            kind, part = self.take()
            if kind != "ident":
                raise TemplateSyntaxError(f"expected a name after '.', found {part!r}")
            path.append(part)
        return self.name(path)

    def call(self, fname: str) -> Expr:
        self.expect("(")
        args: list[Expr] = []
        if self.peek() != ("op", ")"):
            args.append(self.expr())
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.expr())
        self.expect(")")
        if fname not in FUNCTIONS:
            from ..configs.errors import did_you_mean

            raise TemplateSyntaxError(f"unknown function {fname}(){did_you_mean(fname, FUNCTIONS)} "
                                      f"(functions: {', '.join(f + '()' for f in FUNCTIONS)})")
        fn, lo, hi = FUNCTIONS[fname]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = str(lo) if hi == lo else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise TemplateSyntaxError(f"{fname}() takes {want} argument{'' if want == '1' else 's'}, "
                                      f"found {len(args)}")
        names = frozenset().union(*(a.names for a in args)) if args else frozenset()
        source = f"{fname}({', '.join(a.source for a in args)})"
        evals = [a.evaluate for a in args]
        if not evals:
            return Expr(source, lambda scope: fn(), names, False)
        return Expr(source, lambda scope: fn(*[e(scope) for e in evals]), names, False)

    def name(self, path: list[str]) -> Expr:
        root = path[0]
        dotted = ".".join(path)
        if root == "env":
            if len(path) != 2:
                raise TemplateSyntaxError(f"write env.NAME, found {dotted}")
            value = self.env.get(path[1])
            if value is None:
                raise TemplateSyntaxError(f"environment variable {path[1]} is not set (used as {dotted})")
            return _const(dotted, value)
        if root == "row":
            if len(path) != 2:
                raise TemplateSyntaxError(f"write row.COLUMN, found {dotted}")
            column = path[1]

            def row_value(scope: Any) -> Any:
                row = scope.row
                if row is None or column not in row:
                    raise Undefined(dotted)
                return row[column]

            return Expr(dotted, row_value, frozenset([dotted]), False)
        if len(path) != 1:
            raise TemplateSyntaxError(f"{dotted}: only row.COLUMN and env.NAME take a '.'")
        if root in BUILTINS:
            return Expr(dotted, operator.attrgetter(root), frozenset([root]), False, root)

        def var_value(scope: Any) -> Any:
            try:
                return scope.vars[root]
            except KeyError:
                raise Undefined(root) from None

        return Expr(dotted, var_value, frozenset([root]), False)


def _const(source: str, value: Any) -> Expr:
    return Expr(source, lambda scope: value, frozenset(), True)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Template:
    """A compiled template string: literal text and expressions, in order."""

    source: str
    parts: tuple[str | Expr, ...]
    names: frozenset[str] = field(default=frozenset())

    @property
    def static(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def single(self) -> Expr | None:
        """The expression when the whole string is one ``{{ expr }}``, else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Expr):
            return self.parts[0]
        return None

    def render(self, scope: Any) -> str:
        return "".join(p if isinstance(p, str) else _text(p.evaluate(scope)) for p in self.parts)

    def value(self, scope: Any) -> Any:
        """The typed value of a one-expression template, the rendered string otherwise."""
        single = self.single
        return single.evaluate(scope) if single is not None else self.render(scope)


def has_template(text: str) -> bool:
    return "{{" in text


def compile_template(text: str, env: Mapping[str, str] | None = None) -> Template:
    """Compile ``text``; raises TemplateSyntaxError. Constant expressions are folded into the text.

    A string that is one expression with only whitespace around it is that expression (``single``).
    """
    env = os.environ if env is None else env
    parts: list[str | Expr] = []
    pos = 0
    for m in _TAG.finditer(text):
        literal = text[pos:m.start()]
        if "}}" in literal:
            raise TemplateSyntaxError(f"'}}}}' without an opening '{{{{' in {text!r}")
        parts.append(literal)
        parts.append(_Parser(m.group(1), env).parse())
        pos = m.end()
    rest = text[pos:]
    if "{{" in rest or "}}" in rest:
        raise TemplateSyntaxError(f"unbalanced '{{{{' or '}}}}' in {text!r}")
    parts.append(rest)
    exprs = [p for p in parts if isinstance(p, Expr)]
    names = frozenset().union(*(e.names for e in exprs)) if exprs else frozenset()
    if len(exprs) == 1 and all(isinstance(p, Expr) or not p.strip() for p in parts):
        return Template(text, (exprs[0],), names)
    merged: list[str | Expr] = []
    for p in parts:
        if isinstance(p, Expr) and p.constant:
            p = _text(p.evaluate(None))
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        elif p != "":
            merged.append(p)
    return Template(text, tuple(merged) or ("",), names)


# --- structures (params, headers, json bodies) -----------------------------------------------------


@dataclass(frozen=True)
class Filler:
    """A value with templates inside, compiled: ``fill(scope)`` builds a fresh copy per iteration."""

    fill: Callable[[Any], Any]
    names: frozenset[str]
    static: bool
    constant: Any = None  # the value itself when static
    template: Template | None = None  # the compiled string when the value is one templated string


def compile_value(value: Any, env: Mapping[str, str] | None = None, *, typed: bool = True,
                  where: str = "") -> Filler:
    """Compile every string in a JSON-like value; a one-expression string keeps its type if ``typed``.

    Raises TemplateSyntaxError whose message starts with the key path (``where``) of the bad string.
    """
    env = os.environ if env is None else env
    if isinstance(value, str):
        if not has_template(value):
            return Filler(lambda scope: value, frozenset(), True, value)
        try:
            t = compile_template(value, env)
        except TemplateSyntaxError as exc:
            raise TemplateSyntaxError(f"{where}: {exc}" if where else str(exc)) from None
        single = t.single
        if single is not None and single.constant:
            const = single.evaluate(None) if typed else _text(single.evaluate(None))
            return Filler(lambda scope: const, frozenset(), True, const)
        if t.static:
            const = t.render(None)
            return Filler(lambda scope: const, frozenset(), True, const)
        fill = t.value if typed else t.render
        return Filler(fill, t.names, False, None, t)
    if isinstance(value, dict):
        items = [(str(k), compile_value(v, env, typed=typed, where=f"{where}.{k}" if where else str(k)))
                 for k, v in value.items()]
        names = frozenset().union(*(f.names for _, f in items)) if items else frozenset()
        if all(f.static for _, f in items):
            const = {k: f.constant for k, f in items}
            return Filler(lambda scope: const, names, True, const)
        return Filler(lambda scope: {k: f.fill(scope) for k, f in items}, names, False)
    if isinstance(value, list):
        fillers = [compile_value(v, env, typed=typed, where=f"{where}[{i}]") for i, v in enumerate(value)]
        names = frozenset().union(*(f.names for f in fillers)) if fillers else frozenset()
        if all(f.static for f in fillers):
            const = [f.constant for f in fillers]
            return Filler(lambda scope: const, names, True, const)
        return Filler(lambda scope: [f.fill(scope) for f in fillers], names, False)
    return Filler(lambda scope: value, frozenset(), True, value)


def variables(names: Iterable[str]) -> set[str]:
    """The extracted-variable names among template names (not builtins, row.* or env.*)."""
    return {n for n in names if n not in BUILTINS and not n.startswith("row.")}


def columns(names: Iterable[str]) -> set[str]:
    """The data columns (``row.<column>``) among template names."""
    return {n[4:] for n in names if n.startswith("row.")}
