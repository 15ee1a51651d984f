"""The accept loop the raw-socket test servers share (edge_server.py, ws_server.py): a free port on a
loopback address, a thread a connection with blocking stdlib sockets, TLS when given a context.

A subclass writes ``_serve(sock)``, one connection's exchange; the socket is closed after it, and an
OSError it lets out (the client went away) ends only that connection.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from typing import TypeVar

S = TypeVar("S", bound="ThreadedServer")


class ThreadedServer:
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls_failures = 0  # handshakes that failed (a client that did not trust the certificate)
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock = self.request
                if tls is not None:
                    try:
                        sock = tls.wrap_socket(sock, server_side=True)
                    except (ssl.SSLError, OSError):
                        with outer._lock:
                            outer.tls_failures += 1
                        return
                try:
                    outer._serve(sock)
                except OSError:  # ConnectionError included: the client went away
                    pass
                finally:
                    sock.close()

        class Server(socketserver.ThreadingTCPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self: S) -> S:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _serve(self, sock: socket.socket) -> None:
        raise NotImplementedError
