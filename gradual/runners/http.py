"""HTTP requests over gradual's own client (httpclient.py): one keep-alive connection per user and server.

A static request's bytes are built once per runner; each iteration sends them and reads one response.
benchmarks/bench_http.py measures the engine next to a bare httptools socket loop and Locust's FastHttpUser.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..configs.model import RequestConfig
from .auth import authorization_header
from .base import HTTP_ERROR, Outcome, RequestRunner, UserContext
from .httpclient import Endpoint, HttpConnection, HttpFailure, RequestHead, header_pairs

QUERY_METHODS = ("GET", "HEAD", "DELETE")
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE")  # RFC 9110 §9.2.2


def endpoint_of(req: RequestConfig) -> Endpoint:
    parts = urlsplit(req.url)
    tls = parts.scheme in ("https", "wss")
    return Endpoint(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (443 if tls else 80),
        tls=tls,
        verify=req.verify,
        ca_file=req.ca_file,
    )


def build_http_request(req: RequestConfig, endpoint: Endpoint) -> RequestHead:
    """The request line, headers and body of ``req``, computed once per runner rather than per request."""
    parts = urlsplit(req.url)
    target = parts.path or "/"
    query = parts.query
    headers: dict[str, str] = dict(req.headers)
    body: Any = req.body
    if req.params and req.method in QUERY_METHODS:
        extra = urlencode(req.params, doseq=True)
        query = f"{query}&{extra}" if query else extra
    elif req.params and body is None:
        body = req.params
    if query:
        target = f"{target}?{query}"
    if body is None:
        data = b""
    elif isinstance(body, (bytes, str)):
        data = body.encode() if isinstance(body, str) else body
    else:
        data = json.dumps(body, separators=(",", ":")).encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    auth = authorization_header(req.auth)
    if auth is not None:
        headers["Authorization"] = auth
    return RequestHead(req.method, target, endpoint.host_header, header_pairs(headers), data)


class HttpRunner(RequestRunner):
    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        super().__init__(request, ctx)
        # The user's connection to this endpoint is shared by its requests to it (UserContext).
        self._endpoint = endpoint_of(request)
        self._wire = build_http_request(request, self._endpoint).encode()
        self._head = request.method == "HEAD"
        self._idempotent = request.method in IDEMPOTENT_METHODS
        # The body is read and counted always, kept only when something will look at it.
        self.keep_body = bool(request.callbacks)
        self._timeout = request.timeout
        self._connect_timeout = request.connect_timeout

        self._conn: HttpConnection | None = None

    def _connect(self) -> HttpConnection:
        return HttpConnection(self._endpoint)

    def run(self) -> Outcome:
        conn = self._conn
        if conn is None:  # looked up once: hashing the endpoint on every request shows in profiles
            conn = self._conn = self.ctx.http_client(self._endpoint, self._connect)
        try:
            response = conn.request(self._wire, head=self._head, keep_body=self.keep_body,
                                    timeout=self._timeout, connect_timeout=self._connect_timeout,
                                    idempotent=self._idempotent)
        except HttpFailure as exc:
            return Outcome(error_kind=exc.kind, error_message=exc.message)
        status = response.status_code
        if status >= 400:
            return Outcome(status, response.nbytes, HTTP_ERROR, f"HTTP {status}", response)
        return Outcome(status, response.nbytes, None, None, response)

    def close(self) -> None:
        self._conn = None
        self.ctx.drop_http_client(self._endpoint)
