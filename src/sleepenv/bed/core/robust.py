"""A trailing window of samples with a cheap robust level (median) and spread (MAD).

The detector needs a median and a MAD of the last minute of samples on every frame:
sorting 600 values twice per frame costs ~90 µs, which is too slow for a whole night
in CPython. Keeping a sorted copy up to date (bisect) makes each update O(n) memmove
in C and each query O(log n) in Python.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable

# Multiplying a MAD by this gives a standard deviation for normally distributed noise.
MAD_TO_SIGMA = 1.4826


class TrailingRobustWindow:
    """The most recent `span_seconds` worth of samples, with median and MAD queries."""

    __slots__ = ("_fifo", "_limit", "_seconds", "_sorted", "_span_seconds")

    def __init__(self, span_seconds: float) -> None:
        self._span_seconds = span_seconds
        self._limit = span_seconds + 1e-6
        self._fifo: deque[tuple[float, float]] = deque()
        self._sorted: list[float] = []
        self._seconds = 0.0

    def __len__(self) -> int:
        return len(self._sorted)

    @property
    def seconds(self) -> float:
        """How many seconds of samples the window holds (sum of sample durations)."""
        return self._seconds

    def add(self, value: float, seconds: float) -> None:
        """Append one sample lasting `seconds`, dropping the oldest beyond the span."""
        self.extend(((value, seconds),))

    def extend(self, samples: Iterable[tuple[float, float]]) -> None:
        """Append (value, seconds) samples in order, exactly as `add` one at a time would.

        One call per frame instead of one per sample: the call overhead was a tenth of
        the detector's time. The running sum is updated in the same order as before, so
        the window's `seconds` (and when it is warm) do not change by a rounding.
        """
        fifo = self._fifo
        ordered = self._sorted
        limit = self._limit
        total = self._seconds
        for item in samples:
            fifo.append(item)
            insort(ordered, item[0])
            total += item[1]
            # The tolerance keeps exactly span_seconds of samples (600 x 0.1 s = 60 s)
            # despite float rounding in the running sum.
            while fifo and total > limit:
                old, old_seconds = fifo.popleft()
                del ordered[bisect_left(ordered, old)]
                total -= old_seconds
            if not fifo:
                total = 0.0
        self._seconds = total

    def median(self) -> float:
        """The upper median of the window (0.0 when empty)."""
        if not self._sorted:
            return 0.0
        return self._sorted[len(self._sorted) // 2]

    def quantile(self, q: float) -> float:
        """The value below which a share `q` of the window lies (0.0 when empty)."""
        n = len(self._sorted)
        if n == 0:
            return 0.0
        return self._sorted[min(n - 1, max(0, int(q * n)))]

    def mad(self) -> float:
        """The upper median of absolute deviations from `median()` (0.0 when empty)."""
        n = len(self._sorted)
        if n == 0:
            return 0.0
        return self._kth_deviation(self.median(), n // 2)

    def summary(self, q: float) -> tuple[float, float, float]:
        """`median()`, `mad()` and `quantile(q)` in one call (the thresholds ask for all
        three on every frame)."""
        s = self._sorted
        n = len(s)
        if n == 0:
            return 0.0, 0.0, 0.0
        center = s[n // 2]
        return center, self._kth_deviation(center, n // 2), s[min(n - 1, max(0, int(q * n)))]

    def _kth_deviation(self, center: float, k: int) -> float:
        """The k-th smallest |x - center| (0-based), by selection across two sorted runs.

        Values below `center`, read downwards, and values from `center` up, read upwards,
        are two ascending runs of deviations; the k-th smallest of their union is found
        by binary search on how many come from the lower run.
        """
        s = self._sorted
        split = bisect_left(s, center)
        n_low, n_high = split, len(s) - split
        # low(p) = center - s[split - 1 - p] and high(q) = s[split + q] - center, written
        # out: the two closures' calls were most of a refresh's time.
        take = k + 1
        lo, hi = max(0, take - n_high), min(n_low, take)
        top = split - 1
        while lo < hi:
            a = (lo + hi) // 2
            b = take - a
            if b > 0 and center - s[top - a] < s[split + b - 1] - center:
                lo = a + 1
            else:
                hi = a
        a, b = lo, take - lo
        if a > 0:
            low = center - s[top - a + 1]
            return max(low, s[split + b - 1] - center) if b > 0 else low
        return s[split + b - 1] - center
