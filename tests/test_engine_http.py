"""HTTP requests as the server receives them: method, URI and query, JSON body, headers, bearer auth.

The wire-level tests drive the engine's HttpRunner in this process against a small recording server on
127.0.0.1 (real sockets: it keeps every request's head and body, which the demo target does not); the
end-to-end tests run `gradual run` against the demo target, which checks bearer tokens itself.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.server import StreamServer
from support.gradual_run import HTTP_BASE, run_gradual, server_counts, write_run_config
from support.target import TargetProcess

from gradual.configs.model import HTTP, AuthConfig, RequestConfig
from gradual.configs.requests import load_request_yaml
from gradual.journeys.cookies import CookieJar
from gradual.runners import HttpRunner, UserContext
from gradual.runners.auth import MissingCredentials
from gradual.runners.http import template_of
from gradual.runners.httpwire import WireTemplate


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int  # which accepted connection carried it (0, 1, ...)


@dataclass
class RecordingServer:
    """Answers every request with 200 "ok" on keep-alive connections and keeps what it received.

    A path starting with /drop is read and recorded, then the connection is closed without an answer; one
    starting with /json is answered {"method": <the request's method>, "ok": true} (/json-spaced: with
    whitespace around it, /json-gzip: gzipped; /json-latin1 answers {"method": "Ã©"} in latin-1).
    """

    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    server: StreamServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def handle(self, sock: socket.socket, _address: Any) -> None:
        index = self.connections
        self.connections += 1
        reader = sock.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = reader.read(int(headers.get("content-length", "0")))
                self.seen.append(Seen(method, target, headers, body, index))
                if target.startswith("/drop"):
                    return  # read the request, then hang up without an answer
                if target.startswith("/json"):  # a JSON answer naming the method, as bench_http's nginx gives
                    doc = json.dumps({"method": method, "ok": True}).encode()
                    extra, kind = b"", b"application/json"
                    if target.startswith("/json-spaced"):
                        doc = b" " + doc + b"\n"
                    elif target.startswith("/json-gzip"):
                        doc, extra = gzip.compress(doc), b"Content-Encoding: gzip\r\n"
                    elif target.startswith("/json-latin1"):  # bytes that are UTF-8 too, but mean something else
                        doc, kind = '{"method": "\u00c3\u00a9"}'.encode("latin-1"), b"application/json; charset=latin-1"
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n%s"
                                 % (kind, extra, len(doc), doc))
                    continue
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
        finally:
            reader.close()
            sock.close()


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    rec = RecordingServer()
    rec.server = StreamServer(("127.0.0.1", 0), rec.handle)
    rec.server.start()
    try:
        yield rec
    finally:
        rec.server.stop(timeout=1)


def _send(req: RequestConfig, ctx: UserContext | None = None) -> None:
    runner = HttpRunner(req, ctx or UserContext(user=0, scenario="s", phase="p"))
    with gevent.Timeout(5):
        outcome = runner.run()
    runner.close()
    assert outcome.error_kind is None, outcome.error_message
    assert outcome.status == 200 and outcome.nbytes == 2


def test_post_params_are_sent_as_a_json_body(recorder: RecordingServer) -> None:
    _send(RequestConfig("create", HTTP, f"{recorder.url}/orders", "POST", params={"product": 7, "tags": ["a"]}))

    [seen] = recorder.seen
    assert (seen.method, seen.target) == ("POST", "/orders")
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {"product": 7, "tags": ["a"]}
    assert seen.headers["content-length"] == str(len(seen.body))


def test_put_and_patch_params_are_a_json_body_too(recorder: RecordingServer) -> None:
    _send(RequestConfig("put", HTTP, f"{recorder.url}/orders/1", "PUT", params={"qty": 3}))
    _send(RequestConfig("patch", HTTP, f"{recorder.url}/orders/1", "PATCH", params={"qty": 4}))

    assert [(s.method, s.target, json.loads(s.body)) for s in recorder.seen] == [
        ("PUT", "/orders/1", {"qty": 3}), ("PATCH", "/orders/1", {"qty": 4}),
    ]


def test_get_and_delete_params_go_to_the_query_string(recorder: RecordingServer) -> None:
    _send(RequestConfig("search", HTTP, f"{recorder.url}/search?sort=asc", "GET",
                        params={"q": "red shoes", "size": [41, 42]}))
    _send(RequestConfig("remove", HTTP, f"{recorder.url}/items", "DELETE", params={"id": 9}))

    get, delete = recorder.seen
    assert (get.method, get.target) == ("GET", "/search?sort=asc&q=red+shoes&size=41&size=42")
    assert get.body == b"" and "content-type" not in get.headers
    assert (delete.method, delete.target, delete.body) == ("DELETE", "/items?id=9", b"")


def test_configured_headers_and_bearer_token_from_the_environment_are_sent(
    recorder: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADUAL_TEST_TOKEN", "t0ken")
    _send(RequestConfig("me", HTTP, f"{recorder.url}/me", "GET", headers={"Accept": "application/json",
                                                                         "X-Trace": "abc"},
                        auth=AuthConfig("bearer", token_env="GRADUAL_TEST_TOKEN")))

    [seen] = recorder.seen
    assert seen.headers["authorization"] == "Bearer t0ken"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["x-trace"] == "abc"
    assert seen.headers["host"] == recorder.url.removeprefix("http://")


def test_missing_token_variable_is_refused_before_anything_is_sent(
    recorder: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRADUAL_TEST_TOKEN", raising=False)
    req = RequestConfig("me", HTTP, f"{recorder.url}/me", auth=AuthConfig("bearer", token_env="GRADUAL_TEST_TOKEN"))
    with pytest.raises(MissingCredentials, match="GRADUAL_TEST_TOKEN"):
        HttpRunner(req, UserContext(user=0, scenario="s", phase="p"))
    assert recorder.seen == []


def test_a_users_requests_to_one_server_share_one_keep_alive_connection(recorder: RecordingServer) -> None:
    ctx = UserContext(user=0, scenario="s", phase="p")
    runners = [HttpRunner(RequestConfig(name, HTTP, f"{recorder.url}/{name}"), ctx) for name in ("a", "b", "c")]
    with gevent.Timeout(5):
        for _ in range(3):
            for runner in runners:
                assert runner.run().status == 200
    for runner in runners:
        runner.close()
    ctx.close()

    assert [s.target for s in recorder.seen] == ["/a", "/b", "/c"] * 3
    assert recorder.connections == 1


def test_request_the_server_drops_is_sent_once_and_is_a_connection_failure(recorder: RecordingServer) -> None:
    ctx = UserContext(user=0, scenario="s", phase="p")
    dropped = HttpRunner(RequestConfig("dropped", HTTP, f"{recorder.url}/drop"), ctx)
    fine = HttpRunner(RequestConfig("fine", HTTP, f"{recorder.url}/fine"), ctx)
    with gevent.Timeout(5):
        outcome = dropped.run()
        after = fine.run()
    ctx.close()

    assert outcome.error_kind == "connection"
    # Not retried behind the engine's back: one counted request, one request at the server.
    assert [s.target for s in recorder.seen] == ["/drop", "/fine"]
    # The broken connection was dropped and the user's next request reconnected.
    assert after.status == 200
    assert [s.connection for s in recorder.seen] == [0, 1]


def test_bearer_auth_end_to_end_is_accepted_by_the_target(target: TargetProcess, tmp_path: Path) -> None:
    # The demo target answers 401 unless Authorization carries the token named in X-Require-Auth.
    check = {"X-Require-Auth": "s3cret"}
    config = write_run_config(tmp_path, {
        "auth": {"run_time": 1, "scenarios": {
            "signed_in": {"requests": ["with_token"], "min_concurrency": 1, "max_concurrency": 1},
            "anonymous": {"requests": ["without_token"], "min_concurrency": 1, "max_concurrency": 1},
        }},
    }, requests={
        "with_token": {"url": f"{HTTP_BASE}/account", "headers": check,
                       "auth": {"type": "bearer", "token_env": "GRADUAL_TEST_TOKEN"}},
        "without_token": {"url": f"{HTTP_BASE}/account/public", "headers": check},
    })
    target.reset()

    run = run_gradual(config, target=target, env={"GRADUAL_TEST_TOKEN": "s3cret"})

    assert run.returncode == 0, run.stderr
    signed, anonymous = run.request("with_token"), run.request("without_token")
    assert signed["count"] > 10 and signed["failures"] == 0
    assert signed["status_codes"] == {"200": signed["count"]}
    assert anonymous["status_codes"] == {"401": anonymous["count"]}
    assert run.errors("without_token") == {"http": anonymous["count"]}
    assert server_counts(target) == {"GET /account": signed["count"], "GET /account/public": anonymous["count"]}


def _yaml_requests(tmp_path: Path, text: str) -> dict[str, RequestConfig]:
    (tmp_path / "requests.yaml").write_text(text)
    return load_request_yaml(tmp_path / "requests.yaml")


def test_templated_request_fills_in_every_value_each_iteration_and_checks_each_json_answer(
        recorder: RecordingServer, tmp_path: Path) -> None:
    # bench_http.py's templated request: three substitutions and a JSON check (judged on run()'s short path)
    reqs = _yaml_requests(tmp_path, f"""
