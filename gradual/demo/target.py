"""Demo target: a small, fast HTTP/1.1 + WebSocket server that counts exactly what it received.

`gradual demo` and the test-suite aim load at it; `GET /__counts` reports what the server saw.
Run it with `python -m gradual.demo.target [--host 127.0.0.1] [--port 0] [--port-file PATH]`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import gevent
from gevent.event import Event
from gevent.pool import Pool
from gevent.server import StreamServer

from .shop import Shop

DEFAULT_HOST = "127.0.0.1"
MAX_HEAD_BYTES = 64 * 1024
MAX_WS_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_SLOW_MS = 600_000
RECV_BYTES = 64 * 1024
# A single recv() for a huge body would allocate a huge buffer up front.
MAX_RECV_BYTES = 1024 * 1024
STOP_GRACE_S = 1.0

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_PATHS = ("/ws", "/ws/counter")
WS_TEXT, WS_BINARY, WS_CLOSE, WS_PING, WS_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
WS_PROTOCOL_ERROR, WS_INVALID_DATA, WS_TOO_BIG = 1002, 1007, 1009

ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
_REASONS = {status.value: status.phrase for status in HTTPStatus}
# RFC 9110: these statuses never carry a body, so no Content-Length either.
_NO_BODY_STATUSES = frozenset({204, 304})
_JSON = "application/json"
_CLOSE = "Connection: close\r\n"
# HTTP/1.0 clients (e.g. `ab -k`) only keep a connection open when told so explicitly.
_KEEP_ALIVE_1_0 = "Connection: keep-alive\r\n"


class NonLoopbackAddress(ValueError):
    """Raised for a bind address outside 127.0.0.0/8 and ::1: the demo target is loopback-only."""


class _PeerClosed(Exception):
    """The client closed the connection in the middle of a request or frame."""


class _HttpError(Exception):
    """A request the server cannot read; answered with `status` and the connection is closed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def loopback_address(host: str) -> str:
    """Return the IP literal to bind for `host`, or raise NonLoopbackAddress."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        raise NonLoopbackAddress(f"refusing to bind {host!r}: only 127.0.0.0/8 and ::1 are allowed") from None
    if not address.is_loopback:
        raise NonLoopbackAddress(f"refusing to bind {host!r}: only 127.0.0.0/8 and ::1 are allowed")
    return str(address)


def _response(
    status: int,
    body: bytes = b"",
    *,
    connection: str = "",
    head_only: bool = False,
    extra: str = "",
    content_type: str = _JSON,
) -> bytes:
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n{extra}"
    if status not in _NO_BODY_STATUSES:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    data = (head + connection + "\r\n").encode("latin-1")
    if head_only or status in _NO_BODY_STATUSES:
        return data
    return data + body


def _json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _unmask(data: bytes, mask: bytes) -> bytes:
    # One big-int XOR is much faster in CPython than a per-byte loop.
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def websocket_accept(key: str) -> str:
    """The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + WS_GUID).digest()).decode("ascii")


def _uint(text: str) -> int | None:
    # str.isdigit() alone also accepts characters such as "²" that int() rejects.
    return int(text) if text.isascii() and text.isdigit() else None


def _auth_scheme(value: str | None) -> str | None:
    if value is None:
        return None
    scheme = value.strip().split(" ", 1)[0]
    lowered = scheme.lower()
    if lowered == "bearer":
        return "Bearer"
    if lowered == "basic":
        return "Basic"
    return scheme or None


