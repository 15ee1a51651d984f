"""Splitting a scenario's target across workers: largest remainder, stable worker order, weights.

Deterministic so every step gives the same worker the same share: workers are taken in their stable
order, ties in the remainder go to the earlier worker.
"""

from __future__ import annotations

from collections.abc import Sequence


def _weighed(weights: Sequence[tuple[str, float]]) -> tuple[list[tuple[str, float]], float]:
    """``weights`` with a negative one as 0, and their sum; every worker weighs 1 when none weighs more than 0."""
    positive = [(wid, w if w > 0 else 0.0) for wid, w in weights]
    weight_sum = sum(w for _, w in positive)
    if weight_sum <= 0:
        return [(wid, 1.0) for wid, _ in weights], float(len(weights))
    return positive, weight_sum


def split(total: int, weights: Sequence[tuple[str, float]]) -> dict[str, int]:
    """Shares of ``total`` users for ``[(worker_id, weight), ...]``; they add up to ``total``."""
    if not weights:
        return {}
    positive, weight_sum = _weighed(weights)
    exact = [(wid, total * w / weight_sum) for wid, w in positive]
    shares = {wid: int(x) for wid, x in exact}
    left = total - sum(shares.values())
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - int(exact[i][1])), i))
    for i in order[:left]:
        shares[exact[i][0]] += 1
    return shares


def split_rate(rate: float, weights: Sequence[tuple[str, float]]) -> dict[str, tuple[float, float]]:
    """Open model: each worker's (arrivals per second, phase theta) of ``rate``, in proportion to its weight.

    The rates add up to ``rate``. theta is the worker's cumulative share before it, so the workers'
    uniform schedules interleave (with n equal shares, worker i's arrivals fall i/n of a spacing after
    worker 0's: the combined stream is evenly spaced, with no bursts).
    """
    if not weights:
        return {}
    positive, weight_sum = _weighed(weights)
    out: dict[str, tuple[float, float]] = {}
    before = 0.0
    for wid, w in positive:
        out[wid] = (rate * w / weight_sum, min(before / weight_sum, 1.0 - 1e-12))
        before += w
    return out


def offsets(shares: dict[str, int], order: Sequence[str]) -> dict[str, int]:
    """Each worker's first global user index, so round-robin request pinning stays fair cluster-wide."""
    out: dict[str, int] = {}
    start = 0
    for wid in order:
        out[wid] = start
        start += shares.get(wid, 0)
    return out
