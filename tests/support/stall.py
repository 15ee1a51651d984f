"""A stdlib HTTP server with a known periodic stall, for the coordinated-omission tests.

Every response waits while ``time.time() % period >= period - stall``: the server answers at once for
``period - stall`` seconds, then answers nobody for ``stall`` seconds, and so on. It records when each
request arrived, so a test can count what the server saw per second. It runs in a thread of the test
process on a free loopback port and stops when the ``with`` block ends, whatever happened inside.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

POLL_S = 0.002  # how finely a stalled response notices the stall is over


class StallServer:
    def __init__(self, period: float, stall: float) -> None:
        assert 0 <= stall < period
        self.period = period
        self.stall = stall
        self.arrivals: list[float] = []  # time.time() of every request, in arrival order
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stalled(self, t: float) -> bool:
        return t % self.period >= self.period - self.stall

    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)

    def per_second(self) -> dict[int, int]:
        """Requests that arrived in each whole second of wall time (int(time.time()))."""
        out: dict[int, int] = {}
        with self._lock:
            for t in self.arrivals:
                out[int(t)] = out.get(int(t), 0) + 1
        return out

    def __enter__(self) -> StallServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as gradual's users expect

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
                with owner._lock:
                    owner.arrivals.append(time.time())
                while owner.stalled(time.time()):
                    time.sleep(POLL_S)
                # One write: headers and body in separate segments would meet delayed ACK (40 ms a request).
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
                pass

        ThreadingHTTPServer.daemon_threads = True
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
