"""Per-night physical parameters: bed coupling, noise, breathing, heartbeat, drift, ringing.

All levels are in envelope units; `gain` is the resting envelope level of the occupied
bed (baseline 1.0 in baseline units) and differs between beds by 0.3–3×.

Every knob takes exactly one draw from the night's RNG whatever the profile (a uniform
number mapped into the profile's range), so profiles that share a sleeper key stay paired:
the same seed gives the same bed, the same timeline and the same events, and only the
knobs a profile changes differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from sleepenv.sim.profiles import Profile, Range

# Resting noise sd of the clean sensor, in baseline units; `noisy` multiplies it by 3.
CLEAN_NOISE_REL = (0.05, 0.08)
# Attenuation of the partner's movements, heartbeat and breathing at the sensor.
PARTNER_ATT = (0.2, 0.4)
# Time constant of the low-pass the partner's movements go through (rise and fall).
PARTNER_LP_SECONDS = (0.3, 1.0)
# Beat-to-beat variability (sd of the interval, fraction) and beat duration (seconds).
HRV = (0.02, 0.08)
BCG_SECONDS = (0.06, 0.15)
# Balance of the second ringing mode against the first (amplitude ratio).
RING_BALANCE = (0.5, 1.0)

Wave = tuple[float, float, float]  # (weight, period_seconds, phase)


@dataclass(frozen=True, slots=True)
class NightParams:
    """The physical constants of one simulated night (useful when debugging a detector)."""

    gain: float
    noise_rel: float
    tail_prob: float
    breath_hz: float
    breath_amp: float
    drift: tuple[Wave, ...]
    drift_fraction: float  # the resting level moves within 1 ± this
    noise_waves: tuple[Wave, ...]
    noise_drift: float  # the noise sd moves within 1 ± this, independently
    floor_rel: float  # the empty bed's level relative to the occupied resting level
    heart_hz: float
    hrv: float
    bcg_rel: float  # a beat's RMS over one 100 ms sample holding all of it, per level
    bcg_seconds: float
    bcg_breath_depth: float
    ring_hz: tuple[float, float]  # the mattress's two close modes
    ring_tau_seconds: float
    ring_ratio: float  # ring level at the offset per movement amplitude (±20 % per event)
    ring_balance: float  # second mode's amplitude per first mode's
    head_tilt: float  # x component of gravity while lying (g)
    partner_att: float  # attenuation of partner movements (0 without a partner)
    partner_breath_hz: float
    partner_heart_hz: float
    partner_bcg_rel: float  # before the attenuation
    partner_lp_seconds: float
    dropouts_per_hour: float
    duplicate_prob: float
    swap_prob: float
    jitter_seconds: float

    def drift_factor(self, t_rel: float) -> float:
        """Multiplicative baseline drift (1 ± drift_fraction) at `t_rel` s into the night."""
        return 1.0 + self.drift_fraction * _waves(self.drift, t_rel)

    def noise_factor(self, t_rel: float) -> float:
        """Multiplicative drift of the noise sd (1 ± noise_drift) at `t_rel` s."""
        return 1.0 + self.noise_drift * _waves(self.noise_waves, t_rel)

    def base_at(self, t_rel: float) -> float:
        """Resting envelope level of the occupied bed at `t_rel` seconds into the night."""
        return self.gain * self.drift_factor(t_rel)


def _waves(waves: tuple[Wave, ...], t_rel: float) -> float:
    total = 0.0
    for weight, period, phase in waves:
        total += weight * math.sin(2.0 * math.pi * t_rel / period + phase)
    return total


def log_uniform(rng: Random, lo: float, hi: float) -> float:
    """A draw uniform in log space between lo and hi."""
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def pick(rng: Random, span: Range) -> float:
    """One uniform draw mapped into `span` (always exactly one draw, even if lo == hi)."""
    lo, hi = span
    return lo + rng.random() * (hi - lo)


def _two_waves(rng: Random, slow_hours: Range, fast_hours: Range) -> tuple[Wave, ...]:
    w1 = rng.uniform(0.5, 0.7)
    return (
        (w1, pick(rng, slow_hours) * 3600.0, rng.uniform(0.0, 2.0 * math.pi)),
        (1.0 - w1, pick(rng, fast_hours) * 3600.0, rng.uniform(0.0, 2.0 * math.pi)),
    )


def draw_params(rng: Random, profile: Profile) -> NightParams:
    """Draw the physical constants of one night for a profile."""
    drift = _two_waves(rng, profile.drift_hours_slow, profile.drift_hours_fast)
    gain = log_uniform(rng, 0.3, 3.0)
    noise_rel = pick(rng, CLEAN_NOISE_REL) * profile.noise_scale
    breath_hz = rng.uniform(0.2, 0.3)
    breath_amp = rng.uniform(0.1, 0.18)
    head_tilt = rng.uniform(0.0, 0.04)
    partner_att = pick(rng, PARTNER_ATT)
    partner_breath_hz = rng.uniform(0.2, 0.3)
    ring_hz = pick(rng, profile.ring_hz)
    return NightParams(
        gain=gain,
        noise_rel=noise_rel,
        tail_prob=profile.tail_prob,
        breath_hz=breath_hz,
        breath_amp=breath_amp,
        drift=drift,
        drift_fraction=pick(rng, profile.level_drift),
        noise_waves=_two_waves(rng, (2.0, 6.0), (0.5, 2.0)),
        noise_drift=pick(rng, profile.noise_drift),
        floor_rel=pick(rng, profile.floor_rel),
        heart_hz=pick(rng, profile.heart_bpm) / 60.0,
        hrv=pick(rng, HRV),
        bcg_rel=pick(rng, profile.bcg_rel),
        bcg_seconds=pick(rng, BCG_SECONDS),
        bcg_breath_depth=pick(rng, profile.bcg_breath_depth),
        ring_hz=(ring_hz, ring_hz + pick(rng, profile.ring_spacing_hz)),
        ring_tau_seconds=pick(rng, profile.ring_tau_seconds),
        ring_ratio=pick(rng, profile.ring_ratio),
        ring_balance=pick(rng, RING_BALANCE),
        head_tilt=head_tilt,
        partner_att=partner_att if profile.has_partner else 0.0,
        partner_breath_hz=partner_breath_hz,
        partner_heart_hz=pick(rng, profile.heart_bpm) / 60.0,
        partner_bcg_rel=pick(rng, profile.bcg_rel),
        partner_lp_seconds=pick(rng, PARTNER_LP_SECONDS),
        dropouts_per_hour=pick(rng, profile.dropouts_per_hour),
        duplicate_prob=pick(rng, profile.duplicate_prob),
        swap_prob=pick(rng, profile.swap_prob),
        jitter_seconds=pick(rng, profile.jitter_seconds),
    )