requests:
  item:
    url: "{recorder.url}/json/{{{{ user }}}}?i={{{{ iteration }}}}"
    headers: {{X-Scenario: "{{{{ scenario }}}}"}}
    expect: {{json: {{method: GET}}}}
  wrong:
    url: "{recorder.url}/json/{{{{ user }}}}"
    expect: {{json: {{method: POST}}}}
  spaced:
    url: "{recorder.url}/json-spaced/{{{{ iteration }}}}"
    expect: {{json: {{ok: true}}}}
  gzipped:
    url: "{recorder.url}/json-gzip/{{{{ iteration }}}}"
    expect: {{json: {{method: GET}}}}
  latin1:
    url: "{recorder.url}/json-latin1/{{{{ iteration }}}}"
    expect: {{json: {{method: "\u00e9"}}}}
""")
    sent = []
    for user, scenario in ((3, "browse"), (41, "buy")):
        ctx = UserContext(user=user, scenario=scenario, phase="p", cookies=CookieJar())
        runner = HttpRunner(reqs["item"], ctx)
        for iteration in range(3):
            ctx.iteration = iteration
            with gevent.Timeout(5):
                outcome = runner.run()
            assert outcome.error_kind is None, outcome.error_message
            sent.append((f"/json/{user}?i={iteration}", scenario))
        runner.close()
    assert [(seen.target, seen.headers["x-scenario"]) for seen in recorder.seen] == sent
    assert len(set(sent)) == 6

    ctx = UserContext(user=5, scenario="s", phase="p", cookies=CookieJar())
    wrong, spaced = HttpRunner(reqs["wrong"], ctx), HttpRunner(reqs["spaced"], ctx)
    with gevent.Timeout(5):
        failed, passed = wrong.run(), spaced.run()
    assert (failed.error_kind, failed.error_message) == ("check", "json method: expected POST, found GET")
    assert passed.error_kind is None, passed.error_message  # whitespace around the document: the long way
    # A gzipped body and a latin-1 one are decoded as their head says: the latin-1 bytes of "Ã©" would read
    # as UTF-8 "é", which the check expects, and must not pass.
    with gevent.Timeout(5):
        gzipped, latin1 = HttpRunner(reqs["gzipped"], ctx).run(), HttpRunner(reqs["latin1"], ctx).run()
    assert gzipped.error_kind is None, gzipped.error_message
    assert (latin1.error_kind, latin1.error_message) == ("check", "json method: expected \u00e9, found \u00c3\u00a9")
    assert [seen.target for seen in recorder.seen[-4:]] == ["/json/5", "/json-spaced/0", "/json-gzip/0",
                                                             "/json-latin1/0"]
    ctx.close()


def test_a_filled_in_header_with_a_line_break_fails_the_request_unsent(recorder: RecordingServer,
                                                                       tmp_path: Path) -> None:
    reqs = _yaml_requests(tmp_path, f"""
