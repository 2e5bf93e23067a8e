"""Per-night physical parameters: bed coupling, noise, breathing, heartbeat, drift.

All levels are in envelope units; `gain` is the resting envelope level of the occupied
bed (baseline 1.0 in baseline units) and differs between beds by 0.3–3×.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from sleepenv.sim.profiles import Profile

# Resting noise sd of the clean sensor, in baseline units; `noisy` multiplies it by 3.
CLEAN_NOISE_REL = (0.05, 0.08)
# Empty-bed floor relative to the occupied baseline, and its noise relative to the floor.
FLOOR_REL = 0.2
FLOOR_NOISE_REL = 0.1
DRIFT_FRACTION = 0.3


@dataclass(frozen=True, slots=True)
class NightParams:
    """The physical constants of one simulated night (useful when debugging a detector)."""

    gain: float
    noise_rel: float
    tail_prob: float
    breath_hz: float
    breath_amp: float
    heart_hz: float
    heart_amp: float
    drift: tuple[tuple[float, float, float], ...]  # (weight, period_seconds, phase)
    head_tilt: float  # x component of gravity while lying (g)
    partner_att: float  # attenuation of partner movements (0 without a partner)
    partner_breath_hz: float

    def drift_factor(self, t_rel: float) -> float:
        """Multiplicative baseline drift (1 ± 0.3) at `t_rel` seconds into the night."""
        total = 0.0
        for weight, period, phase in self.drift:
            total += weight * math.sin(2.0 * math.pi * t_rel / period + phase)
        return 1.0 + DRIFT_FRACTION * total

    def base_at(self, t_rel: float) -> float:
        """Resting envelope level of the occupied bed at `t_rel` seconds into the night."""
        return self.gain * self.drift_factor(t_rel)


def log_uniform(rng: Random, lo: float, hi: float) -> float:
    """A draw uniform in log space between lo and hi."""
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def draw_params(rng: Random, profile: Profile) -> NightParams:
    """Draw the physical constants of one night for a profile."""
    w1 = rng.uniform(0.5, 0.7)
    drift = (
        (w1, rng.uniform(3.0, 8.0) * 3600.0, rng.uniform(0.0, 2.0 * math.pi)),
        (1.0 - w1, rng.uniform(1.0, 3.0) * 3600.0, rng.uniform(0.0, 2.0 * math.pi)),
    )
    return NightParams(
        gain=log_uniform(rng, 0.3, 3.0),
        noise_rel=rng.uniform(*CLEAN_NOISE_REL) * profile.noise_scale,
        tail_prob=profile.tail_prob,
        breath_hz=rng.uniform(0.2, 0.3),
        breath_amp=rng.uniform(0.1, 0.18),
        heart_hz=rng.uniform(0.95, 1.25),
        heart_amp=rng.uniform(0.03, 0.06),
        drift=drift,
        head_tilt=rng.uniform(0.0, 0.04),
        partner_att=rng.uniform(0.2, 0.4) if profile.has_partner else 0.0,
        partner_breath_hz=rng.uniform(0.2, 0.3),
    )
