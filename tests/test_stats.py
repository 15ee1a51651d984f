"""Specification of gradual.stats: histogram accuracy and merging, the recorder's per-second deltas,
batch wire validation, and the master's lossless aggregation.
"""

from __future__ import annotations

import copy
import math
from fractions import Fraction
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradual.stats import Histogram, KeyDelta, Recorder, RequestTotals, RunStats, StatsBatch, merge_into
from gradual.stats.batch import ERRORS_CAP, OTHER_MESSAGE
from gradual.stats.histogram import MAX_VALUE_US, WireError, bucket_key, highest_equivalent, lowest_equivalent


class FakeClock:
    """A settable clock function, so tests decide which second each request ends in."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def roundtrip(obj: Any) -> Any:
    return msgpack.unpackb(msgpack.packb(obj, use_bin_type=True), raw=False, strict_map_key=True)


def hist_of(values: list[int]) -> Histogram:
    h = Histogram()
    for v in values:
        h.record(v)
    return h


def exact_percentile(values: list[int], p: Fraction) -> int:
    """Nearest-rank percentile by sorting: the smallest value with at least p% of values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


latency_values = st.one_of(
    st.integers(min_value=1, max_value=MAX_VALUE_US),
    st.integers(min_value=1, max_value=5000),
    st.integers(min_value=1_000, max_value=2_000_000),
)
value_lists = st.lists(latency_values, min_size=1, max_size=300)
# Percentiles with one decimal (as in 99.9), so the exact rank is computed without float round-off.
tenths = st.integers(min_value=1, max_value=999)


# --- Histogram --------------------------------------------------------------------------------


@settings(max_examples=300)
@given(value_lists, st.lists(tenths, min_size=1, max_size=8))
def test_percentiles_are_within_a_tenth_of_a_percent_of_exact_sorted_percentiles(
    values: list[int], ps: list[int]
) -> None:
    h = hist_of(values)
    for tenth in ps:
        p = Fraction(tenth, 10)
        exact = exact_percentile(values, p)
        got = h.percentile(tenth / 10)
        assert abs(got - exact) <= exact * 0.001, (tenth / 10, got, exact)
        assert got >= exact  # highest equivalent value of the bucket, like HdrHistogram


@given(value_lists)
def test_percentile_0_is_min_and_100_is_max_and_mean_is_exact(values: list[int]) -> None:
    h = hist_of(values)
    assert h.percentile(0) == min(values)
    assert h.percentile(100) == max(values)
    assert h.mean == sum(values) / len(values)
    assert h.count == len(values) == h.total


def test_small_values_are_exact() -> None:
    h = hist_of([1, 2, 3, 2047])
    assert h.percentile(50) == 2.0
    assert h.percentile(75) == 3.0
    assert h.percentiles([25, 99.9]) == [1.0, 2047.0]


def test_empty_histogram_reports_zeros_and_is_falsy() -> None:
    h = Histogram()
    assert not h
    assert h.percentile(50) == 0.0
    assert h.percentile(0) == 0.0
    assert h.mean == 0.0
    assert (h.min, h.max, h.count) == (0, 0, 0)


def test_percentile_outside_0_to_100_is_rejected() -> None:
    with pytest.raises(ValueError):
        hist_of([5]).percentile(100.5)
    with pytest.raises(ValueError):
        hist_of([5]).percentile(float("nan"))


def test_values_are_clamped_to_1us_and_1h() -> None:
    h = hist_of([0, -7, MAX_VALUE_US * 5])
    assert h.min == 1
    assert h.max == MAX_VALUE_US
    assert h.sum == 2 + MAX_VALUE_US


@given(st.integers(min_value=1, max_value=MAX_VALUE_US))
def test_bucket_holds_its_value_within_1_in_1024(v: int) -> None:
    key = bucket_key(v)
    assert lowest_equivalent(key) <= v <= highest_equivalent(key)
    assert highest_equivalent(key) - lowest_equivalent(key) <= v / 1024


@given(st.integers(min_value=1, max_value=MAX_VALUE_US - 1))
def test_bucket_keys_grow_with_values(v: int) -> None:
    assert bucket_key(v) <= bucket_key(v + 1)


@given(value_lists, value_lists)
def test_merge_equals_histogram_of_concatenation(a: list[int], b: list[int]) -> None:
    h = hist_of(a)
    h.merge(hist_of(b))
    assert h == hist_of(a + b)


def test_merge_into_empty_and_of_empty() -> None:
    h = Histogram()
    h.merge(hist_of([10, 20]))
    h.merge(Histogram())
    assert h == hist_of([10, 20])


def test_copy_is_independent() -> None:
    h = hist_of([10])
    c = h.copy()
    c.record(99)
    assert h == hist_of([10])
    assert c == hist_of([10, 99])


@given(st.lists(latency_values, max_size=200))
def test_histogram_wire_roundtrips_through_msgpack(values: list[int]) -> None:
    h = hist_of(values)
    assert Histogram.from_wire(roundtrip(h.to_wire())) == h
    merged = hist_of(values)
    merged.merge(Histogram.from_wire(roundtrip(h.to_wire())))
    assert merged == hist_of(values + values)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.booleans(), st.lists(latency_values, max_size=60)), max_size=12),
    st.integers(min_value=0, max_value=150),
)
def test_merging_decoded_histograms_equals_merging_recorded_ones(
    pieces: list[tuple[bool, list[int]]], compact_above: int
) -> None:
    # Decoded histograms keep their buckets packed and are summed lazily (and whenever parts of more
    # than compact_above buckets pile up); reads, copies and further merges must see exactly what plain
    # dict merges give.
    lazy, plain, everything = Histogram(), Histogram(), []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("gradual.stats.histogram.COMPACT_SIZE", compact_above)
        _merge_pieces(pieces, lazy, plain, everything)
    assert lazy == plain == hist_of(everything)
    assert lazy.percentiles((50.0, 99.0)) == plain.percentiles((50.0, 99.0))
    assert Histogram.from_wire(roundtrip(lazy.to_wire())) == plain


def _merge_pieces(
    pieces: list[tuple[bool, list[int]]], lazy: Histogram, plain: Histogram, everything: list[int]
) -> None:
    for i, (decoded, values) in enumerate(pieces):
        h = hist_of(values)
        lazy.merge(Histogram.from_wire(roundtrip(h.to_wire())) if decoded else h)
        plain.merge(h)
        everything += values
        if i % 3 == 2:
            snapshot = lazy.copy()
            assert snapshot == plain  # reads (and so sums the parts of) the copy only
            snapshot.record(1)
            assert snapshot.total == lazy.total + 1


