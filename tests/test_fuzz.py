"""Fuzzing in the suite, bounded to seconds: the master's decoder and the config loader.

The generators and oracles are in support/fuzzing.py; benchmarks/fuzz_proto.py --minutes N and
benchmarks/fuzz_config.py --minutes N run the same ones for longer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gradual.proto import Stats, encode
from hypothesis import HealthCheck, given, settings
from support.fuzzing import CONFIGS, FRAMES, check_config, check_frame, real_batch

CI = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def test_the_oracle_accepts_a_real_stats_frame() -> None:
    assert check_frame(encode(Stats(1, real_batch()))) is None


@CI
@given(frame=FRAMES)
def test_the_masters_decoder_takes_any_frame_without_an_unexpected_error(frame: bytes) -> None:
    assert check_frame(frame) is None


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(texts=CONFIGS)
def test_the_config_loader_takes_any_file_to_a_run_or_one_line_errors(texts: tuple[str, str | None]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert check_config(Path(folder), texts) is None
