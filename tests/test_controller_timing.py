"""Ramp steps reach the engine at their planned offsets (within 50 ms), through the real controller."""

from __future__ import annotations

import time
from pathlib import Path

import gevent
from gradual.master.controller import Controller
from gradual.master.local import InProcessLink

from gradual import plan
from gradual.configs import load

REQUESTS = '''
import gevent
from gradual import request

@request(name="nap")
def nap():
    gevent.sleep(0.005)
'''

CONFIG = '''
runs:
  name: timing
  phases:
    ramp:
      run_time: 3.2
      scenarios:
        doubling:
          requests: FROM_REQUEST_YAML_FILE
          request_file: nap_requests.py
          min_concurrency: 1
          max_concurrency: 8
          ramp_up_multiply: 2
          ramp_up_wait: [0.4, 0.7, 0.9]
        adding:
          requests: FROM_REQUEST_YAML_FILE
          request_file: nap_requests.py
          min_concurrency: 0
          max_concurrency: 3
          ramp_up_add: 1
          ramp_up_wait: 0.55
'''


class RecordingLink(InProcessLink):
    """The real in-process link to a real engine, noting when each target reaches it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.t0 = 0.0
        self.seen: dict[str, list[tuple[float, int]]] = {}

    def phase_start(self, phase: str, index: int) -> None:
        super().phase_start(phase, index)
        self.t0 = time.monotonic()

    def send_targets(self, worker_id: str, phase: str, targets: dict[str, int], offsets: dict[str, int]) -> None:
        at = time.monotonic() - self.t0
        for scenario, n in targets.items():
            steps = self.seen.setdefault(scenario, [])
            if not steps or steps[-1][1] != n:
                steps.append((at, n))
        super().send_targets(worker_id, phase, targets, offsets)


def test_ramp_steps_reach_the_engine_within_50ms_of_their_planned_offsets(tmp_path: Path) -> None:
    (tmp_path / "nap_requests.py").write_text(REQUESTS)
    (tmp_path / "timing.yaml").write_text(CONFIG)
    run = load(tmp_path / "timing.yaml")
    link = RecordingLink(run)
    result = gevent.spawn(Controller(run, link).execute).get(timeout=30)
    phase = run.phases[0]
    for scenario in phase.scenarios:
        planned = plan.timeline(scenario, phase.run_time)
        seen = link.seen[scenario.name]
        assert [n for _, n in seen] == [s.target for s in planned], scenario.name
        for (at, _), step in zip(seen, planned, strict=True):
            assert abs(at - step.offset) < 0.05, f"{scenario.name}: step {step} landed at {at:.3f}s"
    assert result.stats.totals().count > 0