GOOD_HIST_WIRE = hist_of([5, 5, 3000]).to_wire()


def packed(keys: list[int], counts: list[int], count_type: str = "<u2") -> list[bytes]:
    return [np.array(keys, "<u2").tobytes(), np.array(counts, count_type).tobytes()]


def test_histogram_wire_form_is_packed_little_endian() -> None:
    # [total, min, max, sum, keys (uint16 LE, ascending), counts (narrowest of 2/4/8 bytes LE)]
    assert GOOD_HIST_WIRE == [3, 5, 3000, 3010, *packed([5, 3548], [2, 1])]
    h = Histogram()
    h.record(7)
    h.merge(Histogram.from_wire([70_000, 7, 7, 490_000, *packed([7], [70_000], "<u4")]))
    assert h.to_wire() == [70_001, 7, 7, 490_007, *packed([7], [70_001], "<u4")]
    assert Histogram().to_wire() == [0, 0, 0, 0, b"", b""]
    assert Histogram.from_wire(Histogram().to_wire()) == Histogram()


@pytest.mark.parametrize(
    "wire",
    [
        None,
        "hist",
        {"total": 3},
        [3, 5, 3000, 3010, packed([5, 3548], [2, 1])[0]],  # truncated
        [3, 5, 3000, 3010, *packed([5, 3548], [2, 1]), "x"],  # too long
        ["3", 5, 3000, 3010, *packed([5, 3548], [2, 1])],  # str where int expected
        [3, 5.0, 3000, 3010, *packed([5, 3548], [2, 1])],  # float min
        [True, 5, 3000, 3010, *packed([5, 3548], [2, 1])],  # bool is not a count
        [3, 5, 3000, 3010, [5, 3548], [2, 1]],  # lists, not packed bytes
        [3, 5, 3000, 3010, "5,3548", b"\x02\x00\x01\x00"],
        [3, 5, 3000, 3010, b"\x05\x00\xf4", b"\x02\x00\x01\x00"],  # odd key bytes
        [3, 5, 3000, 3010, packed([5, 3548], [2, 1])[0], b"\x02\x00\x01"],  # counts not a whole width
        [3, 5, 3000, 3010, packed([5, 3548], [2, 1])[0], bytes(6)],  # 3-byte counts
        [3, 5, 3000, 3010, packed([5, 3548], [2, 1])[0], b""],  # keys without counts
        [3, 5, 3000, 3010, b"", b""],  # total without buckets
        [3, 5, 3000, 3010, *packed([5, 3548], [2, 2])],  # total mismatch
        [3, 5, 3000, 3010, *packed([5, 5], [2, 1])],  # duplicate key
        [3, 5, 3000, 3010, *packed([3548, 5], [1, 2])],  # keys not ascending
        [2, 5, 3000, 3005, *packed([5, 3548], [2, 0])],  # zero count
        [3, 5, 3000, 3010, *packed([0, 3548], [2, 1])],  # key below range
        [3, 5, 3000, 3010, *packed([5, 60000], [2, 1])],  # key above range
        [4, 5, 3000, 3020, *packed([5, 2048 + 5, 3548], [2, 1, 1])],  # key no value maps to (sub-bucket < 1024)
        [3, 6, 3000, 3010, *packed([5, 3548], [2, 1])],  # min not in the lowest bucket
        [3, 5, 9000, 3010, *packed([5, 3548], [2, 1])],  # max not in the highest bucket
        [3, 5, 3000, 1, *packed([5, 3548], [2, 1])],  # impossible sum
        [0, 5, 0, 0, b"", b""],  # empty but min set
        [0, 0, 0, 0, *packed([5], [1])],  # empty but with a bucket
        [1 << 53, 5, 5, 5 << 53, *packed([5], [1 << 53], "<u8")],  # beyond float-exact sums
        # 8-byte counts whose uint64 sum wraps around to the claimed total
        [1, 5, 3000, 3000, *packed([5, 3548], [1 << 63, (1 << 63) + 1], "<u8")],
    ],
)
def test_histogram_from_wire_rejects_malformed_input(wire: Any) -> None:
    assert Histogram.from_wire(GOOD_HIST_WIRE) == hist_of([5, 5, 3000])
    with pytest.raises(ValueError):
        Histogram.from_wire(wire)
    # Checked among others, the bad one is named by its position, whatever its neighbours.
    good = [GOOD_HIST_WIRE, hist_of([70_000] * 70_000).to_wire(), Histogram().to_wire()]
    with pytest.raises(WireError) as caught:
        Histogram.from_wire_many([*good, wire, *good])
    assert caught.value.index == len(good)


def test_many_histograms_decode_each_to_its_own_buckets() -> None:
    hists = [hist_of([5, 5, 3000]), Histogram(), hist_of([70_000] * 70_000), hist_of([1, 2, 3, 3_600_000_000])]
    decoded = Histogram.from_wire_many(roundtrip([h.to_wire() for h in hists]))
    assert decoded == hists
    assert Histogram.from_wire_many([]) == []


# --- Recorder ---------------------------------------------------------------------------------


def test_records_land_in_the_second_since_phase_origin() -> None:
    clock = FakeClock(100.0)
    rec = Recorder(clock)
    rec.set_phase_origin("ramp", 50.0)
    slot = rec.slot("ramp", "browse", "GET /")
    slot.record(2_000_000, 50.2, 200)
    slot.record(3_000_000, 50.999, 200)
    slot.record(4_000_000, 51.0, 200)
    slot.record(5_000_000, 53.7, 500, error_kind="http", error_message="HTTP 500")
    slot.record(1_000_000, 49.0, 200)  # ended before the origin: clamped into second 0
    (entry,) = rec.drain().entries
    assert sorted(entry.windows) == [0, 1, 3]
    assert entry.windows[0][:2] == [3, 0]
    assert entry.windows[0][2] == hist_of([2000, 3000, 1000])
    assert entry.windows[1][:2] == [1, 0]
    assert entry.windows[3][:2] == [1, 1]
    assert entry.hist == hist_of([2000, 3000, 4000, 5000, 1000])
    assert sum(w[0] for w in entry.windows.values()) == entry.count == 5


