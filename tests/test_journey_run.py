"""Journeys run for real: `gradual run` (also --workers 3) against the demo target's shop, asserting what
the server saw (logins per user, requests turned away and why, counts) next to what gradual reported.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from gradual.master.zmq_link import bundle_for
from gradual.proto import Bundle, ProtocolError
from support.gradual_run import run_gradual
from support.target import REPO_ROOT, TargetProcess

from gradual.configs import load

EXAMPLE = REPO_ROOT / "examples" / "journey"
# The shop login of a row's user, its token kept as {{ token }} (its session cookie goes to the jar).
LOGIN = """  login:
    url: "${GRADUAL_TARGET}/shop/login"
    method: POST
    json: {username: "{{ row.username }}", password: "{{ row.password }}"}
    extract: {token: {json: access_token}}
"""


def shop(target: TargetProcess) -> dict[str, Any]:
    return requests.get(f"{target.url}/__shop", timeout=5).json()


def totals(run) -> tuple[int, int]:  # noqa: ANN001 - support.gradual_run.GradualRun
    reqs = run.requests()
    return sum(r["count"] for r in reqs), sum(r["failures"] for r in reqs)


def write_users(path: Path, n: int) -> None:
    path.write_text("username,password\n" + "".join(f"u{i:02d},pw-u{i:02d}\n" for i in range(n)))


def write_every_request_config(folder: Path, name: str) -> Path:
    """config.yaml: one 1 s scenario of 2 users going through every request of requests.yaml in turn."""
    path = folder / "config.yaml"
    path.write_text(f"""
runs:
  name: {name}
  phases:
    p:
      run_time: 1s
      scenarios:
        s:
          request_file: requests.yaml
          requests: FROM_REQUEST_YAML_FILE
          iterate_through_requests: true
          min_concurrency: 2
          max_concurrency: 2
          wait_time: 50ms
""")
    return path


def copy_example(tmp_path: Path, users: int, extra: str = "") -> Path:
    """The example journey, with ``users`` rows and as many users (each row logs in exactly once)."""
    shutil.copy(EXAMPLE / "requests.yaml", tmp_path / "requests.yaml")
    write_users(tmp_path / "users.csv", users)
    config = (EXAMPLE / "config.yaml").read_text()
    config = config.replace("min_concurrency: 3", f"min_concurrency: {users}").replace(
        "max_concurrency: 12", f"max_concurrency: {users}").replace("run_time: 10s", "run_time: 3s")
    config = config.replace("          wait_time:", f"{extra}          wait_time:")
    (tmp_path / "config.yaml").write_text(config)
    return tmp_path / "config.yaml"


def test_journey_on_three_workers_logs_each_row_in_once(tmp_path: Path, target: TargetProcess) -> None:
    config = copy_example(tmp_path, users=9)
    run = run_gradual(config, target=target, extra_args=["--workers", "3"], timeout=60)
    assert run.returncode == 0, run.stderr
    seen = shop(target)
    # every CSV row logged in exactly once, across three worker processes (unique rows)
    assert seen["logins"] == {f"u{i:02d}": 1 for i in range(9)}, seen
    # the bearer token and the session cookie were accepted on every later request
    assert seen["rejected"] == {}
    assert sum(seen["served"].values()) == sum(run.counts().values()) - run.counts()["login"]
    count, failures = totals(run)
    assert failures == 0
    server = target.counts()["requests"]
    assert sum(server.values()) == count  # checkout's redirect hops included: both sides count them
    # extracted ids in later URLs: each view_cart went to a cart the user's own add_to_cart created
    carts = {k: v for k, v in server.items() if k.startswith("GET /shop/cart/")}
    assert sum(carts.values()) == run.counts()["view_cart"] and len(carts) == run.counts()["view_cart"]
    orders = sum(v for k, v in server.items() if k.startswith("GET /shop/orders/"))
    assert orders == server["POST /shop/checkout"] == seen["orders"]
    assert run.counts()["checkout"] == server["POST /shop/checkout"] + orders


def test_one_journey_mixes_yaml_steps_and_python_functions(tmp_path: Path, target: TargetProcess) -> None:
    """``request_file: [shop.yaml, steps.py]``: a YAML login stores the token (extract) and the session
    cookie (the jar); a Python step reads the token from ctx.vars, sends the cookie through ctx.session and
    stores an item id; a later YAML step puts that id in its url. The shop turns away any request whose
    token or cookie is missing, so its counts prove both crossed between the two kinds of step."""
    write_users(tmp_path / "users.csv", 4)
    (tmp_path / "shop.yaml").write_text("""
requests:
""" + LOGIN + """  item:
    url: "${GRADUAL_TARGET}/shop/items/{{ item_id }}"
    auth: "Bearer {{ token }}"
    expect: {json: {id: {exists: true}}}
