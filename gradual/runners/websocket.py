"""WebSocket requests over websocket-client: one connection per user, kept across iterations.

Each iteration sends one message (params as JSON, or the raw ``message``) and waits for one reply. Before a
send on a kept connection, anything the server sent unasked is read: a close frame or EOF means the server
closed it, and a new connection is opened for this send, so no send the server never saw is counted. The
original format's ``websocket_config`` keys shape a connection's life: ``message_interval`` (seconds from one
send to the next on a connection), ``max_messages`` (then the connection is closed and the next send opens
a new one) and ``close_after`` (seconds a connection may live).
"""

from __future__ import annotations

import json
import select
import time
from typing import Any
from urllib.parse import urlsplit

import gevent
import websocket
from websocket import ABNF

from ..configs.model import RequestConfig
from ..journeys.templates import Undefined, compile_template
from .auth import authorization_header
from .base import EXPECT, TEMPLATE, TIMEOUT, WEBSOCKET_ERROR, Outcome, RequestRunner, UserContext, classify
from .httpclient import tls_context

# Frames read and dropped before a send (pushes nobody asked for, pings) before the connection is given up on.
MAX_UNASKED_FRAMES = 1000
_SERVER_CLOSED = "connection closed by the server"
_EXPIRED = "expired"


class _ConnectTimeout(Exception):
    """The connection was not open within ``connect_timeout``."""


class _Closed(Exception):
    """The server closed the connection (a close frame or EOF) before answering."""


