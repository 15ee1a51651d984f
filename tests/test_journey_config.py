"""Journey keys in configs: what loads, and every error named with file:line and key path (exit 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradual.configs import ConfigError, load

SCEN = "runs.phases.p.scenarios"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def config(folder: Path, scenarios: str, extra: str = "") -> Path:
    body = textwrap.indent(textwrap.dedent(scenarios).strip(), " " * 8)
    return write(folder, "config.yaml", f"runs:\n  name: j\n{extra}  phases:\n    p:\n      run_time: 5\n"
                 f"      scenarios:\n{body}\n")


def scope(**kw):
    base = dict(user=1, iteration=0, worker="w", phase="p", scenario="s", vars={}, row=None)
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.fixture
def journey(tmp_path):
    write(tmp_path, "users.csv", "username,password\nann,a1\nbob,b2\n")
    write(tmp_path, "requests.yaml", """
        requests:
          login:
            url: "http://127.0.0.1:9/login"
            method: post
            json: {username: "{{ row.username }}", password: "{{ row.password }}", item: "{{ random_int(1, 5) }}"}
            expect: {status: [200, 201], json: {ok: true, token: {exists: true}}, header: {X-Api: "1"}}
            extract: {token: {json: access_token}, cart: {regex: "cart=(\\\\d+)"}, loc: {header: Location}}
          browse:
            url: "http://127.0.0.1:9/carts/{{ cart }}?u={{ user }}"
            auth: "Bearer {{ token }}"
            follow_redirects: 2
          static:
            url: "http://127.0.0.1:9/health"
            headers: {X-Home: "{{ env.GRADUAL_J13_HOME }}"}
    """)
    config(tmp_path, """
        s:
          request_file: requests.yaml
          requests: [browse, static]
          on_start: [login]
          data: {file: users.csv, order: unique}
          cookies: false
          min_concurrency: 1
          max_concurrency: 2
    """, extra="  files: [users.csv]\n")
    return tmp_path


def test_journey_loads(journey, monkeypatch):
    monkeypatch.setenv("GRADUAL_J13_HOME", "/h")
    run = load(journey / "config.yaml")
    scen = run.phases[0].scenarios[0]
    assert scen.data.order == "unique" and scen.data.on_exhausted == "stop" and scen.data.scope == "user"
    assert [r.name for r in scen.on_start] == ["login"] and scen.cookies is False
    assert (journey / "users.csv").resolve() in run.files
    login, browse, static = scen.on_start[0], *scen.requests
    assert login.checks.status == (200, 201) and [e.name for e in login.extract] == ["token", "cart", "loc"]
    assert browse.follow_redirects == 2
    target, headers, body = login.template.fill(scope(row={"username": "ann", "password": "a1"}))
    assert target == "/login" and body.startswith(b'{"username":"ann","password":"a1","item":')
    assert ("Content-Type", "application/json") in headers
    assert browse.template.fill(scope(vars={"token": "T", "cart": 7})) == (
        "/carts/7?u=1", [("Authorization", "Bearer T")], b"")
    # env references are read once at load: the request stays static, built once per user
    assert static.template.static and static.template.fill(None)[1] == [("X-Home", "/h")]
    assert not browse.template.static


def test_auth_forms_of_the_original_docs(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADUAL_J13_TOKEN", "from-env")
    write(tmp_path, "requests.yaml", """
        requests:
          header_form:
            url: "http://127.0.0.1:9/a"
            auth: "Bearer {{ auth_token }}"
            extract: {auth_token: {json: token}}
          mapping_form:
            url: "http://127.0.0.1:9/b"
            auth: {type: bearer, token: "{{ env.GRADUAL_J13_TOKEN }}"}
          literal:
            url: "http://127.0.0.1:9/c"
            auth: {type: bearer, token: "s3cr3t"}
          basic:
            url: "http://127.0.0.1:9/d"
            auth: {type: basic, username: "ann", password: "{{ env.GRADUAL_J13_TOKEN }}"}
          legacy:
            url: "http://127.0.0.1:9/e"
            auth: bearer
    """)
    config(tmp_path, """
        s:
          request_file: requests.yaml
          requests: FROM_REQUEST_YAML_FILE
          min_concurrency: 1
          max_concurrency: 1
    """)
    run = load(tmp_path / "config.yaml")
    reqs = {r.name: r for r in run.all_requests}
    assert reqs["header_form"].template.fill(scope(vars={"auth_token": "x"}))[1] == [("Authorization", "Bearer x")]
    assert reqs["mapping_form"].template.fill(None)[1] == [("Authorization", "Bearer from-env")]
    assert reqs["literal"].template.fill(None)[1] == [("Authorization", "Bearer s3cr3t")]
    assert reqs["basic"].template.fill(None)[1] == [("Authorization", "Basic YW5uOmZyb20tZW52")]
    assert reqs["legacy"].auth.kind == "bearer" and reqs["legacy"].auth.token_env == "GRADUAL_AUTH_TOKEN"
    warned = [str(w) for w in run.warnings if "a literal" in str(w)]
    assert len(warned) == 1 and "requests.yaml:11: requests.literal.auth.token: a literal token" in warned[0]
    assert "{{ env.NAME }}" in warned[0]


def test_typed_json_templates(tmp_path):
    write(tmp_path, "requests.yaml", """
        requests:
          add:
            url: "http://127.0.0.1:9/cart"
            method: post
            json: {item: "{{ random_int(1, 5) }}", qty: "{{ 3 }}", user: "{{ user }}", name: "u{{ user }}",
                   flags: ["{{ true }}", "{{ null }}"], price: "{{ 2.5 }}"}
    """)
    config(tmp_path, """
        s: {request_file: requests.yaml, requests: [add], min_concurrency: 1, max_concurrency: 1}
    """)
    req = load(tmp_path / "config.yaml").all_requests[0]
    import json

    body = json.loads(req.template.fill(scope(user=4))[2])
    assert isinstance(body["item"], int) and body["qty"] == 3 and body["user"] == 4 and body["name"] == "u4"
    assert body["flags"] == [True, None] and body["price"] == 2.5


def test_every_config_error_is_listed_with_file_line_and_key(tmp_path):
    write(tmp_path, "empty.csv", "")
    write(tmp_path, "users.csv", "username,password\nann,a1\n")
    write(tmp_path, "bad.csv", 'a,b\n1,2,3\n')
    write(tmp_path, "requests.yaml", """
        requests:
          login:
            url: "http://127.0.0.1:9/login"
            method: post
            json: {username: "{{ row.usernme }}"}
            extract: {token: {json: access_token}}
          undefined:
            url: "http://127.0.0.1:9/items/{{ cart_id }}"
            auth: "Bearer {{ tokn }}"
    """)
    write(tmp_path, "syntax.yaml", """
        requests:
          bad_syntax:
            url: "http://127.0.0.1:9/x/{{ user + }}"
            headers: {X-A: "{{ nope() }}", X-B: "{{ random_int(1) }}"}
            expect: {status: 999, json: {"a[": 1}}
            extract: {id: {regex: "("}}
    """)
    config(tmp_path, """
        s0:
          request_file: syntax.yaml
          requests: [bad_syntax]
          min_concurrency: 1
          max_concurrency: 1
        s1:
          request_file: requests.yaml
          requests: [undefined]
          on_start: [login]
          data: users.csv
          min_concurrency: 1
          max_concurrency: 1
        s2:
          request_file: requests.yaml
          requests: [login]
          data: {file: missing.csv}
          min_concurrency: 1
          max_concurrency: 1
        s3:
          request_file: requests.yaml
          requests: [login]
          data: {file: empty.csv, order: unique, on_exhausted: recycle}
          min_concurrency: 1
          max_concurrency: 1
        s4:
          request_file: requests.yaml
          requests: [login]
          data: bad.csv
          min_concurrency: 1
          max_concurrency: 1
    """, extra="  files: [nothere.txt]\n")
    proc = subprocess.run([sys.executable, "-m", "gradual", "validate", "config.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    expected = [
        "config.yaml:3: runs.files[0]: file not found: nothere.txt",
        "syntax.yaml:3: requests.bad_syntax.url: unexpected '+' in {{ user + }}",
        "syntax.yaml:4: requests.bad_syntax.headers.X-A: unknown function nope()",
        "syntax.yaml:4: requests.bad_syntax.headers.X-B: random_int() takes 2 arguments, found 1",
        "syntax.yaml:5: requests.bad_syntax.expect.status: expected a status code (100-599)",
        "syntax.yaml:5: requests.bad_syntax.expect.json.a[: invalid JMESPath 'a['",
        "syntax.yaml:6: requests.bad_syntax.extract.id.regex: invalid regex '('",
        # variables nothing can define, and a column the data file lacks (where the template is)
        "requests.yaml:5: requests.login.json.username: {{ row.usernme }}: users.csv (data of "
        f"{SCEN}.s1) has no column 'usernme' (did you mean 'username'?)",
        "requests.yaml:8: requests.undefined.url: {{ cart_id }}: nothing in scenario s1 defines cart_id",
        "requests.yaml:9: requests.undefined.auth: {{ tokn }}: nothing in scenario s1 defines tokn "
        "(did you mean 'token'?)",
        f"config.yaml:23: {SCEN}.s2.data.file: missing.csv: file not found",
        f"config.yaml:29: {SCEN}.s3.data.on_exhausted: unique rows are never used twice",
        f"config.yaml:29: {SCEN}.s3.data.file: empty.csv: the file is empty",
        f"config.yaml:35: {SCEN}.s4.data.file: bad.csv:2: 3 fields where the header has 2",
    ]
    for line in expected:
        assert f"error: {line}" in proc.stderr, f"missing {line!r} in:\n{proc.stderr}"


def test_row_without_data_and_unknown_on_start(tmp_path):
    write(tmp_path, "requests.yaml", """
        requests:
          r: {url: "http://127.0.0.1:9/{{ row.id }}"}
    """)
    config(tmp_path, """
        s: {request_file: requests.yaml, requests: [r], min_concurrency: 1, max_concurrency: 1}
        t: {request_file: requests.yaml, requests: [r], on_start: [rr], min_concurrency: 1, max_concurrency: 1,
            cookies: "no"}
    """)
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "config.yaml")
    text = str(info.value)
    assert f"requests.yaml:2: requests.r.url: {{{{ row.id }}}}: scenario s has no data file (add data: {{file: ...}} " \
           f"to {SCEN}.s)" in text
    assert f"config.yaml:8: {SCEN}.t.on_start[0]: no request named 'rr' in requests.yaml (did you mean 'r'?)" in text
    assert f"config.yaml:9: {SCEN}.t.cookies: expected true or false" in text


def test_the_demo_runs_the_example_journey_as_it_is():
    """`gradual demo`'s journey phase is examples/journey (package data cannot point outside the package)."""
    from support.target import REPO_ROOT

    demo, example = REPO_ROOT / "gradual" / "demo", REPO_ROOT / "examples" / "journey"
    assert (demo / "journey_requests.yaml").read_bytes() == (example / "requests.yaml").read_bytes()
    assert (demo / "journey_users.csv").read_bytes() == (example / "users.csv").read_bytes()
    run = load(example / "config.yaml")
    assert [r.name for r in run.phases[0].scenarios[0].on_start] == ["login"]
