"""CSV, HTML and JUnit reports and `gradual report`, from a real demo run and from hand-built edge cases.

The demo summary comes from `gradual demo` run once per module as a subprocess (loopback only). The
HTML is opened in a real headless Chromium, which runs the page's own chart script.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support.gradual_run import gradual_env, write_run_config
from support.target import REPO_ROOT, TargetProcess

from gradual.reports.csv import AGGREGATED, HISTORY_HEADER, STATS_HEADER, CsvReporter
from gradual.reports.html import HtmlReporter
from gradual.reports.json import JsonReporter
from gradual.reports.junit import JunitReporter
from gradual.reports.render import REPORTERS, report_command, report_dir_targets, write_reports

SCHEMA = "gradual.summary/1"
DEMO_TIMEOUT_S = 120.0
CHROMIUM_TIMEOUT_S = 90.0
ZERO_LATENCY = {"min": 0.0, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0, "p99_9": 0.0, "max": 0.0}
XSS = "<script>document.body.setAttribute('data-pwned','1')</script>"
IMG_XSS = "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">"


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """(summary, path of its JSON) from one real `gradual demo --quiet --json` run."""
    out = tmp_path_factory.mktemp("demo") / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "gradual", "demo", "--quiet", "--json", str(out)],
        capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, env=gradual_env(), cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, f"gradual demo failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(out.read_text(encoding="utf-8")), out


def _request(name: str, count: int, failures: int = 0, errors: list[dict[str, Any]] | None = None,
             **extra: Any) -> dict[str, Any]:
    return {
        "name": name, "type": "http", "method": "GET", "url": "http://127.0.0.1:1/x",
        "count": count, "failures": failures, "interrupted": 0, "rps": count / 10, "bytes": count * 10,
        "latency_ms": {"min": 1.0, "mean": 5.0, "p50": 4.0, "p90": 9.0, "p95": 11.0, "p99": 20.0,
                       "p99_9": 30.0, "max": 42.5},
        "expected_response_time": 0.05, "within_expected_ratio": 0.95,
        "status_codes": {"200": count - failures, **({"500": failures} if failures else {})},
        "errors": errors or [], **extra,
    }


def hostile_summary() -> dict[str, Any]:
    """Names full of markup and quotes, failed thresholds, errors, a lost worker: exit code 1."""
    evil_phase = f'ph"ase {XSS}'
    evil_scen = f"scen, 'quoted' </script>{IMG_XSS}"
    evil_req = f"req {XSS} & \"more\"\nnext line"
    return {
        "schema": SCHEMA,
        "run": {"name": f"Run {XSS}", "started_at": "2025-01-02T03:04:05.000Z", "ended_at": "2025-01-02T03:04:17.500Z",
                "duration_s": 12.5, "exit_code": 1, "interrupted": False},
        "totals": {"count": 300, "failures": 25, "interrupted": 0, "rps": 24.0,
                   "latency_ms": {"min": 1.0, "mean": 5.0, "p50": 4.0, "p90": 9.0, "p95": 11.0, "p99": 20.0,
                                  "p99_9": 30.0, "max": 42.5}},
        "phases": [
            {"name": evil_phase, "started_at": "2025-01-02T03:04:05.000Z", "duration_s": 5.0, "ended_early": False,
             "scenarios": [{"name": evil_scen, "peak_users": 3, "requests": [
                 _request(evil_req, 100, 20, [
                     {"kind": "HTTPError", "message": f"500 from {XSS}", "count": 15},
                     {"kind": "Timeout\x01", "message": "read timed out ]]> \x07", "count": 5},
                 ]),
                 _request("fine", 100),
             ]}]},
            {"name": "second", "started_at": "2025-01-02T03:04:11.000Z", "duration_s": 4.0, "ended_early": True,
             "scenarios": [{"name": "other", "peak_users": 2, "requests": [
                 _request("also_failing", 100, 5, [{"kind": "ConnectionError", "message": "refused", "count": 5}]),
             ]}]},
        ],
        "thresholds": [
            {"expression": "p99 < 250ms", "scope": "run", "metric": "p99", "observed": 20.0, "unit": "ms",
             "limit": 250.0, "passed": True, "abort": False, "for_s": None},
            {"expression": f"p95 < 5ms {XSS}", "scope": f"request:{evil_req}", "metric": "p95", "observed": 11.0,
             "unit": "ms", "limit": 5.0, "passed": False, "abort": True, "for_s": 10.0},
            {"expression": "error_rate < 1%", "scope": "phase:second", "metric": "error_rate", "observed": None,
             "unit": "%", "limit": 1.0, "passed": False},
            {"expression": "rps > 1"},  # an entry missing most keys: reporters must cope
        ],
        "workers": [
            {"id": f"w1 {XSS}", "host": "10.0.0.1:1", "joined_at": "2025-01-02T03:04:04.000Z",
             "left_at": None, "lost": True, "requests": 120,
             "problems": [f"plugin 'sink' failed at run: {IMG_XSS}", "plugin 'other' failed at load: ValueError"]},
            {"id": "w2", "host": "10.0.0.2:2", "joined_at": "2025-01-02T03:04:04.000Z",
             "left_at": "2025-01-02T03:04:17.500Z", "lost": False, "requests": 180},
        ],
        "timeseries": [
            *({"phase": evil_phase, "scenario": evil_scen, "t": t, "users": min(3, t + 1), "rps": 40,
               "failures_per_s": 4, "p50": 4.0, "p95": 11.0, "p99": 20.0} for t in range(5)),
            *({"phase": "second", "scenario": "other", "t": t, "users": 2, "rps": 25, "failures_per_s": 1,
               "p50": None if t == 3 else 3.0, "p95": None if t == 3 else 8.0, "p99": None if t == 3 else 9.0}
              for t in range(4)),
        ],
    }


def empty_summary() -> dict[str, Any]:
    """A run that did nothing: no phases, no samples, no workers (exit 3, aborted)."""
    return {
        "schema": SCHEMA,
        "run": {"name": "empty", "started_at": "2025-01-02T03:04:05.000Z", "ended_at": "2025-01-02T03:04:05.000Z",
                "duration_s": 0.0, "exit_code": 3, "interrupted": False},
        "totals": {"count": 0, "failures": 0, "interrupted": 0, "rps": 0.0, "latency_ms": dict(ZERO_LATENCY)},
        "phases": [], "thresholds": [], "workers": [], "timeseries": [],
    }


def _requests(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p["name"], s["name"], r) for p in summary["phases"] for s in p["scenarios"] for r in s["requests"]]


# -- CSV -----------------------------------------------------------------------------------------

def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_stats_has_a_row_per_request_and_an_aggregated_row(demo: tuple[dict[str, Any], Path],
                                                               tmp_path: Path) -> None:
    summary, _ = demo
    CsvReporter(tmp_path / "run").write(summary)
    with (tmp_path / "run_stats.csv").open(newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == STATS_HEADER
    rows = _read_csv(tmp_path / "run_stats.csv")
    expected = _requests(summary)
    assert len(rows) == len(expected) + 1
    for row, (phase, scenario, req) in zip(rows, expected, strict=False):
        assert (row["Phase"], row["Scenario"], row["Name"], row["Type"]) == (phase, scenario, req["name"], req["type"])
        assert int(row["Request Count"]) == req["count"]
        assert int(row["Failure Count"]) == req["failures"]
        assert float(row["p99 (ms)"]) == req["latency_ms"]["p99"]
        assert float(row["p99.9 (ms)"]) == req["latency_ms"]["p99_9"]
        assert float(row["Within Expected (%)"]) == pytest.approx(req["within_expected_ratio"] * 100, abs=1e-3)
    total = rows[-1]
    assert total["Name"] == AGGREGATED
    assert int(total["Request Count"]) == summary["totals"]["count"] == sum(int(r["Request Count"]) for r in rows[:-1])
    assert float(total["Requests/s"]) == pytest.approx(summary["totals"]["rps"])
    numeric = STATS_HEADER[4:]
    for row in rows:
        for column in numeric:
            assert row[column] != "", (row["Name"], column)
            float(row[column])


def test_csv_history_has_a_row_per_second_per_scenario(demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    summary, _ = demo
    CsvReporter(tmp_path / "run").write(summary)
    with (tmp_path / "run_history.csv").open(newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == HISTORY_HEADER
    rows = _read_csv(tmp_path / "run_history.csv")
    assert len(rows) == len(summary["timeseries"])
    seconds: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        seconds.setdefault((row["Phase"], row["Scenario"]), []).append(int(row["t (s)"]))
        datetime.fromisoformat(row["Timestamp (UTC)"].replace("Z", "+00:00"))
        assert int(row["Users"]) >= 0 and float(row["Requests/s"]) >= 0 and float(row["Failures/s"]) >= 0
    scenarios = {(p, s) for p, s, _ in _requests(summary)}
    assert set(seconds) == scenarios
    for key, ts in seconds.items():
        assert ts == list(range(len(ts))), key
    phase_seconds = {p["name"]: p["duration_s"] for p in summary["phases"]}
    for (phase, _), ts in seconds.items():
        assert len(ts) >= int(phase_seconds[phase])
    # Rates are per second of coverage; a phase's sub-quarter-second tail is folded into its last row, so
    # each scenario's per-second counts add up to its requests' totals, exactly.
    assert sum(float(r["Requests/s"]) for r in rows) == pytest.approx(sum(p["rps"] for p in summary["timeseries"]))
    for phase, scen in scenarios:
        total = sum(r["count"] for p, s, r in _requests(summary) if (p, s) == (phase, scen))
        assert sum(int(r["Requests"]) for r in rows if (r["Phase"], r["Scenario"]) == (phase, scen)) == total
    covered = sum(p["rps"] * p["window_s"] for p in summary["timeseries"])
    # rps and window_s are each rounded to 3 decimals: each row's product is off by at most this much.
    slack = sum(0.0005 * p["rps"] + 0.0005 * p["window_s"] + 1e-6 for p in summary["timeseries"])
    assert covered == pytest.approx(summary["totals"]["count"], abs=slack)


def test_csv_quotes_hostile_names_and_blanks_missing_percentiles(tmp_path: Path) -> None:
    summary = hostile_summary()
    CsvReporter(tmp_path / "x").write(summary)
    rows = _read_csv(tmp_path / "x_stats.csv")
    assert [r["Name"] for r in rows] == [r["name"] for _, _, r in _requests(summary)] + [AGGREGATED]
    assert rows[0]["Scenario"] == summary["phases"][0]["scenarios"][0]["name"]
    assert float(rows[-1]["Within Expected (%)"]) == pytest.approx(95.0)
    history = _read_csv(tmp_path / "x_history.csv")
    blank = [r for r in history if r["Phase"] == "second" and r["t (s)"] == "3"]
    assert blank and blank[0]["p99 (ms)"] == "" and blank[0]["Requests/s"] == "25"


def test_csv_of_an_empty_run_is_headers_and_a_zero_aggregated_row(tmp_path: Path) -> None:
    CsvReporter(tmp_path / "e").write(empty_summary())
    rows = _read_csv(tmp_path / "e_stats.csv")
    assert [(r["Name"], r["Request Count"], r["Within Expected (%)"]) for r in rows] == [(AGGREGATED, "0", "")]
    assert _read_csv(tmp_path / "e_history.csv") == []


LIVE_SCRIPT = textwrap.dedent('''
    """Runs a config through the real controller with a CsvReporter observer, copying both CSV files
    after every tick, then writes the final files and the summary: what `--csv` does during a run."""
    from gevent import monkey

    monkey.patch_all()

    import shutil
    import sys
    from pathlib import Path

    from gradual.configs import load
    from gradual.master.controller import Controller
    from gradual.master.local import InProcessLink
    from gradual.reports.csv import CsvReporter
    from gradual.reports.json import JsonReporter
    from gradual.reports.summary import build_summary

    config, prefix, snapshots, out = (Path(a) for a in sys.argv[1:5])

    class Snapshotting(CsvReporter):
        ticks = 0

        def update(self, controller):
            super().update(controller)
            self.ticks += 1
            for path in (self.stats_path, self.history_path):
                shutil.copy(path, snapshots / f"{self.ticks:03d}-{path.name}")

    run = load(config, None)
    reporter = Snapshotting(prefix)
    controller = Controller(run, InProcessLink(run), observers=[reporter])
    result = controller.execute()
    summary = build_summary(result, 0)
    reporter.write(summary)
    JsonReporter(out).write(summary)
''')


def test_csv_files_grow_during_the_run_and_end_exact(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(
        tmp_path,
        {"only": {"run_time": 3, "scenarios": {
            "a": {"requests": ["get"], "min_concurrency": 1, "max_concurrency": 2, "ramp_up_add": 1,
                  "ramp_up_wait": 1},
            "b": {"requests": ["get"], "min_concurrency": 1, "max_concurrency": 1, "ramp_up_add": 1,
                  "ramp_up_wait": 1},
        }}},
        requests={"get": {"url": "${GRADUAL_TARGET}/products", "method": "GET", "expected_response_time": 1}},
        name="live csv",
    )
    script = tmp_path / "live.py"
    script.write_text(LIVE_SCRIPT, encoding="utf-8")
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    out = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, str(script), str(config), str(tmp_path / "live"), str(snapshots), str(out)],
        capture_output=True, text=True, timeout=60, env=gradual_env(target), cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    history_snaps = sorted(snapshots.glob("*-live_history.csv"))
    stats_snaps = sorted(snapshots.glob("*-live_stats.csv"))
    assert len(history_snaps) >= 3, [p.name for p in snapshots.iterdir()]
    lengths = [len(_read_csv(p)) for p in history_snaps]
    assert lengths == sorted(lengths) and lengths[0] == 2 and lengths[-1] >= 6, lengths
    second = _read_csv(history_snaps[1])
    assert {r["Scenario"] for r in second} == {"a", "b"}
    assert all(int(r["Users"]) >= 1 and float(r["Requests/s"]) > 0 and float(r["p95 (ms)"]) > 0 for r in second)
    live_stats = _read_csv(stats_snaps[1])
    assert [r["Name"] for r in live_stats][-1] == AGGREGATED
    assert {r["Scenario"] for r in live_stats[:-1]} == {"a", "b"}
    assert int(live_stats[-1]["Request Count"]) > 0
    assert 0 <= float(live_stats[-1]["Within Expected (%)"]) <= 100
    # The final files are the summary's, not the live approximation.
    summary = json.loads(out.read_text(encoding="utf-8"))
    expected = tmp_path / "expected"
    CsvReporter(expected).write(summary)
    assert (tmp_path / "live_stats.csv").read_text() == (tmp_path / "expected_stats.csv").read_text()
    assert (tmp_path / "live_history.csv").read_text() == (tmp_path / "expected_history.csv").read_text()
    assert not list(tmp_path.glob("*.tmp"))


# -- JUnit ---------------------------------------------------------------------------------------

# The common JUnit schema (Jenkins junit-10.xsd / Ant junit-4.xsd), as rules this test can check.
SUITES_ATTRS = {"name", "time", "tests", "failures", "errors", "disabled"}
SUITE_ATTRS = {"name", "tests", "failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname",
               "id", "package"}
CASE_ATTRS = {"name", "assertions", "time", "classname", "status"}


def assert_common_junit_schema(root: ET.Element) -> None:
    assert root.tag == "testsuites" and set(root.attrib) <= SUITES_ATTRS
    assert all(child.tag == "testsuite" for child in root)
    for suite in root:
        assert {"name", "tests"} <= set(suite.attrib) <= SUITE_ATTRS
        tags = [child.tag for child in suite]
        order = {"properties": 0, "testcase": 1, "system-out": 2, "system-err": 3}
        assert all(t in order for t in tags) and [order[t] for t in tags] == sorted(order[t] for t in tags), tags
        assert tags.count("properties") <= 1
        for props in suite.findall("properties"):
            assert len(props) >= 1  # junit-4.xsd: a properties element holds at least one property
            assert all(p.tag == "property" and set(p.attrib) == {"name", "value"} for p in props)
        for case in suite.findall("testcase"):
            assert "name" in case.attrib and set(case.attrib) <= CASE_ATTRS
            for child in case:
                assert child.tag in {"skipped", "error", "failure", "system-out", "system-err"}
                if child.tag == "failure":
                    assert set(child.attrib) <= {"message", "type"}
        if "time" in suite.attrib:
            float(suite.attrib["time"])
        if "timestamp" in suite.attrib:
            datetime.strptime(suite.attrib["timestamp"], "%Y-%m-%dT%H:%M:%S")
        assert int(suite.attrib["tests"]) == len(suite.findall("testcase"))
        assert int(suite.attrib["failures"]) == len(suite.findall("testcase/failure"))


def test_junit_has_a_case_per_threshold_and_per_failing_request(tmp_path: Path) -> None:
    summary = hostile_summary()
    JunitReporter(tmp_path / "junit.xml").write(summary)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert_common_junit_schema(root)
    suite = root.find("testsuite")
    assert suite is not None
    thresholds = summary["thresholds"]
    failing = [(p, s, r) for p, s, r in _requests(summary) if r["failures"]]
    failed_thresholds = [t for t in thresholds if t.get("passed") is False]
    # One case for the run itself, one per threshold, and (thresholds given) one per failing request.
    assert suite.get("tests") == str(1 + len(thresholds) + len(failing)) == root.get("tests")
    assert suite.get("failures") == str(len(failed_thresholds) + len(failing)) == root.get("failures")
    assert suite.get("time") == "12.500" and suite.get("timestamp") == "2025-01-02T03:04:05"
    threshold_cases = [c for c in suite.iter("testcase") if c.get("classname") == "gradual.thresholds"]
    assert len(threshold_cases) == len(thresholds)
    p95 = threshold_cases[1].find("failure")
    assert p95 is not None
    assert "observed 11 ms" in p95.get("message", "") and "limit 5 ms" in p95.get("message", "")
    assert "abort" in (p95.text or "") and "for: 10 s" in (p95.text or "")
    no_data = threshold_cases[2].find("failure")
    assert no_data is not None and "observed no data" in no_data.get("message", "")
    assert threshold_cases[0].find("failure") is None and threshold_cases[3].find("failure") is None
    request_cases = [c for c in suite.iter("testcase") if c.get("classname", "").startswith("gradual.requests")]
    assert len(request_cases) == len(failing)
    first = request_cases[0].find("failure")
    assert first is not None and first.get("message") == "20 of 100 requests failed"
    assert "15  HTTPError: 500 from <script>" in (first.text or "")
    assert "Timeout\ufffd" in (first.text or "")  # a control character XML cannot carry is replaced


def test_junit_of_the_demo_run_matches_its_thresholds(demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    summary, _ = demo
    JunitReporter(tmp_path / "junit.xml").write(summary)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert_common_junit_schema(root)
    failing = [r for _, _, r in _requests(summary) if r["failures"]]
    # Without thresholds every request is a case (failed when it had failures); with them, the failing ones.
    shown = failing if summary["thresholds"] else _requests(summary)
    assert int(root.get("tests", "-1")) == 1 + len(summary["thresholds"]) + len(shown)
    assert int(root.get("failures", "-1")) == (
        sum(1 for t in summary["thresholds"] if t.get("passed") is False) + len(failing))


def test_junit_of_an_empty_run_is_a_valid_suite_with_the_run_case(tmp_path: Path) -> None:
    JunitReporter(tmp_path / "j.xml").write(empty_summary())
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert_common_junit_schema(root)
    assert root.get("tests") == "1" and root.get("failures") == "0"
    assert [c.get("classname") for c in root.iter("testcase")] == ["gradual.run"]
    error = root.find("testsuite/testcase/error")  # exit 3: the run was aborted
    assert error is not None and error.get("type") == "aborted" and root.get("errors") == "1"


# -- HTML in a real browser ----------------------------------------------------------------------

def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def chromium(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    browser = find_chromium()
    if browser is None:
        pytest.skip("chromium not found (install Debian's `chromium` package to run the HTML report tests)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=3000", *extra, page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


class Dom(HTMLParser):
    """The rendered DOM as (tag, attrs, ancestors) plus the text under each <svg>."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.texts: list[tuple[str, tuple[str, ...]]] = []
        self._stack: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, tuple(self._stack)))
        if tag not in self.VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, tuple(self._stack)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((data, tuple(self._stack)))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a, _ in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def svg_texts(self) -> list[str]:
        return [text for text, stack in self.texts if "svg" in stack]


