"""How the master splits a scenario's users across workers: largest remainder, capacity weights, stable
order (gradual.master.dispatch), and the global user offsets that keep request pinning fair cluster-wide.
"""

from __future__ import annotations

import math

from gradual.master.dispatch import offsets, split
from hypothesis import given
from hypothesis import strategies as st

worker_weights = st.lists(st.floats(min_value=0.0, max_value=8.0, allow_nan=False), min_size=1, max_size=12)


@given(st.integers(min_value=0, max_value=100_000), worker_weights)
def test_shares_add_up_and_each_is_its_exact_share_rounded_down_or_up(total: int, weights: list[float]) -> None:
    pairs = [(f"w{i}", w) for i, w in enumerate(weights)]
    shares = split(total, pairs)
    assert list(shares) == [wid for wid, _ in pairs]
    assert sum(shares.values()) == total
    weight_sum = sum(weights)
    for wid, w in pairs:
        exact = total * w / weight_sum if weight_sum > 0 else total / len(pairs)
        assert math.floor(exact) <= shares[wid] <= math.ceil(exact), (wid, exact, shares)
    assert split(total, pairs) == shares  # the same step gives the same worker the same share


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=12))
def test_equal_workers_differ_by_at_most_one_and_the_earlier_ones_get_the_extra(total: int, n: int) -> None:
    shares = list(split(total, [(f"w{i}", 1.0) for i in range(n)]).values())
    assert shares == sorted(shares, reverse=True)
    assert shares[0] - shares[-1] <= 1


def test_capacity_weights_split_in_proportion() -> None:
    assert split(8, [("small", 1.0), ("big", 3.0)]) == {"small": 2, "big": 6}
    assert split(10, [("a", 1.0), ("b", 1.0), ("c", 2.0)]) == {"a": 3, "b": 2, "c": 5}  # tie: the earlier one
    assert split(5, [("idle", 0.0), ("busy", 1.0)]) == {"idle": 0, "busy": 5}
    assert split(3, [("a", 0.0), ("b", 0.0)]) == {"a": 2, "b": 1}  # no weight anywhere: as if all equal
    assert split(7, []) == {}


@given(st.integers(min_value=0, max_value=1000), worker_weights)
def test_offsets_give_each_worker_its_own_block_of_global_user_numbers(total: int, weights: list[float]) -> None:
    order = [f"w{i}" for i in range(len(weights))]
    shares = split(total, list(zip(order, weights, strict=True)))
    starts = offsets(shares, order)
    users = [u for wid in order for u in range(starts[wid], starts[wid] + shares[wid])]
    assert users == list(range(total))