requests:
  get:
    url: "{recorder.url}/json/{{{{ user }}}}"
    headers: {{X-Name: "n-{{{{ name }}}}"}}
""")
    ctx = UserContext(user=1, scenario="s", phase="p")
    runner = HttpRunner(reqs["get"], ctx)
    ctx.vars["name"] = "ann\r\nX-Injected: 1"
    outcome = runner.run()
    assert outcome.error_kind == "template"
    assert outcome.error_message == "header X-Name: a line break in the filled-in value 'ann\\r\\nX-Injected: 1'"
    ctx.vars["name"] = "ann"
    with gevent.Timeout(5):
        assert runner.run().error_kind is None
    runner.close()
    assert [(seen.target, seen.headers["x-name"]) for seen in recorder.seen] == [("/json/1", "n-ann")]


def test_a_users_fixed_names_are_written_into_its_request_once_and_the_bytes_are_those_of_the_general_build(
        tmp_path: Path) -> None:
    # user, worker, phase and scenario are the same for a user's life: a runner's WireTemplate writes them in,
    # leaving iteration as the one field of a bytes %-format, or no field at all. The bytes must be exactly
    # those that filling every field in per request gives.
    reqs = _yaml_requests(tmp_path, """
requests:
  per_iteration:
    url: "http://127.0.0.1:9/a%20b/{{ user }}/{{ scenario }}?i={{ iteration }}&p=100%"
    headers: {X-Scenario: "{{ scenario }}", X-Where: "{{ worker }}/{{ phase }} 5%s", X-Static: "1"}
  fixed:
    method: POST
    url: "http://127.0.0.1:9/u/{{ user }}"
    headers: {X-Phase: "{{ phase }}"}
    body: "100% {{ 'text' }}"
  two_iterations:
    url: "http://127.0.0.1:9/{{ iteration }}/{{ iteration }}"
  broken_scenario:
    url: "http://127.0.0.1:9/{{ iteration }}"
    headers: {X-Scenario: "{{ scenario }}"}
