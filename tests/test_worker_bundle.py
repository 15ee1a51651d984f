"""A worker's bundle: loaded into a private folder, and removed with everything it registered."""

from __future__ import annotations

from pathlib import Path

from gradual.proto import Bundle
from gradual.worker.bundle import LoadedBundle

from gradual import events

REQUESTS = '''
from gradual import events, request

@events.test_start.add_listener
def announce(**kwargs):
    pass

@request
def noop():
    return None
'''

CONFIG = '''
runs:
  name: serve
  phases:
    p:
      run_time: 1
      scenarios:
        s: {requests: FROM_REQUEST_YAML_FILE, request_file: reqs.py, min_concurrency: 1, max_concurrency: 1}
'''


def _bundle(folder: Path) -> Bundle:
    folder.mkdir()
    (folder / "reqs.py").write_text(REQUESTS)
    (folder / "c.yaml").write_text(CONFIG)
    return Bundle.build(folder, "c.yaml", ["reqs.py"], run_id=folder.name)


def test_listeners_a_request_file_registers_leave_with_its_bundle(tmp_path: Path) -> None:
    """A --serve worker loads a new bundle per run: old module-level listeners must not fire again."""
    before = len(events.test_start.listeners)
    first = LoadedBundle(_bundle(tmp_path / "run1"))
    assert len(events.test_start.listeners) == before + 1
    first.remove()
    assert len(events.test_start.listeners) == before
    assert not first.folder.exists()
    second = LoadedBundle(_bundle(tmp_path / "run2"))
    try:
        assert len(events.test_start.listeners) == before + 1
        assert (second.folder / "reqs.py").read_text() == REQUESTS
    finally:
        second.remove()
    assert len(events.test_start.listeners) == before