class WebSocketRunner(RequestRunner):
    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        super().__init__(request, ctx)
        self._template = request.message
        # {{ expr }} templates (journeys) are filled in per message; the original's {counter} after them.
        self._compiled = compile_template(request.message) if request.message and "{{" in request.message else None
        if request.message is None:
            self._fixed = json.dumps(dict(request.params or {}), separators=(",", ":"))
        elif self._compiled is not None and not self._compiled.static:
            self._fixed = None
        else:
            self._fixed = request.message if "{counter}" not in request.message else None
        headers = [f"{k}: {v}" for k, v in request.headers.items()]
        auth = authorization_header(request.auth)
        if auth is not None:
            headers.append(f"Authorization: {auth}")
        self._headers = headers
        # auth: "Bearer {{ token }}" (journeys): the header is filled in when a connection opens
        self._auth = request.auth.header if request.auth is not None and request.auth.kind == "template" else None
        self._open_headers = headers
        self._sslopt: dict[str, Any] = {}
        if urlsplit(request.url).scheme == "wss":
            self._sslopt = {"context": tls_context(request.verify, request.ca_file)}
        self._ws: websocket.WebSocket | None = None
        self._sent = 0  # messages counted so far by this user ({counter})
        self._on_connection = 0  # messages sent on the current connection
        self._opened = 0.0  # monotonic time the current connection opened
        self._last_send = 0.0  # monotonic time of the previous send on the current connection
        self.connects = 0
        self._prepared = False

    def prepare(self) -> None:
        """Before the user loop times the next send: retire a connection the server closed or that reached its
        limits, then wait out ``message_interval`` since the previous send on a connection still open."""
        self._housekeep()
        self._prepared = True
        if self._ws is not None and self.request.message_interval > 0:
            due = self._last_send + self.request.message_interval - time.monotonic()
            if due > 0:
                gevent.sleep(due)

    def _housekeep(self) -> None:
        ws = self._ws
        if ws is not None:
            reusable = self._reusable(ws)
            if reusable is not True:
                self.close() if reusable == _EXPIRED else self._abandon()

    def _message(self) -> str:
        if self._fixed is not None:
            return self._fixed
        assert self._template is not None
        text = self._compiled.render(self.ctx) if self._compiled is not None else self._template
        return text.replace("{counter}", str(self._sent))

    def _open(self) -> websocket.WebSocket:
        req = self.request
        # connect_timeout bounds the TCP connect, TLS and the opening handshake; timeout still bounds it all.
        with gevent.Timeout(req.connect_timeout, _ConnectTimeout):
            ws = websocket.create_connection(req.url, timeout=req.timeout, header=self._open_headers,
                                             enable_multithread=False, sslopt=self._sslopt)
        self.connects += 1
        self._opened = time.monotonic()
        self._on_connection = 0
        return ws

    def _reusable(self, ws: websocket.WebSocket) -> bool | str:
        """True, _EXPIRED (past max_messages or close_after: close it politely), or False (the server closed it)."""
        req = self.request
        if req.max_messages is not None and self._on_connection >= req.max_messages:
            return _EXPIRED
        if req.close_after is not None and time.monotonic() - self._opened >= req.close_after:
            return _EXPIRED
        sock = ws.sock
        if sock is None:
            return False
        for _ in range(MAX_UNASKED_FRAMES):
            pending = getattr(sock, "pending", None)
            if not (pending is not None and pending()) and not select.select([sock], [], [], 0)[0]:
                return True
            try:
                opcode, _ = ws.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                return False
            if opcode == ABNF.OPCODE_CLOSE or not ws.connected:
                return False
        return False

    def _reply(self, ws: websocket.WebSocket) -> Any:
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            raise _Closed from None
        if opcode == ABNF.OPCODE_CLOSE:
            raise _Closed
        return data.decode("utf-8", errors="replace") if opcode == ABNF.OPCODE_TEXT else data

    def run(self) -> Outcome:
        if not self._prepared:  # run() without the user loop's prepare() (a direct call)
            self._housekeep()
        self._prepared = False
        ws = self._ws
        try:
            message = self._message()
            if ws is None and self._auth is not None:
                self._open_headers = [*self._headers, f"Authorization: {self._auth.fill(self.ctx)}"]
        except Undefined as exc:
            return Outcome(error_kind=TEMPLATE, error_message=f"{{{{ {exc.name} }}}} has no value yet")
        deadline = gevent.Timeout.start_new(self.request.timeout)
        try:
            for attempt in (0, 1):
                reused = ws is not None
                if ws is None:
                    ws = self._ws = self._open()
                try:
                    self._last_send = time.monotonic()
                    ws.send(message)
                    self._on_connection += 1
                    reply = self._reply(ws)
                    break
                except (_Closed, websocket.WebSocketConnectionClosedException, BrokenPipeError,
                        ConnectionResetError):
                    # Closed before any reply: on a kept connection the server most likely closed it as
                    # this message left, and never read it; it goes once more on a new connection.
                    self._abandon()
                    ws = None
                    if not reused or attempt:
                        return Outcome(error_kind=WEBSOCKET_ERROR, error_message=_SERVER_CLOSED)
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            self._abandon()
            return Outcome(error_kind=TIMEOUT, error_message=f"no reply within {self.request.timeout:g}s")
        except _ConnectTimeout:
            self._abandon()
            return Outcome(error_kind=TIMEOUT,
                           error_message=f"connection not open within {self.request.connect_timeout:g}s")
        except websocket.WebSocketTimeoutException:
            self._abandon()
            return Outcome(error_kind=TIMEOUT, error_message="timed out waiting for a reply")
        except websocket.WebSocketException as exc:
            self._abandon()
            return Outcome(error_kind=WEBSOCKET_ERROR, error_message=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # transport errors are failures of this request
            self._abandon()
            kind, text = classify(exc)
            return Outcome(error_kind=kind, error_message=text)
        finally:
            deadline.cancel()
            self._sent += 1
        size = len(reply) if isinstance(reply, (bytes, str)) else 0
        expect = self.request.expect
        if expect is not None and expect not in (reply if isinstance(reply, str) else reply.decode(errors="replace")):
            return Outcome(101, size, EXPECT, f"reply does not contain {expect!r}", reply)
        return Outcome(101, size, None, None, reply)

    def close(self) -> None:
        """Close the connection with a close handshake (the user stops, or the connection reached a limit)."""
        if self._ws is not None:
            try:
                self._ws.close(timeout=1)
            except Exception:  # closing a broken socket may fail; it is gone either way
                pass
            self._abandon()

    def _abandon(self) -> None:
        """Drop the connection without a handshake: the server closed it, or it failed."""
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.shutdown()
            except Exception:  # a socket already gone fails to close; it is gone either way
                pass
