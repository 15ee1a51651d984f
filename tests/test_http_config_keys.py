"""The HTTP and WebSocket request keys verify, ca_file, connect_timeout and websocket_config's message_interval,
max_messages and close_after: what loads, and the one-line error (file, line, key path; exit 2) for what does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gradual.configs import load

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {"runs": {"name": "t", "phases": {"p": {"run_time": 1, "scenarios": {"s": {
    "requests": "FROM_REQUEST_YAML_FILE", "request_file": "requests.yaml",
    "min_concurrency": 1, "max_concurrency": 1}}}}}}


def _write(tmp_path: Path, entry: dict) -> Path:
    (tmp_path / "requests.yaml").write_text(yaml.safe_dump({"requests": {"r": entry}}), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    return config


def test_the_keys_load_and_the_ca_file_resolves_next_to_the_request_file_and_travels(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("not parsed at load time\n", encoding="utf-8")
    config = _write(tmp_path, {"url": "https://127.0.0.1:8443/", "ca_file": "certs/ca.pem", "connect_timeout": "250ms"})
    run = load(config)
    [req] = run.phases[0].scenarios[0].requests
    assert (req.verify, req.ca_file, req.connect_timeout) == (True, str(tmp_path / "certs" / "ca.pem"), 0.25)
    assert tmp_path / "certs" / "ca.pem" in run.files  # in the bundle the workers receive


def test_websocket_config_keys_load(tmp_path: Path) -> None:
    config = _write(tmp_path, {"url": "wss://127.0.0.1:8443/ws", "method": "WEBSOCKET", "verify": False,
                               "websocket_config": {"message_interval": 1.0, "max_messages": 100,
                                                    "close_after": "1m", "message_template": "m {counter}"}})
    [req] = load(config).phases[0].scenarios[0].requests
    assert (req.verify, req.message_interval, req.max_messages, req.close_after, req.message) == (
        False, 1.0, 100, 60.0, "m {counter}")


@pytest.mark.parametrize(("entry", "key", "line", "message"), [
    ({"url": "https://h/", "ca_file": "nope.pem"}, "requests.r.ca_file", 3,
     "file not found: nope.pem (looked next to requests.yaml and in the working directory)"),
    ({"url": "https://h/", "verify": "no"}, "requests.r.verify", 4, "expected true or false, found a string 'no'"),
    ({"url": "http://h/", "verify": False}, "requests.r.verify", 4, "only applies to https:// and wss:// requests"),
    ({"url": "https://h/", "connect_timeout": -1}, "requests.r.connect_timeout", 3, "must be greater than 0"),
    ({"url": "ws://h/", "websocket_config": {"max_messages": 0}}, "requests.r.websocket_config.max_messages", 5,
     "must be at least 1, found 0"),
    ({"url": "ws://h/", "websocket_config": {"message_interval": "soon"}},
     "requests.r.websocket_config.message_interval", 5, "expected a number of seconds or a duration"),
    ({"url": "ws://h/", "websocket_config": {"close_after": 0}}, "requests.r.websocket_config.close_after", 5,
     "must be greater than 0"),
    ({"url": "ws://h/", "websocket_config": {"max_mesages": 3}}, "requests.r.websocket_config.max_mesages", 5,
     "did you mean 'max_messages'?"),
])
def test_a_bad_value_is_one_line_naming_file_line_and_key(
    tmp_path: Path, entry: dict, key: str, line: int, message: str
) -> None:
    config = _write(tmp_path, entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADUAL_")}
    proc = subprocess.run([sys.executable, "-m", "gradual", "validate", str(config)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 2, proc.stderr
    errors = [text for text in proc.stderr.splitlines() if text.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"error: {tmp_path / 'requests.yaml'}:{line}: {key}: "), errors[0]
    assert message in errors[0]
    assert "Traceback" not in proc.stderr
