"""Templates, data files, checks, extraction and the cookie jar, each on its own (no network)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradual.journeys.answer import Answer
from gradual.journeys.checks import Expect, HeaderCheck, JsonCheck, compile_path, run_checks, status_ok
from gradual.journeys.cookies import CookieJar
from gradual.journeys.data import DataFileError, DataSpec, Exhausted, Feeder, read_table
from gradual.journeys.extract import Extraction, compile_regex, run_extractions
from gradual.journeys.templates import (
    TemplateSyntaxError,
    Undefined,
    compile_template,
    compile_value,
)


def scope(**vars_):
    return SimpleNamespace(user=7, iteration=3, worker="w1", phase="p", scenario="s", vars=dict(vars_),
                           row={"name": "ann", "id": "12"})


# --- templates ------------------------------------------------------------------------------------


def test_text_templates_fill_in_builtins_rows_and_variables():
    t = compile_template("/u/{{ row.name }}/{{user}}-{{ iteration }}?w={{ worker }}&t={{ token }}")
    assert t.render(scope(token="abc")) == "/u/ann/7-3?w=w1&t=abc"
    assert t.names == {"row.name", "user", "iteration", "worker", "token"}


def test_one_whole_expression_keeps_its_type_in_json():
    filler = compile_value({"item": "{{ random_int(1, 5) }}", "qty": "{{ 2 }}", "who": "{{ user }}",
                            "label": "n{{ user }}", "ok": "{{ true }}", "list": ["{{ iteration }}", 1.5]})
    random.seed(1)
    body = filler.fill(scope())
    assert isinstance(body["item"], int) and 1 <= body["item"] <= 5
    assert body["qty"] == 2 and body["who"] == 7 and body["label"] == "n7" and body["ok"] is True
    assert body["list"] == [3, 1.5]
    assert not filler.static


def test_untyped_values_render_as_text_for_headers():
    assert compile_value("{{ user }}", typed=False).fill(scope()) == "7"


def test_static_values_are_built_once():
    filler = compile_value({"a": "x", "b": [1, "{{ env.HOME_FOR_TEST }}"]}, env={"HOME_FOR_TEST": "/h"})
    assert filler.static and filler.constant == {"a": "x", "b": [1, "/h"]}
    assert compile_template("{{ 'a' }}b").static


def test_functions():
    s = scope()
    assert len(compile_template("{{ uuid() }}").render(s)) == 36
    assert compile_template("{{ random_choice('a', 'b') }}").render(s) in ("a", "b")
    assert compile_template("{{ now_ms() }}").value(s) > 1_700_000_000_000
    assert compile_template("{{ random_int(3, 3) }}").value(s) == 3


def test_undefined_variable_at_run_time_names_it():
    t = compile_template("Bearer {{ token }}")
    with pytest.raises(Undefined) as info:
        t.render(scope())
    assert info.value.name == "token"
    with pytest.raises(Undefined) as info:
        compile_template("{{ row.missing }}").render(scope())
    assert info.value.name == "row.missing"


@pytest.mark.parametrize(("text", "message"), [
    ("{{ foo( }}", "unexpected end"),
    ("{{ nope() }}", "unknown function nope()"),
    ("{{ uid() }}", "did you mean 'uuid'"),
    ("{{ random_int(1) }}", "random_int() takes 2 arguments, found 1"),
    ("{{ random_choice() }}", "at least 1"),
    ("{{ env.GRADUAL_TEST_SURELY_UNSET }}", "environment variable GRADUAL_TEST_SURELY_UNSET is not set"),
    ("{{ a.b }}", "only row.COLUMN and env.NAME"),
    ("{{ }}", "empty"),
    ("x }}", "unbalanced"),
    ("{{ x", "unbalanced"),
    ("{{ 1 2 }}", "unexpected '2'"),
    ("{{ __import__('os') }}", "unknown function __import__()"),
    ("{{ user + 1 }}", "unexpected '+"),
])
def test_syntax_errors(text, message):
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template(text, env={})
    assert message in str(info.value)


def test_value_errors_carry_the_key_path():
    with pytest.raises(TemplateSyntaxError) as info:
        compile_value({"a": {"b": ["ok", "{{ bad( }}"]}}, where="json")
    assert str(info.value).startswith("json.a.b[1]: ")


# --- data files -----------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_csv_and_json_lines(tmp_path):
    csv_table = read_table(write(tmp_path, "u.csv", "name,password\nann,a1\nbob,\"b,2\"\n\n"))
    assert csv_table.columns == ("name", "password")
    assert csv_table.rows == ({"name": "ann", "password": "a1"}, {"name": "bob", "password": "b,2"})
    jl = read_table(write(tmp_path, "u.jsonl", '{"name": "ann", "n": 1}\n\n{"name": "bob", "x": true}\n'))
    assert jl.columns == ("name", "n", "x") and jl.rows[1] == {"name": "bob", "x": True}


def test_rows_are_read_once_per_content(tmp_path):
    path = write(tmp_path, "u.csv", "a\n1\n")
    assert read_table(path) is read_table(path)
    path.write_text("a\n2\n")
    assert read_table(path).rows == ({"a": "2"},)


@pytest.mark.parametrize(("name", "content", "message", "line"), [
    ("e.csv", "", "the file is empty", None),
    ("h.csv", "a,b\n", "no data rows", 1),
    ("r.csv", "a,b\n1,2,3\n", "3 fields where the header has 2", 2),
    ("q.csv", 'a\n"x"y\n', "unreadable CSV", 2),
    ("d.csv", "a,a\n1,2\n", "column 'a' appears twice", 1),
    ("b.csv", b"a\n\xff\xfe\n", "not UTF-8", None),
    ("j.jsonl", '{"a": 1}\n[1]\n', "expected a JSON object", 2),
    ("k.jsonl", '{"a": 1}\n{nope\n', "invalid JSON", 2),
])
def test_bad_data_files(tmp_path, name, content, message, line):
    with pytest.raises(DataFileError) as info:
        read_table(write(tmp_path, name, content))
    assert message in str(info.value) and info.value.line == line


def test_missing_data_file(tmp_path):
    with pytest.raises(DataFileError, match="file not found"):
        read_table(tmp_path / "none.csv")


def table(n: int, tmp_path: Path):
    return read_table(write(tmp_path, f"t{n}.csv", "i\n" + "".join(f"{i}\n" for i in range(n))))


def test_sequential_recycles_and_stop_ends(tmp_path):
    t = table(3, tmp_path)
    seq = Feeder(DataSpec(tmp_path / "t.csv"), t)
    assert [seq.draw()["i"] for _ in range(5)] == ["0", "1", "2", "0", "1"]
    stop = Feeder(DataSpec(tmp_path / "t.csv", on_exhausted="stop"), t)
    assert [stop.draw()["i"] for _ in range(3)] == ["0", "1", "2"]
    with pytest.raises(Exhausted):
        stop.draw()


def test_unique_shares_never_overlap_and_cover_every_row(tmp_path):
    t = table(10, tmp_path)
    seen: list[str] = []
    for i in range(3):
        feeder = Feeder(DataSpec(tmp_path / "t.csv", order="unique", on_exhausted="stop"), t, share=(i, 3))
        while True:
            try:
                seen.append(feeder.draw()["i"])
            except Exhausted:
                break
    assert sorted(seen, key=int) == [str(i) for i in range(10)]


def test_random_draws_any_row(tmp_path):
    t = table(4, tmp_path)
    feeder = Feeder(DataSpec(tmp_path / "t.csv", order="random"), t, share=(1, 2), rng=random.Random(3))
    assert {feeder.draw()["i"] for _ in range(200)} == {"0", "1", "2", "3"}


# --- checks ---------------------------------------------------------------------------------------


def answer(body: str = '{"user": {"name": "ann", "id": 12}, "items": [1, 2]}', status: int = 200,
           headers: list[tuple[str, str]] | None = None) -> Answer:
    return Answer(status, headers or [("Content-Type", "application/json")], body.encode())


def jcheck(path: str, value=None, exists: bool = True) -> JsonCheck:
    return JsonCheck(path, compile_path(path), None if value is None else compile_value(value), exists)


def test_checks_pass():
    expect = Expect(status=(200, 201), body_contains="ann",
                    json=(jcheck("user.name", "ann"), jcheck("user.id", 12), jcheck("items[1]"),
                          jcheck("user.id", "{{ row.id }}")),
                    headers=(HeaderCheck("content-type", compile_value("application/json")),))
    assert status_ok(expect, 201) and not status_ok(expect, 204)
    assert run_checks(expect, answer(), scope()) is None


@pytest.mark.parametrize(("expect", "message"), [
    (Expect(body_contains="zed"), "body_contains zed: not in body {\"user\""),
    (Expect(json=(jcheck("user.name", "bob"),)), "json user.name: expected bob, found ann"),
    (Expect(json=(jcheck("user.email"),)), "json user.email: expected a value, found null"),
    (Expect(json=(jcheck("user.id", 13),)), "json user.id: expected 13, found 12"),
    (Expect(headers=(HeaderCheck("X-Trace", None),)), "header X-Trace: expected it, found null"),
    (Expect(headers=(HeaderCheck("Content-Type", compile_value("text/html")),)),
     "header Content-Type: expected text/html, found application/json"),
])
def test_failed_checks_name_the_check_and_what_was_found(expect, message):
    found = run_checks(expect, answer(), scope())
    assert found is not None and found.startswith(message)


def test_found_values_are_truncated():
    message = run_checks(Expect(body_contains="nope"), answer("x" * 5000), scope())
    assert message is not None and len(message) < 140 and message.endswith("...")


def test_not_json():
    assert run_checks(Expect(json=(jcheck("a"),)), answer("<html>"), scope()) == "json: the body is not JSON: <html>"


def test_body_is_decoded_gzip_and_charset():
    raw = gzip.compress("{\"name\": \"Zoë\"}".encode("latin-1"))
    a = Answer(200, [("Content-Encoding", "gzip"), ("Content-Type", "application/json; charset=ISO-8859-1")], raw)
    assert a.json() == {"name": "Zoë"}


def test_invalid_jmespath():
    with pytest.raises(ValueError, match="invalid JMESPath"):
        compile_path("a[")


# --- extraction -----------------------------------------------------------------------------------


def test_extractions():
    a = answer('{"access_token": "t0k", "cart": {"id": 5}} id=77',
               headers=[("Location", "/next"), ("Content-Type", "text/plain")])
    found, failure = run_extractions((
        Extraction("loc", "header", "location"),
        Extraction("id", "regex", r"id=(\d+)", compile_regex(r"id=(\d+)")),
        Extraction("whole", "regex", r"t0\w", compile_regex(r"t0\w")),
    ), a)
    assert failure is None and found == {"loc": "/next", "id": "77", "whole": "t0k"}
    found, failure = run_extractions((Extraction("token", "json", "access_token", compile_path("access_token")),
                                      Extraction("cart", "json", "cart.id", compile_path("cart.id"))), answer(
                                          '{"access_token": "t0k", "cart": {"id": 5}}'))
    assert failure is None and found == {"token": "t0k", "cart": 5}


@pytest.mark.parametrize(("ex", "message"), [
    (Extraction("token", "json", "access_token", compile_path("access_token")),
     "token: json access_token found nothing in {\"user\""),
    (Extraction("id", "regex", r"id=(\d+)", compile_regex(r"id=(\d+)")), "id: regex id=(\\d+) matched nothing"),
    (Extraction("loc", "header", "Location"), "loc: no header Location in the answer"),
])
def test_failed_extractions(ex, message):
    found, failure = run_extractions((ex,), answer())
    assert failure is not None and failure.startswith(message)


# --- cookies --------------------------------------------------------------------------------------


def test_cookie_jar():
    jar = CookieJar()
    jar.update(["sid=abc; Path=/; HttpOnly", "pref=1; Path=/shop", "other=x; Domain=example.org",
                "sec=s; Secure"], "127.0.0.1", "/login")
    assert jar.header("127.0.0.1", "/cart", secure=False) == "sid=abc"
    assert jar.header("127.0.0.1", "/shop/items?x=1", secure=False) == "pref=1; sid=abc"
    assert "sec=s" in (jar.header("127.0.0.1", "/x", secure=True) or "")
    assert jar.header("127.0.0.2", "/", secure=False) is None
    jar.update(["sid=; Max-Age=0"], "127.0.0.1", "/logout")
    assert jar.get("sid") is None and len(jar) == 2
