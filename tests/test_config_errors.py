"""Every broken config in tests/configs/broken/ is rejected with the file, key path, line and a fix-it message.

Each case is a real file on disk (with its request files beside it); nothing is mocked.
"""

from __future__ import annotations

import math
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradual import plan
from gradual.configs import ConfigError, ConfigIssue, RunConfig, load

BROKEN = Path(__file__).resolve().parent / "configs" / "broken"
SCEN = "runs.phases.p1.scenarios.s1"


@dataclass(frozen=True)
class Case:
    file: str  # the test config in tests/configs/broken/
    key: str  # the key path the error names ("" for whole-file problems)
    line: int | None  # the line the error points at, None when there is none
    text: str  # what the message must say: what is wrong and how to fix it
    where: str | None = None  # the file the error is reported in, when it is not the config itself


CASES = [
    # unknown keys at every level, with a suggestion
    Case("unknown_top_key.yaml", "run", 2, "unknown key (did you mean 'runs'?)"),
    Case("unknown_runs_key.yaml", "runs.wait_between_phase", 4, "did you mean 'wait_between_phases'?"),
    Case("unknown_phase_key.yaml", "runs.phases.p1.run_tme", 6, "did you mean 'run_time'?"),
    Case("unknown_scenario_key.yaml", f"{SCEN}.max_concurency", 12, "did you mean 'max_concurrency'?"),
    Case("unknown_ramp_key.yaml", f"{SCEN}.ramp_up_dad", 13, "did you mean 'ramp_up_add'?"),
    Case("request_unknown_key.yaml", "requests.r1.methd", 5, "unknown key (did you mean 'method'?)",
         "request_unknown_key_requests.yaml"),
    # wrong types: what was expected, what was found
    Case("string_for_number.yaml", f"{SCEN}.max_concurrency", 12,
         "expected an integer, found a string '5' (remove the quotes)"),
    Case("list_for_mapping.yaml", "runs.phases", 4, "expected a mapping, found a list"),
    Case("bool_for_int.yaml", f"{SCEN}.max_concurrency", 12, "expected an integer, found a boolean True"),
    Case("float_concurrency.yaml", f"{SCEN}.min_concurrency", 11, "expected an integer, found 1.5"),
    Case("string_for_bool.yaml", f"{SCEN}.run_once", 15, "expected true or false, found a string 'yes'"),
    Case("scenario_not_mapping.yaml", SCEN, 8, "expected a mapping, found a list"),
    Case("runs_not_mapping.yaml", "runs", 2, "expected a mapping, found a string"),
    Case("empty_ramp_list.yaml", f"{SCEN}.ramp_up_add", 13, "found an empty list"),
    # missing required keys: reported on the line of the block that lacks them
    Case("missing_name.yaml", "runs.name", 2, "is required (a string)"),
    Case("missing_run_time.yaml", "runs.phases.p1.run_time", 5,
         "is required (a number of seconds or a duration like 250ms"),
    Case("missing_min.yaml", f"{SCEN}.min_concurrency", 8, "is required (an integer)"),
    Case("missing_max.yaml", f"{SCEN}.max_concurrency", 8, "is required (an integer)"),
    Case("missing_requests_key.yaml", f"{SCEN}.requests", 8, 'is required: a list of request names or "FROM_REQUEST'),
    # ramp rules
    Case("min_gt_max.yaml", f"{SCEN}.min_concurrency", 11,
         "min_concurrency (8) is greater than max_concurrency (5)"),
    Case("multiply_and_add.yaml", f"{SCEN}.ramp_up_add", 13, "give either ramp_up_multiply or ramp_up_add, not both"),
    Case("multiply_below_one.yaml", f"{SCEN}.ramp_up_multiply", 13,
         "must be at least 1 to ramp up from min_concurrency (1) to max_concurrency (5), found 0.5 (a ramp-down "
         "starts with min_concurrency above max_concurrency)"),
    Case("negative_add_up.yaml", f"{SCEN}.ramp_up_add[1]", 15,
         "must be at least 0 to ramp up from min_concurrency (1) to max_concurrency (5), found -1"),
    Case("ramp_down_that_grows.yaml", f"{SCEN}.min_concurrency", 11,
         "min_concurrency (8) is greater than max_concurrency (2), but ramp_up_multiply 2 ramps up: swap them, "
         "or ramp down with a ramp_up_multiply below 1"),
    Case("zero_multiply.yaml", f"{SCEN}.ramp_up_multiply", 13, "must be greater than 0, found 0"),
    Case("zero_min_zero_max.yaml", f"{SCEN}.min_concurrency", 11,
         "min_concurrency 0 with max_concurrency 0 would never start a user"),
    # wait_time (think time and pacing)
    Case("wait_time_unknown_kind.yaml", f"{SCEN}.wait_time.constant_pace", 13,
         "unknown wait_time kind (did you mean 'constant_pacing'?): use one of constant, between, constant_pacing"),
    Case("wait_time_between_scalar.yaml", f"{SCEN}.wait_time.between", 14,
         "expected a list of two durations [min, max], found an integer 2"),
    Case("wait_time_between_order.yaml", f"{SCEN}.wait_time.between", 14, "min (3s) is greater than max (1s)"),
    Case("wait_time_two_kinds.yaml", f"{SCEN}.wait_time", 13,
         "expected exactly one of constant, between, constant_pacing, constant_throughput; found 2 keys"),
    Case("wait_time_negative.yaml", f"{SCEN}.wait_time", 13, "must be at least 0, found -1"),
    Case("wait_time_throughput_zero.yaml", f"{SCEN}.wait_time.constant_throughput", 13,
         "must be greater than 0, found 0"),
    Case("wait_time_pacing_zero.yaml", f"{SCEN}.wait_time.constant_pacing", 13, "must be greater than 0, found 0"),
    Case("wait_time_bad_string.yaml", f"{SCEN}.wait_time", 13,
         "expected a number of seconds or a duration like 250ms, 30s, 5m, 1h30m, found a string 'two seconds'"),
    # the open model (arrivals per second)
    Case("open_bad_arrivals.yaml", f"{SCEN}.arrivals", 14,
         "expected uniform or poisson, found 'poison' (did you mean 'poisson'?)"),
    Case("open_min_concurrency.yaml", f"{SCEN}.min_concurrency", 13,
         "does not apply to the open model (min_rate/max_rate): an open scenario starts arrivals at min_rate"),
    Case("open_missing_cap.yaml", f"{SCEN}.max_concurrency", 11,
         "is required (an integer): the most journeys in flight at once; an arrival that finds them all busy"),
    Case("open_missing_max_rate.yaml", f"{SCEN}.max_rate", 8, "is required (a number)"),
    Case("open_rate_string.yaml", f"{SCEN}.min_rate", 11, "expected a number, found a string '10/s'"),
    Case("open_rate_wrong_direction.yaml", f"{SCEN}.ramp_up_add", 14,
         "must be at least 0 to ramp the rate from min_rate (10) to max_rate (50), found -5"),
    Case("open_wait_time.yaml", f"{SCEN}.wait_time", 14,
         "does not apply to the open model (min_rate/max_rate): arrivals come on the rate's schedule"),
    Case("arrivals_closed.yaml", f"{SCEN}.arrivals", 13,
         "applies to the open model only: give min_rate and max_rate (arrivals per second) instead of"),
    Case("min_zero_no_ramp.yaml", f"{SCEN}.min_concurrency", 11, "would never start a user"),
    # times
    Case("negative_run_time.yaml", "runs.phases.p1.run_time", 6, "must be greater than 0, found -5"),
    Case("zero_run_time.yaml", "runs.phases.p1.run_time", 6, "must be greater than 0, found 0"),
    Case("negative_wait.yaml", f"{SCEN}.ramp_up_wait[1]", 14, "must be at least 0, found -2"),
    Case("negative_wait_between_phases.yaml", "runs.wait_between_phases", 4, "must be at least 0, found -1"),
    # empty collections
    Case("empty_phases.yaml", "runs.phases", 4, "defines no phase"),
    Case("empty_scenarios.yaml", "runs.phases.p1.scenarios", 7, "defines no scenario"),
    Case("requests_empty_list.yaml", f"{SCEN}.requests", 9, "found an empty list"),
    # which requests, from where
    Case("request_not_found.yaml", f"{SCEN}.requests[1]", 9,
         "no request named 'list_prodcts' in requests.yaml (did you mean 'list_products'?)"),
    Case("py_request_not_found.yaml", f"{SCEN}.requests[1]", 9,
         "no request named 'get_users_list' in py_request_not_found_requests.py (did you mean 'get_user'?)"),
    Case("requests_string_typo.yaml", f"{SCEN}.requests", 9, "(did you mean 'FROM_REQUEST_YAML_FILE'?)"),
    Case("missing_request_file.yaml", f"{SCEN}.request_file", 10, "file not found: no_such_requests.yaml"),
    Case("bad_request_suffix.yaml", f"{SCEN}.request_file", 10,
         "unsupported request file type 'requests.json' (use .py, .yaml or .yml)"),
    Case("no_request_source.yaml", f"{SCEN}.requests", 9, "no request_file in this scenario and no --request-config"),
    # whole-file problems
    Case("invalid_yaml.yaml", "", 7, "invalid YAML: expected <block end>"),
    Case("unclosed_quote.yaml", "", 5, "invalid YAML: found unexpected end of stream (while scanning a quoted "
         "scalar that starts at line 3)"),
    Case("duplicate_key.yaml", f"{SCEN}.max_concurrency", 13, "duplicate key (the later value would silently win)"),
    Case("top_level_list.yaml", "", 2, "expected a mapping with a 'runs' key, found a list"),
    Case("empty_file.yaml", "", None, "expected a mapping with a 'runs' key, the file is empty"),
    # request config (YAML) errors, reported in the request file
    Case("unsupported_scheme.yaml", "requests.r1.url", 4,
         "unsupported URL scheme 'ftp' in 'ftp://127.0.0.1/file.txt' (use http, https, ws or wss)",
         "unsupported_scheme_requests.yaml"),
    Case("bad_method.yaml", "requests.r1.method", 5, "unsupported HTTP method 'FETCH' (use GET, POST",
         "bad_method_requests.yaml"),
    Case("credentials_in_url.yaml", "requests.r1.url", 4, "credentials are never read from the file",
         "credentials_in_url_requests.yaml"),
    Case("request_missing_url.yaml", "requests.r1.url", 3, "is required (a string)",
         "request_missing_url_requests.yaml"),
    Case("params_not_mapping.yaml", "requests.r1.params", 5, "expected a mapping, found a list",
         "params_not_mapping_requests.yaml"),
    Case("header_list_value.yaml", "requests.r1.headers.Accept", 6, "expected a string, found a list",
         "header_list_value_requests.yaml"),
    Case("header_number_value.yaml", "requests.r1.headers.X-Retry", 6,
         'expected a string, found an integer 3 (quote it: "3")', "header_number_value_requests.yaml"),
    Case("request_not_mapping.yaml", "requests.r1", 3, "expected a mapping with at least a url, found a string",
         "request_not_mapping_requests.yaml"),
    Case("env_missing.yaml", "requests.r1.url", 4,
         "environment variable GRADUAL_TEST_SURELY_UNSET_VAR is not set (write ${GRADUAL_TEST_SURELY_UNSET_VAR:-",
         "env_missing_requests.yaml"),
    Case("request_invalid_yaml.yaml", "", 6, "invalid YAML: expected ',' or '}'", "request_invalid_yaml_requests.yaml"),
    Case("request_no_host.yaml", "requests.r1.url", 4, "no host in 'http:///users'", "request_no_host_requests.yaml"),
    Case("websocket_method_http_url.yaml", "requests.r1.url", 4, "method WEBSOCKET needs a ws:// or wss:// url",
         "websocket_method_http_url_requests.yaml"),
    # Python request files
    Case("py_syntax_error.yaml", "", 6, "syntax error: ", "py_syntax_error_requests.py"),
    Case("py_import_error.yaml", "", 5, "error while importing: KeyError: 'host'", "py_import_error_requests.py"),
    Case("py_unknown_callback.yaml", "@on_call_completion get_usr", 10,
         "no @request named 'get_usr' in this file (did you mean 'get_user'?)", "py_unknown_callback_requests.py"),
    Case("py_duplicate_names.yaml", "@request get_user", 10,
         "duplicate request name (first defined at line 5): give each @request a unique name",
         "py_duplicate_names_requests.py"),
    Case("py_name_not_string.yaml", "@request", 5, "@request(name=...) must be a string, got 123",
         "py_name_not_string_requests.py"),
    Case("py_callback_without_name.yaml", "@on_call_completion", 10,
         '@on_call_completion needs the name of a request: @on_call_completion(name="',
         "py_callback_without_name_requests.py"),
    Case("py_two_args.yaml", "@request r1", 5,
         "@request function 'r1' must take no argument or one (a context), it requires 2",
         "py_two_args_requests.py"),
    Case("py_unknown_argument.yaml", "@request r1", 5,
         "@request got an unknown argument 'http_methd' (did you mean 'http_method'?)",
         "py_unknown_argument_requests.py"),
    Case("py_without_request_functions.yaml", "", None, "defines no @request function", "py_no_requests_requests.py"),
    Case("py_bad_method.yaml", "@request r1", 5, "unsupported http_method 'fetch'", "py_bad_method_requests.py"),
]


