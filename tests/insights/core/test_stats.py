"""The statistics of the insights on hand-built groups with known answers."""

from __future__ import annotations

import random
from math import comb

import pytest

from sleepenv.insights.core.stats import (
    RANDOM_SPLITS,
    SplitMix64,
    benjamini_hochberg,
    compare,
    permutation_p,
)


def test_fully_separated_groups_get_the_exact_permutation_p() -> None:
    # Of the 252 ways to pick 5 of 10 nights, only the observed split and its mirror are
    # as extreme: p = 2/252.
    p = permutation_p([10, 11, 12, 13, 14], [0, 1, 2, 3, 4], SplitMix64(1))
    assert p == pytest.approx(2 / comb(10, 5))


def test_identical_groups_show_no_difference() -> None:
    d = compare([3, 3, 3, 3, 3], [3, 3, 3, 3, 3])
    assert d.difference == 0
    assert (d.low, d.high) == (0, 0)
    assert d.p_value == 1.0


def test_a_known_shift_is_measured_and_bracketed() -> None:
    base = [2, 3, 1, 2, 4, 2, 3, 1, 2, 3]
    d = compare([v + 3 for v in base], base)
    assert d.difference == pytest.approx(3.0)
    assert d.low < 3.0 < d.high
    assert d.low > 0  # clearly more with than without
    assert d.p_value < 0.01
    assert (d.n_with, d.n_without) == (10, 10)


def test_the_same_nights_give_the_same_numbers() -> None:
    a, b = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0], [2.0, 2.0, 1.0, 3.0, 0.0]
    assert compare(a, b) == compare(a, b)
    assert compare(a, b) != compare([*a, 7.0], b)


def test_large_groups_use_random_splits_and_stay_valid() -> None:
    rng = random.Random(5)
    with_ = [rng.gauss(0, 1) for _ in range(15)]
    without = [rng.gauss(0, 1) for _ in range(15)]  # comb(30, 15) splits: too many to list
    p = permutation_p(with_, without, SplitMix64(2))
    assert 1 / (RANDOM_SPLITS + 1) <= p <= 1.0
    assert p > 0.01  # no difference was planted


def test_with_no_difference_the_test_rejects_at_most_at_its_level() -> None:
    rng = random.Random(11)
    rejections = 0
    trials = 300
    for _ in range(trials):
        groups = [[float(rng.randint(0, 6)) for _ in range(7)] for _ in range(2)]
        if compare(groups[0], groups[1]).p_value <= 0.05:
            rejections += 1
    assert rejections / trials <= 0.08  # 5 % nominal, with room for 300 trials' noise


def test_an_empty_group_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one night"):
        compare([], [1.0])


@pytest.mark.parametrize(
    ("p_values", "expected"),
    [
        ([0.01, 0.04, 0.03, 0.005], [True, True, True, True]),
        ([0.01, 0.2, 0.03], [True, False, True]),
        ([0.04, 0.5, 0.9], [False, False, False]),
        ([], []),
    ],
)
def test_benjamini_hochberg(p_values: list[float], expected: list[bool]) -> None:
    assert benjamini_hochberg(p_values, q=0.05) == expected
