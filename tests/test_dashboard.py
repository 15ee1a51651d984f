"""The master's live dashboard during real runs, in a real headless Chromium, and its event stream read
by a test client: charts and request names drawn, new numbers a few seconds later, a page opened
mid-run has the earlier seconds, the stream's totals are the summary's, the stop control ends the
run as Ctrl-C does with the summary written. Every server is on 127.0.0.1; load only to the target.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from gradual.master.api_token import ApiToken
from gradual.master.control import ControlGuard
from support.browser import Browser, find_chromium
from support.gradual_run import closed_port, finish, start_gradual, write_run_config, write_yaml
from support.target import TargetProcess

RUN_TIMEOUT_S = 90.0


def _config(tmp_path: Path, run_time: float = 6) -> Path:
    config = write_run_config(
        tmp_path,
        {
            "ramp": {"run_time": run_time, "scenarios": {
                "browse": {"requests": ["products", "broken"], "min_concurrency": 1, "max_concurrency": 3,
                           "ramp_up_add": 1, "ramp_up_wait": 1},
                "buy": {"requests": ["user"], "min_concurrency": 1, "max_concurrency": 2, "ramp_up_add": 1,
                        "ramp_up_wait": 2},
            }},
            "hold": {"run_time": run_time, "scenarios": {
                "browse": {"requests": ["products"], "min_concurrency": 2, "max_concurrency": 2,
                           "ramp_up_add": 1, "ramp_up_wait": 1},
            }},
        },
        requests={
            "products": {"url": "${GRADUAL_TARGET}/products", "method": "GET", "expected_response_time": 1},
            "broken": {"url": "${GRADUAL_TARGET}/status/500", "method": "GET"},
            "user": {"url": "${GRADUAL_TARGET}/users/1", "method": "GET"},
        },
        wait_between_phases=0.5,
        name="dashboard test",
    )
    data = yaml.safe_load(config.read_text())
    data["runs"]["thresholds"] = ["p99 < 5s", "error_rate < 1%"]
    return write_yaml(config, data)


class Stream(threading.Thread):
    """A test client of /events: every event, parsed, from the history to the end."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.events: list[tuple[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with requests.get(self.url, stream=True, timeout=30) as resp:
                assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/event-stream"
                event, data = "message", []
                for line in resp.iter_lines(decode_unicode=True):
                    if line == "":
                        if data:
                            self.events.append((event, json.loads("\n".join(data))))
                            if event == "end":
                                return
                        event, data = "message", []
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
        except BaseException as exc:  # reported by the test
            self.error = exc


