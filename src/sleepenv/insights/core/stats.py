"""Differences between two groups of nights, with honest uncertainty, in pure Python.

- The p-value comes from a permutation test on the difference of means: exact (every
  split) when the groups are small, else a fixed number of random splits. Under "the
  factor changes nothing" the nights are exchangeable, so the test holds its level
  without assuming any distribution, which matters at 5 to 20 nights.
- The interval is a percentile bootstrap of the same difference (each group resampled
  on its own): it shows how large the difference plausibly is, not whether it exists.
- Many comparisons at once are corrected with Benjamini-Hochberg: when no factor changes
  anything, the chance of reporting any finding stays at the chosen level.

Randomness comes from a small seeded generator (SplitMix64), so the same nights always
give the same numbers and the core reads no clock and no system randomness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb

MASK = (1 << 64) - 1
EXACT_SPLITS = 20_000  # enumerate every split up to this many
RANDOM_SPLITS = 4_000
BOOTSTRAP_SAMPLES = 2_000


class SplitMix64:
    """A tiny, well-known 64-bit generator: deterministic and good enough for resampling."""

    def __init__(self, seed: int) -> None:
        self._state = seed & MASK

    def next(self) -> int:
        """The next 64-bit number."""
        self._state = (self._state + 0x9E3779B97F4A7C15) & MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A number in [0, n)."""
        return self.next() % n


def seed_of(*values: Sequence[float]) -> int:
    """A seed made from the data, so that a report is reproducible."""
    h = 0xCBF29CE484222325
    for group in values:
        for v in (*group, float("nan")):
            for byte in repr(round(v, 6)).encode():
                h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean of a non-empty sequence."""
    return sum(values) / len(values)


@dataclass(frozen=True, slots=True)
class Difference:
    """Mean with minus mean without, its interval and the permutation p-value."""

    difference: float
    low: float
    high: float
    p_value: float
    n_with: int
    n_without: int


def permutation_p(with_: Sequence[float], without: Sequence[float], rng: SplitMix64) -> float:
    """Two-sided p-value of the difference of means under exchangeable nights."""
    pooled = [*with_, *without]
    n, k = len(pooled), len(with_)
    total = sum(pooled)
    observed = abs(_diff_from_sum(sum(with_), total, k, n))
    eps = 1e-9 * max(1.0, observed)
    if comb(n, k) <= EXACT_SPLITS:
        splits = 0
        extreme = 0
        for chosen in combinations(pooled, k):
            splits += 1
            if abs(_diff_from_sum(sum(chosen), total, k, n)) >= observed - eps:
                extreme += 1
        return extreme / splits
    extreme = 0
    for _ in range(RANDOM_SPLITS):
        s = sum(_sample_without_replacement(pooled, k, rng))
        if abs(_diff_from_sum(s, total, k, n)) >= observed - eps:
            extreme += 1
    return (extreme + 1) / (RANDOM_SPLITS + 1)  # the observed split counts as one


def _diff_from_sum(sum_with: float, total: float, k: int, n: int) -> float:
    return sum_with / k - (total - sum_with) / (n - k)


def _sample_without_replacement(pool: list[float], k: int, rng: SplitMix64) -> list[float]:
    items = pool[:]
    for i in range(k):  # a partial Fisher-Yates shuffle
        j = i + rng.below(len(items) - i)
        items[i], items[j] = items[j], items[i]
    return items[:k]


def bootstrap_interval(
    with_: Sequence[float], without: Sequence[float], rng: SplitMix64, level: float = 0.90
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(with) - mean(without)."""
    diffs = sorted(
        _resampled_mean(with_, rng) - _resampled_mean(without, rng)
        for _ in range(BOOTSTRAP_SAMPLES)
    )
    tail = (1.0 - level) / 2.0
    lo = diffs[int(tail * (len(diffs) - 1))]
    hi = diffs[round((1.0 - tail) * (len(diffs) - 1))]
    return lo, hi


def _resampled_mean(values: Sequence[float], rng: SplitMix64) -> float:
    n = len(values)
    return sum(values[rng.below(n)] for _ in range(n)) / n


def compare(with_: Sequence[float], without: Sequence[float], level: float = 0.90) -> Difference:
    """The difference between two non-empty groups, with interval and p-value."""
    if not with_ or not without:
        raise ValueError("both groups need at least one night")
    rng = SplitMix64(seed_of(with_, without))
    lo, hi = bootstrap_interval(with_, without, rng, level)
    return Difference(
        difference=mean(with_) - mean(without),
        low=lo,
        high=hi,
        p_value=permutation_p(with_, without, rng),
        n_with=len(with_),
        n_without=len(without),
    )


def benjamini_hochberg(p_values: Sequence[float], q: float = 0.05) -> list[bool]:
    """Which of the p-values are discoveries at false-discovery rate q."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m = len(p_values)
    cutoff = 0
    for rank, i in enumerate(order, start=1):
        if p_values[i] <= q * rank / m:
            cutoff = rank
    keep = set(order[:cutoff])
    return [i in keep for i in range(m)]
