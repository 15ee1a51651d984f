"""The live dashboard's numbers: an observer of the controller, like the console, reading the same
RunStats (merged totals and per-second windows) and samples every tick; it aggregates nothing itself.

Each tick it makes one frame (new per-second points of every request, scenario and the total; the
per-request table; threshold verdicts; workers; latest errors), encodes it once as a Server-Sent Event
and hands the bytes to every open stream. It keeps the points, so a page opened mid-run gets the
history so far in its first event: the last seconds (which a late batch may still change) as lists,
the older ones in typed columns (PointColumns, about 70 bytes a point), so a long run's history costs
little more than its numbers.
"""

from __future__ import annotations

import json
import logging
import math
import time
from array import array
from collections.abc import Iterator
from typing import Any

import gevent
import psutil
from gevent.queue import Empty, Queue

from gradual.reports.detail import MIN_WINDOW_S, run_plan, target_hosts
from gradual.reports.html import request_row, threshold_row
from gradual.stats.aggregate import summary_ms
from gradual.stats.histogram import Histogram, merged
from gradual.stats.thresholds import SecondVerdicts, evaluate

log = logging.getLogger("gradual.master")

KEEPALIVE_S = 2.0  # a stream with nothing new gets the run state (and a comment keeps proxies from closing it)
MAX_ERRORS = 20
RECHECK_S = 3  # seconds already sent that are sent again if a late batch changed them
MANY_WORKERS = 100  # above this many workers the table is sent every WORKERS_EVERY frames
WORKERS_EVERY = 5
CLIENT_BACKLOG = 120  # frames a slow page may fall behind before its stream is closed (it reconnects)
_PCTS = (50.0, 95.0, 99.0)


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


class PointColumns:
    """Points no late batch can change any more, column by column: [series id, x, t, users, count,
    failures, window_s, p50, p95, p99] with users None stored as -1 and a percentile None as NaN."""

    _CODES = ("q", "d", "q", "q", "q", "q", "d", "d", "d", "d")

    def __init__(self) -> None:
        self.columns = [array(code) for code in self._CODES]

    def __len__(self) -> int:
        return len(self.columns[0])

    def append(self, point: list[Any]) -> None:
        sid, x, t, users, count, failures, window_s, p50, p95, p99 = point
        values = (sid, x, t, -1 if users is None else users, count, failures, window_s,
                  *(math.nan if p is None else p for p in (p50, p95, p99)))
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)

    def lists(self) -> list[list[Any]]:
        """The points as the stream sends them."""
        out = []
        for sid, x, t, users, count, failures, window_s, p50, p95, p99 in zip(*self.columns, strict=True):
            out.append([sid, x, t, None if users < 0 else users, count, failures, window_s,
                        *(None if p != p else p for p in (p50, p95, p99))])
        return out


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n".encode()