class _Connection:
    """A client socket plus the bytes received but not yet consumed."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def read_head(self) -> str | None:
        """Return the request line and headers, or None if the client closed first."""
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise _HttpError(431)
            chunk = self.sock.recv(RECV_BYTES)
            if not chunk:
                return None
            start = max(len(buf) - 3, 0)
            buf = buf + chunk if buf else chunk
            end = buf.find(b"\r\n\r\n", start)
        if end > MAX_HEAD_BYTES:
            raise _HttpError(431)
        self.buf = buf[end + 4 :]
        return buf[:end].decode("latin-1")

    def fill(self) -> bool:
        """Wait until at least one byte is buffered; False if the client closed first."""
        if not self.buf:
            self.buf = self.sock.recv(RECV_BYTES)
        return bool(self.buf)

    def read_exact(self, n: int) -> bytes:
        buf = self.buf
        if len(buf) >= n:
            self.buf = buf[n:]
            return buf[:n]
        parts = [buf]
        have = len(buf)
        while have < n:
            chunk = self.sock.recv(min(max(RECV_BYTES, n - have), MAX_RECV_BYTES))
            if not chunk:
                raise _PeerClosed
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self.buf = data[n:]
        return data[:n]

    def discard(self, n: int) -> None:
        """Consume an n-byte body without keeping it."""
        buf = self.buf
        if len(buf) >= n:
            self.buf = buf[n:]
            return
        left = n - len(buf)
        self.buf = b""
        while left > 0:
            chunk = self.sock.recv(min(max(RECV_BYTES, left), MAX_RECV_BYTES))
            if not chunk:
                raise _PeerClosed
            if len(chunk) > left:
                self.buf = chunk[left:]
                return
            left -= len(chunk)


class DemoTarget:
    """The demo HTTP/WebSocket server.

    Counters are plain attributes changed only by this server's greenlets, so reading them from the same
    thread (the same gevent hub) is always consistent; from elsewhere, use `GET /__counts`.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.host = loopback_address(host)
        self._requested_port = port
        self.counts: dict[str, int] = {}
        self.ws_messages: dict[str, int] = dict.fromkeys(WS_PATHS, 0)
        self.connections = 0
        self.peak_connections = 0
        self.ws_connections = 0
        self._stopping = False
        self._stopped = Event()
        # Greenlets blocked waiting for the client (idle keep-alive, /hang, idle WebSocket):
        # stop() kills these at once instead of waiting out the grace period for them.
        self._idle: set[gevent.Greenlet] = set()
        self._pool = Pool()
        self._server = StreamServer((self.host, port), self._handle, spawn=self._pool)
        self.shop = Shop()  # the /shop routes of examples/journey (shop.py)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before that)."""
        if self._server.started:
            return int(self._server.server_port)
        return self._requested_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :]

    def start(self) -> None:
        """Bind and start accepting in the background; returns at once."""
        self._server.start()

    def serve_forever(self) -> None:
        """Start if needed and block until stop() is called."""
        if not self._server.started:
            self.start()
        self._stopped.wait()

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        """Stop accepting, drop idle connections, give in-flight requests `timeout` seconds, then kill."""
        if self._stopped.is_set():
            return
        self._stopping = True
        if not self._server.closed:
            self._server.close()
        gevent.killall(list(self._idle), block=True, timeout=1)
        self._server.stop(timeout=timeout)
        self._stopped.set()

    # -- counters --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The `GET /__counts` document."""
        return {
            "requests": dict(self.counts),
            "total": sum(self.counts.values()),
            "ws_messages": dict(self.ws_messages),
            "connections": self.connections,
            "peak_connections": self.peak_connections,
            "ws_connections": self.ws_connections,
        }

    def reset(self) -> None:
        self.shop.reset()
        self.counts.clear()
        for path in self.ws_messages:
            self.ws_messages[path] = 0
        self.peak_connections = self.connections

    # -- HTTP ------------------------------------------------------------------------------------

    def _handle(self, sock: socket.socket, address: Any) -> None:
        self.connections += 1
        if self.connections > self.peak_connections:
            self.peak_connections = self.connections
        conn = _Connection(sock)
        me = gevent.getcurrent()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self._stopping:
                self._idle.add(me)
                try:
                    head = conn.read_head()
                finally:
                    self._idle.discard(me)
                if head is None or not self._serve(conn, head):
                    break
        except _HttpError as exc:
            try:
                sock.sendall(_response(exc.status, _json({"error": exc.status}), connection=_CLOSE))
            except OSError:
                pass
        except (OSError, _PeerClosed):
            pass
        finally:
            self.connections -= 1
            sock.close()

    def _serve(self, conn: _Connection, head: str) -> bool:
        """Answer one request; return whether the connection stays open."""
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _HttpError(400)
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _HttpError(400)
            headers[name.strip().lower()] = value.strip()

        if target.startswith(("http://", "https://")):
            split = urlsplit(target)
            path, query = split.path or "/", split.query
        else:
            path, _, query = target.partition("?")
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep = "close" not in connection
        else:
            keep = "keep-alive" in connection

        if not path.startswith("/__"):
            key = f"{method} {path}"
            self.counts[key] = self.counts.get(key, 0) + 1

        if "transfer-encoding" in headers:
            # Without parsing chunks the end of the body is unknown, so the connection cannot be reused.
            conn.sock.sendall(_response(411, _json({"error": "Content-Length required"}), connection=_CLOSE))
            return False
        body_bytes = _uint(headers.get("content-length", "0"))
        if body_bytes is None:
            raise _HttpError(400)
        shop = path.startswith("/shop/")
        body = b""
        if body_bytes:
            if headers.get("expect", "").lower() == "100-continue":
                conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if shop and body_bytes <= MAX_RECV_BYTES:
                body = conn.read_exact(body_bytes)
            else:
                conn.discard(body_bytes)

        keep = keep and not self._stopping
        if not keep:
            conn_hdr = _CLOSE
        elif version == "HTTP/1.1":
            conn_hdr = ""
        else:
            conn_hdr = _KEEP_ALIVE_1_0
        head_only = method == "HEAD"
        if path.startswith("/__"):
            conn.sock.sendall(self._control(method, path, conn_hdr, head_only))
            return keep

        if shop:
            status, doc, extra_headers = self.shop.handle(method, path, headers, body)
            extra = "".join(f"{k}: {v}\r\n" for k, v in extra_headers)
            conn.sock.sendall(_response(status, _json(doc), connection=conn_hdr, head_only=head_only, extra=extra))
            return keep

        required = headers.get("x-require-auth")
        if required is not None and headers.get("authorization") != f"Bearer {required}":
            body = _json({"error": "unauthorized"})
            extra = "WWW-Authenticate: Bearer\r\n"
            conn.sock.sendall(_response(401, body, connection=conn_hdr, head_only=head_only, extra=extra))
            return keep

        if path.startswith("/status/"):
            code = _uint(path[len("/status/") :]) or 0
            if not 200 <= code <= 599:
                # 1xx are interim responses: a client would keep waiting for a final one.
                code = 400
            body = _json({"status": code, "method": method, "path": path})
            conn.sock.sendall(_response(code, body, connection=conn_hdr, head_only=head_only))
            return keep
        if path == "/slow":
            params = dict(parse_qsl(query, keep_blank_values=True))
            requested_ms = _uint(params.get("ms", "0"))
            if requested_ms is None:
                conn.sock.sendall(
                    _response(400, _json({"error": "ms must be an integer"}), connection=conn_hdr)
                )
                return keep
            ms = min(requested_ms, MAX_SLOW_MS)
            gevent.sleep(ms / 1000.0)
            body = _json({"method": method, "path": path, "slept_ms": ms})
            conn.sock.sendall(_response(200, body, connection=conn_hdr, head_only=head_only))
            return keep
        if path == "/hang":
            self._hang(conn)
            return False
        if path in WS_PATHS:
            if "websocket" in headers.get("upgrade", "").lower():
                self._websocket(conn, path, headers)
                return False
            body = _json({"error": "WebSocket upgrade required"})
            extra = "Upgrade: websocket\r\n"
            conn.sock.sendall(_response(426, body, connection=conn_hdr, head_only=head_only, extra=extra))
            return keep
        if method == "OPTIONS":
            conn.sock.sendall(_response(204, connection=conn_hdr, extra=f"Allow: {ALLOW}\r\n"))
            return keep

        doc = {
            "method": method,
            "path": path,
            "query": dict(parse_qsl(query, keep_blank_values=True)) if query else {},
            "body_bytes": body_bytes,
            "auth": _auth_scheme(headers.get("authorization")),
        }
        conn.sock.sendall(_response(200, _json(doc), connection=conn_hdr, head_only=head_only))
        return keep

    def _control(self, method: str, path: str, conn_hdr: str, head_only: bool) -> bytes:
        if path == "/__counts":
            if method not in ("GET", "HEAD"):
                return _response(
                    405, _json({"error": "use GET"}), connection=conn_hdr, extra="Allow: GET\r\n"
                )
            return _response(200, _json(self.snapshot()), connection=conn_hdr, head_only=head_only)
        if path == "/__shop":
            return _response(200, _json(self.shop.snapshot()), connection=conn_hdr, head_only=head_only)
        if path == "/__reset":
            if method != "POST":
                return _response(
                    405, _json({"error": "use POST"}), connection=conn_hdr, extra="Allow: POST\r\n"
                )
            self.reset()
            return _response(204, connection=conn_hdr)
        return _response(404, _json({"error": "unknown control endpoint"}), connection=conn_hdr)

    def _hang(self, conn: _Connection) -> None:
        """Never answer; return when the client goes away (or get killed by stop())."""
        me = gevent.getcurrent()
        self._idle.add(me)
        try:
            while conn.sock.recv(RECV_BYTES):
                pass
        finally:
            self._idle.discard(me)

    # -- WebSocket -------------------------------------------------------------------------------

    def _websocket(self, conn: _Connection, path: str, headers: dict[str, str]) -> None:
        key = headers.get("sec-websocket-key")
        if not key:
            conn.sock.sendall(
                _response(400, _json({"error": "Sec-WebSocket-Key missing"}), connection=_CLOSE)
            )
            return
        if headers.get("sec-websocket-version", "13") != "13":
            body = _json({"error": "unsupported WebSocket version"})
            conn.sock.sendall(_response(426, body, connection=_CLOSE, extra="Sec-WebSocket-Version: 13\r\n"))
            return
        conn.sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {websocket_accept(key)}\r\n\r\n"
            ).encode("latin-1")
        )
        self.ws_connections += 1
        try:
            self._ws_loop(conn, path)
        finally:
            self.ws_connections -= 1

    def _ws_loop(self, conn: _Connection, path: str) -> None:
        sock = conn.sock
        counter = path == "/ws/counter"
        received = 0
        fragments: list[bytes] | None = None
        fragments_size = 0
        fragments_opcode = WS_TEXT
        me = gevent.getcurrent()
        while True:
            self._idle.add(me)
            try:
                if not conn.fill():
                    return
            finally:
                self._idle.discard(me)
            first = conn.read_exact(2)
            b0, b1 = first[0], first[1]
            fin = b0 & 0x80
            opcode = b0 & 0x0F
            length = b1 & 0x7F
            if b0 & 0x70 or not b1 & 0x80:
                # Reserved bits without an extension, or an unmasked client frame: RFC 6455 5.1/5.2.
                sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_PROTOCOL_ERROR)))
                return
            if length == 126:
                length = struct.unpack("!H", conn.read_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", conn.read_exact(8))[0]
            if length + fragments_size > MAX_WS_MESSAGE_BYTES:
                sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_TOO_BIG)))
                return
            mask = conn.read_exact(4)
            payload = _unmask(conn.read_exact(length), mask) if length else b""

            if opcode >= 0x8:
                if not fin or length > 125:
                    sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_PROTOCOL_ERROR)))
                    return
                if opcode == WS_CLOSE:
                    sock.sendall(_ws_frame(WS_CLOSE, payload[:2]))
                    return
                if opcode == WS_PING:
                    sock.sendall(_ws_frame(WS_PONG, payload))
                elif opcode != WS_PONG:
                    sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_PROTOCOL_ERROR)))
                    return
                continue

            if opcode == 0x0:
                if fragments is None:
                    sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_PROTOCOL_ERROR)))
                    return
                fragments.append(payload)
                fragments_size += length
                if not fin:
                    continue
                payload, opcode = b"".join(fragments), fragments_opcode
                fragments, fragments_size = None, 0
            elif opcode in (WS_TEXT, WS_BINARY):
                if fragments is not None:
                    sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_PROTOCOL_ERROR)))
                    return
                if not fin:
                    fragments, fragments_size, fragments_opcode = [payload], length, opcode
                    continue
            else:
                sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_PROTOCOL_ERROR)))
                return

            self.ws_messages[path] = self.ws_messages.get(path, 0) + 1
            received += 1
            if opcode == WS_TEXT:
                if payload == b"hang":
                    continue
                if payload == b"close":
                    # Abrupt close, no close frame: lets tests exercise a broken connection.
                    return
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError:
                    sock.sendall(_ws_frame(WS_CLOSE, struct.pack("!H", WS_INVALID_DATA)))
                    return
            if counter:
                sock.sendall(_ws_frame(WS_TEXT, _json({"n": received})))
            else:
                sock.sendall(_ws_frame(opcode, payload))


# -- command line --------------------------------------------------------------------------------


def _write_port_file(path: str, port: int) -> None:
    # Write then rename, so a reader polling for the file never sees it half-written.
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(f"{port}\n")
    os.replace(tmp, path)


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gradual.demo.target",
        description="Loopback-only HTTP/WebSocket demo target that counts what it receives.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--port-file", help="write the bound port number to this file once listening")
    args = parser.parse_args(argv)

    try:
        target = DemoTarget(args.host, args.port)
        target.start()
    except NonLoopbackAddress as exc:
        print(f"demo target: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        reason = exc.strerror or exc
        print(f"demo target: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 2
    # Handlers go in before the port is announced: a supervisor may signal as soon as it reads it.
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, target.stop)
    if args.port_file:
        _write_port_file(args.port_file, target.port)
    print(f"demo target listening on {target.url}", flush=True)
    target.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
