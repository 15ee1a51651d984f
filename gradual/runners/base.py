"""The request-runner interface: one runner per (user, request), one file per request kind.

A runner performs one request per ``run()`` call and reports an Outcome; the user loop times it and
records it. Runners keep per-user state (a keep-alive connection) between calls and drop it in close().
"""

from __future__ import annotations

import errno
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import gevent

from ..configs.model import RequestConfig

OK = None
HTTP_ERROR = "http"
TIMEOUT = "timeout"
CONNECTION = "connection"
EXCEPTION = "exception"
WEBSOCKET_ERROR = "websocket"
EXPECT = "expect"
CHECK = "check"  # an HTTP request's `expect` failed
EXTRACT = "extract"  # an `extract` found nothing
TEMPLATE = "template"  # a template names a variable that has no value yet


@dataclass(slots=True)
class Outcome:
    """What one request produced. ``error_kind`` None means success."""

    status: int | None = None
    nbytes: int = 0
    error_kind: str | None = None
    error_message: str | None = None
    response: Any = None
    started: int = 0  # perf_counter_ns the recorded request started, when not the run() call's start (redirects)


@dataclass
class UserContext:
    """Per-user state a Python request function may take as its one argument."""

    user: int  # the user's index within its scenario, cluster-wide (offset of this node + local index)
    scenario: str
    phase: str
    iteration: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    # --host / GRADUAL_HOST (scheme://host:port), or None: a request function builds its URLs on it,
    # as a Locust user does on self.host (`f"{ctx.host or DEFAULT}/users"`).
    host: str | None = None
    worker: str = ""  # this node's worker id ("local" in a single-process run)
    # The user's variables: what `extract` stored, and what Python request functions put there; YAML
    # steps of the same journey read them as {{ name }}.
    vars: dict[str, Any] = field(default_factory=dict)
    row: Any = None  # the user's current data row (a mapping of column -> value), None without `data:`
    cookies: Any = None  # journeys.cookies.CookieJar of this user's HTTP requests; None with `cookies: false`
    _session: Any = None
    # The engine's keep-alive HTTP clients, one per (host, port, tls, timeout): a journey through
    # several requests of one host uses one connection, as a browser or a Locust user would.
    _http_clients: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @property
    def session(self) -> Any:
        """A keep-alive ``requests.Session`` owned by this user (created on first use). With the
        scenario's cookie jar on (the default), its cookies are the jar the YAML steps use."""
        if self._session is None:
            if self.cookies is not None:
                from .session import JourneySession

                self._session = JourneySession(self.cookies)
            else:
                import requests

                self._session = requests.Session()
        return self._session

    def http_client(self, key: Hashable, connect: Callable[[], Any]) -> Any:
        """This user's HTTP client for ``key``, made by ``connect()`` on first use."""
        client = self._http_clients.get(key)
        if client is None:
            client = self._http_clients[key] = connect()
        return client

    def drop_http_client(self, key: Hashable) -> None:
        """Close the client for ``key`` (after a failure its connection may be broken); the next use reconnects."""
        client = self._http_clients.pop(key, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        for key in list(self._http_clients):
            self.drop_http_client(key)
        if self._session is not None:
            self._session.close()
            self._session = None


class RequestRunner(ABC):
    """Performs one kind of request for one user."""

    slot: Any = None  # the stats slot of the request (set by the user's Step): redirect hops record there

    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        self.request = request
        self.ctx = ctx

    @abstractmethod
    def run(self) -> Outcome:
        """Send one request and wait for its answer; never raises for a failed request."""

    def close(self) -> None:  # noqa: B027 - optional hook, most runners hold nothing
        """Release connections; called when the user stops."""


def classify(exc: BaseException) -> tuple[str, str]:
    """The failure kind and message for an exception raised by a transport."""
    if isinstance(exc, (socket.timeout, TimeoutError, gevent.Timeout)):
        return TIMEOUT, "timed out"
    if isinstance(exc, (ConnectionError, socket.gaierror)):
        return CONNECTION, _os_message(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE,
                                                  errno.EHOSTUNREACH, errno.ENETUNREACH):
        return CONNECTION, _os_message(exc)
    return EXCEPTION, f"{type(exc).__name__}: {exc}"


def _os_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