""")
    (tmp_path / "steps.py").write_text('''
import os

from gradual import request


@request(name="pick", url="/shop/items")
def pick(ctx):
    answer = ctx.session.get(os.environ["GRADUAL_TARGET"] + "/shop/items", timeout=5,
                             headers={"Authorization": "Bearer " + ctx.vars["token"]})
    answer.raise_for_status()
    items = answer.json()
    ctx.vars["item_id"] = items[ctx.iteration % len(items)]["id"]
    return answer
''')
    (tmp_path / "config.yaml").write_text("""
runs:
  name: mixed
  phases:
    p:
      run_time: 2s
      scenarios:
        s:
          request_file: [shop.yaml, steps.py]
          data: {file: users.csv, order: unique}
          on_start: [login]
          requests: [pick, item]
          iterate_through_requests: true
          min_concurrency: 4
          max_concurrency: 4
          wait_time: 50ms
""")
    checked = run_gradual(tmp_path / "config.yaml", target=target, extra_args=["--workers", "2"], timeout=60)
    assert checked.returncode == 0, checked.stderr
    seen = shop(target)
    assert seen["logins"] == {f"u{i:02d}": 1 for i in range(4)}, seen
    assert seen["rejected"] == {}
    counts = checked.counts()
    assert counts["pick"] > 0 and counts["item"] > 0
    assert totals(checked)[1] == 0
    server = target.counts()["requests"]
    assert server["GET /shop/items"] == counts["pick"]
    assert sum(v for k, v in server.items() if k.startswith("GET /shop/items/")) == counts["item"]
    assert len([k for k in server if k.startswith("GET /shop/items/")]) > 1  # the ids the Python step chose


def test_mixed_request_files_with_one_name_twice_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("requests:\n  login:\n    url: http://127.0.0.1:9/login\n")
    (tmp_path / "b.yaml").write_text("requests:\n  login:\n    url: http://127.0.0.1:9/other\n")
    (tmp_path / "config.yaml").write_text("""runs:
  name: twice
  phases:
    p:
      run_time: 1s
      scenarios:
        s:
          request_file: [a.yaml, b.yaml]
          requests: [login]
          min_concurrency: 1
          max_concurrency: 1
""")
    done = subprocess.run([sys.executable, "-m", "gradual", "validate", "config.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("error: config.yaml:8: runs.phases.p.scenarios.s.request_file[1]: request 'login' is also defined "
            "in a.yaml") in done.stderr


def test_cookies_false_sends_no_cookie(tmp_path: Path, target: TargetProcess) -> None:
    config = copy_example(tmp_path, users=2, extra="          cookies: false\n")
    run = run_gradual(config, target=target, timeout=60)
    assert run.returncode == 0, run.stderr
    assert shop(target)["rejected"] == {"missing or unknown session cookie": run.counts()["browse"]}
    browse = run.request("browse")
    assert [(e["kind"], e["message"]) for e in browse["errors"]] == [("check", "status: expected 200, found 401")]


def test_failed_checks_extractions_and_templates(tmp_path: Path, target: TargetProcess) -> None:
    write_users(tmp_path / "users.csv", 1)
    (tmp_path / "requests.yaml").write_text("""
requests:
""" + LOGIN + """  wrong_body:
    url: "${GRADUAL_TARGET}/shop/items"
    auth: "Bearer {{ token }}"
    expect: {body_contains: "caviar"}
  wrong_json:
    url: "${GRADUAL_TARGET}/shop/items/2"
    auth: "Bearer {{ token }}"
    expect: {json: {name: tea, price: {exists: true}}}
  wrong_header:
    url: "${GRADUAL_TARGET}/shop/items/2"
    auth: "Bearer {{ token }}"
    expect: {header: {Content-Type: text/html}}
  no_such_field:
    url: "${GRADUAL_TARGET}/shop/items/3"
    auth: "Bearer {{ token }}"
    extract: {sku: {json: sku}}
  no_match:
    url: "${GRADUAL_TARGET}/shop/items/3"
    auth: "Bearer {{ token }}"
    extract: {code: {regex: "code=(\\\\w+)"}}
  uses_sku:
    url: "${GRADUAL_TARGET}/shop/items/{{ sku }}"
    auth: "Bearer {{ token }}"
""")
    (tmp_path / "config.yaml").write_text("""
runs:
  name: failures
  phases:
    p:
      run_time: 1s
      scenarios:
        s:
          request_file: requests.yaml
          data: users.csv
          on_start: [login]
          requests: [wrong_body, wrong_json, wrong_header, no_such_field, no_match, uses_sku]
          iterate_through_requests: true
          min_concurrency: 1
          max_concurrency: 1
          wait_time: 20ms
