"""The master's HTTP API: the live dashboard (``/``, its assets under ``/web/``, Server-Sent Events at
``/events``, the stop control ``POST /api/stop``, the reports at ``/reports/...`` once the run ended),
Prometheus ``/metrics``, a JSON ``/status``, and routes plugins add.

Metrics are built from the aggregated stats at scrape time (a custom collector), so they always
equal what the reports will say; latency is a real Prometheus histogram, mergeable across scrapes.
The dashboard's frames come from master/live.py, an observer of the same stats.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from gevent.pywsgi import WSGIServer
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from gradual.stats.histogram import Histogram, highest_equivalent
from gradual.web import asset, fill

from .control import ControlGuard
from .live import LiveView

log = logging.getLogger("gradual.master")

BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
             10.0, 30.0)

# A route answers (status code, content type, body); a dict or list body is sent as JSON, an iterator
# of bytes is streamed as it comes (Server-Sent Events).
Route = Callable[[dict[str, Any]], tuple[int, str, Any]]
BUILT_IN = ("/", "/events", "/api/stop", "/metrics", "/status")
WEB_ASSETS = {"gradual.js": "text/javascript", "dashboard.js": "text/javascript", "style.css": "text/css"}
# The dashboard runs only its own files and talks only to this server: nothing from the network.
DASHBOARD_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; "
                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def prometheus_buckets(hist: Histogram) -> list[tuple[str, float]]:
    """Cumulative counts at BUCKETS_S (at the histogram's 0.1 % bucket resolution) plus +Inf."""
    key_array, count_array = hist.buckets()
    keys, counts = key_array.tolist(), count_array.tolist()
    out: list[tuple[str, float]] = []
    i, running = 0, 0
    for bound in BUCKETS_S:
        limit_us = bound * 1_000_000
        while i < len(keys) and highest_equivalent(keys[i]) <= limit_us:
            running += counts[i]
            i += 1
        out.append((repr(bound), float(running)))
    out.append(("+Inf", float(hist.total)))
    return out


class StatsCollector:
    """prometheus-client collector over the controller's RunStats."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def collect(self) -> Iterator[Any]:
        stats = self.controller.stats
        labels = ["phase", "scenario", "request"]
        requests = CounterMetricFamily("gradual_requests", "Requests completed, failed or interrupted", labels=labels)
        failures = CounterMetricFamily("gradual_failures", "Failed requests by kind", labels=[*labels, "kind"])
        interrupted = CounterMetricFamily("gradual_interrupted", "Requests killed at stop", labels=labels)
        latency = HistogramMetricFamily("gradual_request_duration_seconds", "Request latency", labels=labels)
        for key in stats.keys():
            totals = stats.get(*key)
            requests.add_metric(list(key), totals.count)
            interrupted.add_metric(list(key), totals.interrupted)
            by_kind: dict[str, int] = {}
            for (kind, _), n in totals.errors.items():
                by_kind[kind] = by_kind.get(kind, 0) + n
            for kind, n in sorted(by_kind.items()):
                failures.add_metric([*key, kind], n)
            latency.add_metric(list(key), prometheus_buckets(totals.hist), totals.hist.sum / 1_000_000)
        users = GaugeMetricFamily("gradual_users", "Virtual users running now", labels=["phase", "scenario"])
        phase = self.controller.phase
        if phase is not None:
            for scen in phase.scenarios:
                users.add_metric([phase.name, scen.name], stats.users(phase.name, scen.name))
        workers = GaugeMetricFamily("gradual_workers", "Live workers")
        workers.add_metric([], len(self.controller.link.live_workers()))
        # Open model: scheduled == started + dropped per scenario, exactly.
        scheduled = CounterMetricFamily("gradual_arrivals_scheduled", "Open-model arrivals due",
                                        labels=["phase", "scenario"])
        dropped = CounterMetricFamily("gradual_arrivals_dropped", "Open-model arrivals dropped (no journey free)",
                                      labels=["phase", "scenario"])
        for (phase_name, scenario), (n_scheduled, n_dropped) in sorted(stats.arrival_counts.items()):
            scheduled.add_metric([phase_name, scenario], n_scheduled)
            dropped.add_metric([phase_name, scenario], n_dropped)
        yield from (requests, failures, interrupted, latency, users, workers, scheduled, dropped)


def status(controller: Any) -> dict[str, Any]:
    phase = controller.phase
    record = controller.phases[-1] if controller.phases else None
    totals = controller.stats.totals()
    users = {s.name: controller.stats.users(phase.name, s.name) for s in phase.scenarios} if phase else {}
    return {
        "state": controller.state,
        "run": controller.run.name,
        "phase": phase.name if phase else None,
        "phase_index": record.index if record else None,
        "phases": len(controller.run.phases),
        "phase_elapsed_s": round(time.monotonic() - record.t0, 3) if record and not record.duration_s else None,
        "users": users,
        "total_users": sum(users.values()),
        "requests": totals.count,
        "failures": totals.failures,
        "workers": [
            {"id": w.id, "host": w.host, "live": w.live, "lost": w.lost} for w in controller.link.workers()
        ],
    }


class HttpApi:
    def __init__(self, controller: Any, host: str, port: int, token: Any = None) -> None:
        """``token``: the master's API token (``allows(environ)``); control requests must carry it then."""
        self.controller = controller
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StatsCollector(controller))  # type: ignore[arg-type]
        self.live = LiveView(controller)
        controller.observers.append(self.live)
        self.guard = ControlGuard(token)
        self.routes: dict[str, Route] = {
            "/": self._dashboard,
            "/events": lambda env: (200, "text/event-stream", self.live.stream()),
            "/api/stop": self._stop,
            "/metrics": lambda env: (200, CONTENT_TYPE_LATEST, generate_latest(self.registry)),
            "/status": lambda env: (200, "application/json", status(self.controller)),
        }
        for name, ctype in WEB_ASSETS.items():
            self.routes[f"/web/{name}"] = lambda env, n=name, t=ctype: (200, t, asset(n))
        for name in ("summary.json", "report.html"):
            self.routes[f"/reports/{name}"] = lambda env, n=name: self._report(n)
        self.server = WSGIServer((host, port), self._app, log=None)

    @property
    def port(self) -> int:
        return self.server.server_port

    def add_route(self, path: str, handler: Route) -> None:
        """Serve ``handler`` at ``path`` (plugins use this); built-in routes cannot be replaced."""
        if path in BUILT_IN or path.startswith(("/web/", "/reports/")):
            raise ValueError(f"{path} is a built-in route")
        self.routes[path] = handler

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop(timeout=1)

    @property
    def url(self) -> str:
        host = self.server.server_host
        host = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def _dashboard(self, environ: dict[str, Any]) -> tuple[int, str, Any]:
        page = fill("dashboard.html", {"title": f"gradual · {self.controller.run.name}"})
        return 200, "text/html; charset=utf-8", page

    def _report(self, name: str) -> tuple[int, str, Any]:
        found = self.live.reports.get(name)
        if found is None:
            return 404, "application/json", {"error": "the reports are written when the run ends"}
        return 200, found[0], found[1]

    def _stop(self, environ: dict[str, Any]) -> tuple[int, str, Any]:
        """End the run as Ctrl-C does (summary and reports written, exit 130)."""
        if environ.get("REQUEST_METHOD") != "POST":
            return 405, "application/json", {"error": "POST to stop the run"}
        refused = self.guard.refuse(environ)
        if refused is not None:
            log.warning("refused a stop request from %s: %s", environ.get("REMOTE_ADDR"), refused[1])
            return refused[0], "application/json", {"error": refused[1]}
        log.warning("stop requested from the dashboard (%s)", environ.get("REMOTE_ADDR"))
        self.controller.interrupt()
        return 202, "application/json", {"stopping": True}

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        handler = self.routes.get(environ.get("PATH_INFO", ""))
        if handler is None:
            code, ctype, body = 404, "application/json", {"error": "not found", "routes": sorted(self.routes)}
        else:
            try:
                code, ctype, body = handler(environ)
            except Exception as exc:  # a broken route answers 500; the run goes on
                log.exception("route %s failed", environ.get("PATH_INFO"))
                code, ctype, body = 500, "application/json", {"error": f"{type(exc).__name__}: {exc}"}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Status"
        headers = [("Content-Type", ctype), ("X-Content-Type-Options", "nosniff")]
        if ctype.startswith("text/html") and environ.get("PATH_INFO") == "/":
            headers.append(("Content-Security-Policy", DASHBOARD_CSP))
        if not isinstance(body, bytes):  # a stream: no length, never cached or buffered by a proxy
            start_response(f"{code} {reason}", [*headers, ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")])
            return body
        start_response(f"{code} {reason}", [*headers, ("Content-Length", str(len(body)))])
        return [body]
