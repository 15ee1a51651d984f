"""What the live console shows, built from the controller each tick: the phase and run clocks, a table
per scenario (and per request when there are few) with a total row, and the phase's top errors.

Every line fits the width it is built for (console_fit). Latencies are in milliseconds with microsecond
precision: loopback latencies are fractions of a millisecond.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..stats import Histogram
from .console_fit import Col, Row, shorten, table

PER_REQUEST_ROWS = 8  # a phase with at most this many requests shows a row for each
TOP_ERRORS = 3

COLUMNS = [
    Col("users", 7), Col("req/s", 9), Col("p50 ms", 5), Col("p95 ms", 8), Col("p99 ms", 6),
    Col("requests", 4), Col("fails", 8), Col("in exp", 3),
]
DROPPED = Col("dropped", 9)


def ms(us: float) -> str:
    return f"{us / 1000:.3f}"


def clock(seconds: float) -> str:
    """m:ss (h:mm:ss from an hour on)."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def rate(samples: Any, scenario: str, tick: float) -> float:
    """Requests/s of ``scenario`` over the interval of the latest sample.

    Divided by the interval actually covered, not by the tick: the sample taken when a phase stops
    covers a fraction of a tick. So that fraction does not show a burst or a collapse, an interval
    shorter than half a tick is merged with the one before it.
    """
    cur = samples[-1]
    i = len(samples) - 2
    count = cur.counts.get(scenario, 0)
    start = samples[i].t if i >= 0 and samples[i].phase == cur.phase else 0.0
    if i >= 0 and samples[i].phase == cur.phase and cur.t - start < tick / 2:
        count += samples[i].counts.get(scenario, 0)
        start = samples[i - 1].t if i >= 1 and samples[i - 1].phase == cur.phase else 0.0
    interval = cur.t - start
    return count / interval if interval > 0 else 0.0


class Tally:
    """Requests, failures, latency and in-expected share summed over some keys of one phase."""

    def __init__(self) -> None:
        self.hist = Histogram()
        self.count = self.failures = self.interrupted = self.within = self.judged = 0

    def add(self, totals: Any, judged: bool) -> None:
        self.hist.merge(totals.hist)
        self.count += totals.count
        self.failures += totals.failures
        self.interrupted += totals.interrupted
        if judged:
            self.within += totals.within_expected
            self.judged += totals.count - totals.interrupted

    def cells(self, users: str, req_s: str, dropped: str | None) -> list[str]:
        if self.hist:
            p50, p95, p99 = (ms(v) for v in self.hist.percentiles((50.0, 95.0, 99.0)))
        else:  # no completed request: no latency to show, rather than a 0.000 that reads as fast
            p50 = p95 = p99 = "-"
        within = f"{self.within / self.judged * 100:.1f}%" if self.judged else "-"
        cells = [users, req_s, p50, p95, p99, str(self.count), str(self.failures), within]
        return cells if dropped is None else [*cells, dropped]


def arrivals(controller: Any, phase: str, scenario: Any) -> tuple[int, int] | None:
    """(scheduled, dropped) arrivals of an open-model scenario so far, None for a closed one."""
    if not getattr(scenario, "open", False):
        return None
    counts = controller.stats.arrivals(phase, scenario.name) or (0, 0)  # RunStats: (scheduled, dropped) or None
    return int(counts[0]), int(counts[1])


def header(label: str, done: float, total: float, run_line: str, width: int) -> RenderableType:
    """``label  ━━━━━━━━━━━━━  done/total`` over the whole width, then the run's clock line."""
    shown = f"{done:.1f}/{total:g}s"
    grid = Table.grid(padding=(0, 1))
    label = shorten(label, max(8, width - len(shown) - 12))
    grid.add_column(no_wrap=True, width=len(label))
    grid.add_column(width=max(1, width - len(label) - len(shown) - 4))  # 2 gaps of 2
    grid.add_column(no_wrap=True, width=len(shown))
    grid.add_row(Text(label, style="bold"), ProgressBar(total=max(total, 1e-9), completed=min(done, total)), shown)
    return Group(grid, Text(shorten(run_line, width), no_wrap=True, overflow="ellipsis"))


def run_clock(controller: Any, now: float, left_now: float, next_index: int, paused: bool = False) -> str:
    """``run 0:07 elapsed, ~0:09 left``: from the first phase's start; what is left of the plan.

    ``left_now`` is what is left of the running phase, or of the pause (``paused``) before phase ``next_index``.
    """
    run = controller.run
    elapsed = now - controller.phases[0].t0 if controller.phases else 0.0
    left = max(0.0, left_now)
    for i, later in enumerate(run.phases[next_index:]):
        if i > 0 or not paused:
            left += run.wait_between_phases
        left += later.run_time
    return f"run {clock(elapsed)} elapsed, ~{clock(left)} left"