def test_default_phase_origin_is_the_first_slot_call() -> None:
    clock = FakeClock(10.0)
    rec = Recorder(clock)
    slot = rec.slot("p", "s", "r")
    clock.now = 99.0
    rec.slot("p", "s", "other")  # a later slot of the same phase shares the first origin
    slot.record(1000, 12.5)
    rec.slot("p", "s", "other").record(1000, 10.1)
    entries = {e.request: e for e in rec.drain().entries}
    assert list(entries["r"].windows) == [2]
    assert list(entries["other"].windows) == [0]


def test_setting_the_origin_later_rebases_existing_slots() -> None:
    clock = FakeClock(10.0)
    rec = Recorder(clock)
    slot = rec.slot("p", "s", "r")
    slot.record(1000, 15.5)
    rec.set_phase_origin("p", 14.0)
    slot.record(1000, 15.5)
    (entry,) = rec.drain().entries
    assert {sec: w[0] for sec, w in entry.windows.items()} == {5: 1, 1: 1}


def test_slot_is_the_same_object_for_the_same_key_and_survives_drains() -> None:
    rec = Recorder(FakeClock())
    slot = rec.slot("p", "s", "r", expected_response_time=0.5)
    assert rec.slot("p", "s", "r") is slot
    slot.record(1000, 100.0)
    rec.drain()
    slot.record(2000, 101.0)
    (entry,) = rec.drain().entries
    assert entry.count == 1
    assert entry.hist == hist_of([2])


def test_drain_is_a_delta_and_a_second_drain_without_records_is_empty() -> None:
    rec = Recorder(FakeClock())
    a = rec.slot("p", "s", "a")
    rec.slot("p", "s", "b")  # never recorded: not in the batch
    for _ in range(3):
        a.record(1_500_000, 100.0, 200, nbytes=10)
    first = rec.drain()
    assert [(e.request, e.count, e.bytes, e.status) for e in first.entries] == [("a", 3, 30, {200: 3})]
    second = rec.drain()
    assert second.is_empty()
    assert second.entries == []


def test_latency_is_recorded_in_microseconds_for_successes_and_failures() -> None:
    rec = Recorder(FakeClock())
    slot = rec.slot("p", "s", "r")
    slot.record(1_234_567, 100.0, 200)
    slot.record(999, 100.0, None, error_kind="timeout")  # sub-microsecond still counts as 1 µs
    slot.record(7_000_000, 100.0, 503, error_kind="http", error_message="HTTP 503")
    (e,) = rec.drain().entries
    assert e.hist == hist_of([1234, 1, 7000])
    assert (e.count, e.failures) == (3, 2)
    assert e.status == {200: 1, 503: 1}
    assert e.errors == {("timeout", ""): 1, ("http", "HTTP 503"): 1}


def test_within_expected_counts_only_fast_enough_successes() -> None:
    rec = Recorder(FakeClock())
    slot = rec.slot("p", "s", "r", expected_response_time=0.1)
    slot.record(100_000_000, 100.0, 200)  # exactly the limit
    slot.record(100_000_001, 100.0, 200)
    slot.record(1_000_000, 100.0, 500, error_kind="http", error_message="HTTP 500")
    no_limit = rec.slot("p", "s", "no-limit")
    no_limit.record(1, 100.0, 200)
    entries = {e.request: e for e in rec.drain().entries}
    assert entries["r"].within_expected == 1
    assert entries["no-limit"].within_expected == 0


def test_interrupted_requests_are_counted_but_are_not_failures_and_have_no_latency() -> None:
    clock = FakeClock(100.0)
    rec = Recorder(clock)
    rec.set_phase_origin("p", 100.0)
    slot = rec.slot("p", "s", "r", expected_response_time=1.0)
    slot.record(1_000_000, 100.5, 200)
    slot.interrupted(3, end=102.2)
    clock.now = 104.0
    slot.interrupted()  # end defaults to now
    slot.interrupted(0)
    (e,) = rec.drain().entries
    assert (e.count, e.failures, e.interrupted) == (5, 0, 4)
    assert e.hist.count == 1
    assert {sec: w[:2] for sec, w in e.windows.items()} == {0: [1, 0], 2: [3, 0], 4: [1, 0]}
    totals = RunStats()
    totals.merge(StatsBatch([e]))
    t = totals.get("p", "s", "r")
    assert t is not None
    assert t.within_expected_ratio() == 1.0  # interrupted requests never reached an answer


def test_distinct_error_messages_are_capped_per_key() -> None:
    rec = Recorder(FakeClock())
    slot = rec.slot("p", "s", "r")
    for i in range(ERRORS_CAP + 50):
        slot.record(1000, 100.0, error_kind="exception", error_message=f"ValueError: id {i}")
    slot.record(1000, 100.0, error_kind="exception", error_message="ValueError: id 0")
    slot.record(1000, 100.0, error_kind="timeout")
    (e,) = rec.drain().entries
    assert e.errors[("exception", OTHER_MESSAGE)] == 50
    assert e.errors[("timeout", OTHER_MESSAGE)] == 1
    assert e.errors[("exception", "ValueError: id 0")] == 2
    assert sum(e.errors.values()) == e.failures == ERRORS_CAP + 52
    assert len([k for k in e.errors if k[1] != OTHER_MESSAGE]) == ERRORS_CAP


def test_long_error_messages_are_truncated() -> None:
    rec = Recorder(FakeClock())
    rec.slot("p", "s", "r").record(1000, 100.0, error_kind="exception", error_message="x" * 10_000)
    ((kind, message),) = rec.drain().entries[0].errors
    assert kind == "exception"
    assert len(message) <= 256


def test_users_gauge_travels_in_every_batch_and_custom_data_once() -> None:
    rec = Recorder(FakeClock())
    rec.set_users("p", "s", 10)
    rec.set_users("p", "s", 12)
    rec.custom["plugin"] = {"x": 1}
    first = rec.drain()
    assert first.users == {("p", "s"): 12}
    assert first.custom == {"plugin": {"x": 1}}
    second = rec.drain()
    assert second.users == {("p", "s"): 12}
    assert second.custom == {}
    assert not second.is_empty()


# --- Batches on the wire ----------------------------------------------------------------------