""")
    ctx = UserContext(user=12, scenario="buy now", phase="ramp", worker="w-1")
    general = WireTemplate(template_of(reqs["per_iteration"]), "h:9", [])  # every field filled in per request
    pieces = WireTemplate(template_of(reqs["per_iteration"]), "h:9", [], ctx)
    assert general.per_iteration is None and pieces.per_iteration is not None and pieces.fixed_wire is None
    for iteration in (0, 7, 123456):
        ctx.iteration = iteration
        assert pieces.per_iteration % iteration == general.build(ctx) == pieces.build(ctx)
    assert b"/a%20b/12/buy%20now?i=123456&p=100% HTTP/1.1\r\n" in general.build(ctx)
    assert b"X-Where: w-1/ramp 5%s\r\n" in general.build(ctx)

    fixed = WireTemplate(template_of(reqs["fixed"]), "h:9", [("Authorization", "Basic eA==")], ctx)
    assert fixed.per_iteration is None
    assert fixed.fixed_wire == WireTemplate(template_of(reqs["fixed"]), "h:9", [("Authorization", "Basic eA==")]
                                            ).build(ctx)
    assert fixed.fixed_wire.endswith(b"\r\n\r\n100% text")
    runner = HttpRunner(reqs["fixed"], ctx)
    assert runner._static and runner._wire == runner._pieces.build(ctx)  # built once, as a static request's

    two = WireTemplate(template_of(reqs["two_iterations"]), "h:9", [], ctx)
    assert two.per_iteration is None and two.simple is not None  # two fields: the general form

    # A fixed name with a line break stays a field, checked per request: each request fails unsent, as before.
    broken = UserContext(user=1, scenario="s\r\nX-Injected: 1", phase="p")
    runner = HttpRunner(reqs["broken_scenario"], broken)
    outcome = runner.run()
    assert outcome.error_kind == "template"
    assert outcome.error_message.startswith("header X-Scenario: a line break in the filled-in value")
