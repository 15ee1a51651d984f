"""A raw-socket WebSocket echo server that closes each connection after a set number of messages, and counts.

Threads and blocking stdlib sockets (usable next to an in-process gevent client or a `gradual run`
subprocess). A message is counted when its whole frame has been read. After ``close_after`` messages on a
connection the server answers the last one, then sends a close frame (``mode="close"``) or just closes the
TCP connection (``mode="eof"``); a close frame from the client is answered with one.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import struct

from support.threaded_server import ThreadedServer

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


class WsServer(ThreadedServer):
    def __init__(self, close_after: int | None = None, mode: str = "close",
                 tls: ssl.SSLContext | None = None) -> None:
        super().__init__("127.0.0.1", tls)
        self.close_after = close_after
        self.mode = mode
        self.messages = 0
        self.handshakes = 0
        self.client_closes = 0
        self.scheme = "wss" if tls is not None else "ws"

    def url(self, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}/ws"

    def _serve(self, sock: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return
            head += chunk
        key = b""
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        with self._lock:
            self.handshakes += 1
        on_connection = 0
        while True:
            b1, b2 = _read_exact(sock, 2)
            opcode, n = b1 & 0x0F, b2 & 0x7F
            if n == 126:
                n = struct.unpack("!H", _read_exact(sock, 2))[0]
            elif n == 127:
                n = struct.unpack("!Q", _read_exact(sock, 8))[0]
            mask = _read_exact(sock, 4) if b2 & 0x80 else b"\0\0\0\0"
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(_read_exact(sock, n)))
            if opcode == 0x8:  # close: answer it and end
                with self._lock:
                    self.client_closes += 1
                sock.sendall(_frame(0x8, payload[:2]))
                return
            if opcode not in (0x1, 0x2):
                continue
            with self._lock:
                self.messages += 1
            on_connection += 1
            sock.sendall(_frame(opcode, payload))
            if self.close_after is not None and on_connection >= self.close_after:
                if self.mode == "close":
                    sock.sendall(_frame(0x8, struct.pack("!H", 1000)))
                return