def _issues(config: Path, request_config: Path | None = None) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load(config, request_config)
    return info.value.issues


@pytest.fixture(autouse=True)
def _unset_test_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADUAL_TEST_SURELY_UNSET_VAR", raising=False)


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_broken_config_names_file_key_line_and_fix(case: Case) -> None:
    issues = _issues(BROKEN / case.file)
    matching = [i for i in issues if i.key == case.key]
    assert matching, f"no issue for key {case.key!r}; got:\n" + "\n".join(map(str, issues))
    issue = next((i for i in matching if case.text in i.message), matching[0])
    assert case.text in issue.message
    assert issue.line == case.line, str(issue)
    assert Path(issue.file).name == (case.where or case.file)
    assert Path(issue.file).is_absolute()
    # The one-line form a user reads: file[:line]: key: message
    location = f"{Path(issue.file).name}:{case.line}" if case.line is not None else Path(issue.file).name
    assert location in str(issue)
    if case.key:
        assert f": {case.key}: " in str(issue)


def test_the_corpus_is_large_and_every_broken_config_has_a_case() -> None:
    configs = {p.name for p in BROKEN.glob("*.yaml")
               if not p.name.endswith("_requests.yaml") and p.name != "requests.yaml"}
    covered = {c.file for c in CASES} | {"many_errors.yaml"}
    assert configs == covered, f"without a case: {sorted(configs - covered)}; missing: {sorted(covered - configs)}"
    assert len(configs) >= 30


