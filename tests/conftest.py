"""Shared pytest fixtures for gradual's test-suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cluster import Cluster
from support.target import TargetProcess


@pytest.fixture
def target() -> Iterator[TargetProcess]:
    """A demo target in its own process on a free loopback port; stopped even when the test fails."""
    proc = TargetProcess()
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def cluster(tmp_path: Path, target: TargetProcess) -> Iterator[Cluster]:
    """A master and workers of a test's own, on 127.0.0.1 against `target`; all stopped by pid at the end."""
    c = Cluster(tmp_path, target)
    try:
        yield c
    finally:
        c.stop_all()