def sample_batch() -> StatsBatch:
    clock = FakeClock(0.0)
    rec = Recorder(clock)
    rec.set_phase_origin("warm", 0.0)
    ok = rec.slot("warm", "browse", "GET /", expected_response_time=0.01)
    bad = rec.slot("warm", "api", "POST /x")
    for i in range(50):
        ok.record(1_000_000 + i * 317_000, i * 0.05, 200, nbytes=100)
    bad.record(3_000_000, 0.2, 503, error_kind="http", error_message="HTTP 503")
    bad.record(30_000_000_000, 1.2, None, error_kind="timeout", error_message="timed out after 30s")
    bad.interrupted(2, end=2.0)
    rec.set_users("warm", "browse", 7)
    rec.set_users("warm", "api", 3)
    rec.custom["probe"] = {"rtt_ms": [1.5, 2.5], "ok": True}
    return rec.drain()


def test_batch_roundtrips_through_msgpack() -> None:
    batch = sample_batch()
    back = StatsBatch.from_wire(roundtrip(batch.to_wire()))
    assert back == batch
    # The recorder's hist is the sum of its windows, so it travels as None and stays None decoded.
    assert back.entries[0].hist is None
    assert back.entries[0].whole_hist() == batch.entries[0].hist


def test_delta_whose_hist_is_not_its_windows_sum_roundtrips_too() -> None:
    delta = KeyDelta("p", "s", "r", count=2, hist=hist_of([10, 20]))
    batch = StatsBatch([delta])
    assert StatsBatch.from_wire(roundtrip(batch.to_wire())) == batch


def test_batch_wire_has_only_str_map_keys() -> None:
    def check(obj: Any) -> None:
        if isinstance(obj, dict):
            assert all(isinstance(k, str) for k in obj)
            for v in obj.values():
                check(v)
        elif isinstance(obj, list):
            for v in obj:
                check(v)

    check(sample_batch().to_wire())


def _mutations() -> list[tuple[str, Any]]:
    def entry(**changes: Any) -> Any:
        def apply(w: dict[str, Any]) -> None:
            w["entries"][1].update(changes)

        return apply

    def drop(name: str) -> Any:
        return lambda w: w["entries"][0].pop(name)

    def setitem(path: list[Any], value: Any) -> Any:
        def apply(w: Any) -> None:
            obj = w
            for p in path[:-1]:
                obj = obj[p]
            obj[path[-1]] = value

        return apply

    return [
        ("entries not a list", lambda w: w.update({"entries": "x"})),
        ("missing entries", lambda w: w.pop("entries")),
        ("entry not a map", setitem(["entries", 0], [1, 2])),
        ("count is str", entry(count="3")),
        ("count negative", entry(count=-1)),
        ("count is float", entry(count=3.0)),
        ("count is bool", entry(interrupted=True)),
        ("phase is int", entry(phase=1)),
        ("failures exceed count", entry(failures=99)),
        ("missing request", drop("request")),
        ("missing hist", drop("hist")),
        ("missing windows", drop("windows")),
        ("status not pairs", entry(status=[[200]])),
        ("status code str", entry(status=[["200", 1]])),
        ("status duplicate", entry(status=[[200, 1], [200, 1]])),
        ("errors truncated", entry(errors=[["http", 1]])),
        ("errors message int", entry(errors=[["http", 503, 1]])),
        ("window truncated", setitem(["entries", 1, "windows", 0], [0, 1, 0])),
        ("window second str", setitem(["entries", 1, "windows", 0, 0], "0")),
        ("window failures > count", setitem(["entries", 1, "windows", 0, 2], 5)),
        ("window hist malformed", setitem(["entries", 1, "windows", 0, 3], [1, 2, 3])),
        ("hist malformed", entry(hist=[1, 1, 1, 1, [1, "1"]])),
        ("users truncated", setitem(["users", 0], ["warm", 7])),
        ("users count str", setitem(["users", 0, 2], "7")),
        ("custom not a map", lambda w: w.update({"custom": [1, 2]})),
    ]


@pytest.mark.parametrize("name,mutate", _mutations(), ids=[m[0] for m in _mutations()])
def test_batch_from_wire_rejects_malformed_input(name: str, mutate: Any) -> None:
    wire = roundtrip(sample_batch().to_wire())
    StatsBatch.from_wire(copy.deepcopy(wire))  # the unmutated wire is fine
    mutate(wire)
    with pytest.raises(ValueError):
        StatsBatch.from_wire(wire)


def test_batch_from_wire_rejects_non_maps() -> None:
    for obj in (None, [], "batch", 3):
        with pytest.raises(ValueError):
            StatsBatch.from_wire(obj)


# --- Aggregation ------------------------------------------------------------------------------


def worker_batch(clock_start: float, latencies_ms: list[int], users: int, fail_every: int = 0) -> StatsBatch:
    rec = Recorder(FakeClock(clock_start))
    rec.set_phase_origin("p", 0.0)
    slot = rec.slot("p", "s", "GET /", expected_response_time=0.05)
    for i, ms in enumerate(latencies_ms):
        if fail_every and i % fail_every == 0:
            slot.record(ms * 1_000_000, clock_start + i * 0.1, 500, 0, "http", "HTTP 500")
        else:
            slot.record(ms * 1_000_000, clock_start + i * 0.1, 200, 100)
    rec.set_users("p", "s", users)
    return rec.drain()


def test_two_sources_sum_exactly() -> None:
    a_ms = list(range(1, 41))
    b_ms = list(range(30, 90, 2))
    a = worker_batch(0.0, a_ms, users=5, fail_every=7)
    b = worker_batch(1.0, b_ms, users=3)
    stats = RunStats()
    stats.merge(StatsBatch.from_wire(roundtrip(a.to_wire())), "w1")
    stats.merge(StatsBatch.from_wire(roundtrip(b.to_wire())), "w2")
    t = stats.get("p", "s", "GET /")
    assert t is not None
    ea, eb = a.entries[0], b.entries[0]
    assert t.count == ea.count + eb.count == len(a_ms) + len(b_ms)
    assert t.failures == ea.failures + eb.failures
    assert t.bytes == ea.bytes + eb.bytes
    assert t.status == {200: 34 + 30, 500: 6}
    assert t.errors == {("http", "HTTP 500"): 6}
    assert t.hist == hist_of([ms * 1000 for ms in a_ms + b_ms])
    assert stats.requests_by_source == {"w1": 40, "w2": 30}
    for sec, (n, failures, h) in t.windows.items():
        wa = ea.windows.get(sec, [0, 0, Histogram()])
        wb = eb.windows.get(sec, [0, 0, Histogram()])
        assert n == wa[0] + wb[0]
        assert failures == wa[1] + wb[1]
        expected = wa[2].copy()
        expected.merge(wb[2])
        assert h == expected
    assert sum(w[0] for w in t.windows.values()) == t.count
    assert stats.totals().count == t.count


