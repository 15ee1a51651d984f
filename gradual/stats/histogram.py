"""Sparse latency histogram with HdrHistogram's bucketing (3 significant digits, 1 µs .. 1 h).

Workers record into it on every request and the master merges thousands of them per second,
so it is a plain dict of bucket -> count rather than HdrHistogram's dense arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

MIN_VALUE_US = 1
MAX_VALUE_US = 3_600_000_000
# HdrHistogram at 3 significant digits uses 2048 sub-buckets, so every bucket is at most 1/1024 wide.
SUB_BUCKET_BITS = 11
SUB_BUCKET_COUNT = 1 << SUB_BUCKET_BITS
_SUB_MASK = SUB_BUCKET_COUNT - 1


def bucket_key(value_us: int) -> int:
    """Bucket key of a value already clamped to [MIN_VALUE_US, MAX_VALUE_US]; keys grow with values."""
    b = value_us.bit_length() - SUB_BUCKET_BITS
    return value_us if b <= 0 else (b << SUB_BUCKET_BITS) | (value_us >> b)


MAX_KEY = bucket_key(MAX_VALUE_US)


def highest_equivalent(key: int) -> int:
    """Largest value that falls into bucket `key`."""
    if key < SUB_BUCKET_COUNT:
        return key
    b = key >> SUB_BUCKET_BITS
    return (((key & _SUB_MASK) + 1) << b) - 1


def lowest_equivalent(key: int) -> int:
    """Smallest value that falls into bucket `key`."""
    if key < SUB_BUCKET_COUNT:
        return key
    b = key >> SUB_BUCKET_BITS
    return (key & _SUB_MASK) << b


class Histogram:
    """Latency histogram in integer microseconds; `sum` keeps the exact total for an exact mean."""

    __slots__ = ("counts", "total", "min", "max", "sum")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0
        # 0 while empty, so the wire form and equality need no sentinel values.
        self.min = 0
        self.max = 0
        self.sum = 0

    def record(self, value_us: int) -> None:
        if value_us < MIN_VALUE_US:
            value_us = MIN_VALUE_US
        elif value_us > MAX_VALUE_US:
            value_us = MAX_VALUE_US
        # Literal 11 (SUB_BUCKET_BITS): a global lookup costs measurable time on this path.
        b = value_us.bit_length() - 11
        key = value_us if b <= 0 else (b << 11) | (value_us >> b)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        self.sum += value_us
        if self.total:
            if value_us < self.min:
                self.min = value_us
            elif value_us > self.max:
                self.max = value_us
        else:
            self.min = self.max = value_us
        self.total += 1

    def merge(self, other: Histogram) -> None:
        if not other.total:
            return
        if not self.total:
            self.counts = dict(other.counts)
            self.min = other.min
            self.max = other.max
        else:
            counts = self.counts
            get = counts.get
            for key, n in other.counts.items():
                counts[key] = get(key, 0) + n
            if other.min < self.min:
                self.min = other.min
            if other.max > self.max:
                self.max = other.max
        self.total += other.total
        self.sum += other.sum

    def merge_wire(self, wire: Any) -> None:
        self.merge(Histogram.from_wire(wire))

    def coarsened(self, drop_bits: int = 3) -> Histogram:
        """The same values with ``drop_bits`` fewer bits of precision (buckets 2**drop_bits wider).

        Count, min, max and sum stay exact; a percentile moves by at most 1 / 2**(SUB_BUCKET_BITS - 1 -
        drop_bits) of its value (1/128 for the default). The master keeps old per-second windows this
        way, so a long run's memory grows with its length far more slowly.
        """
        keep = SUB_BUCKET_BITS - drop_bits
        out: dict[int, int] = {}
        get = out.get
        for key, n in self.counts.items():
            v = lowest_equivalent(key)
            b = v.bit_length() - keep
            if b > 0:
                v = (v >> b) << b
            k = bucket_key(v)
            out[k] = get(k, 0) + n
        h = Histogram()
        h.counts = out
        h.total, h.min, h.max, h.sum = self.total, self.min, self.max, self.sum
        return h

    def copy(self) -> Histogram:
        h = Histogram()
        h.counts = dict(self.counts)
        h.total = self.total
        h.min = self.min
        h.max = self.max
        h.sum = self.sum
        return h

    def to_wire(self) -> list[Any]:
        return [self.total, self.min, self.max, self.sum, list(chain.from_iterable(self.counts.items()))]

    @classmethod
    def from_wire(cls, wire: Any) -> Histogram:
        """Rebuild from to_wire() output; raises ValueError unless every field is consistent."""
        if not isinstance(wire, (list, tuple)) or len(wire) != 5:
            raise ValueError("histogram: expected [total, min, max, sum, buckets]")
        total, lo, hi, sum_, flat = wire
        if type(total) is not int or type(lo) is not int or type(hi) is not int or type(sum_) is not int:
            raise ValueError("histogram: total, min, max and sum must be ints")
        if not isinstance(flat, (list, tuple)) or len(flat) % 2:
            raise ValueError("histogram: buckets must be a flat [key, count, ...] list")
        keys = flat[0::2]
        ns = flat[1::2]
        # The master decodes thousands of these a second: C-level sums stand in for a per-item type
        # check (a float or str anywhere makes a sum a float or raise; a bool is a harmless 0/1).
        try:
            key_sum, total_n = sum(keys), sum(ns)
        except TypeError:
            raise ValueError("histogram: bucket keys and counts must be ints") from None
        if type(key_sum) is not int or type(total_n) is not int:
            raise ValueError("histogram: bucket keys and counts must be ints")
        counts = dict(zip(keys, ns, strict=True))
        if len(counts) != len(keys):
            raise ValueError("histogram: duplicate bucket key")
        if ns and min(ns) < 1:
            raise ValueError("histogram: bucket counts must be positive")
        if total_n != total:
            raise ValueError("histogram: total does not match bucket counts")
        lowest = min(keys) if keys else 0
        highest = max(keys) if keys else 0
        # Range only: testing each key for the gaps record() never produces costs more than the rest
        # of the decode, and a key in a gap only shifts a percentile that is clamped into [min, max].
        if keys and (lowest < MIN_VALUE_US or highest > MAX_KEY):
            raise ValueError("histogram: bucket key out of range")
        if total == 0:
            if lo or hi or sum_:
                raise ValueError("histogram: empty histogram with non-zero min/max/sum")
        else:
            if not MIN_VALUE_US <= lo <= hi <= MAX_VALUE_US:
                raise ValueError("histogram: min/max out of range")
            if bucket_key(lo) != lowest or bucket_key(hi) != highest:
                raise ValueError("histogram: min/max do not match the buckets")
            if not lo * total <= sum_ <= hi * total:
                raise ValueError("histogram: sum out of range")
        h = cls()
        h.counts = counts
        h.total = total
        h.min = lo
        h.max = hi
        h.sum = sum_
        return h

    @property
    def count(self) -> int:
        return self.total

    @property
    def mean(self) -> float:
        return self.sum / self.total if self.total else 0.0

    def percentile(self, p: float) -> float:
        """Value at percentile p (0..100), HdrHistogram-style, clamped into [min, max]."""
        return self.percentiles((p,))[0]

    def percentiles(self, ps: Sequence[float]) -> list[float]:
        """Several percentiles with one sort of the buckets; same semantics as percentile()."""
        for p in ps:
            if not 0.0 <= p <= 100.0:
                raise ValueError(f"percentile must be within 0..100, got {p!r}")
        if not self.total:
            return [0.0] * len(ps)
        lo, hi, total = self.min, self.max, self.total
        out = [0.0] * len(ps)
        # Ranks as HdrHistogram computes them: nearest rank (ceil), after stepping p down one ulp
        # so that float round-off on an exact rank (e.g. 50% of 2) cannot push it to the next one.
        wanted: list[tuple[int, int]] = []
        for i, p in enumerate(ps):
            if p <= 0.0:
                out[i] = float(lo)
            elif p >= 100.0:
                out[i] = float(hi)
            else:
                rank = max(1, math.ceil(math.nextafter(p, -math.inf) / 100.0 * total))
                wanted.append((rank, i))
        if wanted:
            wanted.sort()
            j = 0
            seen = 0
            counts = self.counts
            for key in sorted(counts):
                seen += counts[key]
                while j < len(wanted) and wanted[j][0] <= seen:
                    value = highest_equivalent(key)
                    out[wanted[j][1]] = float(min(max(value, lo), hi))
                    j += 1
                if j == len(wanted):
                    break
        return out

    def __bool__(self) -> bool:
        return self.total > 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (
            self.total == other.total
            and self.min == other.min
            and self.max == other.max
            and self.sum == other.sum
            and self.counts == other.counts
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Histogram(total={self.total}, min={self.min}, max={self.max}, "
            f"mean={self.mean:.1f}, buckets={len(self.counts)})"
        )


def merged(histograms: Iterable[Histogram]) -> Histogram:
    """A new histogram holding the sum of `histograms`."""
    out = Histogram()
    for h in histograms:
        out.merge(h)
    return out
