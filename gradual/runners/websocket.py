"""WebSocket requests over websocket-client: one connection per user, kept across iterations.

Each iteration sends one message (params as JSON, or the raw ``message``) and waits for one reply;
a broken connection is a failure and the next iteration reconnects.
"""

from __future__ import annotations

import json

import websocket

from ..configs.model import RequestConfig
from .auth import authorization_header
from .base import EXPECT, TIMEOUT, WEBSOCKET_ERROR, Outcome, RequestRunner, UserContext, classify


class WebSocketRunner(RequestRunner):
    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        super().__init__(request, ctx)
        self._template = request.message
        if request.message is None:
            self._fixed = json.dumps(dict(request.params or {}), separators=(",", ":"))
        else:
            self._fixed = request.message if "{counter}" not in request.message else None
        headers = [f"{k}: {v}" for k, v in request.headers.items()]
        auth = authorization_header(request.auth)
        if auth is not None:
            headers.append(f"Authorization: {auth}")
        self._headers = headers
        self._ws: websocket.WebSocket | None = None
        self._sent = 0

    def _message(self) -> str:
        if self._fixed is not None:
            return self._fixed
        assert self._template is not None
        return self._template.replace("{counter}", str(self._sent))

    def run(self) -> Outcome:
        try:
            ws = self._ws
            if ws is None:
                ws = self._ws = websocket.create_connection(
                    self.request.url, timeout=self.request.timeout, header=self._headers, enable_multithread=False
                )
            message = self._message()
            ws.send(message)
            self._sent += 1
            reply = ws.recv()
        except websocket.WebSocketTimeoutException:
            self.close()
            return Outcome(error_kind=TIMEOUT, error_message="timed out waiting for a reply")
        except websocket.WebSocketException as exc:
            self.close()
            return Outcome(error_kind=WEBSOCKET_ERROR, error_message=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # transport errors are failures of this request
            self.close()
            kind, message = classify(exc)
            return Outcome(error_kind=kind, error_message=message)
        if reply == "" and not ws.connected:
            self.close()
            return Outcome(error_kind=WEBSOCKET_ERROR, error_message="connection closed by the server")
        size = len(reply) if isinstance(reply, (bytes, str)) else 0
        expect = self.request.expect
        if expect is not None and expect not in (reply if isinstance(reply, str) else reply.decode(errors="replace")):
            return Outcome(101, size, EXPECT, f"reply does not contain {expect!r}", reply)
        return Outcome(101, size, None, None, reply)

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close(timeout=1)
            except Exception:  # closing a broken socket may fail; it is gone either way
                pass
            self._ws = None