def test_merging_does_not_alias_the_batch() -> None:
    batch = worker_batch(0.0, [1, 2, 3], users=1)
    stats = RunStats()
    stats.merge(batch, "w1")
    stats.merge(batch, "w1")
    assert batch.entries[0].hist == hist_of([1000, 2000, 3000])
    t = stats.get("p", "s", "GET /")
    assert t is not None and t.hist.count == 6


def test_users_sum_over_sources_and_a_forgotten_source_stops_counting() -> None:
    stats = RunStats()
    stats.merge(worker_batch(0.0, [1], users=5), "w1")
    stats.merge(worker_batch(0.0, [1], users=3), "w2")
    assert stats.users("p", "s") == 8
    stats.merge(worker_batch(1.0, [1], users=4), "w1")  # a newer gauge replaces the old one
    assert stats.users("p", "s") == 7
    stats.forget_users("w2")
    assert stats.users("p", "s") == 4
    assert stats.users("p", "other") == 0
    assert stats.requests_by_source == {"w1": 2, "w2": 1}  # its requests stay counted
    stats.forget_users("never-seen")


def test_totals_by_scenario_phase_and_run() -> None:
    stats = RunStats()
    for phase, scenario, request, ms in [
        ("p1", "a", "r1", 10),
        ("p1", "a", "r2", 20),
        ("p1", "b", "r1", 30),
        ("p2", "a", "r1", 40),
    ]:
        rec = Recorder(FakeClock(0.0))
        rec.slot(phase, scenario, request).record(ms * 1_000_000, 0.5, 200)
        stats.merge(rec.drain(), "w")
    assert stats.keys() == [("p1", "a", "r1"), ("p1", "a", "r2"), ("p1", "b", "r1"), ("p2", "a", "r1")]
    assert stats.get("p3", "a", "r1") is None
    sc = stats.scenario_totals("p1", "a")
    assert (sc.phase, sc.scenario, sc.request, sc.count) == ("p1", "a", "Aggregated", 2)
    assert sc.hist == hist_of([10_000, 20_000])
    ph = stats.phase_totals("p1")
    assert ph.count == 3
    assert ph.windows[0][0] == 3
    run = stats.totals()
    assert run.count == 4
    assert run.hist == hist_of([10_000, 20_000, 30_000, 40_000])
    assert run.windows == {}  # phase-relative seconds do not line up across phases


def test_merge_into_accumulates_totals_into_totals() -> None:
    a = RequestTotals("p", "s", "r", count=2, failures=1, status={200: 1}, hist=hist_of([1, 2]))
    b = RequestTotals("p", "s", "r", count=1, status={200: 1}, errors={("timeout", ""): 1}, hist=hist_of([3]))
    merge_into(a, b)
    assert (a.count, a.failures, a.status, a.errors) == (3, 1, {200: 2}, {("timeout", ""): 1})
    assert a.hist == hist_of([1, 2, 3])


def test_aggregated_errors_stay_capped() -> None:
    stats = RunStats()
    for i in range(ERRORS_CAP + 10):
        stats.merge(StatsBatch([KeyDelta("p", "s", "r", count=1, failures=1, errors={("x", f"m{i}"): 1})]))
    t = stats.get("p", "s", "r")
    assert t is not None
    assert t.errors[("x", OTHER_MESSAGE)] == 10
    assert len(t.errors) == ERRORS_CAP + 1


def test_report_helpers() -> None:
    t = RequestTotals(
        "p",
        "s",
        "r",
        count=6,
        failures=2,
        interrupted=1,
        within_expected=2,
        status={503: 1, 200: 3},
        errors={("http", "HTTP 503"): 1, ("timeout", ""): 3},
        hist=hist_of([1500, 2500, 3500, 4500, 120_000]),
        windows={2: [2, 1, hist_of([1500, 2500])], 0: [4, 1, hist_of([3500, 4500, 120_000])]},
    )
    lat = t.latency_ms()
    assert list(lat) == ["min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max"]
    assert lat["min"] == 1.5
    assert lat["max"] == 120.0
    assert lat["mean"] == 26.4
    assert lat["p50"] == 3.501  # the bucket's highest equivalent value, at µs precision
    assert all(isinstance(v, float) for v in lat.values())
    assert t.errors_list() == [
        {"kind": "timeout", "message": "", "count": 3},
        {"kind": "http", "message": "HTTP 503", "count": 1},
    ]
    assert t.within_expected_ratio() == 2 / 5
    assert t.status_codes() == {"200": 3, "503": 1}
    assert list(t.status_codes()) == ["200", "503"]
    series = t.window_series()
    assert [s["t"] for s in series] == [0, 2]
    # 2500 µs shares a bucket with 2501, but a percentile never exceeds the recorded max
    assert series[1] == {"t": 2, "count": 2, "failures": 1, "p50": 1.5, "p95": 2.5, "p99": 2.5}


def test_empty_totals_report_zeros() -> None:
    t = RunStats().totals()
    assert t.latency_ms() == dict.fromkeys(["min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max"], 0.0)
    assert t.within_expected_ratio() is None
    assert t.errors_list() == []
    assert t.window_series() == []
    only_interrupted = RequestTotals("p", "s", "r", count=2, interrupted=2, windows={0: [2, 0, Histogram()]})
    assert only_interrupted.within_expected_ratio() is None
    assert only_interrupted.window_series() == [{"t": 0, "count": 2, "failures": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0}]


@pytest.mark.parametrize("drop_bits", [1, 3, 6])
def test_coarsening_maps_every_bucket_as_dropping_bits_of_its_lowest_value(drop_bits: int) -> None:
    # Every bucket key there is, each with a count of its own, against the rule computed value by value.
    keys = sorted(
        {bucket_key(v) for v in range(1, 1 << 14)} | {bucket_key(v) for v in range(1 << 14, MAX_VALUE_US, 9973)}
    )
    h = Histogram()
    want: dict[int, int] = {}
    keep = 11 - drop_bits
    for i, key in enumerate(keys):
        v = lowest_equivalent(key)
        for _ in range(i % 3 + 1):
            h.record(v)
        b = v.bit_length() - keep
        coarse = bucket_key((v >> b) << b if b > 0 else v)
        want[coarse] = want.get(coarse, 0) + i % 3 + 1
    c = h.coarsened(drop_bits)
    assert c.counts == want
    assert (c.total, c.min, c.max, c.sum) == (h.total, h.min, h.max, h.sum)
    # It merges like any other (with its exact min and max, it never goes on the wire).
    both = c.copy()
    both.merge(h)
    assert both.total == 2 * h.total and both.counts[keys[0]] == want[keys[0]] + h.counts[keys[0]]


