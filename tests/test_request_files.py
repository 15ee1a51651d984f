"""Python request files: imported in isolation, decorated functions found in definition order, callbacks attached.

Every test writes real files into tmp_path and loads them with the real loader.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import gradual
from gradual.configs import ConfigError, load
from gradual.configs import decorators as decorators_module
from gradual.configs.decorators import DecoratorError, accepts_argument, on_call_completion, request
from gradual.configs.model import PYTHON
from gradual.configs.requests import load_request_file


@pytest.fixture(autouse=True)
def _restore_sys_path() -> Iterator[None]:
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def test_same_stem_in_two_folders_do_not_collide(tmp_path: Path) -> None:
    a = write(tmp_path / "team_a" / "requests.py", """
        from gradual import request

        @request(name="a_only", url="http://127.0.0.1:8080/a")
        def fetch():
            return "a"
    """)
    b = write(tmp_path / "team_b" / "requests.py", """
        from gradual import request

        @request(name="b_only", url="http://127.0.0.1:8080/b")
        def fetch():
            return "b"
    """)
    from_a, from_b = load_request_file(a), load_request_file(b)
    assert list(from_a) == ["a_only"] and list(from_b) == ["b_only"]
    fa, fb = from_a["a_only"].function, from_b["b_only"].function
    assert fa is not None and fb is not None
    assert fa() == "a" and fb() == "b"
    assert fa.__module__ != fb.__module__
    assert sys.modules[fa.__module__].__file__ == str(a)
    assert sys.modules[fb.__module__].__file__ == str(b)
    # a request file called requests.py never shadows the requests library
    import requests as http_library

    assert hasattr(http_library, "Session")
    assert sys.modules["requests"] is http_library


def test_definition_order_and_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "ordered.py", """
        from gradual.configs.decorators import request

        @request(name="zeta", url="http://127.0.0.1:8080/z", http_method="post", params={"n": 1},
                 expected_response_time=0.5, type="api")
        def last_alphabetically(ctx):
            return ctx

        @request(name="alpha")
        def first_alphabetically():
            return 1

        @request(name="mid", http_method="DELETE")
        def middle(ctx=None):
            return ctx
    """)
    found = load_request_file(path)
    assert list(found) == ["zeta", "alpha", "mid"]
    zeta = found["zeta"]
    assert zeta.kind == PYTHON and zeta.url == "http://127.0.0.1:8080/z" and zeta.method == "POST"
    assert zeta.params == {"n": 1} and zeta.expected_response_time == 0.5 and zeta.type == "api"
    assert zeta.source == str(path) and zeta.callbacks == ()
    assert found["alpha"].method == "GET" and found["alpha"].expected_response_time == 1.0
    assert found["mid"].method == "DELETE"


def test_callbacks_are_attached_in_order_to_their_request(tmp_path: Path) -> None:
    path = write(tmp_path / "callbacks.py", """
        from gradual import on_call_completion, request

        @request(name="get_user")
        def get_user():
            return 1

        @on_call_completion(name="get_user")
        def first(record):
            return "first"

        @request(name="other")
        def other():
            return 2

        @on_call_completion(name="get_user")
        def second():
            return "second"

        @on_call_completion(name="other")
        def for_other(record=None):
            return "other"
    """)
    found = load_request_file(path)
    assert [cb.__name__ for cb in found["get_user"].callbacks] == ["first", "second"]
    assert [cb.__name__ for cb in found["other"].callbacks] == ["for_other"]
    assert accepts_argument(found["get_user"].callbacks[0]) and not accepts_argument(found["get_user"].callbacks[1])


def test_callback_may_come_before_its_request(tmp_path: Path) -> None:
    path = write(tmp_path / "early_callback.py", """
        from gradual import on_call_completion, request

        @on_call_completion(name="late")
        def done(record):
            pass

        @request(name="late")
        def late():
            pass
    """)
    assert [cb.__name__ for cb in load_request_file(path)["late"].callbacks] == ["done"]


def test_both_import_paths_are_the_same_decorators() -> None:
    assert gradual.request is request is decorators_module.request
    assert gradual.on_call_completion is on_call_completion
    from gradual import on_call_completion as top_level_callback
    from gradual import request as top_level_request

    assert top_level_request is request and top_level_callback is on_call_completion


def test_a_helper_module_next_to_the_request_file_can_be_imported(tmp_path: Path) -> None:
    helper = unique("helper")
    write(tmp_path / "suite" / f"{helper}.py", """
        BASE = "http://127.0.0.1:8080"

        def build(path):
            return BASE + path
    """)
    path = write(tmp_path / "suite" / "with_helper.py", f"""
        from {helper} import build
        from gradual import request

        @request(name="uses_helper", url=build("/users"))
        def uses_helper():
            return build("/x")
    """)
    found = load_request_file(path)
    assert found["uses_helper"].url == "http://127.0.0.1:8080/users"
    assert found["uses_helper"].function() == "http://127.0.0.1:8080/x"  # type: ignore[misc]


def test_bare_decorator_uses_the_function_name(tmp_path: Path) -> None:
    path = write(tmp_path / "bare.py", """
        from gradual import request

        @request
        def list_products():
            return "listed"
    """)
    found = load_request_file(path)
    assert list(found) == ["list_products"]
    fn = found["list_products"].function
    assert fn is not None and fn() == "listed" and fn.__name__ == "list_products"


def test_zero_and_one_argument_functions_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "arity.py", """
        from gradual import request

        @request(name="none")
        def no_argument():
            return 0

        @request(name="ctx")
        def one_argument(ctx):
            return ctx

        @request(name="defaults")
        def with_defaults(ctx=None, retries=3, *, verbose=False):
            return retries

        @request(name="varargs")
        def varargs(*args, **kwargs):
            return args
    """)
    found = load_request_file(path)
    assert list(found) == ["none", "ctx", "defaults", "varargs"]
    assert [accepts_argument(r.function) for r in found.values()] == [False, True, True, True]  # type: ignore[arg-type]


def test_decorators_outside_the_loader_leave_functions_usable() -> None:
    @request(name="standalone")
    def standalone(ctx: object = None) -> str:
        return "ok"

    @on_call_completion(name="standalone")
    def cb() -> None:
        pass

    assert standalone() == "ok"
    assert standalone.__gradual_request__.name == "standalone"  # type: ignore[attr-defined]
    assert cb.__gradual_callback__.name == "standalone"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("use", "message"),
    [
        (lambda: request(name=123), "must be a string"),
        (lambda: request(name="x", params=[1]), "must be a dict"),
        (lambda: request(name="x", expected_response_time="fast"), "must be a duration > 0"),
        (lambda: request(name="x", methd="get"), "unknown argument 'methd'"),
        (lambda: request(name="x")(lambda a, b: None), "must take no argument or one"),
        (lambda: request(name="x")(lambda *, token: None), "required keyword-only argument(s) token"),
        (lambda: on_call_completion(lambda record: None), "needs the name of a request"),
        (lambda: on_call_completion(), "needs the name of a request"),
        (lambda: on_call_completion(name="x")(lambda a, b, c: None), "it requires 3"),
        (lambda: request(name="x")(42), "must decorate a function"),
    ],
)
def test_decorator_misuse_raises_a_clear_error(use: object, message: str) -> None:
    with pytest.raises(DecoratorError) as info:
        use()  # type: ignore[operator]
    assert message in str(info.value)
    assert info.value.key.startswith(("@request", "@on_call_completion"))


def test_import_failure_leaves_no_module_behind(tmp_path: Path) -> None:
    path = write(tmp_path / "boom.py", """
        from gradual import request

        @request(name="never")
        def never():
            pass

        raise RuntimeError("the target is not configured")
    """)
    before = set(sys.modules)
    with pytest.raises(ConfigError) as info:
        load_request_file(path)
    (issue,) = info.value.issues
    assert issue.line == 8 and "RuntimeError: the target is not configured" in issue.message
    assert {m for m in set(sys.modules) - before if "boom" in m} == set()


def test_system_exit_in_a_request_file_is_an_error_not_an_exit(tmp_path: Path) -> None:
    path = write(tmp_path / "exits.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(ConfigError) as info:
        load_request_file(path)
    assert "SystemExit" in info.value.issues[0].message and info.value.issues[0].line == 2


def test_a_file_is_imported_once_per_content(tmp_path: Path) -> None:
    counter = unique("counter")
    setattr(sys.modules[__name__], counter, 0)
    source = f"""
        import sys
        mod = sys.modules[{__name__!r}]
        setattr(mod, {counter!r}, getattr(mod, {counter!r}) + 1)

        from gradual import request

        @request(name="VERSION")
        def r():
            pass
    """
    path = write(tmp_path / "once.py", source.replace("VERSION", "v1"))
    assert list(load_request_file(path)) == ["v1"]
    assert list(load_request_file(path)) == ["v1"]
    assert getattr(sys.modules[__name__], counter) == 1
    write(path, source.replace("VERSION", "v2"))
    assert list(load_request_file(path)) == ["v2"]
    assert getattr(sys.modules[__name__], counter) == 2


def test_file_not_found_and_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_request_file(tmp_path / "absent.py")
    other = write(tmp_path / "requests.txt", "requests: {}\n")
    with pytest.raises(ConfigError, match=r"unsupported request file type \(use .py, .yaml or .yml\)"):
        load_request_file(other)


def test_a_config_uses_a_python_request_file(tmp_path: Path) -> None:
    write(tmp_path / "flows.py", """
        from gradual import request

        @request(name="login")
        def login(ctx):
            pass

        @request(name="browse")
        def browse(ctx):
            pass
    """)
    write(tmp_path / "test.yaml", """
        runs:
          name: python
          phases:
            p:
              run_time: 3
              scenarios:
                all:
                  requests: FROM_REQUEST_YAML_FILE
                  request_file: flows.py
                  min_concurrency: 1
                  max_concurrency: 1
                picked:
                  requests: [browse]
                  request_file: flows.py
                  min_concurrency: 1
                  max_concurrency: 1
    """)
    run = load(tmp_path / "test.yaml")
    all_, picked = run.phases[0].scenarios
    assert [r.name for r in all_.requests] == ["login", "browse"]
    assert [r.name for r in picked.requests] == ["browse"]
    assert picked.requests[0] is all_.requests[1]  # the file was imported once
    assert run.files == (tmp_path / "test.yaml", tmp_path / "flows.py")
