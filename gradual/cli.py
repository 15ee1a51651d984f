"""The composition root: parses the command line and starts validate, run, master or worker.

Exit codes (DESIGN.md): 0 success, 1 a threshold failed, 2 bad usage or configuration, 3 run aborted,
130 interrupted. A user mistake prints one line per problem, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .proto.constants import DEFAULT_PORT, HEARTBEAT_LIVENESS, MASTER_TIMEOUT, MAX_CAPACITY

if TYPE_CHECKING:
    from .configs import RunConfig

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_ABORTED = 3
EXIT_INTERRUPTED = 130
DEFAULT_HTTP_PORT = 8089


def duration_arg(text: str) -> float:
    """An argparse type: seconds, or a duration with units (250ms, 30s, 5m, 1h30m)."""
    from .configs.durations import HINT, parse_duration

    seconds = parse_duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"expected {HINT}, found {text!r}")
    return seconds


def error_rate_arg(text: str) -> float:
    """An argparse type: a share of failed requests, ``5%`` or ``0.05`` (a fraction from 0 to 1)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        value = -1.0
    value = value / 100 if percent else value
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a percentage like 5% or a fraction from 0 to 1, found {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradual",
        description="Distributed stress testing: phases of scenarios that ramp up gradually.",
    )
    parser.add_argument("--version", action="version", version=f"gradual {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check a test config and its request files, print the plan")
    _config_arguments(p)
    _override_options(p)
    _strict_option(p)

    p = sub.add_parser("run", help="run a test on this machine")
    _config_arguments(p)
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="run N local worker processes over loopback (default: the in-process engine)")
    _override_options(p)
    _strict_option(p)
    _keys_option(p, "with --workers: the master and worker keys (default: fresh keys for this run)")
    _plugin_option(p)
    _records_option(p)
    _report_options(p)

    p = sub.add_parser("master", help="run a test on a cluster: wait for workers, split the load, aggregate")
    _config_arguments(p)
    p.add_argument("--expect-workers", type=int, default=1, metavar="N", help="workers to wait for (default 1)")
    p.add_argument("--expect-workers-timeout", type=duration_arg, default=60.0, metavar="S",
                   help="seconds to wait for them before aborting with exit 3 (default 60)")
    p.add_argument("--bind", default=None,
                   help="address the ZeroMQ port binds to (default 127.0.0.1; another one needs --keys or --insecure)")
    _keys_option(p, "CURVE keys dir (gradual keys init): admit only its workers' keys, encrypt everything")
    p.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback --bind without --keys: anyone who reaches the port can join")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"ZeroMQ port (default {DEFAULT_PORT})")
    p.add_argument("--stats-interval", type=duration_arg, default=1.0, metavar="S",
                   help="seconds between each worker's stats batches (default 1; raise it for very large clusters)")
    p.add_argument("--heartbeat-liveness", type=int, default=HEARTBEAT_LIVENESS, metavar="N",
                   help=f"heartbeats a worker may miss before it is lost (default {HEARTBEAT_LIVENESS})")
    _override_options(p)
    _strict_option(p)
    _plugin_option(p)
    _records_option(p)
    _report_options(p, http_port=DEFAULT_HTTP_PORT, log_level="INFO")
    p.add_argument("--http-bind", default="127.0.0.1", metavar="ADDR",
                   help="address the HTTP API binds to (default 127.0.0.1; its control endpoints need the token)")

    p = sub.add_parser("worker", help="connect to a master and run the load it assigns")
    p.add_argument("--host", required=True, help="the master's host name or address")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the master's ZeroMQ port (default {DEFAULT_PORT})")
    p.add_argument("--processes", type=int, default=1, metavar="N",
                   help="worker processes to start on this machine (one per core is the norm)")
    p.add_argument("--worker-id", help="this worker's id (default: host-pid-random)")
    p.add_argument("--capacity", type=float, default=1.0,
                   help=f"relative share of the load, 0 < C <= {MAX_CAPACITY:g} (default 1.0)")
    p.add_argument("--master-timeout", type=duration_arg, default=None, metavar="S",
                   help=f"stop all load when the master is silent this long (default {MASTER_TIMEOUT:g}s)")
    p.add_argument("--serve", action="store_true", help="stay up for run after run instead of exiting at quit")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    _keys_option(p, "CURVE keys dir: this worker's keypair and the one master key it will talk to")

    p = sub.add_parser("keys", help="make CURVE keys for a cluster (master and workers)")
    keys = p.add_subparsers(dest="keys_action", metavar="ACTION", parser_class=_Parser, required=True)
    k = keys.add_parser("init", help="write a master and a worker keypair into DIR (secrets 0600)")
    k.add_argument("dir", type=Path)
    k.add_argument("--if-missing", action="store_true", help="keep the keys DIR already holds (exit 0)")
    k = keys.add_parser("add-worker", help="keys for one more worker: DIR/NAME/ to give it, DIR/workers/NAME.key")
    k.add_argument("dir", type=Path)
    k.add_argument("name")

    p = sub.add_parser("plugins", help="list installed plugins (and a config's), their source and state")
    p.add_argument("config", type=Path, nargs="?", help="also resolve the plugins this test config names")
    p.add_argument("--request-config", type=Path, help="request config for scenarios without request_file")
    _plugin_option(p)
    p.add_argument("--events", action="store_true", help="list the events plugins can handle, with their arguments")

    p = sub.add_parser("report", help="re-render reports from a saved summary JSON")
    p.add_argument("summary", type=Path, help="a summary written by --json")
    _report_files(p)

    p = sub.add_parser("demo", help="start a local demo target and run a short multi-phase test against it")
    p.add_argument("--serve", action="store_true", help="only serve the demo target until Ctrl-C")
    p.add_argument("--port", type=int, default=0, help="demo target port (default: a free one; 8080 with --serve)")
    _override_options(p)
    p.add_argument("--web", action="store_true",
                   help="serve the live dashboard (on a free port unless --http-port names one) and print its URL")
    _report_options(p)
    return parser


