"""HTTP requests over geventhttpclient: one keep-alive connection per user and server.

geventhttpclient is gevent-native and parses with a C parser; a bare loop of it does about twice the
requests/s of ``requests`` under gevent. benchmarks/bench_http.py measures the engine next to such a
bare loop and to Locust's FastHttpUser.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed

from ..configs.model import RequestConfig
from .auth import authorization_header
from .base import CONNECTION, HTTP_ERROR, Outcome, RequestRunner, UserContext, classify

QUERY_METHODS = ("GET", "HEAD", "DELETE")


def build_http_request(req: RequestConfig) -> tuple[str, bytes, dict[str, str]]:
    """The request URI, body and headers, computed once per runner rather than per request."""
    parts = urlsplit(req.url)
    uri = parts.path or "/"
    query = parts.query
    headers = dict(req.headers)
    body: Any = req.body
    if req.params and req.method in QUERY_METHODS:
        extra = urlencode(req.params, doseq=True)
        query = f"{query}&{extra}" if query else extra
    elif req.params and body is None:
        body = req.params
    if query:
        uri = f"{uri}?{query}"
    if body is None:
        data = b""
    elif isinstance(body, (bytes, str)):
        data = body.encode() if isinstance(body, str) else body
    else:
        data = json.dumps(body, separators=(",", ":")).encode()
        headers.setdefault("Content-Type", "application/json")
    if data or req.method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = str(len(data))
    auth = authorization_header(req.auth)
    if auth is not None:
        headers["Authorization"] = auth
    return uri, data, headers


class HttpRunner(RequestRunner):
    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        super().__init__(request, ctx)
        parts = urlsplit(request.url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = parts.scheme == "https"
        self._uri, self._body, self._headers = build_http_request(request)
        self._method = request.method
        # Shared by this user's requests to the same server with the same timeout (UserContext).
        self._key = (self._host, self._port, self._ssl, request.timeout)

    def _connect(self) -> HTTPClient:
        timeout = self.request.timeout
        client = HTTPClient(
            self._host, self._port, ssl=self._ssl, concurrency=1,
            connection_timeout=timeout, network_timeout=timeout,
        )
        # HTTPClient.request() silently sends a GET/HEAD/PUT/DELETE again when the server closes the
        # connection without answering (it allows pool size + 1 attempts). The server then counts two
        # requests where gradual counts one, and a server that drops requests under load looks healthy.
        # Every attempt must be a counted request, so allow exactly one: the failure is reported and
        # the next iteration reconnects. geventhttpclient has no option for this; the pool's ``size``
        # is only read for that attempt count once the pool exists.
        pool = getattr(client, "_connection_pool", None)
        if pool is not None and hasattr(pool, "size"):
            pool.size = -1
        return client

    def run(self) -> Outcome:
        client = self.ctx.http_client(self._key, self._connect)
        try:
            response = client.request(self._method, self._uri, body=self._body, headers=self._headers)
            data = response.read()
            response.release()
        except HTTPConnectionClosed:
            # The server closed the connection instead of answering: a connection failure, not a bug.
            self.close()
            return Outcome(error_kind=CONNECTION, error_message="connection closed by the server")
        except Exception as exc:  # a failed request is data, not an error of the engine
            self.close()
            kind, message = classify(exc)
            return Outcome(error_kind=kind, error_message=message)
        status = response.status_code
        if status >= 400:
            return Outcome(status, len(data), HTTP_ERROR, f"HTTP {status}", response)
        return Outcome(status, len(data), None, None, response)

    def close(self) -> None:
        self.ctx.drop_http_client(self._key)
