"""The controller's per-tick samples, kept in columns: what is read back is what was added, across
phases, and a long run's samples cost bytes per tick, not a dataclass and three dicts."""

from __future__ import annotations

import tracemalloc

import pytest
from gradual.master.samples import Sample, SampleSeries


def three_phases() -> SampleSeries:
    series = SampleSeries()
    for t in (1.0, 2.0, 3.0):
        series.add(t, "warm", {"a": int(t)}, {"a": 10 * int(t)}, {})
    for t in (1.0, 2.5):
        series.add(t, "main", {"a": 5, "b": int(t)}, {"b": 7}, {"b": 1})
    series.add(0.5, "cool", {"a": 2}, {}, {"a": 3})
    return series


def test_samples_read_back_in_order_across_phases() -> None:
    series = three_phases()
    assert len(series) == 6
    assert [(s.phase, s.t) for s in series] == [
        ("warm", 1.0), ("warm", 2.0), ("warm", 3.0), ("main", 1.0), ("main", 2.5), ("cool", 0.5)]
    assert series[3] == Sample(1.0, "main", {"a": 5, "b": 1}, {"a": 0, "b": 7}, {"a": 0, "b": 1})
    assert series[-1] == Sample(0.5, "cool", {"a": 2}, {"a": 0}, {"a": 3})
    assert series[-2].users == {"a": 5, "b": 2}
    assert [s.t for s in series[2:5]] == [3.0, 1.0, 2.5]
    assert list(series) == [series[i] for i in range(len(series))]
    with pytest.raises(IndexError):
        series[6]
    with pytest.raises(IndexError):
        series[-7]


def test_one_phase_and_the_sample_at_or_before_a_time() -> None:
    series = three_phases()
    main = series.of_phase("main")
    assert len(main) == 2 and list(main.times) == [1.0, 2.5]
    assert main.users(-1) == {"a": 5, "b": 2}
    assert main.at_or_before(0.9) == -1
    assert main.at_or_before(1.0) == 0
    assert main.at_or_before(2.4) == 0
    assert main.at_or_before(99) == 1
    assert main.nearest(0.0) == 0 and main.nearest(1.7) == 0 and main.nearest(1.8) == 1 and main.nearest(9) == 1
    assert series.of_phase("never").nearest(1.0) is None
    assert len(series.of_phase("never")) == 0
    assert SampleSeries()[0:3] == [] and len(SampleSeries()) == 0


def test_a_scenario_the_phase_lacks_is_not_stored() -> None:
    series = SampleSeries()
    series.add(1.0, "p", {"a": 1}, {"a": 2, "stranger": 10**9}, {})
    assert series[0].counts == {"a": 2}


def test_an_hour_of_ticks_costs_bytes_per_tick() -> None:
    """3,600 ticks of a two-scenario phase: 8 + 3 * 2 * 8 = 56 bytes each in the arrays, where the
    dataclass and its three dicts took about 350 (with headroom for the arrays' over-allocation)."""
    series = SampleSeries()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for t in range(3600):
            series.add(float(t), "p", {"a": 20, "b": 3}, {"a": 1000 + t, "b": t}, {"a": t % 7})
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 3600 * 100, grown
    assert series[1234].counts == {"a": 2234, "b": 1234}