def _config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path, help="test config (YAML)")
    p.add_argument("--request-config", type=Path, help="request config for scenarios without request_file")


def _records_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--records", type=Path, metavar="PATH",
                   help="write every completion record (the original framework's fields) as JSON lines, "
                   "from every node")


def _strict_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true",
                   help="treat the config's warnings as errors (exit 2): the file must run exactly as written")


def _override_options(p: argparse.ArgumentParser) -> None:
    """Locust's -H -t -u -r and k6's --duration --vus; each beats its GRADUAL_* variable, which beats the file."""
    g = p.add_argument_group("overrides (file < environment < these flags)")
    g.add_argument("-H", "--host", dest="override_host", metavar="URL",
                   help="replace scheme, host and port of every request URL (env GRADUAL_HOST)")
    g.add_argument("-t", "--run-time", "--duration", dest="override_run_time", metavar="D",
                   help="every phase's run_time: seconds or 250ms, 30s, 5m, 1h30m (env GRADUAL_RUN_TIME)")
    g.add_argument("-u", "--users", "--vus", dest="override_users", metavar="N",
                   help="every closed-model scenario's max_concurrency, min_concurrency capped at N "
                        "(env GRADUAL_USERS)")
    g.add_argument("-r", "--spawn-rate", dest="override_spawn_rate", metavar="R",
                   help="users started per second: each closed-model scenario ramps by 1 user every 1/R s")
    g.add_argument("--set", dest="override_set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override any key of the test config, e.g. runs.phases.p1.run_time=10s (VALUE is YAML); "
                        "repeatable")


def _keys_option(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--keys", type=Path, default=os.environ.get("GRADUAL_KEYS") or None, metavar="DIR",
                   help=f"{text} (default: $GRADUAL_KEYS)")


def _plugin_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="NAME",
                   help="also load the installed plugin NAME (entry point in group gradual.plugins); repeatable")


def _report_options(p: argparse.ArgumentParser, http_port: int = 0, log_level: str = "WARNING") -> None:
    _report_files(p)
    p.add_argument("--quiet", action="store_true", help="no live table, only the final summary")
    p.add_argument("--max-error-rate", type=error_rate_arg, default=1.0, metavar="RATE",
                   help="exit 1 when more than RATE of the requests failed: 5%% or 0.05 (default 100%% = off; "
                        "a run where no request succeeded always exits 1)")
    p.add_argument("--log-level", default=log_level, help=f"logging level on stderr (default {log_level})")
    # None = the default port, used only if it is free; a port given explicitly must be served.
    default = "off" if http_port == 0 else f"{http_port}, skipped with a warning when taken"
    p.add_argument("--http-port", type=int, default=0 if http_port == 0 else None, metavar="PORT",
                   help=f"serve the live dashboard (/), /metrics (Prometheus) and /status on this port, 0 = off "
                        f"(default {default})")


