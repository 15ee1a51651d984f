"""The live console fits the terminal: a real `gradual run` against the demo target in a real terminal (tmux).

tmux gives gradual a pseudo-terminal of a chosen size; `capture-pane -J` reads back what the screen and
its scroll-back show, with wrapped lines joined, so a line wider than the terminal shows as one long line.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from support.gradual_run import HTTP_BASE, write_run_config
from support.target import REPO_ROOT, TargetProcess

from gradual.reports.console import ConsoleReporter

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")

RUN_TIMEOUT_S = 60.0
HEIGHT = 60
LONG_SCENARIO = "browse_" + "with_a_scenario_name_far_longer_than_any_terminal_is_wide_" * 3
EXIT_LINE = re.compile(r"^GRADUAL-EXIT=(\d+)$", re.MULTILINE)


class Tmux:
    """One tmux server of this test's own (its own socket), one window of ``width`` x HEIGHT."""

    def __init__(self, width: int) -> None:
        self.socket = f"gradual-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.width = width
        self.socket_path: Path | None = None

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout

    def start(self, script: Path) -> None:
        self.tmux("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(HEIGHT), f"sh {script}")
        self.tmux("set-option", "-t", "t", "history-limit", "5000")
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def screen(self) -> str:
        """The visible screen and its scroll-back, wrapped lines joined, trailing spaces cut."""
        return self.tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-", "-E", "-")

    def stop(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
        if self.socket_path is not None:  # the server leaves its socket file behind
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def tmux_factory() -> Iterator[list[Tmux]]:
    made: list[Tmux] = []
    try:
        yield made
    finally:
        for t in made:
            t.stop()


def write_config(tmp_path: Path) -> Path:
    return write_run_config(tmp_path, {
        "load_one": {"run_time": 3, "scenarios": {LONG_SCENARIO: {
            "requests": ["list_products", "a_request_whose_name_is_also_quite_long_for_a_table_column"],
            "min_concurrency": 1, "max_concurrency": 2, "ramp_up_add": 1, "ramp_up_wait": 1}}},
        "load_two": {"run_time": 2, "scenarios": {
            "broken": {"requests": ["server_error"], "min_concurrency": 1, "max_concurrency": 1},
            # Open model: 40 arrivals/s of a 100 ms request with one journey at most: most are dropped.
            "arrivals": {"requests": ["slow"], "min_rate": 40, "max_rate": 40, "max_concurrency": 1}}},
    }, requests={
        "list_products": {"url": f"{HTTP_BASE}/slow", "params": {"ms": 5}},
        "a_request_whose_name_is_also_quite_long_for_a_table_column": {"url": f"{HTTP_BASE}/slow",
                                                                       "params": {"ms": 5}},
        "server_error": {"url": f"{HTTP_BASE}/status/500", "expected_response_time": 0.5},
        "slow": {"url": f"{HTTP_BASE}/slow", "params": {"ms": 100}},
    }, wait_between_phases=3, name="console test")


def run_in_terminal(tmux: Tmux, tmp_path: Path, target: TargetProcess) -> tuple[int, str, list[str]]:
    """`gradual run` in the terminal: its exit code, the final screen, and every screen seen during the run."""
    config = write_config(tmp_path)
    env = {"GRADUAL_TARGET": target.url, "PYTHONPATH": str(REPO_ROOT), "TERM": "tmux-256color"}
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    # Run from tmp_path: the reports line names summary.json, not pytest's long temporary path.
    cmd = shlex.join([sys.executable, "-m", "gradual", "run", str(config), "--log-level", "INFO",
                      "--json", "summary.json"])
    script = tmp_path / "run.sh"
    # COLUMNS would fix rich's width: the terminal's own size must be what counts.
    script.write_text(f"unset COLUMNS LINES\n{exports}cd {shlex.quote(str(tmp_path))}\n{cmd}\n"
                      "echo GRADUAL-EXIT=$?\nsleep 600\n", encoding="utf-8")
    tmux.start(script)
    seen: list[str] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        screen = tmux.screen()
        seen.append(screen)
        found = EXIT_LINE.search(screen)
        if found:
            return int(found.group(1)), screen, seen
        assert time.monotonic() < deadline, f"gradual did not finish within {RUN_TIMEOUT_S}s:\n{screen}"
        time.sleep(0.1)


def starting(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if line.startswith(prefix)]


@pytest.mark.parametrize("width", [80, 200])
def test_live_console_fits_the_terminal_and_shows_each_phase_once(
    width: int, tmp_path: Path, target: TargetProcess, tmux_factory: list[Tmux]
) -> None:
    tmux = Tmux(width)
    tmux_factory.append(tmux)
    code, screen, seen = run_in_terminal(tmux, tmp_path, target)
    assert code == 0, screen
    assert (tmp_path / "summary.json").is_file()
    lines = screen.splitlines()

    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, f"{len(too_wide)} line(s) wider than {width} columns:\n" + "\n".join(too_wide)
    # Each phase's last view stays once; the redraws in between leave no copies behind.
    assert len(starting(lines, "phase load_one (1/2) ")) == 1, screen
    assert len(starting(lines, "phase load_two (2/2) ")) == 1, screen
    assert len(starting(lines, "=== console test: ")) == 1, screen
    # The long names end in an ellipsis: in both phase tables' scenario rows and in the final summary.
    cut = [line for line in lines if line.lstrip().startswith("browse_with")]
    assert cut and all("…" in line for line in cut), cut
    assert any(line.lstrip().startswith("a_request_who") for line in lines), screen
    # The final summary keeps a request's own name whole and shortens its scenario's: "browse…/list_products".
    assert any(re.match(r"  browse[a-z_]*…/list_products ", line) for line in lines), screen
    # A total row under each phase's table, and the run's under the final summary.
    totals = starting(lines, "total ")
    assert len(totals) == 3, screen
    assert re.match(r"total +\d+ +\d+ +", totals[-1]), totals[-1]
    assert any(line.startswith("top errors") for line in lines), screen
    assert any(re.search(r"\d+  broken/server_error  http: ", line) for line in lines), screen
    # The dropped column comes with an open-model scenario only: in load_two's table, not in load_one's.
    heads = starting(lines, "scenario ")
    assert len(heads) == 2 and "dropped" not in heads[0] and heads[1].split()[-1] == "dropped", heads
    row = next(line for line in lines if re.match(r"arrivals +\d+ +[0-9.]+ ", line))  # the table row, not a log line
    dropped = int(row.split()[-1])
    assert dropped > 0, screen
    assert any(line.startswith("open-model arrivals ") for line in lines), screen
    # During the run: the run's clock, and the pause before the second phase.
    during = "\n".join(seen)
    assert re.search(r"^run \d+:\d\d elapsed, ~\d+:\d\d left", during, re.MULTILINE), during[-3000:]
    assert re.search(r"^pause before phase load_two \(2/2\) ", during, re.MULTILINE), during[-3000:]

    header = next(line for line in lines if line.startswith("scenario/request"))
    shown = header.split()
    if width >= 200:  # room for every column
        assert shown == ["scenario/request", "count", "fail", "intr", "req/s", "p50", "p90", "p95", "p99", "p99.9",
                         "max", "in", "exp"], header
    else:  # the least needed went first; the most needed stayed
        assert {"count", "fail", "req/s", "p95", "p50", "p99"} <= set(shown) and "p99.9" not in shown, header


def _summary(name: str) -> dict[str, object]:
    latency = {"min": 0.1, "mean": 1.5, "p50": 1.234, "p90": 12.5, "p95": 123.456, "p99": 1234.567,
               "p99_9": 12345.678, "max": 99999.999}
    request = {"name": f"{name}_request", "count": 1234567, "failures": 12345, "interrupted": 12, "rps": 123456.7,
               "latency_ms": latency, "within_expected_ratio": 0.5,
               "errors": [{"kind": "http", "message": "HTTP 500 " + "x" * 300, "count": 7}]}
    return {"run": {"name": name, "duration_s": 12.5, "interrupted": True},
            "totals": {"count": 1234567, "failures": 12345, "interrupted": 12, "rps": 1.0, "latency_ms": latency},
            "phases": [{"name": name, "duration_s": 1.0,
                        "scenarios": [{"name": name, "scheduled": 100, "dropped": 3, "requests": [request]}]}],
            "thresholds": [{"expression": "p99 < 250ms", "scope": "run", "observed": 1234.567, "unit": "ms",
                            "passed": False, "note": "failed for 2s in a row"}],
            "workers": [{"id": "w1", "lost": True, "requests": 3, "problems": ["plugin 'x' failed at run: y"]}]}


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_final_summary_fits_the_terminal_width(width: int) -> None:
    out = io.StringIO()
    reporter = ConsoleReporter(out, live=False)
    reporter.console = Console(file=out, width=width, color_system=None, highlight=False)  # as a terminal's
    reporter.final(_summary("a_name_" + "long_" * 40))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width, out.getvalue()
    assert any(line.startswith("total ") for line in lines)
    assert any("…/a_name_long_" in line or "…" in line for line in lines if line.startswith("  a_name")), lines
    # The open-model arrivals table shows once a scenario has scheduled/dropped data.
    assert any(line.startswith("open-model arrivals ") for line in lines), out.getvalue()
    header = next(line for line in lines if line.startswith("scenario/request"))
    if width >= 80:  # an interrupted run keeps the interrupted column before latencies
        assert "intr" in header.split() and "p50" in header.split(), header
    if width >= 80:
        assert any(line.startswith("a_name_") and line.rstrip().endswith("3.0%") for line in lines), out.getvalue()
