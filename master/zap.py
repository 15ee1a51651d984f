"""The ZAP handler (ZeroMQ RFC 27) that admits only authorized CURVE worker keys, under gevent.

pyzmq's ThreadAuthenticator runs in a thread of its own, which a gevent-patched process does not
have; this handler is a greenlet serving a zmq.green REP socket in the master's own Context. It must be
bound before the server socket, so no connection is ever accepted without it.
"""

from __future__ import annotations

import logging

import gevent
import zmq
import zmq.green
from gradual.proto.text import clean

log = logging.getLogger("gradual.master")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_VERSION = b"1.0"
MAX_REFUSALS_LOGGED = 1000  # distinct (key, address) refusals logged; later ones are only counted


class ZapHandler:
    def __init__(self, context: zmq.Context, authorized: dict[bytes, str]) -> None:
        # Public keys arrive raw (32 bytes) in ZAP requests; the key files hold them in z85.
        self.authorized = {zmq.utils.z85.decode(key): name for key, name in authorized.items()}
        self.refused = 0
        self._logged: set[tuple[bytes, str]] = set()
        green = zmq.green.Context.shadow(context.underlying)
        self.sock = green.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(ZAP_ENDPOINT)
        self._greenlet = gevent.spawn(self._serve)

    def _serve(self) -> None:
        while True:
            try:
                request = self.sock.recv_multipart()
            except zmq.ZMQError:
                return  # closed
            self.sock.send_multipart(self._answer(request))

    def _answer(self, request: list[bytes]) -> list[bytes]:
        if len(request) < 6 or request[0] != ZAP_VERSION:
            request_id = request[1] if len(request) > 1 else b""
            return [ZAP_VERSION, request_id, b"400", b"malformed ZAP request", b"", b""]
        _version, request_id, _domain, address, _identity, mechanism, *credentials = request
        if mechanism == b"CURVE" and len(credentials) == 1 and credentials[0] in self.authorized:
            name = self.authorized[credentials[0]]
            return [ZAP_VERSION, request_id, b"200", b"OK", name.encode(), b""]
        self.refused += 1
        key = zmq.utils.z85.encode(credentials[0]) if mechanism == b"CURVE" and credentials else mechanism
        shown = clean(address.decode("utf-8", "replace"), 60)
        if (key, shown) not in self._logged and len(self._logged) < MAX_REFUSALS_LOGGED:
            self._logged.add((key, shown))
            log.warning("refused a peer from %s: %s key %s is not among the authorized worker keys",
                        shown, mechanism.decode("ascii", "replace"), clean(key.decode("ascii", "replace"), 60))
        return [ZAP_VERSION, request_id, b"400", b"key not authorized", b"", b""]

    def close(self) -> None:
        self._greenlet.kill(block=True)
        self.sock.close(linger=0)