def _report_files(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", type=Path, metavar="PATH", help="write the summary JSON (gradual.summary/1)")
    p.add_argument("--csv", type=Path, metavar="PREFIX", help="write PREFIX_stats.csv and PREFIX_history.csv")
    p.add_argument("--html", type=Path, metavar="PATH", help="write a self-contained HTML report")
    p.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML (a test case per threshold)")
    p.add_argument("--report-dir", type=Path, metavar="DIR", help="write every report into DIR")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C before the run's own handler is in place (while a request file is imported, say).
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `gradual run ... | head`: the reader left; that is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "validate":
        from .validate import validate_command

        return validate_command(args.config, args.request_config, _overrides(args), strict=args.strict)
    if args.command == "report":
        from .reports.render import report_command

        targets = _report_targets(args)
        if not targets:
            parser.error("report needs at least one of --json, --csv, --html, --junit, --report-dir")
        return report_command(args.summary, targets)
    if getattr(args, "report_dir", None) is not None:
        # Plugins (and the local workers, who inherit it) learn where this run's reports go.
        os.environ["GRADUAL_REPORT_DIR"] = str(args.report_dir.resolve())
    if args.command == "keys":
        from .keys import keys_command

        return keys_command("init" if args.keys_action == "init" else "add-worker", args.dir,
                            getattr(args, "name", None), getattr(args, "if_missing", False))
    # Everything below runs load: sockets must be cooperative before anything imports them.
    from gevent import monkey

    monkey.patch_all()
    _logging(getattr(args, "log_level", "WARNING"))
    if args.command == "run":
        return _run_local(args.config, args.request_config, args)
    if args.command == "master":
        return _master(args)
    if args.command == "worker":
        return _worker(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "plugins":
        from .plugins.listing import plugins_command

        return plugins_command(args.config, args.request_config, args.plugin, show_events=args.events)
    parser.error(f"unknown command {args.command}")  # argparse already rejects it; kept for type checkers
    return EXIT_USAGE


def _overrides(args: argparse.Namespace) -> Any:
    """The overrides of the command line and the environment (flags win), for load()."""
    from .configs.overrides import from_sources

    flags = {name: getattr(args, f"override_{name}", None) for name in ("host", "run_time", "users", "spawn_rate")}
    return from_sources(flags, getattr(args, "override_set", None) or [], os.environ)


def _load(config: Path, request_config: Path | None, overrides: Any = None, strict: bool = False) -> RunConfig | None:
    from .configs import ConfigError, load
    from .preflight import check_credentials
    from .validate import print_config_error, print_config_warnings, strict_error

    try:
        run = load(config, request_config, overrides)
        check_credentials(run)
        refused = strict_error(run) if strict else None
        if refused is not None:
            raise refused
    except ConfigError as exc:
        print_config_error(exc)
        return None
    print_config_warnings(run.warnings)
    return run


def _with_cli_plugins(run: RunConfig, args: argparse.Namespace) -> RunConfig:
    from .plugins.runtime import with_cli_plugins

    return with_cli_plugins(run, getattr(args, "plugin", None) or [])


def _logging(level: str) -> None:
    import logging

    logging.basicConfig(level=getattr(logging, str(level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _run_local(config: Path, request_config: Path | None, args: argparse.Namespace) -> int:
    run = _load(config, request_config, _overrides(args), strict=args.strict)
    if run is None:
        return EXIT_USAGE
    run = _with_cli_plugins(run, args)
    if args.workers < 0:
        print("error: --workers must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    if args.workers == 0:
        from .master.local import InProcessLink

        return _execute(run, InProcessLink(run, records=args.records is not None), args)
    import tempfile

    from .keys import KeysError, init, master_keys
    from .master.local_cluster import LocalCluster
    from .master.zmq_link import ZmqLink

    with tempfile.TemporaryDirectory(prefix="gradual-keys-") as scratch:
        # Even on loopback the local workers are authenticated: fresh keys per run unless --keys says.
        folder = args.keys if args.keys is not None else Path(scratch) / "keys"
        try:
            if args.keys is None:
                init(folder)
            keys = master_keys(folder)
        except KeysError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        link = ZmqLink(run, bind="127.0.0.1", port=0, expect_workers=args.workers, expect_timeout=60.0,
                       records=args.records is not None, keys=keys)
        with LocalCluster(link.port, args.workers, keys=folder) as cluster:
            link.start_guard = cluster.failed
            return _execute(run, link, args)


def _master(args: argparse.Namespace) -> int:
    if args.expect_workers < 1:
        print("error: --expect-workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.stats_interval <= 0:
        print("error: --stats-interval must be more than 0 seconds", file=sys.stderr)
        return EXIT_USAGE
    bind = _master_bind(args)
    if bind is None:
        return EXIT_USAGE
    run = _load(args.config, args.request_config, _overrides(args), strict=args.strict)
    if run is None:
        return EXIT_USAGE
    run = _with_cli_plugins(run, args)
    import zmq

    from .keys import KeysError, master_keys
    from .master.zmq_link import ZmqLink

    args.bind = bind
    try:
        keys = master_keys(args.keys) if args.keys is not None else None
    except KeysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        link = ZmqLink(run, bind=args.bind, port=args.port, expect_workers=args.expect_workers,
                       expect_timeout=args.expect_workers_timeout, liveness=args.heartbeat_liveness,
                       stats_interval=args.stats_interval, records=args.records is not None, keys=keys)
    except zmq.ZMQError as exc:
        print(f"error: cannot bind tcp://{args.bind}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    security = (f"CURVE, {len(keys.authorized)} authorized worker key(s)" if keys is not None
                else "no keys: unauthenticated, unencrypted")
    print(f"master listening on tcp://{args.bind}:{link.port} ({security}), waiting for {args.expect_workers} "
          "worker(s)", file=sys.stderr, flush=True)
    return _execute(run, link, args)


def _is_loopback(address: str) -> bool:
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # "*", an interface name or a host name: not provably loopback


def _master_bind(args: argparse.Namespace) -> str | None:
    """The address to bind: loopback unless keys guard the port or --insecure says so (None: printed)."""
    keys = getattr(args, "keys", None)
    bind = args.bind or "127.0.0.1"
    if not _is_loopback(bind) and keys is None and not args.insecure:
        print(f"error: --bind {bind} without --keys lets anyone who reaches the port join, feed and read the run; "
              "give --keys DIR (see `gradual keys init`) or --insecure", file=sys.stderr)
        return None
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be 0-65535, got {args.port}", file=sys.stderr)
        return None
    return bind


def _worker(args: argparse.Namespace) -> int:
    if not 0 < args.capacity <= MAX_CAPACITY:
        print(f"error: --capacity must be more than 0 and at most {MAX_CAPACITY:g}, got {args.capacity:g}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.master_timeout is not None and not 0 < args.master_timeout <= 86400:
        print("error: --master-timeout must be more than 0 and at most 86400 seconds", file=sys.stderr)
        return EXIT_USAGE
    if args.processes < 1:
        print("error: --processes must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.processes > 1:
        from .worker.agent import default_worker_id
        from .worker.processes import supervise

        argv = ["--host", args.host, "--port", str(args.port), "--capacity", str(args.capacity),
                "--log-level", args.log_level]
        if args.master_timeout is not None:
            argv += ["--master-timeout", str(args.master_timeout)]
        if args.keys is not None:
            argv += ["--keys", str(args.keys)]
        if args.serve:
            argv.append("--serve")
        return supervise(argv, args.processes, args.worker_id or default_worker_id())
    import signal

    import gevent

    from .keys import KeysError, worker_keys
    from .worker.agent import Agent

    try:
        keys = worker_keys(args.keys) if args.keys is not None else None
    except KeysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    agent = Agent(args.host, args.port, worker_id=args.worker_id, capacity=args.capacity,
                  master_timeout=args.master_timeout, serve=args.serve, keys=keys)
    gevent.signal_handler(signal.SIGTERM, agent.shutdown, 0)
    gevent.signal_handler(signal.SIGINT, agent.shutdown, EXIT_INTERRUPTED)
    return agent.run()


def _execute(run: RunConfig, link: Any, args: argparse.Namespace) -> int:
    """Drive ``link`` through the controller, then report; the exit code follows DESIGN.md."""
    import signal

    import gevent

    from .master.controller import Controller
    from .reports.console import ConsoleReporter
    from .reports.csv import CsvReporter

    console = ConsoleReporter()
    targets = _report_targets(args)
    observers: list[Any] = [] if args.quiet else [console]
    if "csv" in targets:
        observers.append(CsvReporter(targets["csv"]))  # written during the run, completed at the end
    controller = Controller(run, link, observers=observers)
    if getattr(args, "records", None) is not None:
        from .reports.records import RecordsFile

        try:
            controller.records = RecordsFile(args.records)
        except OSError as exc:
            print(f"error: cannot write --records {args.records}: {exc.strerror or exc}", file=sys.stderr)
            link.close(EXIT_USAGE)
            return EXIT_USAGE
    # From here on a Ctrl-C is the run's to handle, even before the load starts (workers may be connecting).
    handler = gevent.signal_handler(signal.SIGINT, controller.interrupt)
    term = gevent.signal_handler(signal.SIGTERM, controller.interrupt)
    api = None
    http_port = DEFAULT_HTTP_PORT if args.http_port is None else args.http_port
    web = getattr(args, "web", False)  # demo --web: the dashboard on a free port unless --http-port names one
    if http_port or web:
        from .master.api_token import ApiToken, TokenError
        from .master.http_api import HttpApi

        bind = getattr(args, "http_bind", "127.0.0.1")
        # Control endpoints (stop) need the token printed here, on a cluster and locally alike: loopback is
        # shared by every user of a machine. (They also need a loopback peer and a header a cross-site form
        # cannot send: master/control.py.)
        try:
            token = ApiToken()
        except TokenError as exc:
            print(f"error: {exc}", file=sys.stderr)
            link.close(EXIT_USAGE)
            return EXIT_USAGE
        try:
            api = HttpApi(controller, "0.0.0.0" if bind == "*" else bind, http_port, token)
            api.start()
            # The token rides in the URL's fragment, which the browser keeps to itself: the page reads it.
            print(f"dashboard on {api.url}#token={token.value}", file=sys.stdout if web else sys.stderr, flush=True)
            print(f"control token (POST /api/stop): Authorization: Bearer {token.value}", file=sys.stderr,
                  flush=True)
        except OSError as exc:
            api = None
            reason = f"cannot serve the HTTP API on port {http_port}: {exc.strerror or exc}"
            if args.http_port is not None:
                print(f"error: {reason}", file=sys.stderr)
                handler.cancel()
                term.cancel()
                link.close(EXIT_USAGE)
                return EXIT_USAGE
            print(f"warning: {reason}; running without it (choose one with --http-port)", file=sys.stderr)
    env = _plugins(run, link, controller, api)
    if env is None:
        handler.cancel()
        term.cancel()
        if api is not None:
            api.stop()
        link.close(EXIT_ABORTED)
        return EXIT_ABORTED
    try:
        return _finish(controller, link, env, api, targets, console, handler, term,
                       getattr(args, "max_error_rate", 1.0))
    finally:
        if api is not None:
            api.stop()


def _finish(controller: Any, link: Any, env: Any, api: Any, targets: dict[str, Path], console: Any, handler: Any,
            term: Any, max_error_rate: float = 1.0) -> int:
    """Run, then write the summary and reports; the dashboard's pages get them before the API stops."""
    from .master.link import LinkError
    from .reports.render import reports_line, write_reports

    try:
        result = controller.execute()
    except LinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        link.close(EXIT_ABORTED)
        env.close()
        return EXIT_ABORTED
    finally:
        handler.cancel()
        term.cancel()
    summary, code = controller.conclude(result, env, max_error_rate)
    written = write_reports(summary, targets)
    console.final(summary)
    line = reports_line(written, shutil.get_terminal_size().columns if sys.stdout.isatty() else None)
    if line:
        print(line, flush=True)
    if api is not None:
        from .reports.html import render_html

        api.live.finish(summary, render_html(summary))
    reason = summary["run"].get("failure_reason")
    if reason:
        print(f"exit 1: {reason}", file=sys.stderr)  # the last line: what a CI log shows
    return code


def _plugins(run: RunConfig, link: Any, controller: Any, api: Any) -> Any:
    """The node's Environment with its plugins loaded, or None (printed) when a required one failed."""
    from .plugins.runtime import controller_environment

    env, fatal = controller_environment(run, link, controller, api)
    if fatal is not None:
        print(f"error: {fatal}: the run is aborted", file=sys.stderr)
        return None
    return env


def _report_targets(args: argparse.Namespace) -> dict[str, Path]:
    """Report name -> path, from --report-dir (everything) and the per-report flags (which win)."""
    from .reports.render import report_dir_targets

    targets: dict[str, Path] = {}
    if getattr(args, "report_dir", None) is not None:
        targets.update(report_dir_targets(args.report_dir))
    for name in ("json", "csv", "html", "junit"):
        value = getattr(args, name, None)
        if value is not None:
            targets[name] = value
    return targets


def _demo(args: argparse.Namespace) -> int:
    from .demo.run import demo_command

    overrides = _overrides(args)
    return demo_command(args, lambda config, request_config: _load(config, request_config, overrides), _execute)