def test_long_run_windows_are_compacted_behind_the_newest_seconds_and_totals_stay_exact() -> None:
    from gradual.stats.aggregate import LIVE_WINDOW_S

    seconds = LIVE_WINDOW_S + 30
    clock = [0.0]
    rec = Recorder(clock=lambda: clock[0])
    rec.set_phase_origin("p", 0.0)
    slot = rec.slot("p", "s", "r")
    stats = RunStats()
    exact: list[int] = []
    per_second: list[list[int]] = []
    for sec in range(seconds):
        values = [5000 + 3 * i + sec for i in range(400)]  # 400 values a second, dense enough to share 2-digit buckets
        per_second.append(values)
        for i, value in enumerate(values):
            exact.append(value)
            slot.record(value * 1000, sec + i / 400)
        stats.merge(StatsBatch.from_wire(rec.drain().to_wire()), source="w1")
    totals = stats.get("p", "s", "r")
    assert totals is not None
    assert totals.count == len(exact) and totals.hist.sum == sum(exact)
    assert totals.hist == hist_of(exact)  # whole-run numbers never come from windows
    # The oldest seconds are rows now, the newest LIVE_WINDOW_S are windows at full precision.
    assert totals.compacted_before() == seconds - LIVE_WINDOW_S == stats.compacted_before("p")
    assert sorted(totals.windows) == list(range(seconds - LIVE_WINDOW_S, seconds))
    assert totals.windows[seconds - 1][2] == hist_of(per_second[-1])
    assert list(totals.rows.sec) == list(range(seconds - LIVE_WINDOW_S))
    # A row's percentiles are its window's at 2 significant digits, as the time series read them.
    for sec in range(seconds - LIVE_WINDOW_S):
        count, failures, hist, pcts = totals.second(sec)
        coarse = hist_of(per_second[sec]).coarsened()
        assert (count, failures, hist) == (400, 0, None)
        assert pcts == tuple(coarse.percentiles((50.0, 95.0, 99.0)))
    want = sorted(per_second[0])[int(0.95 * 400) - 1]
    assert abs(totals.second(0)[3][1] - want) <= want / 128 + 1
    series = totals.window_series()
    assert [p["t"] for p in series] == list(range(seconds)) and sum(p["count"] for p in series) == totals.count


# --- Deferred whole-run histograms: exactness against a plain reference -------------------------
#
# RunStats merges a windows-only entry (hist None on the wire: "the sum of the windows") into the
# windows alone and folds each second into the whole-run histogram once it is sealed. Every number
# read must still be what plainly merging everything would give.