class LiveView:
    """Observer: ``update`` each tick (the controller calls it), ``stream`` per open page, ``finish`` at the end."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller
        run = controller.run
        self.run_info = {
            "name": run.name, "hosts": target_hosts(run), "wait_between_phases": run.wait_between_phases,
            "phases": len(run.phases),
        }
        self.plan = run_plan(run)
        self.series: list[dict[str, Any]] = []  # {id, group, phase, scenario, request, label}
        self._series_ids: dict[tuple[str, str, str, str], int] = {}
        # [series id, x (s since the run started), t (second of the phase), users, count, failures,
        #  window_s, p50, p95, p99]: the seconds that may still be sent again, then the older ones.
        self._recent: list[list[Any]] = []
        self._final = PointColumns()
        self._next_second: dict[str, int] = {}  # per phase: the first second not yet emitted
        self._emitted: dict[tuple[str, int], tuple[Any, ...]] = {}  # (phase, second) -> what its points said
        self._point_at: dict[tuple[int, int], int] = {}  # (series id, second) -> index in self._recent
        self.latest: dict[str, Any] | None = None  # the last frame without its points
        self.ended: dict[str, Any] | None = None
        self.reports: dict[str, tuple[str, bytes]] = {}  # name -> (content type, body), once the run ended
        self._queues: set[Queue] = set()
        self._rows: dict[tuple[str, str, str], tuple[tuple[int, int, int], dict[str, Any]]] = {}
        self._errors: dict[tuple[str, str, str, str, str], tuple[int, int]] = {}  # -> (count, tick it changed)
        self._second_verdicts = SecondVerdicts()
        self._tick = 0
        self._process = psutil.Process()
        self._process.cpu_percent()
        self._cpu: tuple[float, float | None, int | None] = (time.monotonic(), None, None)

    # -- the observer --------------------------------------------------------------------------
    def update(self, controller: Any) -> None:
        """Points always (a page opened later gets them); the table, verdicts and the rest only while a
        page is open: a page that opens gets them fresh in its first event."""
        self._tick += 1
        new_series_from = len(self.series)
        # The running phase, and the one before it: its last batches may come after it ended.
        fresh = self._emit_seconds(self.controller.phases[-2:])
        self._track_errors()
        if not self._queues:
            self.latest = None
            return
        frame = self.state_frame()
        self.latest = frame
        out = dict(frame, series=self.series[new_series_from:], points=fresh)
        self._broadcast(sse("tick", out))

    def state_frame(self) -> dict[str, Any]:
        c = self.controller
        now = time.monotonic()
        record = c.phases[-1] if c.phases else None
        phase = c.phase
        users = {s.name: c.stats.users(phase.name, s.name) for s in phase.scenarios} if phase else {}
        return {
            "now": round(time.time() - c.started_at, 3) if c.started_at else 0.0,
            "state": c.state,
            "stopping": c.stopping,
            "phase": None if record is None or phase is None else {
                "name": record.name, "index": record.index, "run_time": phase.run_time,
                "elapsed": round(record.duration_s or (now - record.t0), 3), "done": bool(record.duration_s),
            },
            "phases": [
                {"name": p.name, "start": round(p.started_at - c.started_at, 3),
                 "end": round(p.started_at - c.started_at + (p.duration_s or (now - p.t0)), 3),
                 "done": bool(p.duration_s)} for p in c.phases
            ],
            "users": users,
            "rows": self._table(now, users),
            "thresholds": self._thresholds(now),
            **self._workers_part(),
            "errors": self._latest_errors(),
        }

    def _workers_part(self) -> dict[str, Any]:
        """The workers table every second for a small cluster, every WORKERS_EVERY seconds for a big one
        (a thousand rows a second would cost the master and the page more than the rest of the frame)."""
        registry = getattr(self.controller.link, "registry", None)
        many = registry is not None and len(registry.all()) > MANY_WORKERS
        if many and self._tick % WORKERS_EVERY and self.latest is not None:
            return {}
        return {"workers": self.workers()}

    # -- per-second points ----------------------------------------------------------------------
    def _series_id(self, group: str, phase: str, scenario: str, request: str) -> int:
        key = (group, phase, scenario, request)
        sid = self._series_ids.get(key)
        if sid is None:
            sid = self._series_ids[key] = len(self.series)
            label = {"request": f"{scenario} / {request}", "scenario": scenario}.get(group, "Total")
            self.series.append({"id": sid, "group": group, "phase": phase, "scenario": scenario,
                                "request": request, "label": label})
        return sid

    def _emit_seconds(self, records: list[Any]) -> list[list[Any]]:
        """Points for the seconds of these phases that ended at least a second ago (all of them once the
        phase is over), and again for the RECHECK_S seconds before those if a late batch changed them (a
        page replaces a point of the same series and second). Returns the new and changed points."""
        fresh: list[list[Any]] = []
        for record in records:
            fresh.extend(self._emit_phase(record, self.controller.run.phase(record.name)))
        self._settle()
        return fresh

    @property
    def points(self) -> list[list[Any]]:
        """Every point so far, each series' in time order (what a page opened now gets)."""
        return self._final.lists() + self._recent

    def _settle(self) -> None:
        """Move the points of seconds that are never sent again (RECHECK_S behind their phase's next
        second) to the typed columns, and forget what those seconds' points said."""
        series, next_second = self.series, self._next_second
        keep: list[list[Any]] = []
        for point in self._recent:
            if point[2] < next_second.get(series[point[0]]["phase"], 0) - RECHECK_S:
                self._final.append(point)
            else:
                keep.append(point)
        if len(keep) == len(self._recent):
            return
        self._recent = keep
        self._point_at = {(point[0], point[2]): i for i, point in enumerate(keep)}
        self._emitted = {(phase, sec): sig for (phase, sec), sig in self._emitted.items()
                         if sec >= next_second.get(phase, 0) - RECHECK_S}

    def _emit_phase(self, record: Any, phase: Any) -> list[list[Any]]:
        c = self.controller
        stats = c.stats
        keys = [(scen, req.name, stats.get(record.name, scen.name, req.name))
                for scen in phase.scenarios for req in scen.requests]
        keys = [(scen, name, t) for scen, name, t in keys if t is not None]
        done = bool(record.duration_s)
        if done:
            newest = max((t.newest_second() for _, _, t in keys), default=-1)
            upto = max(int(record.duration_s + 0.999), newest + 1)
        else:
            upto = int(time.monotonic() - record.t0) - 1
        first = self._next_second.get(record.name, 0)
        self._next_second[record.name] = max(first, upto)
        x0 = record.started_at - c.started_at
        samples = c.samples.of_phase(record.name)
        fresh: list[list[Any]] = []
        def cover(sec: int) -> float:  # as detail.window_points: a partial last second counts its coverage
            return min(1.0, record.duration_s - sec) if done and record.duration_s > sec else 1.0

        for sec in range(max(0, first - RECHECK_S), upto):
            window_s = cover(sec)
            if window_s < MIN_WINDOW_S and sec > 0:
                continue  # the stop's sliver: folded into the second before, as the summary's series do
            folded = [sec]
            if sec + 1 < upto and cover(sec + 1) < MIN_WINDOW_S:
                folded.append(sec + 1)
                window_s += cover(sec + 1)
            windows = [_window_sum([t.windows.get(f) for f in folded]) for _, _, t in keys]
            signature = (window_s, *((w[0], w[1]) if w else (0, 0) for w in windows))
            if self._emitted.get((record.name, sec)) == signature:
                continue
            self._emitted[(record.name, sec)] = signature
            x = round(x0 + sec + 0.5, 3)
            users = _users_at(samples, sec + 1.0)
            total = [0, 0, Histogram()]
            by_scen: dict[str, list[Any]] = {}
            points = []
            for (scen, name, _), w in zip(keys, windows, strict=True):
                acc = by_scen.setdefault(scen.name, [0, 0, Histogram()])
                if w is None:
                    n, f, h = 0, 0, None
                else:
                    n, f, h = w
                    for part in (acc, total):
                        part[0] += n
                        part[1] += f
                        part[2].merge(h)
                sid = self._series_id("request", record.name, scen.name, name)
                points.append([sid, x, sec, None, n, f, window_s, *_percentiles(h)])
            for scen in phase.scenarios:
                n, f, h = by_scen.get(scen.name, (0, 0, None))
                sid = self._series_id("scenario", record.name, scen.name, "")
                points.append([sid, x, sec, users.get(scen.name, 0), n, f, window_s, *_percentiles(h)])
            sid = self._series_id("total", record.name, "", "")
            points.append([sid, x, sec, sum(users.values()), total[0], total[1], window_s, *_percentiles(total[2])])
            for point in points:
                at = self._point_at.get((point[0], sec))
                if at is None:
                    self._point_at[(point[0], sec)] = len(self._recent)
                    self._recent.append(point)
                else:
                    self._recent[at] = point
            fresh.extend(points)
        return fresh

    # -- tables ----------------------------------------------------------------------------------
    def _table(self, now: float, users: dict[str, int]) -> list[dict[str, Any]]:
        """Group rows and a row per request, as the report's table has them; a key whose counters did not
        change keeps its row (its phase is over), so only the running phase's keys are read again."""
        c = self.controller
        durations = c.durations(now)
        rows: list[dict[str, Any]] = []
        judged = within = 0  # over the requests that have an expected_response_time, as the report's total
        for record in c.phases:
            config = c.run.phase(record.name)
            rows.append({"group": "phase", "text": record.name,
                         "aside": f"{durations.get(record.name, 0):.0f} of {config.run_time:g} s"})
            for scen in config.scenarios:
                aside = [f"{users.get(scen.name, 0)} users"] if record is c.phases[-1] and not record.duration_s else []
                arrivals = c.stats.arrivals(record.name, scen.name)
                if arrivals is not None:  # the open model: arrivals it scheduled and the ones it dropped
                    aside.append(f"{arrivals[0]:,} arrivals scheduled, {arrivals[1]:,} dropped")
                rows.append({"group": "scenario", "text": scen.name, "aside": " · ".join(aside)})
                for req in scen.requests:
                    t = c.stats.get(record.name, scen.name, req.name)
                    if t is None:
                        continue
                    rows.append(self._row(record.name, scen.name, req, t, durations.get(record.name, 0.0)))
                    if req.expected_response_time is not None:
                        judged += t.count - t.interrupted
                        within += t.within_expected
        active = sum(durations.values())
        if self._running():
            # Latencies of the sealed seconds (all but the newest two), so no key builds its full view.
            data = _settled_total([t for t in (c.stats.get(*k) for k in c.stats.keys()) if t is not None], active)
        else:
            data = _request_dict(None, c.stats.totals(), active)
        total = request_row(data, "Total")
        total.update(total=True, within_expected_ratio=round(within / judged, 6) if judged > 0 else None)
        rows.append(total)
        return rows

    def _running(self) -> bool:
        phases = self.controller.phases
        return bool(phases) and not phases[-1].duration_s

    def _row(self, phase: str, scenario: str, req: Any, t: Any, seconds: float) -> dict[str, Any]:
        """A running phase's keys: exact counts, latencies of their sealed seconds (reading a key's whole
        view every second would cost the master more than the rest of the dashboard); once the phase is
        over, the exact latencies, computed once."""
        key = (phase, scenario, req.name)
        running = self._running() and self.controller.phases[-1].name == phase
        signature = (t.count, t.failures, t.interrupted, running)
        cached = self._rows.get(key)
        if cached is not None and cached[0] == signature and not running:
            return cached[1]
        row = request_row(_request_dict(req, t, seconds, settled=running), req.name, req.kind)
        row["key"] = [phase, scenario, req.name]
        self._rows[key] = (signature, row)
        return row

    def _thresholds(self, now: float) -> list[dict[str, Any]]:
        c = self.controller
        if not c.run.thresholds:
            return []
        durations = c.durations(now)
        complete = {p.name: 1 << 30 for p in c.phases}
        if c.phases and not c.phases[-1].duration_s:
            complete[c.phases[-1].name] = int(now - c.phases[-1].t0)
        out = []
        for threshold in c.run.thresholds:
            verdict = evaluate(threshold, c.stats, durations, c.expected, complete_seconds=complete,
                               seconds_cache=self._second_verdicts)
            out.append(threshold_row(verdict.to_dict()))
        return out

    def workers(self) -> list[dict[str, Any]]:
        c = self.controller
        by_source = c.stats.requests_by_source
        registry = getattr(c.link, "registry", None)
        out = []
        if registry is not None:  # the ZeroMQ link: what each worker's heartbeats say
            for w in registry.all():
                view = w.view
                out.append({"id": view.id, "host": view.host, "state": "lost" if view.lost else w.state,
                            "cpu_percent": w.cpu_percent, "rss": w.rss, "users": w.users, "lost": view.lost,
                            "live": view.live, "requests": by_source.get(view.id, 0),
                            "problems": list(view.problems)})
            return out
        now = time.monotonic()
        if now - self._cpu[0] >= 0.5:  # over at least half a second, or two close looks read 0 %
            try:
                self._cpu = (now, self._process.cpu_percent(), self._process.memory_info().rss)
            except psutil.Error:
                self._cpu = (now, None, None)
        users = sum(sum(u.values()) for u in c.stats.users_by_source.values())
        for view in c.link.workers():  # in-process: the engine is this process
            cpu, rss = self._cpu[1], self._cpu[2]
            out.append({"id": view.id, "host": view.host, "state": c.state, "cpu_percent": cpu, "rss": rss,
                        "users": users, "lost": view.lost, "live": view.live,
                        "requests": by_source.get(view.id, 0) or by_source.get("", 0),
                        "problems": list(view.problems)})
        return out

    def _track_errors(self) -> None:
        """Note the tick at which each error's count last grew."""
        stats = self.controller.stats
        seen = self._errors
        for key in stats.keys():
            t = stats.get(*key)
            for (kind, message), n in t.errors.items():
                k = (*key, kind, message)
                old = seen.get(k)
                if old is None or old[0] != n:
                    seen[k] = (n, self._tick)

    def _latest_errors(self) -> list[dict[str, Any]]:
        """The errors whose count grew most recently first (then the most frequent), at most MAX_ERRORS."""
        top = sorted(self._errors.items(), key=lambda kv: (-kv[1][1], -kv[1][0]))[:MAX_ERRORS]
        return [{"kind": k[3], "message": k[4], "count": n, "where": f"{k[0]} / {k[1]} / {k[2]}"}
                for k, (n, _) in top]

    # -- streams ---------------------------------------------------------------------------------
    def init_event(self) -> bytes:
        c = self.controller
        if self.latest is None and c.phases and self.ended is None:
            self.latest = self.state_frame()
        return sse("init", {
            "run": dict(self.run_info, started_at=round(c.started_at * 1000) if c.started_at else None),
            "plan": self.plan, "series": self.series, "points": self.points, "latest": self.latest,
            "state": c.state, "ended": self.ended,
        })

    def stream(self) -> Iterator[bytes]:
        """One page's event stream: the history so far, then every frame, then the end."""
        queue: Queue = Queue(CLIENT_BACKLOG)
        self._queues.add(queue)
        try:
            yield self.init_event()
            if self.ended is not None:
                return
            while True:
                try:
                    item = queue.get(timeout=KEEPALIVE_S)
                except Empty:
                    yield sse("state", {"state": self.controller.state, "workers": self.workers()})
                    continue
                if item is None:
                    return
                yield item
        finally:
            self._queues.discard(queue)

    def _broadcast(self, data: bytes | None) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(data)
            except gevent.queue.Full:  # a page that stopped reading: close its stream, it reconnects
                self._queues.discard(queue)
                log.warning("dashboard stream fell %d frames behind; closing it", CLIENT_BACKLOG)

    @property
    def streams(self) -> int:
        return len(self._queues)

    def finish(self, summary: dict[str, Any], report_html: str, linger_s: float = 2.0) -> None:
        """The run ended: send the summary and the report to every page (they offer them as downloads),
        serve them at /reports/..., close the streams, and wait (bounded) until pages have read them."""
        self.reports = {
            "summary.json": ("application/json", json.dumps(summary, indent=2).encode()),
            "report.html": ("text/html; charset=utf-8", report_html.encode()),
        }
        # A last frame from the final numbers: batches merged after the last tick (a worker's last one)
        # correct the points and the table sent before.
        series_from = len(self.series)
        fresh = self._emit_seconds(self.controller.phases)
        if self._queues:
            self.latest = self.state_frame()
            self._broadcast(sse("tick", dict(self.latest, series=self.series[series_from:], points=fresh)))
        self.ended = {"exit_code": summary["run"].get("exit_code"), "interrupted": summary["run"].get("interrupted"),
                      "totals": summary.get("totals"), "summary": summary, "report": report_html}
        self._broadcast(sse("end", self.ended))
        self._broadcast(None)
        deadline = time.monotonic() + linger_s
        while self._queues and time.monotonic() < deadline:
            gevent.sleep(0.05)


