"""Breathing evidence from the quiet stretches of an envelope (pure).

Quiet samples are gathered in one-second bins; breathing makes the bins' means wander
far more than sensor noise alone would, so the robust variance of those means over what
white noise would give them tells an occupied, breathing bed from an empty one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from sleepenv.bed.core.robust import MAD_TO_SIGMA

# A normal distribution's median absolute successive difference, in units of its sd.
_MEDIAN_ABS_DIFF_TO_SIGMA = 0.9539


def median(values: list[float]) -> float:
    """The middle value (the upper one of the two for an even count)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def rhythm_ratio(means: list[float], diffs: list[float], samples_per_bin: float) -> float | None:
    """Breathing evidence: the robust variance of one-second means over the variance
    white noise would give them (sample-to-sample noise / samples per bin).

    About 1 on an empty bed (only sensor noise), well above it with a breathing person;
    robust to heartbeat spikes and single glitches. None without enough data.
    """
    if len(means) < 3 or not diffs or samples_per_bin <= 0.0:
        return None
    center = median(means)
    spread = median([abs(m - center) for m in means]) * MAD_TO_SIGMA
    sigma = median(diffs) / _MEDIAN_ABS_DIFF_TO_SIGMA
    white = sigma * sigma / samples_per_bin
    if white <= 0.0:
        return None
    return min(spread * spread / white, 1e6)


class RestBins:
    """One-second bins of quiet samples: the open bin's values, then each closed bin's
    mean and successive differences until they are taken."""

    def __init__(self) -> None:
        self._key: int | None = None
        self._values: list[float] = []
        self._means: list[float] = []
        self._diffs: list[float] = []
        self._samples = 0

    def add(self, values: Sequence[float], t0: float, hz: float, end: float) -> None:
        """Quiet samples from `t0` at `hz` (all finite), of a frame ending at `end`."""
        key = math.floor(t0)
        if key == math.floor(end - 0.5 / hz):
            if key != self._key:
                self._close()
                self._key = key
            self._values += values
        else:  # a frame across a second boundary: sample by sample
            for i, x in enumerate(values):
                k = math.floor(t0 + i / hz)
                if k != self._key:
                    self._close()
                    self._key = k
                self._values.append(x)

    def drop_open_bin(self) -> None:
        """Forget the bin being filled (the data jumped): closed bins are kept."""
        self._values, self._key = [], None

    def take(self, min_bins: int) -> float | None:
        """The evidence of the bins closed since the last call (see rhythm_ratio)."""
        means, diffs, samples = self._means, self._diffs, self._samples
        self._means, self._diffs, self._samples = [], [], 0
        if len(means) < min_bins:
            return None
        return rhythm_ratio(means, diffs, samples / len(means))

    def _close(self) -> None:
        values = self._values
        if len(values) >= 3:
            self._means.append(sum(values) / len(values))
            self._diffs += [abs(b - a) for a, b in pairwise(values)]
            self._samples += len(values)
        self._values = []