class Reference:
    """The straightforward aggregation: every entry's whole hist and windows summed with Histogram.merge."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.newest: dict[tuple[str, str, str], int] = {}
        self.late: dict[tuple[str, str, str], set[int]] = {}  # compacted seconds that got a late batch

    def note_late(self, stats: RunStats, batch: StatsBatch) -> None:
        """After ``stats`` merged ``batch``: the seconds it brought that are compacted now, maybe before
        the batch came (a late one) or by an entry before them in the batch (a skew between keys)."""
        for e in batch.entries:
            for sec in e.windows:
                if sec < stats.compacted_before(e.phase):
                    self.late.setdefault((e.phase, e.scenario, e.request), set()).add(sec)

    def merge(self, batch: StatsBatch) -> None:
        for e in batch.entries:
            key = (e.phase, e.scenario, e.request)
            r = self.keys.setdefault(key, {"counters": [0, 0, 0, 0, 0], "hist": Histogram(), "windows": {}})
            for i, n in enumerate((e.count, e.failures, e.interrupted, e.within_expected, e.bytes)):
                r["counters"][i] += n
            if e.hist is None:
                for w in e.windows.values():
                    r["hist"].merge(w[2])
            else:
                r["hist"].merge(e.hist)
            for sec, (n, failures, h) in e.windows.items():
                rw = r["windows"].setdefault(sec, [0, 0, Histogram()])
                rw[0] += n
                rw[1] += failures
                rw[2].merge(h)
            if e.windows:
                self.newest[key] = max(self.newest.get(key, -1), *e.windows)

    def sum_of(self, keys: list[tuple[str, str, str]]) -> tuple[list[int], Histogram, dict[int, list[Any]]]:
        counters, hist, windows = [0] * 5, Histogram(), {}
        for key in keys:
            r = self.keys[key]
            counters = [a + b for a, b in zip(counters, r["counters"], strict=True)]
            hist.merge(r["hist"])
            for sec, (n, failures, h) in r["windows"].items():
                w = windows.setdefault(sec, [0, 0, Histogram()])
                w[0] += n
                w[1] += failures
                w[2].merge(h)
        return counters, hist, windows


def same_hist(got: Histogram, want: Histogram) -> None:
    assert (got.total, got.min, got.max, got.sum) == (want.total, want.min, want.max, want.sum)
    assert got.counts == want.counts
    assert got == want


def check_totals(
    t: RequestTotals,
    counters: list[int],
    hist: Histogram,
    windows: dict[int, list[Any]] | None,
    late: set[int] = frozenset(),  # type: ignore[assignment]
) -> None:
    """``windows``: the reference's per-second windows; ``late``: compacted seconds that got a late batch
    after they were compacted (their counts are exact, their percentiles those of compaction time)."""
    assert [t.count, t.failures, t.interrupted, t.within_expected, t.bytes] == counters
    same_hist(t.hist, hist)
    assert t.whole_hist() == hist
    ref = RequestTotals("", "", "", hist=hist.copy())
    assert t.latency_ms() == ref.latency_ms()
    if windows is None:
        assert t.windows == {} and not len(t.rows)
        return
    before = t.compacted_before()
    assert sorted(t.windows) == sorted(s for s in windows if s >= before)
    assert list(t.rows.sec) == sorted(s for s in windows if s < before)
    for sec, (n, failures, h) in windows.items():
        got = t.second(sec)
        assert got is not None and got[:2] == (n, failures)
        if sec >= before:  # a window: exact bucket by bucket
            assert got[2] == h
        else:  # a row: the window's percentiles at 2 significant digits
            assert got[2] is None and t.rows.recorded[t.rows.sec.index(sec)] == h.total
            if sec not in late:
                assert got[3] == (tuple(h.coarsened().percentiles((50.0, 95.0, 99.0))) if h else None)
    assert [s["t"] for s in t.window_series()] == sorted(windows)
    assert [(s["count"], s["failures"]) for s in t.window_series()] == [tuple(windows[s][:2]) for s in sorted(windows)]


def check_all(stats: RunStats, ref: Reference) -> None:
    assert sorted(stats.keys()) == sorted(ref.keys)
    for key, r in ref.keys.items():
        t = stats.get(*key)
        assert t is not None
        check_totals(t, r["counters"], r["hist"], r["windows"], ref.late.get(key, set()))
    counters, hist, _ = ref.sum_of(list(ref.keys))
    check_totals(stats.totals(), counters, hist, None)
    for phase in {k[0] for k in ref.keys}:
        late = {sec for k, secs in ref.late.items() if k[0] == phase for sec in secs}
        counters, hist, windows = ref.sum_of([k for k in ref.keys if k[0] == phase])
        check_totals(stats.phase_totals(phase), counters, hist, windows, late)
        for scenario in {k[1] for k in ref.keys if k[0] == phase}:
            late = {sec for k, secs in ref.late.items() if k[:2] == (phase, scenario) for sec in secs}
            counters, hist, windows = ref.sum_of([k for k in ref.keys if k[:2] == (phase, scenario)])
            check_totals(stats.scenario_totals(phase, scenario), counters, hist, windows, late)


KEYS = [(p, s, r) for p in ("p1", "p2") for s in ("a", "b") for r in ("GET /", "POST /x", "GET /y")]


def random_window(rnd: Any) -> list[Any]:
    top = rnd.choice((2_000, 200_000, MAX_VALUE_US))
    values = [rnd.randint(1, top) for _ in range(rnd.randint(0, 40))]
    interrupted = rnd.randint(0, 2)
    failures = rnd.randint(0, len(values))
    return [len(values) + interrupted, failures, hist_of(values)]


def random_batch(rnd: Any, now: dict[str, int], source: str) -> StatsBatch:
    """A batch of several keys: windows straddling the source's current and next second, sometimes a
    late resend (old seconds, some older than the 120 s full-precision span), jumps ahead, and entries
    carrying an explicit hist (the windows' sum, something else, or with no windows)."""
    roll = rnd.random()
    if roll < 0.05:
        now[source] += rnd.randint(100, 300)  # a long gap: everything older gets coarsened
    elif roll < 0.7:
        now[source] += 1
    entries = []
    for key in rnd.sample(KEYS, rnd.randint(1, 6)):
        sec = now[source]
        kind = rnd.random()
        if kind < 0.1:
            seconds = {max(0, sec - rnd.randint(3, 400))}  # late resend, maybe of a coarsened second
        elif kind < 0.15:
            seconds = set()  # interrupted-only or hist-only entry
        else:
            seconds = {sec, sec + 1} if rnd.random() < 0.7 else {sec}
            if rnd.random() < 0.2:
                seconds.add(max(0, sec - rnd.randint(1, 3)))
        windows = {s: random_window(rnd) for s in seconds}
        count = sum(w[0] for w in windows.values()) + rnd.randint(0, 3)
        failures = min(sum(w[1] for w in windows.values()), count)
        interrupted = rnd.randint(0, count - failures)
        explicit = rnd.random()
        if explicit < 0.15:
            hist = hist_of([rnd.randint(1, 10**7) for _ in range(rnd.randint(0, 20))])  # not the windows' sum
        elif explicit < 0.3 or not windows:
            hist = Histogram()
            for w in windows.values():
                hist.merge(w[2])
        else:
            hist = None
        entries.append(
            KeyDelta(
                *key,
                count=count,
                failures=failures,
                interrupted=interrupted,
                within_expected=rnd.randint(0, count - failures),
                bytes=rnd.randint(0, 10**6),
                status={200: count},
                hist=hist,
                windows=windows,
            )
        )
    return StatsBatch(entries=entries, users={("p1", "a"): rnd.randint(0, 9)})


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.booleans())
def test_deferred_whole_run_hist_equals_plain_merge_of_everything(seed: int, over_the_wire: bool) -> None:
    import random

    rnd = random.Random(seed)  # a seed, not st.randoms(): a run draws far more than hypothesis likes
    stats, ref = RunStats(), Reference()
    now = {f"w{i}": rnd.randint(0, 5) for i in range(3)}
    for _ in range(rnd.randint(20, 120)):
        source = rnd.choice(list(now))
        batch = random_batch(rnd, now, source)
        ref.merge(batch)
        if over_the_wire:
            batch = StatsBatch.from_wire(roundtrip(batch.to_wire()))
        stats.merge(batch, source)
        ref.note_late(stats, batch)
        if rnd.random() < 0.2:  # reads between merges are exact too, and do not disturb what follows
            key = rnd.choice(list(ref.keys))
            t = stats.get(*key)
            assert t is not None
            same_hist(t.hist, ref.keys[key]["hist"])
            assert t.latency_ms() == RequestTotals("", "", "", hist=ref.keys[key]["hist"].copy()).latency_ms()
        if rnd.random() < 0.05:
            check_all(stats, ref)
    check_all(stats, ref)


def test_reading_mid_stream_is_exact_with_windows_still_pending() -> None:
    from gradual.stats.aggregate import SEAL_LAG_S

    stats, ref = RunStats(), Reference()
    rec = Recorder(FakeClock(0.0))
    rec.set_phase_origin("p", 0.0)
    slot = rec.slot("p", "s", "r")
    for step in range(40):
        for i in range(50):
            slot.record((1000 + 37 * i + step) * 1000, step * 0.5 + i / 100, 200)
        batch = StatsBatch.from_wire(roundtrip(rec.drain().to_wire()))
        assert batch.entries[0].hist is None  # the decode did not rebuild it
        ref.merge(batch)
        stats.merge(batch, "w1")
        t = stats.get("p", "s", "r")
        assert t is not None
        assert t._pending and len(t._pending) <= SEAL_LAG_S + 1  # only the newest seconds wait
        same_hist(t.hist, ref.keys[("p", "s", "r")]["hist"])
        assert t.hist is t.hist  # cached until the next merge
        same_hist(stats.totals().hist, ref.keys[("p", "s", "r")]["hist"])
    check_all(stats, ref)


