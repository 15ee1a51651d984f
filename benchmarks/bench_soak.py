"""Memory over a long run: the master's RSS slope after warm-up, in MB per minute.

A local cluster (`gradual run --workers 2`, or `--in-process`) runs 20 users over 5 request keys
against the demo target on 127.0.0.1 for --minutes; the master process's RSS is sampled every
--sample seconds, and a least-squares line is fitted to the samples after --warmup minutes. The
master's memory should grow with the number of request keys, not with time: goal <= 0.1 MB/min.

--trace runs the master under tracemalloc and prints what grew most between the end of the warm-up
and a minute before the end (the RSS slope is then that of a traced process: compare it with itself).

Run:  python benchmarks/bench_soak.py --minutes 60
      python benchmarks/bench_soak.py --minutes 5 --warmup 1 --in-process
      python benchmarks/bench_soak.py --minutes 8 --warmup 2 --in-process --trace 15
Only 127.0.0.1 is used; the run stops by itself; the target and the run are ended by pid.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

GOAL_MB_PER_MIN = 0.1
USERS = 20
KEYS = 5


def _target(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = folder / "port"
    proc = subprocess.Popen([sys.executable, "-m", "gradual.demo.target", "--host", "127.0.0.1", "--port", "0",
                             "--port-file", str(port_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the demo target did not start")
        time.sleep(0.1)
    return proc, int(port_file.read_text())


def _config(folder: Path, port: int, seconds: float) -> Path:
    requests = {"requests": {f"key{i}": {"url": f"http://127.0.0.1:{port}/api/items/{i}", "method": "GET",
                                         "timeout": 5} for i in range(KEYS)}}
    (folder / "requests.yaml").write_text(yaml.safe_dump(requests))
    scenario = {"requests": [f"key{i}" for i in range(KEYS)], "request_file": "requests.yaml",
                "iterate_through_requests": True, "min_concurrency": USERS, "max_concurrency": USERS,
                "wait_time": "50ms"}
    config = {"runs": {"name": "soak", "stop_timeout": 2,
                       "phases": {"soak": {"run_time": seconds, "scenarios": {"s": scenario}}}}}
    path = folder / "soak.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _traced_master(out: str, first_s: float, second_s: float, top: int, argv: list[str]) -> int:
    """`gradual` with ``argv`` in this process, under tracemalloc: the allocations that grew most between
    ``first_s`` and ``second_s`` seconds after the start are written to ``out``."""
    import tracemalloc

    import gevent

    tracemalloc.start(6)
    snaps: list[tracemalloc.Snapshot] = []

    def snap(last: bool) -> None:
        snaps.append(tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)]))
        if last:
            stats = snaps[1].compare_to(snaps[0], "traceback")
            before, after = (sum(s.size for s in snap.statistics("filename")) / 1e6 for snap in snaps)
            lines = [f"tracemalloc, {first_s / 60:g} to {second_s / 60:g} min: traced {before:.1f} -> {after:.1f} MB"]
            for stat in stats[:top]:
                lines.append(f"{stat.size_diff / 1e3:+9.1f} kB {stat.count_diff:+8d} blocks")
                lines.extend("    " + line for line in stat.traceback.format()[-6:])
            Path(out).write_text("\n".join(lines) + "\n")

    gevent.spawn_later(first_s, snap, False)
    gevent.spawn_later(second_s, snap, True)
    from gradual.cli import main as gradual_main

    return gradual_main(argv)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--traced-master":  # the master process of a --trace run
        out, first, second, top = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        return _traced_master(out, first, second, top, sys.argv[6:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the load (default 60)")
    parser.add_argument("--warmup", type=float, default=None, metavar="MIN",
                        help="minutes left out of the fit (default: 5, or a fifth of a shorter run)")
    parser.add_argument("--sample", type=float, default=5.0, metavar="S", help="seconds between RSS samples")
    parser.add_argument("--in-process", action="store_true", help="gradual run without workers")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="run the master under tracemalloc and print the N allocation sites that grew most")
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else min(5.0, args.minutes / 5)
    with tempfile.TemporaryDirectory(prefix="gradual-soak-") as tmp:
        folder = Path(tmp)
        target, port = _target(folder)
        run = None
        try:
            config = _config(folder, port, args.minutes * 60)
            argv = ["run", str(config), "--quiet", "--json", str(folder / "s.json")]
            if not args.in_process:
                argv += ["--workers", "2"]
            trace_out = folder / "trace.txt"
            if args.trace:
                # From the end of the warm-up to a minute before the end (the run's own end allocates).
                second = max(warmup * 60 + 30, args.minutes * 60 - 60)
                argv = [sys.executable, __file__, "--traced-master", str(trace_out), str(warmup * 60), str(second),
                        str(args.trace), *argv]
            else:
                argv = [sys.executable, "-m", "gradual", *argv]
            run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(folder / "run.log", "wb"))
            master = psutil.Process(run.pid)
            samples: list[tuple[float, float]] = []
            started = time.monotonic()
            while run.poll() is None:
                try:
                    samples.append(((time.monotonic() - started) / 60, master.memory_info().rss / 1e6))
                except psutil.Error:
                    break
                time.sleep(args.sample)
            code = run.wait()
        finally:
            if run is not None:
                _stop(run)
            _stop(target)
            if args.trace:
                print(trace_out.read_text() if trace_out.exists() else "(no tracemalloc figures: the run ended early)")
        fit = [(t, mb) for t, mb in samples if warmup <= t <= args.minutes]
        mode = "in-process" if args.in_process else "--workers 2"
        if len(fit) < 3:
            print(f"bench_soak ({mode}): too few samples after the warm-up ({len(fit)}); run longer")
            return 1
        t, mb = np.array([f[0] for f in fit]), np.array([f[1] for f in fit])
        slope = float(np.polyfit(t, mb, 1)[0])
        print(f"bench_soak ({mode}, {USERS} users, {KEYS} keys, {args.minutes:g} min, exit {code}): master RSS "
              f"{samples[0][1]:.1f} MB at start, {mb[0]:.1f} MB after {warmup:g} min warm-up, {mb[-1]:.1f} MB at the "
              f"end; slope {slope:.3f} MB/min over {len(fit)} samples (goal <= {GOAL_MB_PER_MIN})")
        return 0 if slope <= GOAL_MB_PER_MIN else 1


if __name__ == "__main__":
    sys.exit(main())