def test_all_errors_of_a_file_are_reported_together() -> None:
    issues = _issues(BROKEN / "many_errors.yaml")
    assert [(i.key, i.line) for i in sorted(issues, key=lambda i: i.line or 0)] == [
        ("runs.name", 2),
        ("runs.phases.p1.run_time", 5),
        (f"{SCEN}.requests[0]", 8),
        (f"{SCEN}.min_concurrency", 10),
        (f"{SCEN}.ramp_up_wiat", 12),
    ]
    assert len(issues) == 5
    assert len(str(ConfigError(issues)).splitlines()) == 5


def test_unknown_key_also_reports_the_required_key_it_replaced() -> None:
    keys = {i.key for i in _issues(BROKEN / "unknown_scenario_key.yaml")}
    assert keys == {f"{SCEN}.max_concurency", f"{SCEN}.max_concurrency"}


def test_errors_in_the_config_and_in_its_request_file_come_together(tmp_path: Path) -> None:
    (tmp_path / "reqs.yaml").write_text("requests:\n  r1:\n    url: ftp://127.0.0.1/x\n  r2:\n    method: GET\n")
    (tmp_path / "test.yaml").write_text(
        "runs:\n  name: t\n  phases:\n    p1:\n      run_time: -1\n      scenarios:\n        s1:\n"
        "          requests: [r1]\n          request_file: reqs.yaml\n"
        "          min_concurrency: 1\n          max_concurrency: 2\n          ramp_up_add: 1\n"
    )
    issues = _issues(tmp_path / "test.yaml")
    assert {(Path(i.file).name, i.key) for i in issues} == {
        ("test.yaml", "runs.phases.p1.run_time"),
        ("reqs.yaml", "requests.r1.url"),
        ("reqs.yaml", "requests.r2.url"),
    }


