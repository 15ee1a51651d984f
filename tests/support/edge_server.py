"""A raw-socket HTTP server that answers each path with one HTTP/1.1 edge case, and counts what it received.

It runs in threads with blocking stdlib sockets, so a test can drive gradual's gevent client in the same
process or run `gradual run` as a subprocess against it. A request is counted when its head and body have
been read, so a request written to a connection the server had already closed is never counted.

Paths (the answer each gives):
  /ok                 200, Content-Length 2, keep-alive
  /http10-length      HTTP/1.0 200 with Content-Length 5, then close
  /http10-nolength    HTTP/1.0 200 without length: 11 body bytes delimited by the close
  /close-after        200 with Content-Length, then the server closes without a Connection: close header
  /idle-close         200 with Content-Length; the server closes the connection after 50 ms idle
  /conn-close         200 with Connection: close, then close
  /head               (HEAD) 200 with Content-Length 100 and no body, keep-alive
  /no-content         204 with Content-Length 100 and no body, keep-alive
  /not-modified       304 with Content-Length 100 and no body, keep-alive
  /continue           100 Continue, then 200 with Content-Length 2
  /chunked            chunked body of 3 chunks (10 bytes) with a trailer, keep-alive
  /truncated          Content-Length 100, 50 bytes, close
  /truncated-chunked  chunked, one chunk, close before the last chunk
  /trickle            Content-Length 30, one byte every 0.1 s (3 s in all)
  /big                10 MB body with Content-Length
  /redirect           302 Found to /ok
  /drop               read, then close without an answer
"""

from __future__ import annotations

import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable

from support.threaded_server import ThreadedServer

BIG_BYTES = 10 * 1024 * 1024
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class EdgeServer(ThreadedServer):
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        super().__init__(host, tls)
        self.counts: Counter[str] = Counter()
        self.connections = 0
        self.scheme = "https" if tls is not None else "http"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        reader = sock.makefile("rb")
        try:
            while True:
                try:
                    line = reader.readline()
                except (TimeoutError, OSError):
                    return  # idle too long: close without a word
                if not line:
                    return
                sock.settimeout(None)
                method, target, _ = line.decode("latin-1").split(" ", 2)
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                reader.read(length)
                path = target.split("?", 1)[0]
                with self._lock:
                    self.counts[f"{method} {path}"] += 1
                answer = ANSWERS.get(path)
                if answer is None:
                    sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                keep = answer(sock)
                if not keep:
                    return
                if keep is IDLE_CLOSE:
                    sock.settimeout(IDLE_CLOSE_S)  # the next request must come soon, or the server hangs up
        finally:
            reader.close()


IDLE_CLOSE = 2  # an answer's "keep the connection, but close it once idle for IDLE_CLOSE_S"
IDLE_CLOSE_S = 0.05


def _send(data: bytes, keep: bool = True) -> Callable[[socket.socket], int]:
    def answer(sock: socket.socket) -> int:
        sock.sendall(data)
        return keep

    return answer


def _idle_close(sock: socket.socket) -> int:
    sock.sendall(OK)
    return IDLE_CLOSE


def _trickle(sock: socket.socket) -> int:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n")
    for _ in range(30):
        time.sleep(0.1)
        sock.sendall(b"x")
    return True


def _big(sock: socket.socket) -> int:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG_BYTES)
    block = b"y" * 65536
    for _ in range(BIG_BYTES // len(block)):
        sock.sendall(block)
    return True


ANSWERS: dict[str, Callable[[socket.socket], int]] = {
    "/ok": _send(OK),
    "/http10-length": _send(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", keep=False),
    "/http10-nolength": _send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world", keep=False),
    "/close-after": _send(OK, keep=False),
    "/idle-close": _idle_close,
    "/conn-close": _send(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", keep=False),
    "/head": _send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
    "/no-content": _send(b"HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\n"),
    "/not-modified": _send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n"),
    "/continue": _send(b"HTTP/1.1 100 Continue\r\n\r\n" + OK),
    "/chunked": _send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
                      b"3\r\nabc\r\n4\r\ndefg\r\n3\r\nhij\r\n0\r\nX-Sum: 10\r\n\r\n"),
    "/truncated": _send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"z" * 50, keep=False),
    "/truncated-chunked": _send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", keep=False),
    "/trickle": _trickle,
    "/big": _big,
    "/redirect": _send(b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n"),
    "/drop": _send(b"", keep=False),
}
