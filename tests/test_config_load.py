"""Valid configs load into the model the plan, engine and master read: defaults, aliases, paths, env expansion."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradual.configs import FROM_FILE, AuthConfig, ConfigError, RunConfig, load
from gradual.configs.model import HTTP, PYTHON, WEBSOCKET

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def config(tmp_path: Path, scenario: str, *, request_file: str | None = "reqs.yaml", run_extra: str = "") -> Path:
    body = textwrap.indent(textwrap.dedent(scenario).strip(), " " * 10)
    rf = f'          request_file: "{request_file}"\n' if request_file else ""
    return write(tmp_path / "test.yaml", f"""\
runs:
  name: "t"
{run_extra}  phases:
    p1:
      run_time: 10
      scenarios:
        s1:
{rf}{body}
""")


@pytest.fixture
def reqs(tmp_path: Path) -> Path:
    return write(tmp_path / "reqs.yaml", """
        requests:
          get_user:
            url: "http://127.0.0.1:8080/users/1"
          create:
            url: "http://127.0.0.1:8080/users"
            http_method: post
            params: {name: x}
            headers: {Accept: application/json, X-Retry: "3"}
            expected_response_time: 0.25
            timeout: 4
            type: write
          ws:
            url: "ws://127.0.0.1:8080/ws"
            method: WEBSOCKET
            websocket_config: {message_template: "tick {counter}", expect: "ok"}
    """)


def test_example_test_config_loads() -> None:
    run = load(EXAMPLES / "test_config.yaml")
    assert isinstance(run, RunConfig)
    assert run.name == "Custom API Test" and run.wait_between_phases == 1 and run.stop_timeout == 5
    assert [p.name for p in run.phases] == ["api_testing", "browse"]  # file order is run order
    ops = run.phase("api_testing").scenarios[0]
    assert ops.ramp_up_multiply == (1, 2, 3) and ops.ramp_up_wait == (2, 2, 2) and ops.ramp_up_add is None
    assert ops.iterate_through_requests and not ops.run_once
    assert [r.name for r in ops.requests] == ["get_user_data", "create_user", "data_processing"]
    assert all(r.kind == PYTHON for r in ops.requests)
    assert [cb.__name__ for cb in ops.requests[0].callbacks] == ["user_data_completed"]
    browse = run.phase("browse")
    assert [r.name for r in browse.scenarios[0].requests] == ["list_products", "get_user"]
    assert browse.scenarios[0].ramp_up_add == (2,) and browse.scenarios[0].ramp_up_wait == (1,)
    assert {r.kind for r in browse.scenarios[1].requests} == {WEBSOCKET}
    assert run.files == (
        EXAMPLES / "test_config.yaml", EXAMPLES / "custom_requests.py", EXAMPLES / "request_config.yaml",
        EXAMPLES / "websocket_requests.yaml",
    )
    with pytest.raises(KeyError):
        run.phase("nope")
    assert [r.name for r in run.all_requests][:3] == ["get_user_data", "create_user", "data_processing"]


def test_example_with_request_config_option() -> None:
    run = load(EXAMPLES / "yaml_test_config.yaml", EXAMPLES / "request_config.yaml")
    assert run.request_config == EXAMPLES / "request_config.yaml"
    buyers, signups = run.phases[0].scenarios
    assert [r.name for r in buyers.requests] == ["list_products", "create_order"]
    assert signups.run_once and signups.ramp_up_add == (2,)
    assert run.files == (EXAMPLES / "yaml_test_config.yaml", EXAMPLES / "request_config.yaml")


def test_defaults(tmp_path: Path, reqs: Path) -> None:
    run = load(config(tmp_path, """
        requests: [get_user]
        min_concurrency: 2
        max_concurrency: 2
    """))
    (scen,) = run.phases[0].scenarios
    assert run.wait_between_phases == 0 and run.stop_timeout == 5
    assert scen.ramp_up_multiply is None and scen.ramp_up_add is None and scen.ramp_up_wait == (0.1,)
    assert not scen.iterate_through_requests and not scen.run_once
    assert scen.request_file == reqs
    (req,) = scen.requests
    assert (req.kind, req.method, req.timeout, req.params, req.headers, req.auth) == (HTTP, "GET", 30.0, None, {}, None)
    assert req.expected_response_time is None and req.source == str(reqs)


def test_request_fields_and_aliases(tmp_path: Path, reqs: Path) -> None:
    run = load(config(tmp_path, f"""
        requests: "{FROM_FILE}"
        min_concurrency: 1
        max_concurrency: 3
        ramp_up_multiply: 1.5
    """))
    get_user, create, ws = run.phases[0].scenarios[0].requests  # all of them, in file order
    assert get_user.name == "get_user"
    assert create.method == "POST" and create.params == {"name": "x"} and create.type == "write"
    assert create.headers == {"Accept": "application/json", "X-Retry": "3"}
    assert create.expected_response_time == 0.25 and create.timeout == 4
    assert ws.kind == WEBSOCKET and ws.message == "tick {counter}" and ws.expect == "ok"


def test_integral_float_concurrency_and_numeric_types(tmp_path: Path, reqs: Path) -> None:
    run = load(config(tmp_path, """
        requests: [get_user]
        min_concurrency: 2.0
        max_concurrency: 6
        ramp_up_add: [1, 2]
        ramp_up_wait: [0, 1.5]
    """, run_extra="  wait_between_phases: 2.5\n  stop_timeout: 0\n"))
    scen = run.phases[0].scenarios[0]
    assert scen.min_concurrency == 2 and isinstance(scen.min_concurrency, int)
    assert scen.ramp_up_add == (1, 2) and scen.ramp_up_wait == (0.0, 1.5)
    assert run.wait_between_phases == 2.5 and run.stop_timeout == 0


def test_min_zero_with_add_is_allowed(tmp_path: Path, reqs: Path) -> None:
    run = load(config(tmp_path, """
        requests: [get_user]
        min_concurrency: 0
        max_concurrency: 4
        ramp_up_add: 2
    """))
    assert run.phases[0].scenarios[0].min_concurrency == 0


def test_env_expansion_in_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "reqs.yaml", """
        requests:
          r:
            url: "${GRADUAL_TEST_TARGET:-http://127.0.0.1:9}/x"
    """)
    path = config(tmp_path, """
        requests: [r]
        min_concurrency: 1
        max_concurrency: 1
    """)
    monkeypatch.delenv("GRADUAL_TEST_TARGET", raising=False)
    assert load(path).phases[0].scenarios[0].requests[0].url == "http://127.0.0.1:9/x"
    # the same file, loaded again in the same process, follows the environment
    monkeypatch.setenv("GRADUAL_TEST_TARGET", "http://127.0.0.2:8080")
    assert load(path).phases[0].scenarios[0].requests[0].url == "http://127.0.0.2:8080/x"
    monkeypatch.setenv("GRADUAL_TEST_TARGET", "")  # empty counts as unset when there is a default
    assert load(path).phases[0].scenarios[0].requests[0].url == "http://127.0.0.1:9/x"


def test_auth_names_environment_variables(tmp_path: Path) -> None:
    write(tmp_path / "reqs.yaml", """
        requests:
          a:
            url: "http://127.0.0.1:8080/a"
            auth: bearer
          b:
            url: "http://127.0.0.1:8080/b"
            auth: {type: basic, username_env: ME, password_env: MY_PASSWORD}
          c:
            url: "http://127.0.0.1:8080/c"
            auth: {type: bearer, token_env: API_TOKEN}
          d:
            url: "http://${GRADUAL_TEST_USER:-u}:${GRADUAL_TEST_PASSWORD:-p}@127.0.0.1:8080/d"
    """)
    run = load(config(tmp_path, f"""
        requests: "{FROM_FILE}"
        min_concurrency: 1
        max_concurrency: 1
    """))
    a, b, c, d = run.phases[0].scenarios[0].requests
    assert a.auth == AuthConfig("bearer", token_env="GRADUAL_AUTH_TOKEN")
    assert b.auth == AuthConfig("basic", username_env="ME", password_env="MY_PASSWORD")
    assert c.auth == AuthConfig("bearer", token_env="API_TOKEN")
    assert d.url == "http://u:p@127.0.0.1:8080/d"  # credentials from the environment are fine


def test_request_file_resolves_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "suite" / "defs" / "reqs.yml", """
        requests:
          r: {url: "https://127.0.0.1:8443/"}
    """)
    path = write(tmp_path / "suite" / "test.yaml", """
        runs:
          name: t
          phases:
            p:
              run_time: 1
              scenarios:
                s:
                  requests: [r]
                  request_file: defs/reqs.yml
                  min_concurrency: 1
                  max_concurrency: 1
    """)
    monkeypatch.chdir(tmp_path)  # the working directory does not matter
    run = load(Path("suite/test.yaml"))
    assert run.source == path and run.phases[0].scenarios[0].request_file == tmp_path / "suite" / "defs" / "reqs.yml"


def test_yaml_anchors_and_merge_keys_are_not_duplicates(tmp_path: Path, reqs: Path) -> None:
    path = write(tmp_path / "anchors.yaml", """
        defaults: &defaults
          requests: [get_user]
          request_file: reqs.yaml
          min_concurrency: 1
          max_concurrency: 4
          ramp_up_add: 1
        runs:
          name: t
          phases:
            p:
              run_time: 5
              scenarios:
                a: *defaults
                b:
                  <<: *defaults
                  max_concurrency: 8
    """)
    # `defaults` is not a key of the format: the only complaint is that one, not a duplicate.
    with pytest.raises(ConfigError) as info:
        load(path)
    (issue,) = info.value.issues
    assert issue.key == "defaults" and "unknown key" in issue.message

    path.write_text(textwrap.dedent("""
        runs:
          name: t
          phases:
            p:
              run_time: 5
              scenarios:
                a: &defaults
                  requests: [get_user]
                  request_file: reqs.yaml
                  min_concurrency: 1
                  max_concurrency: 4
                  ramp_up_add: 1
                b:
                  <<: *defaults
                  max_concurrency: 8
    """))
    a, b = load(path).phases[0].scenarios
    assert (a.max_concurrency, b.max_concurrency) == (4, 8) and b.ramp_up_add == (1,)


def test_phases_keep_file_order_and_every_scenario(tmp_path: Path, reqs: Path) -> None:
    path = write(tmp_path / "order.yaml", """
        runs:
          name: order
          phases:
            zz:
              run_time: 1
              scenarios:
                b: {requests: [get_user], request_file: reqs.yaml, min_concurrency: 1, max_concurrency: 1}
                a: {requests: [create], request_file: reqs.yaml, min_concurrency: 1, max_concurrency: 1}
            aa:
              run_time: 2
              scenarios:
                c: {requests: [get_user, create], request_file: reqs.yaml, min_concurrency: 1, max_concurrency: 1}
    """)
    run = load(path)
    assert [(p.name, [s.name for s in p.scenarios]) for p in run.phases] == [("zz", ["b", "a"]), ("aa", ["c"])]
    assert [r.name for r in run.all_requests] == ["get_user", "create"]
