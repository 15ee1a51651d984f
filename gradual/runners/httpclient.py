"""gradual's own HTTP/1.1 client: one keep-alive connection per user and server, gevent-native, httptools-parsed.

A request goes out as bytes built once (``RequestHead``); the answer is framed as RFC 9112 says (Content-Length,
chunked with trailers, close-delimited, HTTP/1.0, no body for HEAD/1xx/204/304 whatever Content-Length says).
A connection the server closed while idle is found before reuse and replaced without a counted request; an
idempotent request whose reused connection dies before any byte of answer is sent once more on a fresh one
(RFC 9112 §9.3.1).
"""

from __future__ import annotations

import errno
import re
import select
import socket as _stdsocket
import ssl as _stdssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import gevent
import httptools
from gevent import socket
from gevent import ssl as gssl
from gevent.monkey import get_original

from .base import CONNECTION, TIMEOUT

# Limits on what one response may cost before it is rejected (hostile or broken servers).
MAX_HEAD_BYTES = 64 * 1024  # status line + headers (+ any 1xx heads before the final one)
MAX_KEPT_BODY_BYTES = 64 * 1024 * 1024  # a body kept for a check or callback; counted bodies have no bound
RECV_BYTES = 64 * 1024
USER_AGENT = "gradual"

# One receive buffer for every connection of this process: a greenlet feeds what it received to its parser
# before it can yield, so no other greenlet writes the buffer in between, and 10,000 users do not hold
# 10,000 buffers.
_BUFFER = bytearray(RECV_BYTES)
_VIEW = memoryview(_BUFFER)
# The real poll(), even where gevent has patched select: a zero-timeout poll of one descriptor never blocks,
# and is a quarter of the cost of a MSG_PEEK recv that raises BlockingIOError on a healthy connection.
_POLL = get_original("select", "poll")
_READABLE = select.POLLIN | select.POLLPRI
_NO_ANSWER_ERRNOS = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ESHUTDOWN)


class HttpFailure(Exception):
    """A request that failed: ``kind`` is the stats failure kind (connection, timeout), ``message`` the detail."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Deadline(Exception):
    """Thrown into a greenlet by its request's timer: the request's ``timeout`` has passed."""


class _NoAnswer(Exception):
    """The connection ended before any byte of the answer arrived (the one case that may be retried)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a connection goes and how it is secured: the key of a user's connection."""

    host: str
    port: int
    tls: bool = False
    verify: bool = True
    ca_file: str | None = None

    @property
    def host_header(self) -> str:
        """The Host header value: an IPv6 literal in brackets, the port unless it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f"{host}:{self.port}"


@lru_cache(maxsize=64)
def tls_context(verify: bool, ca_file: str | None) -> gssl.SSLContext:
    """One client context per (verify, ca_file), shared by every connection that asks for it."""
    # gevent's SSLContext (not ssl.create_default_context, which makes the blocking stdlib one when gevent has
    # not patched ssl): its sockets wait through the hub. PROTOCOL_TLS_CLIENT checks the certificate and name.
    context = gssl.SSLContext(gssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        context.check_hostname = False
        context.verify_mode = gssl.CERT_NONE
    elif ca_file is not None:
        context.load_verify_locations(cafile=ca_file)  # that file only, as curl --cacert and requests do
    else:
        context.load_default_certs()
    return context


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request as it goes on the wire. ``encode()`` is called once for a static request; a templated request
    keeps its compiled parts and makes a RequestHead per iteration with the values filled in."""

    method: str
    target: str
    host: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {self.host}"]
        names = {name.lower() for name, _ in self.headers}
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        if "user-agent" not in names:
            lines.append(f"User-Agent: {USER_AGENT}")
        if "content-length" not in names and (self.body or self.method in ("POST", "PUT", "PATCH")):
            lines.append(f"Content-Length: {len(self.body)}")
        for line in lines:
            if "\r" in line or "\n" in line:
                raise ValueError(f"line break in request head line {line!r}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def header_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(k), str(v)) for k, v in items)


class Response:
    """One response: status, body size, and the head and body when kept (for checks and callbacks)."""

    __slots__ = ("status_code", "nbytes", "content", "http_version", "_head", "_headers", "_lower")

    def __init__(self, status: int, head: bytes | None, nbytes: int, content: bytes | None, version: str) -> None:
        self.status_code = status
        self.nbytes = nbytes
        self.content = content  # None unless the request asked to keep the body
        self.http_version = version
        self._head = head  # the raw bytes up to the end of the final head (any 1xx heads first), when kept
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._lower: bytes | None = None  # the head in lower case, for may_have()

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The final head's headers as received (raw name and value bytes); empty when the head was not kept."""
        if self._headers is None:
            self._headers = parse_head(self._head) if self._head is not None else []
        return self._headers

    def may_have(self, name: bytes) -> bool:
        """Whether the kept head might hold header ``name`` (lower case): a substring test, no parsing, so a
        cookie jar looks for Set-Cookie on every answer at the cost of one search."""
        lower = self._lower
        if lower is None:
            if self._head is None:
                return False
            lower = self._lower = self._head.lower()
        # partition(), not `in` or find(): bytes.__contains__ first tries the name as an int and clears the
        # TypeError, find() parses its arguments the slow way; both cost more than the search itself.
        return bool(lower.partition(name)[1])

    def plain_text(self) -> str | None:
        """The kept body as text when it reads as UTF-8 as it is, else None: no Content-Encoding in the head,
        the body all ASCII or no charset but utf-8 named (substring tests, as may_have; no test when the head
        was not kept), and its bytes valid UTF-8. One call for a JSON check's short path.

        ASCII bytes mean the same in every charset a JSON body may come in that keeps ASCII; in those that do
        not (UTF-16, UTF-32) JSON text is never NUL-free, so it does not parse as UTF-8 JSON either.
        """
        content = self.content
        if content is None:
            return None
        lower = self._lower
        if lower is None and self._head is not None:
            lower = self._lower = self._head.lower()
        if lower is not None:
            if lower.partition(b"content-encoding")[1]:
                return None
            if not (content.isascii() or not lower.partition(b"charset")[1]
                    or lower.count(b"charset") == lower.count(b"charset=utf-8")):
                return None
        try:
            return content.decode()
        except UnicodeDecodeError:
            return None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), decoded as latin-1."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content or b"")