def test_request_config_option_errors(tmp_path: Path) -> None:
    config = tmp_path / "test.yaml"
    config.write_text(
        "runs:\n  name: t\n  phases:\n    p1:\n      run_time: 5\n      scenarios:\n        s1:\n"
        "          requests: [get_usr]\n          min_concurrency: 1\n          max_concurrency: 1\n"
    )
    (missing,) = _issues(config, tmp_path / "nope.yaml")
    assert missing.key == "--request-config" and "request file not found" in missing.message

    reqs = tmp_path / "reqs.yaml"
    reqs.write_text("requests:\n  get_user:\n    url: http://127.0.0.1:8080/u\n")
    (typo,) = _issues(config, reqs)
    assert typo.key == "runs.phases.p1.scenarios.s1.requests[0]" and typo.line == 8
    assert "no request named 'get_usr' in " in typo.message and "reqs.yaml" in typo.message
    assert "(did you mean 'get_user'?)" in typo.message


def test_request_config_errors_are_kept_when_the_config_is_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "test.yaml").write_text("- a list\n")
    (tmp_path / "reqs.yaml").write_text("requests:\n  r1:\n    url: gopher://127.0.0.1/\n")
    issues = _issues(tmp_path / "test.yaml", tmp_path / "reqs.yaml")
    assert {(Path(i.file).name, i.key) for i in issues} == {("reqs.yaml", "requests.r1.url"), ("test.yaml", "")}