""")
    run = run_gradual(tmp_path / "config.yaml", target=target, timeout=60)
    assert run.returncode == 0, run.stderr

    def only_error(name: str) -> tuple[str, str]:
        req = run.request(name)
        assert req["count"] > 0 and req["failures"] == req["count"], req
        [error] = req["errors"]
        return error["kind"], error["message"]

    assert only_error("wrong_body") == ("check", 'body_contains caviar: not in body [{"id":1,"name":"tea",'
                                                 '"price":3.5},{"id":2,"name":"coffee","price":4.0},{"id"...')
    assert only_error("wrong_json") == ("check", "json name: expected tea, found coffee")
    assert only_error("wrong_header") == ("check", "header Content-Type: expected text/html, found application/json")
    assert only_error("no_such_field") == ("extract", 'sku: json sku found nothing in {"id":3,"name":"cake",'
                                                      '"price":5.25}')
    kind, message = only_error("no_match")
    assert kind == "extract" and message.startswith("code: regex code=(\\w+) matched nothing in {")
    kind, message = only_error("uses_sku")
    assert kind == "template" and message.startswith("{{ sku }} has no value yet")
    # a template failure sends nothing: the server never saw uses_sku, and counts still agree
    server = target.counts()["requests"]
    assert sum(server.values()) == sum(r["count"] for r in run.requests()) - run.request("uses_sku")["count"]


def test_original_docs_auth_forms(tmp_path: Path, target: TargetProcess) -> None:
    (tmp_path / "requests.yaml").write_text("""
requests:
  mapping_env:
    url: "${GRADUAL_TARGET}/secure/a"
    headers: {X-Require-Auth: t0ken}
    auth: {type: bearer, token: "{{ env.J13_TOKEN }}"}
  literal:
    url: "${GRADUAL_TARGET}/secure/b"
    headers: {X-Require-Auth: s3cr3t}
    auth: {type: bearer, token: "s3cr3t"}
  whole_value:
    url: "${GRADUAL_TARGET}/secure/c"
    headers: {X-Require-Auth: "u{{ user }}"}
    auth: "Bearer u{{ user }}"
  legacy_env:
    url: "${GRADUAL_TARGET}/secure/d"
    headers: {X-Require-Auth: t0ken}
    auth: bearer
""")
    write_every_request_config(tmp_path, "auth")
    run = run_gradual(tmp_path / "config.yaml", target=target, timeout=60,
                      env={"J13_TOKEN": "t0ken", "GRADUAL_AUTH_TOKEN": "t0ken"})
    assert run.returncode == 0, run.stderr
    for name in ("mapping_env", "literal", "whole_value", "legacy_env"):
        req = run.request(name)
        assert req["count"] > 0 and req["failures"] == 0, req
    assert "warning: requests.yaml:10: requests.literal.auth.token: a literal token is a secret in the file: " \
           "write {{ env.NAME }}" in run.stderr.replace(str(tmp_path) + "/", "")


@pytest.mark.parametrize("workers", [0, 2])
def test_auth_variable_nothing_defines_is_the_environment_or_sent_as_written(
    tmp_path: Path, target: TargetProcess, workers: int
) -> None:
    """The original's examples send ``auth: "Bearer {{auth_token}}"`` with nothing defining auth_token: a
    warning, then each process sends $AUTH_TOKEN when its environment has it, else the text as written (what
    the original sent). The server's X-Require-Auth check proves which header arrived."""
    (tmp_path / "requests.yaml").write_text("""
requests:
  as_written:
    url: "${GRADUAL_TARGET}/secure/a"
    headers: {X-Require-Auth: "{{ env.PLACEHOLDER }}"}
    auth: "Bearer {{auth_token}}"
  from_env:
    url: "${GRADUAL_TARGET}/secure/b"
    headers: {X-Require-Auth: "from-env"}
    auth: {type: bearer, token: "{{ api_key }}"}
""")
    write_every_request_config(tmp_path, "undefined auth")
    env = {"PLACEHOLDER": "{{auth_token}}", "API_KEY": "from-env"}
    args = ["--workers", str(workers)] if workers else []
    run = run_gradual(tmp_path / "config.yaml", target=target, timeout=60, extra_args=args, env=env)
    assert run.returncode == 0, run.stderr
    for name, path in (("as_written", "/secure/a"), ("from_env", "/secure/b")):
        req = run.request(name)
        assert req["count"] > 0 and req["failures"] == 0, req
        assert target.counts()["requests"][f"GET {path}"] == req["count"]
    stderr = run.stderr.replace(str(tmp_path) + "/", "")
    assert ("warning: requests.yaml:6: requests.as_written.auth: {{ auth_token }}: nothing defines auth_token; "
            "gradual sends {{auth_token}} as written, as the original did, unless the environment sets "
            "AUTH_TOKEN") in stderr
    assert stderr.count("nothing defines api_key") == 1

    strict = run_gradual(tmp_path / "config.yaml", target=target, timeout=60, extra_args=["--strict"], env=env)
    assert strict.returncode == 2
    assert "requests.as_written.auth: {{ auth_token }}: nothing defines auth_token" in strict.stderr


