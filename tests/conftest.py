"""Shared pytest fixtures for gradual's test-suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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