def test_late_resend_of_a_compacted_second_is_folded_at_full_precision() -> None:
    from gradual.stats.aggregate import LIVE_WINDOW_S

    stats, ref = RunStats(), Reference()
    for sec in range(LIVE_WINDOW_S + 20):
        values = [5000 + 3 * i + sec for i in range(300)]
        entry = KeyDelta("p", "s", "r", count=300, hist=None, windows={sec: [300, 0, hist_of(values)]})
        ref.merge(StatsBatch([entry]))
        stats.merge(StatsBatch([entry]), "w1")
    t = stats.get("p", "s", "r")
    assert t is not None
    assert 0 not in t.windows and t.rows.sec[0] == 0  # second 0 was compacted
    before = t.second(0)
    late = KeyDelta("p", "s", "r", count=2, hist=None, windows={0: [2, 0, hist_of([5001, 777_777])]})
    ref.merge(StatsBatch([late]))
    stats.merge(StatsBatch([late]), "w2")
    ref.note_late(stats, StatsBatch([late]))
    same_hist(t.hist, ref.keys[("p", "s", "r")]["hist"])  # bucket for bucket: the late values too
    assert t.hist.counts[bucket_key(5001)] == ref.keys[("p", "s", "r")]["hist"].counts[bucket_key(5001)]
    # The row counts them; its percentiles stay those of the second when it was compacted.
    assert t.second(0) == (302, 0, None, before[3]) and t.rows.recorded[0] == 302
    assert stats.phase_totals("p").second(0)[:2] == stats.scenario_totals("p", "s").second(0)[:2] == (302, 0)
    # A late batch for a compacted second that had no requests yet gets a row of its own, in order.
    lone = KeyDelta("p", "s", "other", count=1, hist=None, windows={3: [1, 1, hist_of([9000])]})
    ref.merge(StatsBatch([lone]))
    stats.merge(StatsBatch([lone]), "w2")
    ref.note_late(stats, StatsBatch([lone]))
    other = stats.get("p", "s", "other")
    assert other is not None and list(other.rows.sec) == [3] and other.second(3) == (1, 1, None, (9000.0,) * 3)
    check_all(stats, ref)


def test_explicit_hist_entries_mix_with_windows_only_entries() -> None:
    stats = RunStats()
    stats.merge(StatsBatch([KeyDelta("p", "s", "r", count=2, hist=None, windows={5: [2, 0, hist_of([10, 20])]})]))
    # An explicit hist that is not its windows' sum (say, a plugin's or an old worker's): it is the
    # whole-run contribution, the windows are the time series only.
    odd = KeyDelta("p", "s", "r", count=1, hist=hist_of([30]), windows={5: [1, 0, hist_of([99])]})
    stats.merge(StatsBatch([odd]))
    stats.merge(StatsBatch([KeyDelta("p", "s", "r", count=1, hist=None, windows={5: [1, 0, hist_of([40])]})]))
    stats.merge(StatsBatch([KeyDelta("p", "s", "r", count=1, hist=hist_of([50]))]))
    t = stats.get("p", "s", "r")
    assert t is not None
    assert t.hist == hist_of([10, 20, 30, 40, 50])
    assert t.windows[5][:2] == [4, 0] and t.windows[5][2] == hist_of([10, 20, 99, 40])
    assert stats.totals().hist == hist_of([10, 20, 30, 40, 50])


def test_keydelta_with_hist_none_is_the_sum_of_its_windows_everywhere() -> None:
    windows = {0: [2, 1, hist_of([10, 20])], 1: [1, 0, hist_of([30])]}
    d = KeyDelta("p", "s", "r", count=3, failures=1, hist=None, windows=windows)
    assert d.whole_hist() == hist_of([10, 20, 30])
    assert d == KeyDelta("p", "s", "r", count=3, failures=1, hist=hist_of([10, 20, 30]), windows=windows)
    assert d != KeyDelta("p", "s", "r", count=3, failures=1, hist=hist_of([10, 20]), windows=windows)
    assert d.to_wire()["hist"] is None
    assert KeyDelta.from_wire(roundtrip(d.to_wire())) == d
    # merge_into: into a plain KeyDelta (hist None stays None while both sides are window sums) ...
    dst = KeyDelta("p", "s", "r", hist=None)
    merge_into(dst, d)
    assert dst.hist is None and dst.whole_hist() == hist_of([10, 20, 30])
    merge_into(dst, KeyDelta("p", "s", "r", count=1, hist=hist_of([40])))
    assert dst.hist == hist_of([10, 20, 30, 40])
    no_windows = KeyDelta("p", "s", "r", hist=hist_of([1]))
    merge_into(no_windows, d, windows=False)
    assert no_windows.hist == hist_of([1, 10, 20, 30]) and no_windows.windows == {}
    # ... and into RequestTotals, with or without windows.
    t = RequestTotals("p", "s", "r")
    merge_into(t, d, windows=False)
    assert t.hist == hist_of([10, 20, 30]) and t.windows == {}
    t2 = RequestTotals("p", "s", "r", hist=None, windows={7: [1, 0, hist_of([5])]})
    assert t2.hist == hist_of([5])
    merge_into(t2, d)
    assert t2.hist == hist_of([5, 10, 20, 30]) and sorted(t2.windows) == [0, 1, 7]
    assert d.whole_hist() == hist_of([10, 20, 30]) and d.hist is None  # src untouched


def test_request_totals_copy_and_pickle_keep_the_whole_hist() -> None:
    import pickle

    stats = RunStats()
    for sec in range(6):
        entry = KeyDelta("p", "s", "r", count=1, hist=None, windows={sec: [1, 0, hist_of([sec + 1])]})
        stats.merge(StatsBatch([entry]))
    t = stats.get("p", "s", "r")
    assert t is not None and t._pending
    want = hist_of([1, 2, 3, 4, 5, 6])
    for clone in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert clone.hist == want and clone == t
        merge_into(clone, KeyDelta("p", "s", "r", count=1, hist=None, windows={5: [1, 0, hist_of([100])]}))
        assert clone.hist == hist_of([1, 2, 3, 4, 5, 6, 100])
    assert t.hist == want
