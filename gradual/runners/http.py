"""HTTP requests over gradual's own client (httpclient.py): one keep-alive connection per user and server.

A static request's bytes are built once per runner; each iteration sends them and reads one response.
A templated request (journeys) fills its compiled parts in per iteration, and a request with a cookie
jar adds the user's cookies. ``expect`` and ``extract`` read the answer; the body is kept (and
decoded) only when they or a callback need it. ``follow_redirects: N`` follows up to N redirects, each
hop a request recorded under the request's name, so the server's count equals gradual's.
benchmarks/bench_http.py measures the engine next to a bare httptools socket loop and Locust's FastHttpUser.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urljoin, urlsplit

from ..configs.model import RequestConfig
from ..journeys.answer import Answer
from ..journeys.checks import DottedPath, run_checks, status_message, status_ok
from ..journeys.extract import run_extractions
from ..journeys.request import RequestTemplate, compile_request, split_target
from ..journeys.templates import Undefined
from .auth import authorization_header
from .base import CHECK, EXTRACT, HTTP_ERROR, TEMPLATE, Outcome, RequestRunner, UserContext
from .httpclient import Endpoint, HttpConnection, HttpFailure, RequestHead
from .httpwire import UnsafeValue, WireTemplate

QUERY_METHODS = ("GET", "HEAD", "DELETE")
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE")  # RFC 9110 §9.2.2
REDIRECTS = (301, 302, 303, 307, 308)
_JSON = json.JSONDecoder()
_SCAN = _JSON.scan_once  # the C scanner: (document, end) of the JSON text at an index, StopIteration if none
_NOT_JSON = object()


def endpoint_of(req: RequestConfig, url: str | None = None) -> Endpoint:
    parts = urlsplit(url or split_target(req.url)[0])
    tls = parts.scheme in ("https", "wss")
    return Endpoint(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (443 if tls else 80),
        tls=tls,
        verify=req.verify,
        ca_file=req.ca_file,
    )


def template_of(req: RequestConfig) -> RequestTemplate:
    """The request's compiled parts: from the config, or compiled here for a RequestConfig built in code."""
    if req.template is not None:
        return req.template
    return compile_request(req.method, req.url, req.params, req.headers, req.body, False, None)


def build_http_request(req: RequestConfig, endpoint: Endpoint, scope: object = None) -> RequestHead:
    """The request line, headers and body of ``req`` filled in for ``scope`` (once, for a static request)."""
    target, headers, body = template_of(req).fill(scope)
    auth = authorization_header(req.auth)
    if auth is not None:
        headers.append(("Authorization", auth))
    return RequestHead(req.method, target, endpoint.host_header, tuple(headers), body)


