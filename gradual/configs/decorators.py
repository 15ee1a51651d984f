"""The decorators of request files: ``@request`` marks a request function, ``@on_call_completion``
attaches a callback to a request by name.

Both leave the function unchanged apart from a marker attribute, and, while the request-file loader
imports a file, register it with that file's collection so definition order is kept.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .durations import parse_duration
from .errors import did_you_mean

F = TypeVar("F", bound=Callable[..., Any])
_REQUEST_ARGS = ("name", "url", "params", "http_method", "expected_response_time", "auth", "type")


class DecoratorError(TypeError):
    """A decorator used wrongly; the message says how to use it, ``key`` which decorator (and request)."""

    def __init__(self, message: str, key: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.line = line  # the decorated function's first line, when the error is about a function


@dataclass
class RequestSpec:
    """What ``@request`` recorded about one function."""

    function: Callable[..., Any]
    name: str
    url: str = ""
    params: dict[str, Any] | None = None
    http_method: str = "get"
    expected_response_time: float | None = 1.0
    auth: Any = None
    type: str | None = None
    line: int | None = None


@dataclass
class CallbackSpec:
    function: Callable[..., Any]
    name: str
    line: int | None = None


@dataclass
class Collection:
    """Everything the decorators saw while one request file was imported."""

    requests: list[RequestSpec] = field(default_factory=list)
    callbacks: list[CallbackSpec] = field(default_factory=list)


_active: list[Collection] = []


def _line(fn: Callable[..., Any]) -> int | None:
    code = getattr(fn, "__code__", None)
    return code.co_firstlineno if code is not None else None


def request(
    name: str | Callable[..., Any] | None = None,
    url: str = "",
    params: dict[str, Any] | None = None,
    http_method: str = "get",
    expected_response_time: float | None = 1.0,
    auth: Any = None,
    type: str | None = None,  # noqa: A002 - the original framework's keyword
    **unknown: Any,
) -> Any:
    """Mark a function as a request; the engine calls it once per iteration and times the call.

    Usable as ``@request`` or ``@request(name="get_user", url=..., http_method="get")``.
    The function takes no argument or one context argument.
    """
    if callable(name):
        return request()(name)
    if name is not None and not isinstance(name, str):
        raise DecoratorError(f"@request(name=...) must be a string, got {name!r}", "@request")
    key = f"@request {name}" if name else "@request"
    for arg in unknown:
        hint = did_you_mean(arg, _REQUEST_ARGS)
        raise DecoratorError(f"@request got an unknown argument {arg!r}{hint}", key)
    if name is not None and not name.strip():
        raise DecoratorError("@request(name=...) must not be empty", key)
    if not isinstance(url, str):
        raise DecoratorError(f"@request(url=...) must be a string, got {url!r}", key)
    if not isinstance(http_method, str):
        raise DecoratorError(f"@request(http_method=...) must be a string, got {http_method!r}", key)
    if params is not None and not isinstance(params, dict):
        raise DecoratorError(f"@request(params=...) must be a dict, got {params!r}", key)
    if expected_response_time is not None:
        seconds = parse_duration(expected_response_time)
        if seconds is None or seconds <= 0:
            raise DecoratorError(
                "@request(expected_response_time=...) must be a duration > 0 (seconds, or e.g. '250ms'), "
                f"got {expected_response_time!r}", key
            )
        expected_response_time = seconds

    def mark(fn: F) -> F:
        if not callable(fn):
            raise DecoratorError(f"@request must decorate a function, not {fn!r}", key)
        _check_arity(fn, f"@request {name or getattr(fn, '__name__', '')}".rstrip(), "a context")
        spec = RequestSpec(
            function=fn,
            name=name or getattr(fn, "__name__", "request"),
            url=url,
            params=params,
            http_method=http_method,
            expected_response_time=None if expected_response_time is None else float(expected_response_time),
            auth=auth,
            type=type,
            line=_line(fn),
        )
        fn.__gradual_request__ = spec  # type: ignore[attr-defined]
        if _active:
            _active[-1].requests.append(spec)
        return fn

    return mark


def on_call_completion(name: str | Callable[..., Any] | None = None) -> Callable[[F], F]:
    """Attach a callback to the request called ``name``; it runs after each call, outside the timed
    span, with no argument or with the completion record."""
    if callable(name) or not isinstance(name, str) or not name:
        raise DecoratorError(
            "@on_call_completion needs the name of a request: @on_call_completion(name=\"get_user_data\")",
            "@on_call_completion",
            _line(name) if callable(name) else None,
        )
    key = f"@on_call_completion {name}"

    def mark(fn: F) -> F:
        if not callable(fn):
            raise DecoratorError(f"@on_call_completion must decorate a function, not {fn!r}", key)
        _check_arity(fn, key, "the completion record")
        spec = CallbackSpec(function=fn, name=name, line=_line(fn))
        fn.__gradual_callback__ = spec  # type: ignore[attr-defined]
        if _active:
            _active[-1].callbacks.append(spec)
        return fn

    return mark


def _check_arity(fn: Callable[..., Any], key: str, what: str) -> None:
    """The engine calls ``fn()`` or ``fn(arg)``: more required arguments would fail on every call."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    decorator = key.split()[0]
    fn_name = getattr(fn, "__name__", fn)
    required = [
        p
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) > 1:
        raise DecoratorError(
            f"{decorator} function {fn_name!r} must take no argument or one ({what}), "
            f"it requires {len(required)}: give the others default values",
            key,
            _line(fn),
        )
    keyword_only = [
        p.name for p in sig.parameters.values() if p.default is p.empty and p.kind == p.KEYWORD_ONLY
    ]
    if keyword_only:
        raise DecoratorError(
            f"{decorator} function {fn_name!r} has required keyword-only argument(s) "
            f"{', '.join(keyword_only)}: the engine passes at most one positional argument ({what})",
            key,
            _line(fn),
        )


def accepts_argument(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` takes one positional argument (context or record)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
            return True
    return False


class collecting:  # noqa: N801 - reads as a statement: `with collecting() as found:`
    """Context manager the loader wraps around importing one request file."""

    def __enter__(self) -> Collection:
        self.collection = Collection()
        _active.append(self.collection)
        return self.collection

    def __exit__(self, *exc: object) -> None:
        _active.remove(self.collection)
