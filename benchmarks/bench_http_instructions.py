"""Instructions per request of bench_http.py's templated request and its static twin, counted by valgrind.

bench_http.py's requests/s follow whatever else runs on a shared machine; this counts the client's user-space
instructions instead, which do not. Each count is taken over gradual's own user loop, HttpRunner, HTTP client
(httptools parser) and stats recorder, for 50 users, with the socket replaced by one that takes every request
and hands back nginx's answer at once: no kernel, no waiting, so no timing (with a real server, how often a
receive finds nothing yet and waits on the hub depends on timing and moves the count by thousands).

Each mode runs twice under ``valgrind --tool=callgrind`` (N and 4N requests per user); the difference over the
difference in requests is the cost of one request, startup cancelled out.

Run: python benchmarks/bench_http_instructions.py [--requests 100]
Needs valgrind (apt-get install valgrind). Opens no socket.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

USERS = 50
ANSWER = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 20:00:00 GMT\r\n"
          b"Content-Type: application/json\r\nContent-Length: 26\r\nConnection: keep-alive\r\n\r\n"
          b'{"method":"GET","ok":true}')  # nginx's answer to /items/... in bench_http.py, as it sends it
BASE = "http://127.0.0.1:9"  # never connected to: the socket is replaced


def child(mode: str, n: int) -> None:
    """50 users run ``n`` requests each of the ``mode`` request over the canned socket."""
    import gevent
    import yaml

    from gradual.configs.requests import load_request_yaml
    from gradual.journeys.cookies import CookieJar
    from gradual.runners import httpclient
    from gradual.runners.base import UserContext
    from gradual.runners.http import HttpRunner
    from gradual.runners.user import Step, User
    from gradual.stats.recorder import Recorder

    class CannedSocket:
        def send(self, data: bytes) -> int:
            return len(data)

        def recv_into(self, buf: bytearray) -> int:
            buf[:len(ANSWER)] = ANSWER
            return len(ANSWER)

        def close(self) -> None:
            pass

    class NeverReadable:
        def poll(self, timeout: float) -> list:
            return []

    def connect(self: httpclient.HttpConnection, timeout: float | None) -> None:
        self.connects += 1
        self._sock, self._poll = CannedSocket(), NeverReadable()
        self._parser = httpclient.httptools.HttpResponseParser(self)

    httpclient.HttpConnection._connect = connect  # type: ignore[method-assign]

    if mode == "templated":  # bench_http.py's bench_gradual_items, both forms
        request = {"url": BASE + "/items/{{ user }}?i={{ iteration }}",
                   "headers": {"X-Scenario": "{{ scenario }}"}, "expect": {"json": {"method": "GET"}}}
    else:
        request = {"url": BASE + "/items/7?i=1234", "headers": {"X-Scenario": "item_loop"}}
    folder = Path(tempfile.mkdtemp(prefix="gradual-instr-"))
    (folder / "requests.yaml").write_text(yaml.safe_dump({"requests": {"item": request}}), encoding="utf-8")
    req = load_request_yaml(folder / "requests.yaml")["item"]
    shutil.rmtree(folder)
    recorder = Recorder()

    class Counting:
        """The real slot, and a stop after ``n`` requests (any failure ends the run)."""

        def __init__(self, slot: object, user: list[User]) -> None:
            self.slot, self.user, self.n = slot, user, 0

        def record(self, *args: object) -> None:
            self.slot.record(*args)  # type: ignore[attr-defined]
            if args[4] is not None:
                raise SystemExit(f"a request failed: {args[4]}: {args[5]}")
            self.n += 1
            if self.n >= n:
                self.user[0].stop()

    users = []
    for i in range(USERS):
        ctx = UserContext(user=i, scenario="item_loop", phase="load", cookies=CookieJar())
        ref: list[User] = []
        slot = Counting(recorder.slot("load", "item_loop", "item"), ref)
        ref.append(User(ctx, [Step(req, HttpRunner(req, ctx), slot)], once=False))
        users.append(ref[0])
    for user in users:
        user.start()
    gevent.joinall(users, timeout=600)
    done = sum(u.steps[0].slot.n for u in users)
    if done != USERS * n:
        raise SystemExit(f"{done} requests, expected {USERS * n}")


def count(mode: str, n: int, workdir: Path) -> int:
    out = workdir / f"callgrind.{mode}.{n}"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # an idle BLAS thread pool's spinning is counted too
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                           __file__, "--child", mode, str(n)], capture_output=True, text=True, env=env,
                          timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{mode} x {n} exited {done.returncode}: {done.stderr.strip()[-800:]}")
    found = re.search(r"^summary: (\d+)", out.read_text(), re.M)
    if found is None:
        raise SystemExit(f"no summary line in {out}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="per user in the shorter run (4x in the longer)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found (apt-get install valgrind)")
        return 1
    n = args.requests
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gradual-instr-") as tmp:
        for mode in ("static", "templated"):
            short, long = count(mode, n, Path(tmp)), count(mode, 4 * n, Path(tmp))
            per[mode] = (long - short) / (USERS * 3 * n)
            print(f"{mode:>10}: {per[mode]:8.0f} instructions per request", flush=True)
    print(f"templated/static: {per['static'] / per['templated']:.3f} (instructions of the static request over "
          "the templated one's: the share of the static request's rate the templated one can keep on a core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
