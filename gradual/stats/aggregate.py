"""Master-side aggregation: merges workers' StatsBatches losslessly into per-key totals,
and derives the numbers reports and thresholds read (latency in ms, error lists, time series).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradual.stats.batch import KeyDelta, StatsBatch, add_error

AGGREGATED = "Aggregated"
# Per-second windows this far behind a key's newest second are kept at 2 significant digits.
WINDOW_FULL_PRECISION_S = 120
_LATENCY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
_WINDOW_PERCENTILES = (50.0, 95.0, 99.0)


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


@dataclass(slots=True)
class RequestTotals(KeyDelta):
    """KeyDelta fields accumulated over a whole run (windows merged by second), with report helpers."""

    def latency_ms(self) -> dict[str, float]:
        h = self.hist
        p50, p90, p95, p99, p99_9 = h.percentiles(_LATENCY_PERCENTILES)
        return {
            "min": _ms(h.min),
            "mean": _ms(h.mean),
            "p50": _ms(p50),
            "p90": _ms(p90),
            "p95": _ms(p95),
            "p99": _ms(p99),
            "p99_9": _ms(p99_9),
            "max": _ms(h.max),
        }

    def errors_list(self) -> list[dict[str, Any]]:
        items = sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"kind": kind, "message": message, "count": n} for (kind, message), n in items]

    def within_expected_ratio(self) -> float | None:
        completed = self.count - self.interrupted
        return self.within_expected / completed if completed > 0 else None

    def status_codes(self) -> dict[str, int]:
        return {str(code): self.status[code] for code in sorted(self.status)}

    def window_series(self) -> list[dict[str, Any]]:
        series = []
        for sec in sorted(self.windows):
            n, failures, h = self.windows[sec]
            p50, p95, p99 = h.percentiles(_WINDOW_PERCENTILES)
            series.append(
                {
                    "t": sec,
                    "count": n,
                    "failures": failures,
                    "p50": _ms(p50),
                    "p95": _ms(p95),
                    "p99": _ms(p99),
                }
            )
        return series


def merge_into(dst: KeyDelta, src: KeyDelta, windows: bool = True) -> None:
    """Add src's counters to dst (src is left untouched); windows=False skips the time series."""
    dst.count += src.count
    dst.failures += src.failures
    dst.interrupted += src.interrupted
    dst.within_expected += src.within_expected
    dst.bytes += src.bytes
    status = dst.status
    for code, n in src.status.items():
        status[code] = status.get(code, 0) + n
    for (kind, message), n in src.errors.items():
        add_error(dst.errors, kind, message, n)
    dst.hist.merge(src.hist)
    if windows:
        dws = dst.windows
        for sec, (n, failures, h) in src.windows.items():
            dw = dws.get(sec)
            if dw is None:
                dws[sec] = [n, failures, h.copy()]
            else:
                dw[0] += n
                dw[1] += failures
                dw[2].merge(h)


class RunStats:
    """Everything the master knows about a run's requests, merged from every worker's batches."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str, str], RequestTotals] = {}
        self.requests_by_source: dict[str, int] = {}
        self.users_by_source: dict[str, dict[tuple[str, str], int]] = {}
        self._newest: dict[tuple[str, str, str], int] = {}  # newest window second seen per key

    def merge(self, batch: StatsBatch, source: str | None = None) -> None:
        n = 0
        for entry in batch.entries:
            key = (entry.phase, entry.scenario, entry.request)
            dst = self._totals.get(key)
            if dst is None:
                dst = self._totals[key] = RequestTotals(*key)
            merge_into(dst, entry)
            n += entry.count
            if entry.windows:
                self._age_windows(key, dst, max(entry.windows))
        src = "" if source is None else source
        if source is not None:
            self.requests_by_source[src] = self.requests_by_source.get(src, 0) + n
        # Every batch carries the full gauge, so the latest one replaces what we had.
        self.users_by_source[src] = dict(batch.users)

    def _age_windows(self, key: tuple[str, str, str], dst: RequestTotals, newest: int) -> None:
        """Coarsen windows that fell WINDOW_FULL_PRECISION_S behind the key's newest second.

        Charts and ``for:`` thresholds read old seconds at 2 significant digits; whole-run numbers
        never come from windows, so they keep full precision. A late resend merges in either way.
        """
        before = self._newest.get(key, -1)
        if newest <= before:
            return
        self._newest[key] = newest
        windows = dst.windows
        for sec in range(max(0, before - WINDOW_FULL_PRECISION_S + 1), newest - WINDOW_FULL_PRECISION_S + 1):
            w = windows.get(sec)
            if w is not None:
                w[2] = w[2].coarsened()

    def users(self, phase: str, scenario: str) -> int:
        key = (phase, scenario)
        return sum(users.get(key, 0) for users in self.users_by_source.values())

    def forget_users(self, source: str) -> None:
        """A lost worker's users are no longer running; its requests stay counted."""
        self.users_by_source.pop(source, None)

    def get(self, phase: str, scenario: str, request: str) -> RequestTotals | None:
        return self._totals.get((phase, scenario, request))

    def keys(self) -> list[tuple[str, str, str]]:
        return list(self._totals)

    def totals(self) -> RequestTotals:
        """Sum over every key. No windows: seconds count from each phase's own start, so
        adding them across phases would mix unrelated moments."""
        out = RequestTotals("", "", AGGREGATED)
        for t in self._totals.values():
            merge_into(out, t, windows=False)
        return out

    def phase_totals(self, phase: str) -> RequestTotals:
        out = RequestTotals(phase, "", AGGREGATED)
        for (p, _, _), t in self._totals.items():
            if p == phase:
                merge_into(out, t)
        return out

    def scenario_totals(self, phase: str, scenario: str) -> RequestTotals:
        out = RequestTotals(phase, scenario, AGGREGATED)
        for (p, s, _), t in self._totals.items():
            if p == phase and s == scenario:
                merge_into(out, t)
        return out