def test_data_file_and_runs_files_ship_to_workers_with_their_sha(tmp_path: Path, target: TargetProcess) -> None:
    """The issue's case: a Python request file reading its own CSV, on --workers 2 (was FileNotFoundError)."""
    write_users(tmp_path / "users.csv", 4)
    (tmp_path / "prices.txt").write_text("3.5\n")
    (tmp_path / "shop_requests.py").write_text('''
import os
from pathlib import Path

import requests

from gradual import request

PRICE = (Path(__file__).parent / "prices.txt").read_text().strip()


@request(name="login", url="/shop/login", http_method="post")
def login(ctx):
    answer = ctx.session.post(os.environ["GRADUAL_TARGET"] + "/shop/login", timeout=5,
                              json={"username": ctx.row["username"], "password": ctx.row["password"]})
    answer.raise_for_status()
    ctx.vars["token"] = answer.json()["access_token"]
    return answer


@request(name="items", url="/shop/items")
def items(ctx):
    answer = ctx.session.get(os.environ["GRADUAL_TARGET"] + "/shop/items", timeout=5,
                             headers={"Authorization": "Bearer " + ctx.vars["token"]})
    assert PRICE in answer.text
    return answer
''')
    (tmp_path / "config.yaml").write_text("""
runs:
  name: files
  files: [prices.txt]
  phases:
    p:
      run_time: 2s
      scenarios:
        s:
          request_file: shop_requests.py
          data: {file: users.csv, order: unique}
          on_start: [login]
          requests: [items]
          min_concurrency: 4
          max_concurrency: 4
          wait_time: 50ms
""")
    bundle = bundle_for(load(tmp_path / "config.yaml"), "r1")
    for name in ("users.csv", "prices.txt"):
        assert bundle.sha256[name] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    tampered = dict(bundle.files, **{"users.csv": b"username,password\nmallory,x\n"})
    with pytest.raises(ProtocolError, match="mismatch for 'users.csv'"):
        Bundle(bundle.run_id, bundle.config_path, tampered, bundle.sha256)

    result = run_gradual(tmp_path / "config.yaml", target=target, extra_args=["--workers", "2"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert shop(target)["logins"] == {f"u{i:02d}": 1 for i in range(4)}
    assert result.request("items")["failures"] == 0 and result.request("items")["count"] > 0


def test_websocket_message_and_auth_templates(tmp_path: Path, target: TargetProcess) -> None:
    import gevent

    from gradual.configs.requests import load_request_yaml
    from gradual.runners import UserContext
    from gradual.runners.websocket import WebSocketRunner

    (tmp_path / "requests.yaml").write_text(f"""
requests:
  chat:
    url: "{target.ws_url}/ws"
    method: WEBSOCKET
    headers: {{X-Require-Auth: "k3y"}}
    auth: "Bearer {{{{ key }}}}"
    websocket_config: {{message_template: "user {{{{ user }}}} says {{{{ greeting }}}} #{{counter}}", expect: says}}
""")
    req = load_request_yaml(tmp_path / "requests.yaml")["chat"]
    ctx = UserContext(user=4, scenario="s", phase="p")
    runner = WebSocketRunner(req, ctx)
    with gevent.Timeout(10):
        early = runner.run()  # nothing extracted yet: a template failure, no connection opened
        ctx.vars.update(key="k3y", greeting="hello")
        first, second = runner.run(), runner.run()
    runner.close()
    assert (early.error_kind, early.error_message) == ("template", "{{ greeting }} has no value yet")
    assert first.error_kind is None and first.response == "user 4 says hello #0"
    assert second.error_kind is None and second.response == "user 4 says hello #1"
    assert target.counts()["ws_messages"]["/ws"] == 2


def test_open_model_journeys_log_in_once_each(tmp_path: Path, target: TargetProcess) -> None:
    """Arrivals (min_rate/max_rate): each ready journey takes its own row and logs in once, before its first."""
    config = copy_example(tmp_path, users=4)
    text = config.read_text().replace("min_concurrency: 4", "min_rate: 15\n          max_rate: 15")
    text = text.replace("          ramp_up_add: 3\n          ramp_up_wait: 1s\n", "")
    text = text.replace("          wait_time: {between: [50ms, 150ms]}\n", "")
    config.write_text(text)
    run = run_gradual(config, target=target, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = shop(target)
    assert set(seen["logins"].values()) == {1} and len(seen["logins"]) == run.counts()["login"] <= 4
    assert seen["rejected"] == {} and totals(run)[1] == 0
    assert sum(target.counts()["requests"].values()) == totals(run)[0]
