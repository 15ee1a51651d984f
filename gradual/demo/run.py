"""`gradual demo`: start the demo target on 127.0.0.1 as a child process and run demo.yaml against it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .process import TargetProcess

HERE = Path(__file__).resolve().parent


def demo_command(
    args: argparse.Namespace,
    load: Callable[[Path, Path | None], Any],
    execute: Callable[[Any, Any, argparse.Namespace], int],
) -> int:
    if args.serve:
        os.execv(sys.executable, [sys.executable, "-m", "gradual.demo.target", "--port", str(args.port or 8080)])
    try:
        target = TargetProcess(port=args.port).start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    try:
        os.environ["GRADUAL_TARGET"] = target.url
        os.environ["GRADUAL_WS_TARGET"] = target.ws_url
        print(f"demo target on {target.url} (pid {target.pid})")
        run = load(HERE / "demo.yaml", None)
        if run is None:
            return 2
        from ..master.local import InProcessLink

        return execute(run, InProcessLink(run), args)
    finally:
        # Only now: the target runs in its own session, so a Ctrl-C stopped the load above while it still
        # answered, and no request failed because gradual took its own target away.
        target.stop()