class HttpRunner(RequestRunner):
    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        super().__init__(request, ctx)
        # The user's connection to this endpoint is shared by its requests to it (UserContext).
        self._endpoint = endpoint_of(request)
        self._template = template_of(request)
        self._static = self._template.static
        self._target = self._template.fill(None)[0] if self._static else None
        # Built once: the bytes of a static request without cookies (the jar may add some per request).
        self._wire = build_http_request(request, self._endpoint).encode() if self._static else b""
        # Templated requests (and static ones once the user has cookies) are built from compiled pieces,
        # this user's user/worker/phase/scenario written in.
        auth = authorization_header(request.auth)
        self._pieces = WireTemplate(self._template, self._endpoint.host_header,
                                    [] if auth is None else [("Authorization", auth)], ctx)
        if not self._static and self._pieces.fixed_wire is not None:
            # Templated on this user's fixed names alone: its bytes, too, are built once.
            self._static, self._wire = True, self._pieces.fixed_wire
        self._per_iteration = self._pieces.per_iteration  # a bytes %-format of ctx.iteration, or None
        self._simple = self._pieces.simple
        jar, ep = ctx.cookies, self._endpoint
        self._cookie_for = None if jar is None else (lambda target: jar.header(ep.host, target, ep.tls))
        self._head = request.method == "HEAD"
        self._idempotent = request.method in IDEMPOTENT_METHODS
        checks, extract = request.checks, request.extract
        self._checks = checks
        self._extract = extract
        # expect: {json: {path: constant, ...}} alone: the answer is judged on a shorter path (_verdict)
        fast = checks.json_only if checks is not None and not extract else None
        self._fast_json = None if fast is None else tuple(
            (c.keys if isinstance(c, DottedPath) else None, c, wanted) for c, wanted, _ in fast)
        # One check of a top-level key's constant value, any status below 400, no redirects: judged in run().
        self._one_key: str | None = None
        self._one_wanted: object = None
        self._one_class: type = type(None)
        if self._fast_json is not None and len(self._fast_json) == 1 and checks.status is None \
                and not request.follow_redirects:
            [(keys, _, wanted)] = self._fast_json
            if keys is not None and len(keys) == 1:
                self._one_key, self._one_wanted, self._one_class = keys[0], wanted, wanted.__class__
        self._redirects = request.follow_redirects > 0
        self._journey = checks is not None or bool(extract) or self._redirects
        # The body is read and counted always, kept only when something will look at it.
        self.keep_body = bool(request.callbacks) or (checks is not None and checks.reads_body) or any(
            e.reads_body for e in extract)
        # The head alone is kept for the cookie jar (Set-Cookie), header checks and extractions, redirects.
        self._keep_head = ctx.cookies is not None or (checks is not None and bool(checks.headers)) or any(
            e.source == "header" for e in extract) or request.follow_redirects > 0
        self._timeout = request.timeout
        self._connect_timeout = request.connect_timeout
        self._conn: HttpConnection | None = None

    def _connect(self) -> HttpConnection:
        return HttpConnection(self._endpoint)

    def run(self) -> Outcome:
        ctx = self.ctx
        jar = ctx.cookies
        endpoint = self._endpoint
        cookies = jar is not None and len(jar)
        try:
            if self._static and not cookies:
                wire = self._wire
            elif self._per_iteration is not None and not cookies:
                wire = self._per_iteration % ctx.iteration
            elif self._simple is not None and not cookies:
                # WireTemplate.build() in its commonest form (builtin names only, no body), in this frame
                form, values_of, checked = self._simple
                values = values_of(ctx)
                for i in checked:
                    text = values[i]
                    if "\n" in text or "\r" in text:
                        raise self._pieces.line_break(i, text)
                wire = (form % values).encode("latin-1")
            else:
                wire = self._pieces.build(ctx, self._cookie_for if cookies else None)
        except Undefined as exc:
            return Outcome(error_kind=TEMPLATE, error_message=f"{{{{ {exc.name} }}}} has no value yet "
                           "(an extract that has not run, or a column this row lacks)")
        except UnsafeValue as exc:
            return Outcome(error_kind=TEMPLATE, error_message=str(exc))
        except UnicodeEncodeError as exc:
            return Outcome(error_kind=TEMPLATE, error_message=f"a filled-in header is not latin-1 text: {exc}")
        conn = self._conn
        if conn is None:  # looked up once: hashing the endpoint on every request shows in profiles
            conn = self._conn = ctx.http_client(endpoint, self._connect)
        if self._redirects:
            self._hop_t0 = time.perf_counter_ns()
        try:
            response = conn.request(wire, head=self._head, keep_body=self.keep_body,
                                    timeout=self._timeout, connect_timeout=self._connect_timeout,
                                    idempotent=self._idempotent, keep_head=self._keep_head)
        except HttpFailure as exc:
            return Outcome(error_kind=exc.kind, error_message=exc.message)
        if jar is not None and response.may_have(b"set-cookie"):
            self._store_cookies(jar, response, endpoint.host, self._target or self._pieces.target_of_wire(wire) or "/")
        if self._journey:
            key = self._one_key
            if key is not None and response.status_code < 400:
                # The commonest check, `expect: {json: {key: constant}}`, judged here: the body parsed by the
                # C scanner, one lookup. Anything else (a mismatch, whitespace around it) goes to _verdict.
                try:
                    text = response.plain_text()
                    if text is not None:
                        doc, end = _SCAN(text, 0)
                        if end == len(text):
                            found = doc.get(key)  # a document that is not an object: AttributeError, _verdict
                            if found == self._one_wanted and found.__class__ is self._one_class:
                                return Outcome(response.status_code, response.nbytes, None, None, response)
                except (StopIteration, ValueError, AttributeError):  # not one JSON document, or not an object
                    pass
            if self._redirects:
                return self._judge(response)
            return self._verdict(response)
        status = response.status_code
        if status >= 400:
            return Outcome(status, response.nbytes, HTTP_ERROR, f"HTTP {status}", response)
        return Outcome(status, response.nbytes, None, None, response)

    @staticmethod
    def _store_cookies(jar, response, host: str, target: str) -> None:  # noqa: ANN001 - hot path
        if not response.may_have(b"set-cookie"):
            return
        values = [v.decode("latin-1") for k, v in response.headers if k.lower() == b"set-cookie"]
        if values:
            jar.update(values, host, target)

    def _judge(self, response) -> Outcome:  # noqa: ANN001 - httpclient.Response
        """Redirects, then status, checks and extractions of the final answer."""
        hops = self.request.follow_redirects
        url = self.request.url
        started = 0  # when the last hop started (perf_counter_ns), 0 when no redirect was followed
        while hops > 0 and response.status_code in REDIRECTS:
            location = response.header("location")
            if not location:
                break
            hops -= 1
            # This hop was a request the server saw: record it now; the next one starts its own clock.
            now = time.perf_counter_ns()
            if self.slot is not None:
                self.slot.record(now - self._hop_t0, time.monotonic(), response.status_code, response.nbytes,
                                 None, None)
            self._hop_t0 = started = now
            url = urljoin(url, location)
            followed = self._follow(response.status_code, url)
            if isinstance(followed, Outcome):
                followed.started = started
                return followed
            response = followed
        outcome = self._verdict(response)
        outcome.started = started
        return outcome

    _hop_t0 = 0

    def _verdict(self, response) -> Outcome:  # noqa: ANN001 - httpclient.Response
        status = response.status_code
        checks = self._checks
        fast = self._fast_json
        text = None
        if fast is not None and (checks.status is None and status < 400 or status in (checks.status or ())):
            text = response.plain_text()
        if text is not None:
            # Only constant JSON value checks on a plain UTF-8 body: parsed by the C scanner and compared
            # here, no Answer; anything unusual (whitespace around the document, not JSON) takes the long way.
            try:
                doc, end = _SCAN(text, 0)
                if end != len(text):
                    doc = _JSON.decode(text)
            except StopIteration:
                try:
                    doc = _JSON.decode(text)
                except ValueError:
                    doc = _NOT_JSON
            except ValueError:
                doc = _NOT_JSON
            if doc is not _NOT_JSON:
                for keys, compiled, wanted in fast:
                    if keys is None:
                        found = compiled.search(doc)
                    else:  # a plain dotted path: DottedPath.search inlined
                        found = doc
                        for key in keys:
                            found = found.get(key) if found.__class__ is dict else None
                    if found != wanted or found.__class__ is not wanted.__class__:
                        break
                else:
                    return Outcome(status, response.nbytes, None, None, response)
        if not status_ok(checks, status):
            kind = CHECK if checks is not None and checks.status is not None else HTTP_ERROR
            return Outcome(status, response.nbytes, kind, status_message(checks, status), response)
        if checks is None and not self._extract:
            return Outcome(status, response.nbytes, None, None, response)
        answer = Answer.from_response(response)
        try:
            if checks is not None:
                failed = run_checks(checks, answer, self.ctx)
                if failed is not None:
                    return Outcome(status, response.nbytes, CHECK, failed, response)
            if self._extract:
                found, failed = run_extractions(self._extract, answer)
                if failed is not None:
                    return Outcome(status, response.nbytes, EXTRACT, failed, response)
                self.ctx.vars.update(found)
        except Undefined as exc:
            return Outcome(status, response.nbytes, TEMPLATE, f"{{{{ {exc.name} }}}} has no value yet", response)
        except Exception as exc:  # zlib.error, a bad charset: a body that cannot be decoded fails this request
            return Outcome(status, response.nbytes, CHECK, f"the body cannot be decoded: {exc}", response)
        return Outcome(status, response.nbytes, None, None, response)

    def _follow(self, status: int, url: str):  # noqa: ANN202 - Response | Outcome
        req = self.request
        endpoint = endpoint_of(req, url)
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        method = req.method
        # The request's own headers go along (a browser keeps them), Authorization only to the same origin.
        _, headers, body = self._template.fill(self.ctx)
        auth = authorization_header(req.auth)
        if auth is not None:
            headers.append(("Authorization", auth))
        if endpoint != self._endpoint:
            headers = [h for h in headers if h[0].lower() != "authorization"]
        if status not in (307, 308):
            # 301/302/303 after a POST: browsers (and RFC 9110 15.4) switch to GET without the body.
            if method not in ("GET", "HEAD"):
                method = "GET"
            body = b""
            headers = [h for h in headers if h[0].lower() not in ("content-type", "content-length")]
        jar = self.ctx.cookies
        if jar is not None:
            cookie = jar.header(endpoint.host, target, endpoint.tls)
            if cookie is not None:
                headers.append(("Cookie", cookie))
        wire = RequestHead(method, target, endpoint.host_header, tuple(headers), body).encode()
        conn = self.ctx.http_client(endpoint, lambda: HttpConnection(endpoint))
        try:
            response = conn.request(wire, head=method == "HEAD", keep_body=self.keep_body,
                                    timeout=req.timeout, connect_timeout=req.connect_timeout,
                                    idempotent=method in IDEMPOTENT_METHODS, keep_head=self._keep_head)
        except HttpFailure as exc:
            return Outcome(error_kind=exc.kind, error_message=f"{exc.message} (following a redirect to {url})")
        if jar is not None:
            self._store_cookies(jar, response, endpoint.host, target)
        return response

    def close(self) -> None:
        self._conn = None
        self.ctx.drop_http_client(self._endpoint)
