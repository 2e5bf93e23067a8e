"""Faults of the frame stream: dropouts, duplicated and swapped frames, timestamp jitter.

All drawn per night (rates in NightParams) from RNGs keyed by the night, so a seed gives
the same faults on every call:

- dropouts: whole frames missing for 1–120 s (log-uniform, so most are short), at
  `dropouts_per_hour`; the truth lists them as (start, end) and they never overlap;
- duplicates: a frame sent twice in a row, with `duplicate_prob` per frame;
- swaps: two adjacent frames sent in reverse order, with `swap_prob` per frame;
- jitter: each frame's timestamp off by uniform ±`jitter_seconds` (the samples inside
  are not moved).
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random

from sleepenv.bed.core.model import EnvelopeFrame
from sleepenv.sim.params import log_uniform
from sleepenv.sim.timeline import poisson

DROPOUT_SECONDS = (1.0, 120.0)
# Dropouts keep this far from the ends of the night and from each other (seconds).
_MARGIN = 10


def draw_dropouts(
    key: str, per_hour: float, start: float, end: float
) -> tuple[tuple[float, float], ...]:
    """Stretches (start, end) of whole seconds without frames."""
    rng = Random(key)
    length = int(end - start)
    spans: list[tuple[int, int]] = []
    for _ in range(poisson(rng, per_hour * length / 3600.0)):
        dur = max(1, min(round(log_uniform(rng, *DROPOUT_SECONDS)), int(DROPOUT_SECONDS[1])))
        if length - dur - 2 * _MARGIN <= 0:
            continue
        a = rng.randrange(_MARGIN, length - dur - _MARGIN)
        if all(a + dur + _MARGIN <= c or d + _MARGIN <= a for c, d in spans):
            spans.append((a, a + dur))
    return tuple((start + a, start + b) for a, b in sorted(spans))


def stream_faults(
    key: str, frames: Iterator[EnvelopeFrame], duplicate_prob: float, swap_prob: float
) -> Iterator[EnvelopeFrame]:
    """`frames` with some sent twice and some adjacent pairs sent in reverse order."""
    rng = Random(key)
    held: EnvelopeFrame | None = None
    for frame in frames:
        if held is not None:
            yield frame
            yield held
            held = None
            continue
        if rng.random() < swap_prob:
            held = frame
            continue
        yield frame
        if rng.random() < duplicate_prob:
            yield frame
    if held is not None:
        yield held