def _wait_up(url: str, proc: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if requests.get(url + "status", timeout=2).json()["state"] == "running":
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not found (install Debian's `chromium` package to run the dashboard tests)")
    with Browser(binary, tmp_path / "chromium-profile") as b:
        yield b


PAGE_STATE = """(() => {
  const body = document.body, num = s => Number(String(s).replace(/[^0-9.]/g, ""));
  const total = [...document.querySelectorAll("tr.total td")].map(td => td.textContent);
  return {rendered: body.dataset.rendered, frames: Number(body.dataset.frames || 0), ended: body.dataset.ended,
          charts: [...document.querySelectorAll("svg[data-rendered]")].map(s => s.getAttribute("class")),
          series: document.querySelectorAll("path.series").length,
          names: [...document.querySelectorAll("td.req > span:first-child")].map(s => s.textContent),
          total: total.length ? num(total[1]) : null,
          thresholds: [...document.querySelectorAll(".thresholds-table td.mark")].map(td => td.textContent),
          workers: [...document.querySelectorAll(".workers-table tbody tr")].length,
          errors: [...document.querySelectorAll(".errors-table td.message")].map(td => td.textContent),
          downloads: [...document.querySelectorAll("a.download")].map(a => a.getAttribute("download")),
          firstX: Math.min(...window.GradualLive.model().series.flatMap(s => s.points.map(p => p[0]))),
          width: document.documentElement.scrollWidth};
})()"""


def test_dashboard_shows_the_run_live_and_its_stream_matches_the_summary(
        target: TargetProcess, tmp_path: Path, browser: Browser) -> None:
    config = _config(tmp_path)
    port = closed_port()
    summary_path = tmp_path / "summary.json"
    started = time.monotonic()
    proc = start_gradual(["run", str(config), "--quiet", "--http-port", str(port), "--json", str(summary_path)],
                         target=target)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_up(url, proc)
        stream = Stream(url + "events")
        stream.start()
        time.sleep(3.5)  # the page opens mid-run, with seconds of history behind it
        opened_at = requests.get(url + "status", timeout=5).json()
        browser.open(url)
        browser.wait_for("document.body.dataset.rendered === '1' && Number(document.body.dataset.frames) > 0")
        first = browser.js(PAGE_STATE)
        time.sleep(3)
        second = browser.js(PAGE_STATE)
        browser.screenshot(tmp_path / "dashboard.png")
        browser.wait_for("document.body.dataset.ended !== undefined", timeout=RUN_TIMEOUT_S)
        ended = browser.js(PAGE_STATE)
    finally:
        result = finish(proc, summary_path, started, RUN_TIMEOUT_S)
    assert result.returncode == 1, result.stderr  # error_rate < 1% fails: /status/500
    summary = result.summary
    assert summary is not None
    assert opened_at["phase"] == "ramp"

    assert set(first["charts"]) == {"chart-users", "chart-rps", "chart-latency"}, first
    assert first["series"] > 0
    assert {"products", "broken", "user"} <= set(first["names"]), first["names"]
    # Opened mid-run, the page has the seconds before it was opened (the first is 0.5 s into the phase).
    assert first["firstX"] < 1.0, first
    # Two looks three seconds apart: more frames, more requests.
    assert second["frames"] > first["frames"] and second["total"] > first["total"] > 0, (first, second)
    assert second["thresholds"] and second["workers"] == 1
    assert any("500" in e for e in second["errors"]), second["errors"]
    assert second["width"] <= 1280
    shot = (tmp_path / "dashboard.png").read_bytes()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", shot[16:24])[0] == 1280
    # When the run ends the page offers the reports to download.
    assert ended["ended"] == "1" and set(ended["downloads"]) == {"summary.json", "report.html"}, ended

    stream.join(30)
    assert stream.error is None and not stream.is_alive()
    kinds = [k for k, _ in stream.events]
    assert kinds[0] == "init" and kinds[-1] == "end" and kinds.count("tick") >= 8, kinds
    ticks = [d for k, d in stream.events if k == "tick"]
    last = ticks[-1]
    total = next(r for r in last["rows"] if r.get("total"))
    assert (total["count"], total["failures"]) == (summary["totals"]["count"], summary["totals"]["failures"])
    per_request = {tuple(r["key"]): r for r in last["rows"] if "key" in r}
    for phase in summary["phases"]:
        for scen in phase["scenarios"]:
            for req in scen["requests"]:
                row = per_request[(phase["name"], scen["name"], req["name"])]
                assert (row["count"], row["failures"]) == (req["count"], req["failures"])
                assert row["latency_ms"]["p99"] == req["latency_ms"]["p99"]
    # The stream's per-second points add up to the summary's per-second series of the total.
    init = stream.events[0][1]
    series = {s["id"]: s for s in init["series"]}
    points = {(p[0], p[2]): p for p in init["points"]}
    for kind, data in stream.events[1:]:
        if kind == "tick":
            series.update({s["id"]: s for s in data["series"]})
            points.update({(p[0], p[2]): p for p in data["points"]})  # a second sent again replaces the first
    streamed = sum(p[4] for p in points.values() if series[p[0]]["group"] == "total")
    assert streamed == sum(p["count"] for p in summary["timeseries_total"])
    assert 0.97 * summary["totals"]["count"] <= streamed <= summary["totals"]["count"]
    end = stream.events[-1][1]
    assert end["exit_code"] == 1 and end["summary"]["totals"] == summary["totals"]
    assert "gradual-data" in end["report"]


def test_stop_control_ends_the_run_with_the_summary_written(tmp_path: Path) -> None:
    """`gradual demo --web` prints the dashboard's URL; a POST to its stop control ends the run as an
    interrupt does: exit 130, the summary written, the demo's later phases never started."""
    summary_path = tmp_path / "summary.json"
    started = time.monotonic()
    proc = start_gradual(["demo", "--web", "--quiet", "--json", str(summary_path)])
    try:
        assert proc.stdout is not None
        url = token = None
        for line in proc.stdout:
            found = re.match(r"dashboard on (http://127\.0\.0\.1:\d+/)#token=([A-Za-z0-9_-]{16,})$", line.strip())
            if found:
                url, token = found.groups()
                break
        assert url is not None, "gradual demo --web printed no dashboard URL with its token"
        _wait_up(url, proc)
        page = requests.get(url, timeout=5)
        assert page.status_code == 200 and "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert "<script src=\"web/dashboard.js\"></script>" in page.text and "http" not in page.text.split("<body")[1]
        # A request without the control header (what a cross-site form could send) is refused.
        refused = requests.post(url + "api/stop", timeout=5)
        assert refused.status_code == 403 and proc.poll() is None
        assert requests.get(url + "api/stop", timeout=5).status_code == 405
        # Without the token the master printed (or with another one), refused too.
        assert requests.post(url + "api/stop", headers={"X-Gradual-Control": "1"}, timeout=5).status_code == 401
        wrong = {"X-Gradual-Control": "1", "Authorization": "Bearer " + "x" * 32}
        assert requests.post(url + "api/stop", headers=wrong, timeout=5).status_code == 401
        assert proc.poll() is None
        stop = requests.post(url + "api/stop", headers={"X-Gradual-Control": "1", "Authorization": f"Bearer {token}"},
                             timeout=5)
        assert stop.status_code == 202 and stop.json() == {"stopping": True}
    finally:
        result = finish(proc, summary_path, started, RUN_TIMEOUT_S)
    assert result.returncode == 130, result.stderr
    assert result.summary is not None and result.summary["run"]["interrupted"] is True
    assert result.summary["run"]["exit_code"] == 130
    assert [p["name"] for p in result.summary["phases"]] == ["warm_up"]
    assert result.elapsed_s < 30
    assert "stop requested from the dashboard" in result.stderr


@pytest.mark.parametrize(("environ", "allowed"), [
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_GRADUAL_CONTROL": "1"}, True),
    ({"REMOTE_ADDR": "::1", "HTTP_X_GRADUAL_CONTROL": "1", "HTTP_HOST": "[::1]:8089",
      "HTTP_ORIGIN": "http://[::1]:8089"}, True),
    ({"REMOTE_ADDR": "::ffff:127.0.0.1", "HTTP_X_GRADUAL_CONTROL": "1"}, True),
    ({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_GRADUAL_CONTROL": "1"}, False),
    ({"REMOTE_ADDR": "127.0.0.1"}, False),
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_GRADUAL_CONTROL": "1", "HTTP_HOST": "127.0.0.1:8089",
      "HTTP_ORIGIN": "http://evil.example"}, False),
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_GRADUAL_CONTROL": "1", "HTTP_HOST": "127.0.0.1:8089",
      "HTTP_ORIGIN": "null"}, False),
], ids=["v4-loopback", "v6-loopback-same-origin", "mapped-loopback", "remote", "no-header", "cross-origin",
        "null-origin"])
