"""A trailing window of samples with a cheap robust level (median) and spread (MAD).

The detector needs a median and a MAD of the last minute of samples on every frame:
sorting 600 values twice per frame costs ~90 µs, which is too slow for a whole night
in CPython. Keeping a sorted copy up to date (bisect) makes each update O(n) memmove
in C and each query O(log n) in Python.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

# Multiplying a MAD by this gives a standard deviation for normally distributed noise.
MAD_TO_SIGMA = 1.4826


class TrailingRobustWindow:
    """The most recent `span_seconds` worth of samples, with median and MAD queries."""

    __slots__ = ("_fifo", "_seconds", "_sorted", "_span_seconds")

    def __init__(self, span_seconds: float) -> None:
        self._span_seconds = span_seconds
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
        self._fifo.append((value, seconds))
        insort(self._sorted, value)
        self._seconds += seconds
        # The tolerance keeps exactly span_seconds of samples (600 x 0.1 s = 60 s)
        # despite float rounding in the running sum.
        while self._fifo and self._seconds > self._span_seconds + 1e-6:
            old, old_seconds = self._fifo.popleft()
            del self._sorted[bisect_left(self._sorted, old)]
            self._seconds -= old_seconds
        if not self._fifo:
            self._seconds = 0.0

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

    def _kth_deviation(self, center: float, k: int) -> float:
        """The k-th smallest |x - center| (0-based), by selection across two sorted runs.

        Values below `center`, read downwards, and values from `center` up, read upwards,
        are two ascending runs of deviations; the k-th smallest of their union is found
        by binary search on how many come from the lower run.
        """
        s = self._sorted
        split = bisect_left(s, center)
        n_low, n_high = split, len(s) - split

        def low(p: int) -> float:
            return center - s[split - 1 - p]

        def high(q: int) -> float:
            return s[split + q] - center

        take = k + 1
        lo, hi = max(0, take - n_high), min(n_low, take)
        while lo < hi:
            a = (lo + hi) // 2
            b = take - a
            if b > 0 and low(a) < high(b - 1):
                lo = a + 1
            else:
                hi = a
        a, b = lo, take - lo
        candidates = []
        if a > 0:
            candidates.append(low(a - 1))
        if b > 0:
            candidates.append(high(b - 1))
        return max(candidates)