_HEAD_END = re.compile(rb"\r?\n\r?\n")


def parse_head(data: bytes) -> list[tuple[bytes, bytes]]:
    """The header lines of the final response head in ``data`` (interim 1xx heads skipped). httptools has parsed
    and checked the same bytes already; this reads them again only when someone asks for the headers, because
    httptools' own per-header callbacks cost more than the rest of the parse."""
    pos = 0
    lines: list[bytes] = []
    while pos < len(data):
        match = _HEAD_END.search(data, pos)
        end = match.start() if match else len(data)
        lines = data[pos:end].split(b"\n")
        status = lines[0].split(None, 2)[1:2]
        if not (status and status[0][:1] == b"1" and status[0] != b"101") or match is None:
            break
        pos = match.end()
    headers = []
    for line in lines[1:]:
        name, sep, value = line.rstrip(b"\r").partition(b":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return headers


class HttpConnection:
    """A user's keep-alive connection to one endpoint. Not shared between greenlets.

    It is its own httptools protocol: the parser calls on_headers_complete/on_body/on_message_complete (and
    on_chunk_header) on it while ``request`` feeds what it received. There is no on_header: headers are read from
    the kept head bytes only when needed (Response.headers, or the framing of a body the server cut short).
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.connects = 0  # connections opened so far (tests and benchmarks read it)
        self.retries = 0  # requests sent again after their reused connection died unanswered (§9.3.1)
        self._sock: Any = None
        self._poll: Any = None
        self._parser: Any = None
        self._tls_session: Any = None
        self._context = tls_context(endpoint.verify, endpoint.ca_file) if endpoint.tls else None
        self._loop = gevent.get_hub().loop
        self._reset_response(False, False)

    # -- httptools protocol ------------------------------------------------------------------------------

    def on_chunk_header(self) -> None:
        self._chunked = True

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            return  # llhttp ends an interim response at its head and parses the final one after it
        self._status = status
        self._keep_alive = parser.should_keep_alive()
        self._version = parser.get_http_version()
        self._head_done = True
        if self._head:
            # llhttp would wait for Content-Length bytes after a HEAD answer (httptools #47): the response ends
            # here, and the parser, which still expects a body, is replaced before the next response.
            self._done = True
            self._parser = None

    def on_body(self, data: bytes) -> None:
        n = self._nbytes = self._nbytes + len(data)
        chunks = self._chunks
        if chunks is not None:
            if n > MAX_KEPT_BODY_BYTES:
                raise HttpFailure(CONNECTION, f"response body over {MAX_KEPT_BODY_BYTES} bytes cannot be kept")
            chunks.append(data)

    def on_message_complete(self) -> None:
        if self._head_done:
            self._done = True

    # -- requests ----------------------------------------------------------------------------------------

    def _reset_response(self, head: bool, keep_body: bool, keep_head: bool = False) -> None:
        self._head = head
        self._keep_head = keep_body or keep_head
        self._raw: list[bytes] = []  # copies of the received bytes up to the end of the head, when kept
        self._chunked = False
        self._status = 0
        self._version = "1.1"
        self._keep_alive = False
        self._head_done = False
        self._done = False
        self._nbytes = 0
        self._chunks: list[bytes] | None = [] if keep_body else None

    def request(self, data: bytes, *, head: bool = False, keep_body: bool = False, timeout: float | None = None,
                connect_timeout: float | None = None, idempotent: bool = True, keep_head: bool = False) -> Response:
        """Send ``data`` (a whole request) and read the whole response; HttpFailure if it fails.

        The response's headers are kept with a kept body, or alone with ``keep_head`` (a cookie jar, a header
        check or extraction reads them).
        ``timeout`` bounds everything (connect, send, the full response); ``connect_timeout`` the connect alone.
        ``idempotent`` requests are sent once more when a kept-alive connection dies before any byte of answer;
        others (POST, PATCH) are not, as RFC 9112 §9.3.1 says: the server may have applied them.
        """
        # A bare loop timer that throws _Deadline into this greenlet: a third of a gevent.Timeout's cost, which
        # showed in profiles. A new one each time: a libev timer restarted after stop() keeps its old deadline.
        deadline = None
        if timeout is not None:
            deadline = self._loop.timer(timeout)
            # update=True: the loop's clock may be stale (a greenlet that ran long without yielding), and a
            # deadline counted from it would expire early.
            deadline.start(gevent.getcurrent().throw, _Deadline, update=True)
        try:
            for attempt in (0, 1):
                reused = self._sock is not None and self._alive()
                if not reused:
                    self.close()
                    self._connect(connect_timeout)
                try:
                    return self._exchange(data, head, keep_body, keep_head)
                except _NoAnswer as exc:
                    self.close()
                    if not reused or attempt:
                        raise HttpFailure(CONNECTION, str(exc)) from None
                    if not idempotent:
                        raise HttpFailure(CONNECTION, f"{exc} on a kept-alive connection (not sent again: "
                                          "the method is not idempotent)") from None
                    self.retries += 1
            raise AssertionError("unreachable")
        except _Deadline:
            self.close()
            raise HttpFailure(TIMEOUT, f"no complete response within {timeout:g}s") from None
        except HttpFailure:
            self.close()
            raise
        except (OSError, gssl.SSLError) as exc:
            self.close()
            raise HttpFailure(*_describe(exc)) from None
        finally:
            if deadline is not None:
                deadline.close()

    def _alive(self) -> bool:
        """False if the server closed the idle connection: readable means EOF, a reset, or bytes sent unasked
        (a 408, a TLS close_notify); none of them leaves the connection fit for another request."""
        if self._context is not None and self._sock.pending():
            return False  # decrypted bytes nobody asked for
        return not self._poll.poll(0)

    def _connect(self, connect_timeout: float | None) -> None:
        ep = self.endpoint
        timer = gevent.Timeout(connect_timeout) if connect_timeout is not None else None
        if timer is not None:
            timer.start()
        try:
            sock = socket.create_connection((ep.host, ep.port))
            sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=ep.host, session=self._tls_session)
                self._tls_session = sock.session
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise HttpFailure(TIMEOUT, f"connect to {ep.host_header} not done within {connect_timeout:g}s") from None
        finally:
            if timer is not None:
                timer.cancel()
        self.connects += 1
        self._sock = sock
        self._poll = _POLL()
        self._poll.register(sock.fileno(), _READABLE)
        self._parser = httptools.HttpResponseParser(self)

    def _exchange(self, data: bytes, head: bool, keep_body: bool, keep_head: bool = False) -> Response:
        sock = self._sock
        self._reset_response(head, keep_body, keep_head)
        try:
            # One send() nearly always takes a whole request; sendall() costs several Python calls more.
            sent = sock.send(data)
            if sent < len(data):
                sock.sendall(memoryview(data)[sent:])
        except OSError as exc:
            if exc.errno in _NO_ANSWER_ERRNOS:
                raise _NoAnswer(f"connection closed while sending: {_strerror(exc)}") from None
            raise
        received = 0
        view = _VIEW
        while True:
            try:
                n = sock.recv_into(_BUFFER)
            except OSError as exc:
                if received == 0 and exc.errno in _NO_ANSWER_ERRNOS:
                    raise _NoAnswer(f"connection reset before any answer: {_strerror(exc)}") from None
                raise
            if n == 0:
                return self._eof(received)
            received += n
            if self._parser is None:  # a HEAD answer already complete: whatever follows is not ours
                break
            in_head = not self._head_done
            try:
                self._parser.feed_data(view[:n])
            except httptools.HttpParserUpgrade:
                self._done, self._keep_alive = True, False
            except httptools.HttpParserError as exc:
                cause = exc.__context__
                if isinstance(cause, HttpFailure):
                    raise cause from None
                raise HttpFailure(CONNECTION, f"invalid HTTP response: {exc}") from None
            # The head's bytes are kept while it is incomplete, and once complete only when someone will read
            # its headers: a body kept for a consumer, or a connection not kept alive (whose body may end at EOF).
            if in_head and (not self._head_done or self._keep_head or not self._keep_alive):
                self._raw.append(bytes(view[:n]))
            if self._done:
                break
            if not self._head_done and received > MAX_HEAD_BYTES:
                raise HttpFailure(CONNECTION, f"response head over {MAX_HEAD_BYTES} bytes")
        return self._finish()

    def _finish(self) -> Response:
        if not self._keep_alive:
            self.close()
        elif self._parser is None:
            self._parser = httptools.HttpResponseParser(self)
        chunks = self._chunks
        content = None if chunks is None else b"".join(chunks)
        head = b"".join(self._raw) if self._keep_head and self._raw else None
        return Response(self._status, head, self._nbytes, content, self._version)

    def _eof(self, received: int) -> Response:
        """The server closed the connection: the end of a close-delimited body, or a failure."""
        if received == 0:
            raise _NoAnswer("connection closed before any answer")
        if not self._head_done:
            raise HttpFailure(CONNECTION, "connection closed in the middle of the response head")
        # A kept-alive answer has a framed body (llhttp keeps alive only then); otherwise the head says.
        framed = self._keep_alive or self._chunked or any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in parse_head(b"".join(self._raw)))
        if framed:
            what = "chunked body" if self._chunked else f"body ({self._nbytes} bytes received)"
            raise HttpFailure(CONNECTION, f"connection closed before the end of the {what}")
        self._keep_alive = False  # a close-delimited body: complete at EOF (RFC 9112 §6.3, rule 8)
        return self._finish()

    def close(self) -> None:
        sock, self._sock, self._parser = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def _strerror(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, gssl.SSLCertVerificationError):
        return CONNECTION, f"TLS certificate verify failed: {exc.verify_message}"
    if isinstance(exc, (gssl.SSLError, _stdssl.SSLError)):
        return CONNECTION, f"TLS error: {exc.reason or exc}"
    if isinstance(exc, _stdsocket.gaierror):
        return CONNECTION, f"cannot resolve host: {exc.strerror}"
    if isinstance(exc, (TimeoutError, _stdsocket.timeout)):
        return TIMEOUT, "timed out"
    if isinstance(exc, OSError):
        return CONNECTION, f"{type(exc).__name__}: {_strerror(exc)}"
    return CONNECTION, f"{type(exc).__name__}: {exc}"
