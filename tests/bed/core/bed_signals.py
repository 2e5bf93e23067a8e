"""Hand-built envelope signals of real-bed situations, for core tests (no simulator).

A night is a list of pieces, each rendered at 10 Hz into one-second EnvelopeFrames:
an empty bed (sensor noise on a floor), a person at rest (breathing, a heartbeat's short
bursts, noise), a partner on the other side (a small, attenuated share of the level and
of their own breathing), and movements (a burst, optionally ringing after it like a spring
mattress: two close damped modes that beat).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from random import Random

from sleepenv.bed.core.model import EnvelopeFrame

HZ = 10
T0 = 1_767_650_400.0  # 2026-01-05 22:00 UTC


@dataclass(frozen=True, slots=True)
class Move:
    """A movement at `at` seconds into the night, `seconds` long, `amp` above rest."""

    at: float
    seconds: float
    amp: float
    ring: float = 0.0  # ring amplitude at the offset, as a fraction of amp
    ring_tau: float = 0.3
    beat_hz: float = 1.5


@dataclass(slots=True)
class Bed:
    """One night: who is in bed when, the resting signal and the movements."""

    seconds: float
    occupied: list[tuple[float, float]] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    level: float = 1.0
    floor: float = 0.2
    noise: float = 0.05
    breath: float = 0.15
    heart: float = 0.0  # heartbeat burst height above rest (0: none)
    drift: float = 0.0  # the level drifts by this fraction over the night
    drift_seconds: float = 0.0  # one wave of the drift lasts this long (0: the night)
    # A partner on the other side of the mattress: while they lie there, they add this
    # share of the level and a faint breathing of their own (a tenth of the share).
    partner: list[tuple[float, float]] = field(default_factory=list)
    partner_share: float = 0.15
    seed: int = 1

    def frames(self) -> Iterator[EnvelopeFrame]:
        """The night's 10 Hz envelope, one frame a second (no frames inside gaps)."""
        rng = Random(self.seed)
        beat = 0.0
        for k in range(int(self.seconds)):
            if any(a <= k < b for a, b in self.gaps):
                continue
            rms = []
            for i in range(HZ):
                t = k + i / HZ
                rms.append(self._sample(t, rng, beat))
                if math.floor(t) != math.floor(t + 1 / HZ):
                    beat = rng.uniform(-0.1, 0.1)
            yield EnvelopeFrame(T0 + k, float(HZ), tuple(rms))

    def _sample(self, t: float, rng: Random, beat: float) -> float:
        wave = self.drift_seconds or self.seconds
        scale = 1.0 + self.drift * math.sin(2 * math.pi * t / wave)
        if any(a <= t < b for a, b in self.occupied):
            x = self.level * scale * (1.0 + self.breath * math.sin(2 * math.pi * 0.25 * t))
            phase = (t + beat) % 1.0
            if self.heart and phase < 0.15:
                x += self.heart * self.level * scale
            x += rng.gauss(0.0, self.noise * self.level * scale)
        else:
            x = self.floor * scale + rng.gauss(0.0, self.noise * self.floor * scale * 1.5)
        if any(a <= t < b for a, b in self.partner):
            share = self.partner_share * self.level * scale
            x += share * (1.0 + 0.1 * math.sin(2 * math.pi * 0.21 * t))
        for m in self.moves:
            if m.at <= t < m.at + m.seconds:
                x += m.amp * self.level * scale
            elif m.ring and 0.0 <= t - (m.at + m.seconds) < 2.0:
                dt = t - (m.at + m.seconds)
                beating = abs(0.5 + 0.5 * math.cos(2 * math.pi * m.beat_hz * dt))
                x += m.amp * m.ring * self.level * math.exp(-dt / m.ring_tau) * beating
        return max(x, 0.001)
