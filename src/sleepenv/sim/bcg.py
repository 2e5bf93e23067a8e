"""The heartbeat as it shows in a 10 Hz envelope (ballistocardiogram, BCG).

Each beat is a short 5–8 Hz burst (Hann-shaped, `bcg_seconds` 0.06–0.15 s long). Its
energy is split over the 100 ms samples it overlaps, so a beat lands on one or two
samples: the RMS of a sample holding the whole beat is the beat's amplitude, and a
sample holding a fraction f of its energy carries sqrt(f) of it. The carrier itself
averages out within a sample and is not rendered.

Beat intervals are 1 / heart rate × (1 + hrv · z), z near-normal with sd 1 and hrv
0.02–0.08; the amplitude is modulated by breathing (× 1 + depth · sin(breathing phase),
depth 0.2–0.6) and re-drawn ×0.5–1.6 at every posture change of the sleeper.
"""

from __future__ import annotations

import math
from random import Random

HZ = 10
# Shortest interval relative to the mean one (keeps an extreme draw physiological).
MIN_INTERVAL_REL = 0.6
_TWO_PI = 2.0 * math.pi


def energy_before(x: float) -> float:
    """Fraction of a Hann-shaped burst's energy (sin⁴ envelope) in its first x of 0..1."""
    return (
        x
        - 2.0 * math.sin(_TWO_PI * x) / (3.0 * math.pi)
        + math.sin(2.0 * _TWO_PI * x) / (12.0 * math.pi)
    )


# Beat starts are placed on a grid of 1/STEPS of a sample (2 ms) when spread.
STEPS = 50


def shares(x: float, seconds: float) -> tuple[float, ...]:
    """The square root of the energy share of each 0.1 s sample a beat starting x (0 ≤ x < 0.1)
    seconds into the first of them covers."""
    out: list[float] = []
    i, done, prev = 0, 0.0, 0.0
    while done < seconds:
        upto = min(seconds, (i + 1) / HZ - x)
        cum = energy_before(upto / seconds)
        out.append(math.sqrt(max(0.0, cum - prev)))
        prev, done = cum, upto
        i += 1
    return tuple(out)


def share_table(seconds: float) -> tuple[tuple[float, ...], ...]:
    """`shares` for each of the STEPS start positions within a sample."""
    return tuple(shares((q + 0.5) / (STEPS * HZ), seconds) for q in range(STEPS))


def spread(buf: list[float], x: float, table: tuple[tuple[float, ...], ...], amp: float) -> None:
    """Add a beat starting `x` seconds into `buf` (0.1 s per slot) to the slots it covers."""
    pos = x * HZ
    i = int(pos)
    for j, share in enumerate(table[int((pos - i) * STEPS)], i):
        buf[j] += amp * share


class Heart:
    """One heart's beat times, drawn on the fly from its own RNG (so they never depend on
    what else is rendered)."""

    __slots__ = ("hrv", "next_beat", "period", "rng")

    def __init__(self, key: str, hz: float, hrv: float, start: float) -> None:
        self.rng = Random(key)
        self.period = 1.0 / hz
        self.hrv = hrv
        self.next_beat = start + self.rng.random() * self.period

    def beats_before(self, t_end: float) -> list[float]:
        """The beats not yet returned that start before `t_end`."""
        out: list[float] = []
        rnd = self.rng.random
        while self.next_beat < t_end:
            out.append(self.next_beat)
            # sum of three uniforms: near-normal with sd 1 after the scaling, and cheap
            z = 2.0 * (rnd() + rnd() + rnd() - 1.5)
            self.next_beat += self.period * max(MIN_INTERVAL_REL, 1.0 + self.hrv * z)
        return out