def rendered_dom(tmp_path: Path, page: Path) -> Dom:
    return Dom(chromium(tmp_path, page, "--dump-dom").stdout)


def test_html_report_draws_charts_and_tables_in_chromium(demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    summary, _ = demo
    page = tmp_path / "report.html"
    HtmlReporter(page).write(summary)
    dom = rendered_dom(tmp_path, page)
    assert dom.find("body", **{"data-rendered": "1"}), "the chart script did not finish"
    charts = {a.get("class") for a in dom.find("svg", **{"data-rendered": "1"})}
    assert charts == {"chart-users", "chart-rps", "chart-latency", "chart-histogram"}
    scenarios = {s for _, s, _ in _requests(summary)}
    paths = [a for a in dom.find("path") if "series" in a.get("class", "")]
    drawn = {(a["data-metric"], a["data-scenario"]) for a in paths if "data-scenario" in a}
    totals = {a["data-metric"] for a in paths if a.get("data-total") == "1"}
    for metric in ("users", "rps", "p50", "p95", "p99"):
        assert {s for m, s in drawn if m == metric} == scenarios, metric
        assert metric in totals, f"no total line for {metric}"
    # The distribution chart has a line per scenario and the grey bars of all requests.
    assert {a["data-label"] for a in paths if "dist" in a.get("class", "")} == scenarios
    assert [a for a in dom.find("rect") if a.get("class") == "bar"]
    # The request selector offers each request (per-request lines), by "scenario / request".
    options = {a.get("value") for a in dom.find("option")}
    assert {"scenarios", "requests"} | {f"{s} / {r['name']}" for _, s, r in _requests(summary)} == options
    labels = dom.svg_texts()
    for phase in summary["phases"]:
        # Each chart marks and labels every phase on the shared time axis.
        assert labels.count(phase["name"]) >= 3, (phase["name"], labels)
    results = [a for t, a, stack in dom.elements if t == "tr" and "tbody" in stack]
    assert len(results) >= len(_requests(summary)) + 1
    texts = {text.strip() for text, _ in dom.texts}
    for _, _, req in _requests(summary):
        assert req["name"] in texts
    assert "PASSED" in texts and "Total" in texts and "No errors." in texts
    assert summary["workers"][0]["id"] in texts
    # Min, mean and bytes columns; the target hosts; the plan with every phase and scenario.
    heads = {text.strip() for text, stack in dom.texts if "th" in stack}
    assert {"Min", "Mean", "Bytes", "p99.9", "Max"} <= heads
    assert any(t.startswith("target http://127.0.0.1:") for t in texts), "target hosts shown"
    plan = [text.strip() for text, stack in dom.texts if "ol" in stack]
    for phase in summary["phases"]:
        assert phase["name"] in plan
        for scen in phase["scenarios"]:
            assert scen["name"] in plan
    # Self-contained: nothing to fetch, and the policy forbids fetching anything.
    raw = page.read_text(encoding="utf-8")
    assert not [a for t, a, _ in dom.elements if t in ("link", "img", "iframe") or (t == "script" and "src" in a)]
    policy = dom.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert policy and "default-src 'none'" in policy[0]["content"] and "https://" not in raw


def test_html_screenshot_reads_as_a_report(demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    summary, _ = demo
    page = tmp_path / "report.html"
    HtmlReporter(page).write(summary)
    shot = tmp_path / "report.png"
    chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1280,3200")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 3200)
    assert len(data) > 60_000, "a blank page compresses to a few KB; a drawn report is much larger"
    # No horizontal scrolling at 1,280 px: the page measured its own width once drawn.
    dom = Dom(chromium(tmp_path, page, "--dump-dom", "--window-size=1280,3200").stdout)
    (body,) = dom.find("body")
    assert body.get("data-rendered") == "1" and 0 < int(body["data-width"]) <= 1280, body


def test_html_escapes_every_name_from_the_summary(tmp_path: Path) -> None:
    summary = hostile_summary()
    page = tmp_path / "evil.html"
    HtmlReporter(page).write(summary)
    raw = page.read_text(encoding="utf-8")
    assert "<script>document" not in raw and "<img" not in raw and "</script>{" not in raw
    assert raw.count("<script") == 2  # the data island and the page's own script
    dom = rendered_dom(tmp_path, page)
    body = dom.find("body")
    assert body and "data-pwned" not in body[0] and body[0].get("data-rendered") == "1"
    assert len(dom.find("script")) == 2 and not dom.find("img")
    texts = [text for text, _ in dom.texts]
    assert any(XSS in t for t in texts), "names are shown as text"
    # The chart script put the hostile scenario name into the legend and the phase name into the
    # charts as text, not markup.
    scen = summary["phases"][0]["scenarios"][0]["name"]
    assert scen in texts
    assert len(dom.find("svg", **{"data-rendered": "1"})) == 4
    marks = [text.strip() for text, stack in dom.texts if "td" in stack and text.strip() in ("✓", "✗", "?")]
    assert marks == ["✓", "✗", "✗", "?"]
    assert "FAILED" in texts and "lost" in texts
    # Problems a worker reported, each as text, under the workers table.
    problems = [text.strip() for text, stack in dom.texts if "li" in stack and "section" in stack]
    assert f"plugin 'sink' failed at run: {IMG_XSS}" in problems
    assert "plugin 'other' failed at load: ValueError" in problems
    assert [a for a in dom.find("path") if a.get("class") == "series failures"], "failures/s line drawn"


def test_html_of_an_empty_run_renders_with_no_data(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    HtmlReporter(page).write(empty_summary())
    dom = rendered_dom(tmp_path, page)
    assert len(dom.find("svg", **{"data-rendered": "1"})) == 4
    assert dom.svg_texts().count("no data") == 4
    texts = {text.strip() for text, _ in dom.texts}
    assert {"ABORTED", "No thresholds configured.", "No errors.", "No workers recorded."} <= texts


# -- tolerance and `gradual report` --------------------------------------------------------------

def test_reporters_tolerate_a_bare_summary(tmp_path: Path) -> None:
    bare = {"schema": SCHEMA, "phases": [{"scenarios": [{"requests": [{}]}]}], "thresholds": [{}], "timeseries": [{}]}
    write_reports(bare, {"json": tmp_path / "s.json", "csv": tmp_path / "s", "html": tmp_path / "s.html",
                         "junit": tmp_path / "s.xml"})
    assert_common_junit_schema(ET.parse(tmp_path / "s.xml").getroot())
    assert [r["Name"] for r in _read_csv(tmp_path / "s_stats.csv")] == ["", AGGREGATED]
    assert "UNKNOWN" in (tmp_path / "s.html").read_text(encoding="utf-8")


def test_report_command_rerenders_the_same_reports_from_a_saved_summary(
        demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    summary, saved = demo
    HtmlReporter(tmp_path / "live.html").write(summary)
    JunitReporter(tmp_path / "live.xml").write(summary)
    CsvReporter(tmp_path / "live").write(summary)
    targets = {"html": tmp_path / "again.html", "junit": tmp_path / "again.xml", "csv": tmp_path / "again",
               "json": tmp_path / "again.json"}
    assert report_command(saved, targets) == 0
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "live.html").read_bytes()
    assert (tmp_path / "again.xml").read_bytes() == (tmp_path / "live.xml").read_bytes()
    for suffix in ("_stats.csv", "_history.csv"):
        assert (tmp_path / f"again{suffix}").read_bytes() == (tmp_path / f"live{suffix}").read_bytes()
    assert json.loads((tmp_path / "again.json").read_text(encoding="utf-8")) == summary


def test_report_dir_names_every_format(demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    _, saved = demo
    out = tmp_path / "reports"
    targets = report_dir_targets(out)
    assert set(targets) == set(REPORTERS) == {"json", "csv", "html", "junit"}
    assert report_command(saved, targets) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gradual_history.csv", "gradual_stats.csv", "junit.xml", "report.html", "summary.json"]
    assert REPORTERS["json"] is JsonReporter


@pytest.mark.parametrize("content", [
    None,  # missing file
    "{not json",
    "[1, 2]",
    json.dumps({"schema": "locust/1", "run": {}}),
    json.dumps({"run": {}}),
], ids=["missing", "invalid-json", "not-an-object", "foreign-schema", "no-schema"])
def test_report_command_rejects_what_is_not_a_summary(content: str | None, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "summary.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "r.html"
    assert report_command(path, {"html": out}) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()


def test_report_command_without_targets_is_a_usage_error(demo: tuple[dict[str, Any], Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert report_command(demo[1], {}) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_failed_threshold_summary_rerenders_identically(tmp_path: Path) -> None:
    summary = hostile_summary()
    saved = tmp_path / "s.json"
    JsonReporter(saved).write(copy.deepcopy(summary))
    HtmlReporter(tmp_path / "a.html").write(summary)
    assert report_command(saved, {"html": tmp_path / "b.html"}) == 0
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
