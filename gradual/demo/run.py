"""`gradual demo`: start the demo target on 127.0.0.1 as a child process and run demo.yaml against it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 10.0


class TargetProcess:
    """The demo target in its own process, stopped by its own pid."""

    def __init__(self, port: int = 0) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="gradual-demo-")
        port_file = Path(self._dir.name) / "port"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gradual.demo.target", "--host", "127.0.0.1", "--port", str(port),
             "--port-file", str(port_file)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the demo target did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._dir.cleanup()


def demo_command(
    args: argparse.Namespace,
    load: Callable[[Path, Path | None], Any],
    execute: Callable[[Any, Any, argparse.Namespace], int],
) -> int:
    if args.serve:
        os.execv(sys.executable, [sys.executable, "-m", "gradual.demo.target", "--port", str(args.port or 8080)])
    try:
        target = TargetProcess(args.port)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    try:
        os.environ["GRADUAL_TARGET"] = f"http://127.0.0.1:{target.port}"
        os.environ["GRADUAL_WS_TARGET"] = f"ws://127.0.0.1:{target.port}"
        print(f"demo target on http://127.0.0.1:{target.port} (pid {target.proc.pid})")
        run = load(HERE / "demo.yaml", None)
        if run is None:
            return 2
        from ..master.local import InProcessLink

        return execute(run, InProcessLink(run), args)
    finally:
        target.stop()
