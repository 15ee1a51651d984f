"""Config inputs that cannot hurt: every hostile file is exit 2 with one line naming the file, no traceback.

Each case is a file the config fuzzer (benchmarks/fuzz_config.py) once turned into a traceback, a hang
or a flood of output. They run through `gradual validate` in this process (main(), as the CLI does);
the last one runs the real CLI, where KeyboardInterrupt must end as exit 130.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.target import REPO_ROOT

from gradual.cli import main

REQUESTS = "requests:\n  r:\n    url: http://127.0.0.1:8080/\n    method: GET\n"


def config(*, scenario: str = "", request_file: str = "requests.yaml", phase: str = "p1", run_time: str = "1",
           requests: str = "[r]", users: str = "2") -> str:
    return (f"runs:\n  name: t\n  phases:\n    {phase}:\n      run_time: {run_time}\n      scenarios:\n"
            f"        s:\n          requests: {requests}\n          request_file: {request_file}\n"
            f"          min_concurrency: 1\n          max_concurrency: {users}\n{scenario}")


def laughs() -> str:
    """Nine levels of nine aliases: 9^9 strings once expanded, in under a kilobyte."""
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        text += f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text + config(requests="*i")


def _write(folder: Path, text: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


Case = Callable[[Path], Path]

CASES: dict[str, tuple[Case, str]] = {
    "control character": (lambda d: _write(d, config() + "\x01\n"), "is not allowed in YAML"),
    "huge integer": (lambda d: _write(d, config(run_time="9" * 5000)), "too large"),
    "deep nesting": (lambda d: _write(d, config() + "extra: " + "[" * 1000 + "]" * 1000 + "\n"), "levels deep"),
    "billion laughs": (lambda d: _write(d, laughs()), "expands to more than"),
    "seq tag on a scalar": (lambda d: _write(d, config(requests="[!!seq r]")), "expected a sequence"),
    "map tag on a scalar": (lambda d: _write(d, config(requests="!!map r")), "expected a mapping"),
    "over-long request file name": (lambda d: _write(d, config(request_file="r" * 5000 + ".yaml")),
                                    "file name too long"),
    "over-long phase name": (lambda d: _write(d, config(phase="p" * 5000)), ""),
    "too many users": (lambda d: _write(d, config(users="1000000000")), "max_concurrency"),
    "too many steps": (lambda d: _write(d, config(users="999999", scenario="          ramp_up_add: 1\n"
                                                                          "          ramp_up_wait: 0\n")),
                       "ramp_up_add: the ramp has more than 100000 steps"),
    "port out of range": (lambda d: (d / "requests.yaml").write_text(REQUESTS.replace("8080", "99999"))
                          and _write(d, config()), "requests.r.url: a port outside 1-65535"),
    "invalid host": (lambda d: (d / "requests.yaml").write_text(REQUESTS.replace("127.0.0.1", "exa mple..com"))
                     and _write(d, config()), "requests.r.url: an invalid host name"),
    "fifo": (lambda d: (os.mkfifo(d / "config.yaml"), d / "config.yaml")[1], "is a FIFO, device or socket"),
    "device": (lambda d: Path("/dev/zero"), "is a FIFO, device or socket"),
    "directory": (lambda d: (d / "dir.yaml").mkdir() or d / "dir.yaml", "is a directory"),
    "symlink loop": (lambda d: (os.symlink("config.yaml", d / "config.yaml"), d / "config.yaml")[1],
                     "symlink loop"),
    "request file is a fifo": (lambda d: (os.mkfifo(d / "fifo.yaml"), _write(d, config(request_file="fifo.yaml")))[1],
                               "is a FIFO"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_config_is_exit_2_with_one_line_naming_the_file(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requests.yaml").write_text(REQUESTS, encoding="utf-8")
    make, expected = CASES[case]
    path = make(tmp_path)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    text = out.err + out.out
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    assert len(text) < 20_000, len(text)  # no flood (a billion laughs once wrote 312 MB)
    assert path.name in errors[0] or "config.yaml" in errors[0] or "requests.yaml" in errors[0], errors
    assert expected in errors[0], errors


def test_keyboard_interrupt_while_importing_a_request_file_exits_130(tmp_path: Path) -> None:
    (tmp_path / "kb.py").write_text("raise KeyboardInterrupt\n", encoding="utf-8")
    path = _write(tmp_path, config(request_file="kb.py", requests="[hit]"))
    done = subprocess.run([sys.executable, "-m", "gradual", "validate", str(path)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip() == "interrupted"