def test_missing_config_file(tmp_path: Path) -> None:
    (issue,) = _issues(tmp_path / "absent.yaml")
    assert issue.message == "file not found" and issue.file.endswith("absent.yaml")


def test_config_path_is_a_directory(tmp_path: Path) -> None:
    (issue,) = _issues(tmp_path)
    assert "is a directory" in issue.message


def test_duplicate_keys_are_all_reported_with_their_paths(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("runs:\n  name: a\n  name: b\n  phases:\n    p1: {}\n    p1: {}\n")
    issues = _issues(path)
    assert [(i.key, i.line) for i in issues] == [("runs.name", 3), ("runs.phases.p1", 6)]


def test_duplicate_request_names_in_a_yaml_request_file(tmp_path: Path) -> None:
    (tmp_path / "reqs.yaml").write_text(
        "requests:\n  r1:\n    url: http://127.0.0.1/a\n  r1:\n    url: http://127.0.0.1/b\n")
    (tmp_path / "t.yaml").write_text(
        "runs:\n  name: t\n  phases:\n    p:\n      run_time: 1\n      scenarios:\n        s:\n"
        "          requests: FROM_REQUEST_YAML_FILE\n          request_file: reqs.yaml\n"
        "          min_concurrency: 1\n          max_concurrency: 1\n")
    (issue,) = _issues(tmp_path / "t.yaml")
    assert (issue.key, issue.line, Path(issue.file).name) == ("requests.r1", 4, "reqs.yaml")


def test_malformed_url_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "reqs.yaml").write_text("requests:\n  r1:\n    url: 'http://[::1/x'\n")
    (tmp_path / "t.yaml").write_text(
        "runs:\n  name: t\n  phases:\n    p:\n      run_time: 1\n      scenarios:\n        s:\n"
        "          requests: [r1]\n          request_file: reqs.yaml\n"
        "          min_concurrency: 1\n          max_concurrency: 1\n")
    (issue,) = _issues(tmp_path / "t.yaml")
    assert issue.key == "requests.r1.url" and "not a valid URL" in issue.message


def test_helper_module_syntax_error_names_the_helper(tmp_path: Path) -> None:
    (tmp_path / "helper_with_typo.py").write_text("def f(:\n    pass\n")
    (tmp_path / "reqs.py").write_text(
        "import helper_with_typo\nfrom gradual import request\n\n@request\ndef r():\n    pass\n")
    (tmp_path / "t.yaml").write_text(
        "runs:\n  name: t\n  phases:\n    p:\n      run_time: 1\n      scenarios:\n        s:\n"
        "          requests: FROM_REQUEST_YAML_FILE\n          request_file: reqs.py\n"
        "          min_concurrency: 1\n          max_concurrency: 1\n")
    (issue,) = _issues(tmp_path / "t.yaml")
    assert Path(issue.file).name == "helper_with_typo.py" and issue.line == 1
    assert issue.message.startswith("syntax error")


# --- no traceback, whatever the file holds -------------------------------------------------------------

_KEYS = ["runs", "name", "phases", "run_time", "scenarios", "requests", "request_file", "min_concurrency",
         "max_concurrency", "ramp_up_multiply", "ramp_up_add", "ramp_up_wait", "run_once",
         "iterate_through_requests", "wait_between_phases", "stop_timeout", "p1", "s1", "wait_time", "between",
         "constant", "constant_pacing", "constant_throughput", "min_rate", "max_rate", "arrivals"]
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 50), st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.ascii_letters + "._-/: ", max_size=12), st.sampled_from(["FROM_REQUEST_YAML_FILE", "reqs.yaml"]),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(_KEYS), children, max_size=5)),
    max_leaves=20,
)