def _window_sum(windows: list[Any]) -> list[Any] | None:
    """One [count, failures, hist] of several (the stats' own windows are never changed), or None."""
    found = [w for w in windows if w is not None]
    if len(found) <= 1:
        return found[0] if found else None
    return [sum(w[0] for w in found), sum(w[1] for w in found), merged(w[2] for w in found)]


def _users_at(samples: Any, t: float) -> dict[str, int]:
    """Users of a phase's newest sample at or before ``t`` (a PhaseSamples), else of its first one."""
    if not samples:
        return {}
    return samples.users(max(0, samples.at_or_before(t)))


def _percentiles(hist: Histogram | None) -> list[float | None]:
    if not hist:
        return [None, None, None]
    return [_ms(v) for v in hist.percentiles(_PCTS)]


def _settled_total(keys: list[Any], seconds: float) -> dict[str, Any]:
    """The total row's numbers over ``keys``: exact counters, latencies of their sealed seconds."""
    status: dict[int, int] = {}
    for t in keys:
        for code, n in t.status.items():
            status[code] = status.get(code, 0) + n
    count = sum(t.count for t in keys)
    return {
        "count": count, "failures": sum(t.failures for t in keys), "interrupted": sum(t.interrupted for t in keys),
        "rps": round(count / seconds, 3) if seconds > 0 else 0.0, "bytes": sum(t.bytes for t in keys),
        "latency_ms": summary_ms(merged(t.settled_hist() for t in keys)), "expected_response_time": None,
        "within_expected_ratio": None, "status_codes": {str(code): status[code] for code in sorted(status)},
    }


def _request_dict(req: Any, t: Any, seconds: float, settled: bool = False) -> dict[str, Any]:
    """A request's numbers in the summary's per-request form (build_summary's keys); ``settled``: latencies
    of the sealed seconds only."""
    expected = None if req is None else req.expected_response_time
    ratio = t.within_expected_ratio() if expected is not None else None
    return {
        "count": t.count, "failures": t.failures, "interrupted": t.interrupted,
        "rps": round(t.count / seconds, 3) if seconds > 0 else 0.0, "bytes": t.bytes,
        "latency_ms": summary_ms(t.settled_hist()) if settled else t.latency_ms(),
        "expected_response_time": expected,
        "within_expected_ratio": None if ratio is None or not math.isfinite(ratio) else round(ratio, 6),
        "status_codes": t.status_codes(),
    }
