"""Sparse latency histogram with HdrHistogram's bucketing (3 significant digits, 1 µs .. 1 h).

Two forms of the same buckets live side by side. Workers record into a plain dict of bucket -> count
(the per-request path). Everything else works on packed numpy arrays ("parts": sorted uint16 keys and
their counts): on the wire the buckets are two little-endian arrays, a histogram decoded from the wire
keeps them as they are, and merging one appends its parts, so the master merges thousands a second
without a Python operation per bucket. Reading the buckets (percentiles, equality, the wire) first
compacts the dict and every part into one part, in one vectorized pass; so does a merge once parts of
more than COMPACT_SIZE buckets have piled up. A compacted histogram takes about 10 bytes a bucket.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, NoReturn

import numpy as np

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

# Wire form of the buckets: keys as uint16 (MAX_KEY fits), counts in the narrowest of 2, 4 or 8 bytes.
_KEY_DTYPE = np.dtype("<u2")
assert MAX_KEY <= np.iinfo(_KEY_DTYPE).max
_COUNT_DTYPES = {d.itemsize: d for d in (np.dtype("<u2"), np.dtype("<u4"), np.dtype("<u8"))}
# Parts are summed with float64 weights (np.bincount, several times np.add.at's speed): exact while
# the histogram holds fewer than 2**53 counts (beyond, compact() takes the exact np.add.at). A wire
# histogram may not claim more.
MAX_TOTAL = 1 << 53
# A merge compacts once its pending parts hold more buckets than this (bounds memory and latency).
COMPACT_SIZE = 1 << 16
_NO_KEYS = np.zeros(0, _KEY_DTYPE)
_NO_COUNTS = np.zeros(0, np.int64)
_NO_KEYS.flags.writeable = _NO_COUNTS.flags.writeable = False


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

    __slots__ = ("_counts", "_parts", "_size", "total", "min", "max", "sum")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        # Packed (sorted keys, counts) arrays, never written to, so copies share them; None when there
        # are none. One part and an empty dict is the compacted form.
        self._parts: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._size = 0  # buckets in the parts
        self.total = 0
        # 0 while empty, so the wire form and equality need no sentinel values.
        self.min = 0
        self.max = 0
        self.sum = 0

    @property
    def counts(self) -> dict[int, int]:
        """Bucket key -> count, as a new dict (buckets() gives the arrays without building one)."""
        keys, ns = self.buckets()
        return dict(zip(keys.tolist(), ns.tolist(), strict=True))

    def buckets(self) -> tuple[np.ndarray, np.ndarray]:
        """The ascending bucket keys and their counts, as read-only arrays (compacts first)."""
        self.compact()
        return self._parts[0] if self._parts else (_NO_KEYS, _NO_COUNTS)

    def record(self, value_us: int) -> None:
        if value_us < MIN_VALUE_US:
            value_us = MIN_VALUE_US
        elif value_us > MAX_VALUE_US:
            value_us = MAX_VALUE_US
        # Literal 11 (SUB_BUCKET_BITS): a global lookup costs measurable time on this path.
        b = value_us.bit_length() - 11
        key = value_us if b <= 0 else (b << 11) | (value_us >> b)
        counts = self._counts
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
        parts = other._parts
        if parts is not None:
            mine = self._parts
            if mine is None:
                self._parts = list(parts)
            else:
                mine.extend(parts)
            self._size += other._size
        theirs = other._counts
        if theirs:
            counts = self._counts
            if not counts:
                self._counts = dict(theirs)
            else:
                get = counts.get
                for key, n in theirs.items():
                    counts[key] = get(key, 0) + n
        if not self.total:
            self.min = other.min
            self.max = other.max
        else:
            if other.min < self.min:
                self.min = other.min
            if other.max > self.max:
                self.max = other.max
        self.total += other.total
        self.sum += other.sum
        if self._size > COMPACT_SIZE:
            self.compact()

    def compact(self) -> None:
        """Sum the dict and every part into one part (a no-op when already compact)."""
        parts = self._parts
        counts = self._counts
        if counts:
            keys = np.fromiter(counts, np.int64, len(counts))
            order = np.argsort(keys)
            dict_part = (keys[order].astype(_KEY_DTYPE), np.fromiter(counts.values(), np.int64, len(counts))[order])
            parts = [dict_part] if parts is None else [*parts, dict_part]
            self._counts = {}
        elif parts is None or len(parts) == 1:
            return
        if len(parts) == 1:
            keys, ns = parts[0]
        else:
            all_keys = np.concatenate([p[0] for p in parts])
            if self.total < MAX_TOTAL:
                dense = np.bincount(all_keys, weights=np.concatenate([p[1] for p in parts]))
            else:  # float weights would round: the exact (slower) integer sum
                dense = np.zeros(MAX_KEY + 1, np.int64)
                np.add.at(dense, all_keys, np.concatenate([p[1].astype(np.int64) for p in parts]))
            nonzero = np.flatnonzero(dense)
            keys, ns = nonzero.astype(_KEY_DTYPE), dense[nonzero].astype(np.int64)
        keys.flags.writeable = ns.flags.writeable = False
        self._parts = [(keys, ns)]
        self._size = len(keys)

    def compact_over(self, parts: int) -> None:
        """compact() once more than ``parts`` packed parts have piled up. A decoded histogram's part is
        a view into its whole stats batch, so a long-lived histogram merged from many (a whole-run
        total) would otherwise keep every batch's buffer alive until COMPACT_SIZE buckets piled up."""
        if self._parts is not None and len(self._parts) > parts:
            self.compact()

    def coarsened(self, drop_bits: int = 3) -> Histogram:
        """The same values with ``drop_bits`` fewer bits of precision (buckets 2**drop_bits wider).

        Count, min, max and sum stay exact; a percentile moves by at most 1 / 2**(SUB_BUCKET_BITS - 1 -
        drop_bits) of its value (1/128 for the default). The master keeps old per-second windows this
        way, so a long run's memory grows with its length far more slowly.
        """
        h = Histogram()
        h.total, h.min, h.max, h.sum = self.total, self.min, self.max, self.sum
        keys, ns = self.buckets()
        if not len(keys):
            return h
        wide = keys.astype(np.int64)
        # From SUB_BUCKET_COUNT up a key is (exponent, sub-bucket): dropping bits clears the sub-bucket's
        # low bits. Below, a key is its value: a table gives each one's coarser key.
        coarse = np.where(
            wide < SUB_BUCKET_COUNT,
            _coarse_small_keys(drop_bits)[np.minimum(wide, SUB_BUCKET_COUNT - 1)],
            wide & ~((1 << drop_bits) - 1),
        )
        # Coarsening keeps the order, so the keys that merge are neighbours.
        starts = np.flatnonzero(np.concatenate(([True], coarse[1:] != coarse[:-1])))
        out_keys, out_ns = coarse[starts].astype(_KEY_DTYPE), np.add.reduceat(ns.astype(np.int64), starts)
        out_keys.flags.writeable = out_ns.flags.writeable = False
        h._parts = [(out_keys, out_ns)]
        h._size = len(out_keys)
        return h

    def copy(self) -> Histogram:
        h = Histogram()
        h._counts = dict(self._counts)
        h._parts = None if self._parts is None else list(self._parts)
        h._size = self._size
        h.total = self.total
        h.min = self.min
        h.max = self.max
        h.sum = self.sum
        return h

    def to_wire(self) -> list[Any]:
        """[total, min, max, sum, keys, counts]: keys ascending as uint16 little-endian bytes, counts
        as little-endian bytes of 2, 4 or 8 each (the narrowest that fits; the length tells which)."""
        keys, ns = self.buckets()
        top = int(ns.max()) if len(ns) else 0
        width = 2 if top < 1 << 16 else 4 if top < 1 << 32 else 8
        return [
            self.total,
            self.min,
            self.max,
            self.sum,
            keys.astype(_KEY_DTYPE).tobytes(),
            ns.astype(_COUNT_DTYPES[width]).tobytes(),
        ]

    @classmethod
    def from_wire(cls, wire: Any) -> Histogram:
        """Rebuild from to_wire() output; raises ValueError unless every field is consistent.

        The buckets stay packed (one part) until read: decoding builds no dict.
        """
        return cls.from_wire_many((wire,))[0]

    @classmethod
    def from_wire_many(cls, wires: Sequence[Any]) -> list[Histogram]:
        """from_wire() for many histograms (a stats batch's): the bucket arrays of all of them are
        checked together, in a handful of vectorized passes, since per-call overhead dominates.

        Raises WireError (a ValueError) with the index of the first inconsistent histogram found.
        """
        out: list[Histogram] = []
        packed: list[int] = []  # indexes (into wires) of the non-empty histograms
        key_chunks: list[bytes] = []
        count_chunks: list[bytes] = []
        widths: list[int] = []
        for i, wire in enumerate(wires):
            h = cls()
            out.append(h)
            if not isinstance(wire, (list, tuple)) or len(wire) != 6:
                raise WireError(i, "expected [total, min, max, sum, keys, counts]")
            total, lo, hi, sum_, key_bytes, count_bytes = wire
            if type(total) is not int or type(lo) is not int or type(hi) is not int or type(sum_) is not int:
                raise WireError(i, "total, min, max and sum must be ints")
            if type(key_bytes) is not bytes or type(count_bytes) is not bytes:
                raise WireError(i, "keys and counts must be bytes")
            n, odd = divmod(len(key_bytes), _KEY_DTYPE.itemsize)
            width, rest = divmod(len(count_bytes), n) if n else (0, len(count_bytes))
            if odd or rest or (n and width not in _COUNT_DTYPES):
                raise WireError(i, "keys must be 2 bytes each and counts 2, 4 or 8 bytes each")
            if total == 0:
                if n or lo or hi or sum_:
                    raise WireError(i, "empty histogram with buckets or non-zero min/max/sum")
                continue
            if not 0 < total < MAX_TOTAL:
                raise WireError(i, "total out of range")
            if not n:
                raise WireError(i, "total does not match bucket counts")
            if not MIN_VALUE_US <= lo <= hi <= MAX_VALUE_US:
                raise WireError(i, "min/max out of range")
            if not lo * total <= sum_ <= hi * total:
                raise WireError(i, "sum out of range")
            h.total, h.min, h.max, h.sum = total, lo, hi, sum_
            packed.append(i)
            key_chunks.append(key_bytes)
            count_chunks.append(count_bytes)
            widths.append(width)
        if packed:
            _check_and_attach([out[i] for i in packed], packed, key_chunks, count_chunks, widths)
        return out

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
        """Several percentiles with one pass over the buckets; same semantics as percentile()."""
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
            keys, ns = self.buckets()
            # The first bucket whose running count reaches each rank.
            at = np.searchsorted(np.cumsum(ns), [rank for rank, _ in wanted])
            for (_, i), key in zip(wanted, keys[at].tolist(), strict=True):
                out[i] = float(min(max(highest_equivalent(key), lo), hi))
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
            and (
                # Both still plain dicts (a worker's): compare them as they are, without compacting.
                self._counts == other._counts
                if self._parts is None and other._parts is None
                else all(np.array_equal(a, b) for a, b in zip(self.buckets(), other.buckets(), strict=True))
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Histogram(total={self.total}, min={self.min}, max={self.max}, "
            f"mean={self.mean:.1f}, buckets={len(self.buckets()[0])})"
        )


class WireError(ValueError):
    """A wire histogram that is not consistent; `index` is its position in from_wire_many's input."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"histogram: {reason}")
        self.index = index


# Indexed by key >> 10 (any uint16): 0 (keys below 1024), or odd up to MAX_KEY's (bit 10 set: what
# bucket_key makes from 1024 up).
_MADE_BY_BUCKET_KEY = np.zeros(1 << (16 - 10), dtype=bool)
_MADE_BY_BUCKET_KEY[0] = True
_MADE_BY_BUCKET_KEY[1 : (MAX_KEY >> 10) + 1 : 2] = True


def _check_and_attach(
    hists: list[Histogram], indexes: list[int], key_chunks: list[bytes], count_chunks: list[bytes], widths: list[int]
) -> None:
    """Check the bucket arrays of `hists` (their scalars are already checked) in vectorized passes
    over all of them at once, then give each its slice as its one part."""
    keys = np.frombuffer(b"".join(key_chunks), _KEY_DTYPE)
    width = widths[0]
    if widths.count(width) == len(widths):
        counts = np.frombuffer(b"".join(count_chunks), _COUNT_DTYPES[width])
    else:
        width = 8
        counts = np.concatenate([np.frombuffer(c, _COUNT_DTYPES[w]) for c, w in zip(count_chunks, widths, strict=True)])
        counts = counts.astype(_COUNT_DTYPES[8])
    bounds = [0]
    for chunk in key_chunks:
        bounds.append(bounds[-1] + len(chunk) // _KEY_DTYPE.itemsize)
    starts = bounds[:-1]

    def fail(position: int, reason: str) -> NoReturn:
        raise WireError(indexes[bisect_right(bounds, position) - 1], reason)

    if not np.logical_and.reduce(counts):  # unsigned, so: every count >= 1
        fail(int(np.flatnonzero(counts == 0)[0]), "bucket counts must be positive")
    # numpy sums in uint64: exact for 2- and 4-byte counts (at most 44,725 per histogram), not for 8.
    if width == 8:
        sums = [sum(counts[a:b].tolist()) for a, b in zip(starts, bounds[1:], strict=True)]
    else:
        sums = np.add.reduceat(counts, starts).tolist()
    ascending = keys[1:] > keys[:-1]
    ascending[np.array(bounds[1:-1], dtype=np.intp) - 1] = True  # one histogram's last key, the next's first
    if not np.logical_and.reduce(ascending):
        fail(int(np.flatnonzero(~ascending)[0]) + 1, "bucket keys must be strictly ascending")
    firsts = keys[starts].tolist()
    lasts = keys[np.array(bounds[1:], dtype=np.intp) - 1].tolist()
    for j, h in enumerate(hists):
        if sums[j] != h.total:
            fail(starts[j], "total does not match bucket counts")
        if firsts[j] < MIN_VALUE_US or lasts[j] > MAX_KEY:
            fail(starts[j], "bucket key out of range")
        if bucket_key(h.min) != firsts[j] or bucket_key(h.max) != lasts[j]:
            fail(starts[j], "min/max do not match the buckets")
    made = _MADE_BY_BUCKET_KEY[keys >> 10]
    if not np.logical_and.reduce(made):
        fail(int(np.flatnonzero(~made)[0]), "bucket key that no value maps to")
    for j, h in enumerate(hists):
        a, b = starts[j], bounds[j + 1]
        h._parts = [(keys[a:b], counts[a:b])]
        h._size = b - a


@cache
def _coarse_small_keys(drop_bits: int) -> np.ndarray:
    """For every key below SUB_BUCKET_COUNT (each its own value), its key with drop_bits fewer bits."""
    keep = SUB_BUCKET_BITS - drop_bits
    table = np.zeros(SUB_BUCKET_COUNT, np.int64)
    for key in range(1, SUB_BUCKET_COUNT):
        b = key.bit_length() - keep
        table[key] = (key >> b) << b if b > 0 else key
    return table


def merged(histograms: Iterable[Histogram]) -> Histogram:
    """A new histogram holding the sum of `histograms`."""
    out = Histogram()
    for h in histograms:
        out.merge(h)
    return out