def _scenario() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {},
        optional={k: _values for k in ("requests", "min_concurrency", "max_concurrency", "ramp_up_multiply",
                                        "ramp_up_add", "ramp_up_wait", "run_once", "request_file", "wait_time",
                                        "min_rate", "max_rate", "arrivals")}
        | {"min_concurrency": st.integers(-1, 6), "max_concurrency": st.integers(-1, 6),
           "ramp_up_multiply": st.one_of(st.floats(0, 4), st.lists(st.floats(0.5, 3), max_size=3)),
           "ramp_up_add": st.one_of(st.integers(-1, 3), st.lists(st.integers(0, 3), max_size=3)),
           "requests": st.one_of(st.just("FROM_REQUEST_YAML_FILE"), st.lists(st.sampled_from(["r1", "r2"]))),
           "request_file": st.sampled_from(["reqs.yaml", "nope.yaml", "reqs.txt"])},
    )


_configs = st.one_of(
    _values,
    st.fixed_dictionaries({"runs": st.fixed_dictionaries(
        {"name": st.one_of(st.just("t"), _scalars)},
        optional={"phases": st.one_of(_values, st.dictionaries(
            st.sampled_from(["p1", "p2"]),
            st.one_of(_values, st.fixed_dictionaries(
                {"run_time": st.one_of(st.floats(-1, 5), _scalars)},
                optional={"scenarios": st.one_of(_values, st.dictionaries(st.sampled_from(["s1", "s2"]),
                                                                          st.one_of(_values, _scenario())))},
            )),
        ))},
    )}),
)


_near_valid = st.fixed_dictionaries({"runs": st.fixed_dictionaries({
    "name": st.just("t"),
    "phases": st.dictionaries(st.sampled_from(["p1", "p2"]), st.fixed_dictionaries({
        "run_time": st.one_of(st.floats(0.5, 10), st.integers(-1, 10)),
        "scenarios": st.dictionaries(st.sampled_from(["s1", "s2"]), st.fixed_dictionaries(
            {"requests": st.sampled_from(["FROM_REQUEST_YAML_FILE", ["r1"], ["r2", "r1"], ["r3"]]),
             "request_file": st.just("reqs.yaml"),
             "min_concurrency": st.integers(0, 5),
             "max_concurrency": st.integers(1, 8)},
            optional={"ramp_up_multiply": st.one_of(st.floats(1, 3), st.lists(st.floats(1, 3), min_size=1, max_size=3)),
                      "ramp_up_add": st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=1, max_size=3)),
                      "ramp_up_wait": st.one_of(st.floats(0, 2), st.lists(st.floats(0, 2), min_size=1, max_size=3)),
                      "run_once": st.booleans(), "iterate_through_requests": st.booleans()},
        ), min_size=1),
    }), min_size=1),
})})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_configs, _near_valid))
def test_any_yaml_either_loads_or_raises_config_error(data: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "reqs.yaml").write_text("requests:\n  r1:\n    url: http://127.0.0.1:8080/a\n"
                                          "  r2:\n    url: ws://127.0.0.1:8080/b\n")
        config = folder / "test.yaml"
        config.write_text(yaml.safe_dump(data))
        try:
            run = load(config)
        except ConfigError as exc:
            assert exc.issues
            for issue in exc.issues:
                assert issue.message and str(issue)
            return
        assert isinstance(run, RunConfig)
        assert len(plan.build(run)) == len(run.phases)  # a valid config always has a plan
        for phase in run.phases:
            assert phase.run_time > 0 and math.isfinite(phase.run_time)
            for scen in phase.scenarios:
                assert min(scen.min_concurrency, scen.max_concurrency) >= 0 and scen.requests
                if scen.open:
                    assert scen.min_rate is not None and scen.max_rate is not None and scen.max_concurrency >= 1


def test_empty_required_strings(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text('runs:\n  name: ""\n  phases:\n    p:\n      run_time: 1\n      scenarios:\n        s:\n'
                    '          requests: [r]\n          request_file: ""\n'
                    '          min_concurrency: 1\n          max_concurrency: 1\n')
    issues = {(i.key, i.line, i.message) for i in _issues(path)}
    assert issues == {("runs.name", 2, "must not be empty"),
                      ("runs.phases.p.scenarios.s.request_file", 9, "must not be empty")}