def test_control_requests_need_loopback_the_header_and_the_same_origin(environ: dict[str, str],
                                                                       allowed: bool) -> None:
    # The peer address cannot be anything but loopback in a test run, so the rule is checked on environs.
    assert (ControlGuard().refuse(environ) is None) is allowed


@pytest.mark.parametrize(("auth", "expected"), [
    ("Bearer s3cret-s3cret-s3cret", None), ("Bearer wrong", 401), (None, 401),
], ids=["right-token", "wrong-token", "no-token"])
def test_with_a_token_control_requests_need_it_too(auth: str | None, expected: int | None) -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_GRADUAL_CONTROL": "1"}
    if auth:
        environ["HTTP_AUTHORIZATION"] = auth
    token = ApiToken("s3cret-s3cret-s3cret")
    refused = ControlGuard(token).refuse(environ)
    assert (refused and refused[0]) == expected
    assert ControlGuard(token).refuse({**environ, "REMOTE_ADDR": "192.0.2.1"}) is not None, "loopback too"


def test_an_open_model_scenario_shows_its_scheduled_and_dropped_arrivals(target: TargetProcess, tmp_path: Path) -> None:
    """50 arrivals a second with at most 2 in flight on a 200 ms endpoint: most are dropped, and the
    dashboard's scenario row says so, with the numbers the summary ends with."""
    config = write_run_config(
        tmp_path, {"p": {"run_time": 3, "scenarios": {"s": {
            "requests": ["slow"], "min_rate": 50, "max_rate": 50, "max_concurrency": 2, "ramp_up_add": 1,
            "ramp_up_wait": 1}}}},
        requests={"slow": {"url": "${GRADUAL_TARGET}/slow?ms=200", "method": "GET"}})
    port = closed_port()
    summary_path = tmp_path / "summary.json"
    started = time.monotonic()
    proc = start_gradual(["run", str(config), "--quiet", "--http-port", str(port), "--json", str(summary_path)],
                         target=target)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_up(url, proc)
        stream = Stream(url + "events")
        stream.start()
    finally:
        result = finish(proc, summary_path, started, RUN_TIMEOUT_S)
    stream.join(30)
    assert stream.error is None and result.summary is not None, result.stderr
    (scen,) = result.summary["phases"][0]["scenarios"]
    assert scen["dropped"] > 0, scen
    last = [d for k, d in stream.events if k == "tick"][-1]
    (row,) = [r for r in last["rows"] if r.get("group") == "scenario"]
    assert f"{scen['scheduled']:,} arrivals scheduled, {scen['dropped']:,} dropped" in row["aside"], (row, scen)