def phase_view(controller: Any, now: float, width: int) -> RenderableType:
    """The running (or just finished) phase: header, table, top errors."""
    phase, record, sample = controller.phase, controller.phases[-1], controller.samples[-1]
    total_phases = len(controller.run.phases)
    elapsed = min(sample.t, phase.run_time)
    run_line = run_clock(controller, now, phase.run_time - elapsed, record.index + 1)
    if controller.aborted_by is not None:
        run_line += f" - threshold {controller.aborted_by.threshold.expression!r} failed: stopping"
    elif controller.interrupted:
        run_line += " - interrupted: stopping"
    parts: list[RenderableType] = [
        header(f"phase {phase.name} ({record.index + 1}/{total_phases})", elapsed, phase.run_time, run_line, width),
        _table(controller, phase, sample, width),
    ]
    errors = _top_errors(controller, phase, width)
    if errors is not None:
        parts.append(errors)
    return Group(*parts)


def pause_view(controller: Any, now: float, left: float, width: int) -> RenderableType:
    """Between two phases: how long until the next one starts."""
    run = controller.run
    index = len(controller.phases)  # the next phase's index
    upcoming = run.phases[index] if index < len(run.phases) else None
    name = upcoming.name if upcoming is not None else "the end"
    wait = run.wait_between_phases
    line = run_clock(controller, now, left, index, paused=True)
    return header(f"pause before phase {name} ({index + 1}/{len(run.phases)})", wait - left, wait, line, width)


def _table(controller: Any, phase: Any, sample: Any, width: int) -> RenderableType:
    stats, name = controller.stats, phase.name
    per_request = sum(len(s.requests) for s in phase.scenarios) <= PER_REQUEST_ROWS
    arrival = {s.name: arrivals(controller, name, s) for s in phase.scenarios}
    with_dropped = any(a is not None for a in arrival.values())  # the column shows with an open-model scenario
    rows: list[Row] = []
    total = Tally()
    total_users = 0
    total_rate = 0.0
    total_dropped = 0
    for scen in phase.scenarios:
        tally = Tally()
        sub: list[Row] = []
        for req in scen.requests:
            t = stats.get(name, scen.name, req.name)
            if t is None:
                continue
            judged = req.expected_response_time is not None
            tally.add(t, judged)
            total.add(t, judged)
            if per_request and len(scen.requests) > 1:
                one = Tally()
                one.add(t, judged)
                sub.append(Row(f"  {req.name}", one.cells("", "", "" if with_dropped else None), style="dim"))
        users = sample.users.get(scen.name, 0)
        req_s = rate(controller.samples, scen.name, controller.tick)
        total_users += users
        total_rate += req_s
        dropped = None
        if with_dropped:
            a = arrival[scen.name]
            dropped = "-" if a is None else str(a[1])
            total_dropped += 0 if a is None else a[1]
        rows.append(Row(scen.name, tally.cells(str(users), f"{req_s:.1f}", dropped)))
        rows.extend(sub)
    cols = [*COLUMNS, DROPPED] if with_dropped else COLUMNS
    footer = Row("total", total.cells(str(total_users), f"{total_rate:.1f}",
                                      str(total_dropped) if with_dropped else None))
    return table("scenario", cols, rows, width, footer=footer)


def _top_errors(controller: Any, phase: Any, width: int) -> RenderableType | None:
    """The phase's most frequent errors, one line each: count, where, kind and message."""
    found: dict[tuple[str, str], list[Any]] = {}
    for scen in phase.scenarios:
        for req in scen.requests:
            t = controller.stats.get(phase.name, scen.name, req.name)
            if t is None:
                continue
            for (kind, message), n in t.errors.items():
                if kind == "interrupted":
                    continue
                entry = found.setdefault((kind, message), [0, f"{scen.name}/{req.name}"])
                entry[0] += n
    if not found:
        return None
    top = sorted(found.items(), key=lambda kv: -kv[1][0])[:TOP_ERRORS]
    kinds = f"{len(found)} kind{'s' if len(found) > 1 else ''}"
    lines = [Text(shorten(f"top errors ({kinds}):", width), style="bold")]
    for (kind, message), (n, where) in top:
        lines.append(Text(shorten(f"{n:>7}  {where}  {kind}: {' '.join(message.split())}", width), style="red"))
    return Group(*lines)
