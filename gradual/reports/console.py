"""The console: a live table refreshed every tick (plain lines when not a TTY) and a final summary.

Latencies print in milliseconds with microsecond precision: loopback latencies are fractions of a
millisecond, and rounding them to whole milliseconds (as Locust does) hides what matters.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ..stats import Histogram

BAR = 24


def _ms(us: float) -> str:
    return f"{us / 1000:.3f}"


def _bar(done: float, total: float) -> str:
    frac = 0.0 if total <= 0 else min(1.0, done / total)
    filled = int(frac * BAR)
    return "[" + "#" * filled + "-" * (BAR - filled) + f"] {done:5.1f}/{total:g}s"


def _rate(samples: Any, scenario: str, tick: float) -> float:
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


class ConsoleReporter:
    """Observer of the controller: ``update`` each tick, ``final`` with the summary."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._drawn = 0
        self._phase: str | None = None

    def _scenario_hist(self, stats: Any, phase: str, scenario: str, requests: Any) -> tuple[Histogram, int, int, str]:
        hist = Histogram()
        count = failures = within = judged = 0
        for req in requests:
            t = stats.get(phase, scenario, req.name)
            if t is not None:
                hist.merge(t.hist)
                count += t.count
                failures += t.failures
                if req.expected_response_time is not None:
                    within += t.within_expected
                    judged += t.count - t.interrupted
        return hist, count, failures, f"{within / judged * 100:.1f}%" if judged else "-"

    def update(self, controller: Any) -> None:
        phase = controller.phase
        record = controller.phases[-1]
        sample = controller.samples[-1] if controller.samples else None
        if phase is None or sample is None:
            return
        if phase.name != self._phase:
            self._phase = phase.name
            self._drawn = 0
        rows = []
        for scen in phase.scenarios:
            hist, count, failures, within = self._scenario_hist(controller.stats, phase.name, scen.name,
                                                                scen.requests)
            p50, p95, p99 = hist.percentiles((50.0, 95.0, 99.0)) if hist else (0.0, 0.0, 0.0)
            rate = _rate(controller.samples, scen.name, controller.tick)
            rows.append((scen.name, sample.users.get(scen.name, 0), rate, p50, p95, p99, count, failures, within))
        elapsed = min(sample.t, phase.run_time)
        header = f"phase {phase.name} ({record.index + 1}/{len(controller.run.phases)}) {_bar(elapsed, phase.run_time)}"
        if self.live:
            lines = [header, f"  {'scenario':<24} {'users':>6} {'req/s':>9} {'p50 ms':>9} {'p95 ms':>9} "
                             f"{'p99 ms':>9} {'requests':>9} {'fails':>7} {'in exp':>7}"]
            for name, users, rate, p50, p95, p99, count, failures, within in rows:
                lines.append(f"  {name[:24]:<24} {users:>6} {rate:>9.1f} {_ms(p50):>9} {_ms(p95):>9} "
                             f"{_ms(p99):>9} {count:>9} {failures:>7} {within:>7}")
            if controller.aborted_by is not None:
                lines.append(f"  ✗ threshold {controller.aborted_by.threshold.expression!r} failed: stopping")
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self.stream.write("\n".join(lines) + "\n")
            self._drawn = len(lines)
        else:
            parts = [f"{name}: users={users} rps={rate:.1f} p50={_ms(p50)}ms p95={_ms(p95)}ms "
                     f"p99={_ms(p99)}ms requests={count} fails={failures} in_expected={within}"
                     for name, users, rate, p50, p95, p99, count, failures, within in rows]
            self.stream.write(f"[{phase.name} {elapsed:.1f}/{phase.run_time:g}s] " + " | ".join(parts) + "\n")
        self.stream.flush()

    def final(self, summary: dict[str, Any]) -> None:
        w = self.stream.write
        run = summary["run"]
        w(f"\n=== {run['name']}: {run['duration_s']:.1f}s"
          f"{'  (interrupted)' if run.get('interrupted') else ''} ===\n")
        head = (f"{'phase/scenario/request':<40} {'count':>8} {'fail':>6} {'intr':>5} {'req/s':>9} "
                f"{'p50':>9} {'p90':>9} {'p95':>9} {'p99':>9} {'p99.9':>9} {'max':>9} {'in exp':>7}")
        w(head + "\n" + "-" * len(head) + "\n")
        for phase in summary["phases"]:
            for scen in phase["scenarios"]:
                for req in scen["requests"]:
                    name = f"{phase['name']}/{scen['name']}/{req['name']}"
                    w(self._row(name, req, req["rps"], req.get("within_expected_ratio")) + "\n")
        totals = summary["totals"]
        w("-" * len(head) + "\n")
        w(self._row("total", totals, totals["rps"], None) + "\n")
        w("latency in ms; 'in exp' = share of requests within expected_response_time\n")
        errors = [(p["name"], s["name"], r["name"], e) for p in summary["phases"] for s in p["scenarios"]
                  for r in s["requests"] for e in r["errors"]]
        if errors:
            w("\nerrors:\n")
            for phase, scen, req, e in errors[:20]:
                w(f"  {e['count']:>8}  {phase}/{scen}/{req}  {e['kind']}: {e['message']}\n")
        if summary.get("thresholds"):
            w("\nthresholds:\n")
            for t in summary["thresholds"]:
                mark = "✓" if t["passed"] else "✗"
                observed = "no data" if t["observed"] is None else f"{t['observed']:g}{t.get('unit', '')}"
                note = f"  ({t['note']})" if t.get("note") else ""
                w(f"  {mark} {t['expression']:<32} {t['scope']:<28} observed {observed}{note}\n")
        troubled = [wk for wk in summary.get("workers", []) if wk.get("lost") or wk.get("problems")]
        if troubled:
            w("\nworkers:\n")
            for wk in troubled:
                if wk.get("lost"):
                    w(f"  {wk['id']}: lost; its {wk.get('requests', 0)} requests up to its last batch are counted\n")
                for problem in wk.get("problems") or []:
                    w(f"  {wk['id']}: {problem}\n")
        if run.get("aborted_by"):
            w(f"\nrun aborted: threshold {run['aborted_by']!r} failed\n")
        self.stream.flush()

    @staticmethod
    def _row(name: str, data: dict[str, Any], rps: float, within: float | None) -> str:
        lat = data["latency_ms"]
        shown = "-" if within is None else f"{within * 100:.1f}%"
        return (f"{name[:40]:<40} {data['count']:>8} {data['failures']:>6} {data['interrupted']:>5} {rps:>9.1f} "
                f"{lat['p50']:>9.3f} {lat['p90']:>9.3f} {lat['p95']:>9.3f} {lat['p99']:>9.3f} "
                f"{lat['p99_9']:>9.3f} {lat['max']:>9.3f} {shown:>7}")
