"""Turning a night's truth into 10 Hz envelope samples, lazily, one frame per second.

Everything random about the shape of each burst is drawn up front into a RenderPlan;
`synth.render_frames` then only draws per-sample noise, heartbeats and stream faults
from their own RNGs, so every call yields identical frames.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from random import Random

from sleepenv.bed.core.model import MovementClass
from sleepenv.sim.params import NightParams, log_uniform
from sleepenv.sim.ringing import STOP_REL, ring_samples
from sleepenv.sim.truth import PARTNER, SLEEPER, NightTruth, TruthEvent

HZ = 10
# Partner at rest adds this much (times the attenuation) to the resting level, and
# breathes with this amplitude (times the attenuation).
PARTNER_REST_REL = 0.4
PARTNER_BREATH_REL = 0.1
# Each movement's ring level is the night's ratio times this (uniform).
RING_SPREAD = (0.8, 1.2)
# The heartbeat's size is re-drawn by this factor at every posture change.
BCG_POSTURE = (0.5, 1.6)
_TWO_PI = 2.0 * math.pi

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Burst:
    """The envelope shape of one true event: rise, irregular plateau, fall, ringing.

    Sleeper movements rise and fall within the event (fast edges from 0.35 of the level);
    partner movements are low-passed (`lp` > 0: rise 1 − e^(−t/lp) and an exponential
    tail after the offset). The ringing is `ring[j]` on the sample starting at
    ring_t0 + j / 10.
    """

    on: float
    off: float
    amp: float
    rise: float
    fall: float
    mod: tuple[float, float, float, float] | None  # (w1, p1, w2, p2) for long events
    lp: float
    ring_t0: float
    ring: tuple[float, ...]
    end: float  # when the ringing and the tail have died away

    def level(self, ts: float) -> float:
        """Noise-free envelope contribution to the sample [ts, ts + 0.1)."""
        v = 0.0
        lo = self.on if self.on > ts else ts
        hi = self.off if self.off < ts + 0.1 else ts + 0.1
        if hi > lo:
            v = self.amp * math.sqrt((hi - lo) * HZ) * self._shape(ts)
        if ts + 0.1 > self.off:
            j = int((ts - self.ring_t0) * HZ + 0.5)
            if 0 <= j < len(self.ring):
                v += self.ring[j]
            dt = ts + 0.05 - self.off
            if self.lp and dt > 0.0:
                v += self.amp * self._shape(self.off) * math.exp(-dt / self.lp)
        return v

    def _shape(self, ts: float) -> float:
        tm = min(max(ts + 0.05, self.on), self.off)
        u_on, u_off = tm - self.on, self.off - tm
        if self.lp:
            shape = 1.0 - math.exp(-u_on / self.lp)
        else:
            shape = min(1.0, 0.35 + 0.65 * u_on / self.rise, 0.35 + 0.65 * u_off / self.fall)
        if self.mod is not None:
            w1, p1, w2, p2 = self.mod
            shape *= 0.7 + 0.3 * (0.6 * math.sin(w1 * u_on + p1) + 0.4 * math.sin(w2 * u_on + p2))
        return shape


@dataclass(frozen=True, slots=True)
class Posture:
    """Sleeper posture (rotation about the body axis, degrees) over the night."""

    ons: tuple[float, ...]
    segments: tuple[tuple[float, float, float, float], ...]  # (on, off, from_deg, to_deg)

    def angle_at(self, t: float) -> float:
        """Posture angle at time t (0 = empty bed / lying flat)."""
        i = bisect_right(self.ons, t) - 1
        if i < 0:
            return 0.0
        on, off, a, b = self.segments[i]
        if t >= off:
            return b
        return a + (b - a) * (t - on) / (off - on)


def gravity(angle_deg: float, tilt: float) -> tuple[float, float, float]:
    """Unit gravity vector in g for a posture angle and a head-to-foot tilt."""
    c = math.sqrt(1.0 - tilt * tilt)
    rad = math.radians(angle_deg)
    return (tilt, c * math.sin(rad), c * math.cos(rad))


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """Everything needed to synthesise the samples of one night."""

    noise_key: str
    start: float
    n_frames: int
    params: NightParams
    occupied: tuple[Span, ...]  # sleeper in bed (baseline up) during these
    partner: tuple[Span, ...]
    bursts: tuple[Burst, ...]
    posture: Posture
    glitches: tuple[tuple[int, float], ...]  # (sample index, amplitude)
    dropped_frames: frozenset[int]
    bcg_changes: tuple[float, ...] = ()  # posture changes: the heartbeat's size is redrawn
    bcg_factors: tuple[float, ...] = ()

    def is_occupied(self, t: float) -> bool:
        """True while the sleeper's weight is on the bed (between the bouts' midpoints)."""
        return any(a <= t < b for a, b in self.occupied)


def build_plan(rng: Random, noise_key: str, params: NightParams, truth: NightTruth) -> RenderPlan:
    """Draw the burst shapes, postures and artefacts of a night from its truth."""
    start = truth.start
    n_frames = round(truth.end - start)
    bursts = tuple(_burst(rng, params, start, e) for e in truth.events)
    glitches = tuple(
        (round((g - start) * HZ), log_uniform(rng, 3.0, 15.0) * params.base_at(g - start))
        for g in truth.glitches
    )
    dropped = frozenset(
        k for a, b in truth.dropouts for k in range(int(a - start), math.ceil(b - start))
    )
    changes = [e.offset for e in truth.sleeper_events() if e.has_posture_change]
    return RenderPlan(
        noise_key=noise_key,
        start=start,
        n_frames=n_frames,
        params=params,
        occupied=_occupancy(truth.events, SLEEPER),
        partner=_occupancy(truth.events, PARTNER),
        bursts=tuple(sorted(bursts, key=lambda b: b.on)),
        posture=_posture(rng, truth.events),
        glitches=glitches,
        dropped_frames=dropped,
        bcg_changes=tuple(changes),
        bcg_factors=tuple(rng.uniform(*BCG_POSTURE) for _ in changes),
    )


def _burst(rng: Random, params: NightParams, start: float, ev: TruthEvent) -> Burst:
    dur = ev.offset - ev.onset
    mod = None
    if dur > 2.0:
        mod = (
            _TWO_PI * rng.uniform(0.2, 0.6),
            rng.uniform(0.0, _TWO_PI),
            _TWO_PI * rng.uniform(0.7, 1.5),
            rng.uniform(0.0, _TWO_PI),
        )
    base = params.base_at(ev.offset - start)
    ring_level = params.ring_ratio * rng.uniform(*RING_SPREAD) * ev.peak
    tau = params.ring_tau_seconds
    ring_t0, ring = ring_samples(
        ev.offset, start, ring_level, params.ring_hz, tau, params.ring_balance, STOP_REL * base
    )
    lp = params.partner_lp_seconds if ev.side == PARTNER else 0.0
    return Burst(
        on=ev.onset,
        off=ev.offset,
        amp=ev.peak,
        rise=min(0.25, 0.3 * dur),
        fall=min(0.6, 0.3 * dur),
        mod=mod,
        lp=lp,
        ring_t0=ring_t0,
        ring=ring,
        end=max(ring_t0 + len(ring) / HZ, ev.offset + 6.0 * lp),
    )


def _occupancy(events: tuple[TruthEvent, ...], side: str) -> tuple[Span, ...]:
    """From the middle of each getting-in bout to the middle of the next getting-up bout
    (the partner: from the middle of their first event to the middle of their last)."""
    mine = [e for e in events if e.side == side]
    if not mine:
        return ()
    if side == PARTNER:
        first, last = mine[0], mine[-1]
        return (((first.onset + first.offset) / 2.0, (last.onset + last.offset) / 2.0),)
    bouts = [
        (e.onset + e.offset) / 2.0
        for e in mine
        if e.cls is MovementClass.BOUT and e.has_posture_change
    ]
    return tuple(zip(bouts[::2], bouts[1::2], strict=False))


def _posture(rng: Random, events: tuple[TruthEvent, ...]) -> Posture:
    """Rotations by 20–90° on rollovers; from and back to flat on getting in and out."""
    changes = [e for e in events if e.has_posture_change and e.side == SLEEPER]
    segments: list[tuple[float, float, float, float]] = []
    angle = 0.0
    is_in_bed = False
    for ev in changes:
        if ev.cls is MovementClass.BOUT:
            is_in_bed = not is_in_bed
            new = rng.choice((-1.0, 1.0)) * rng.uniform(20.0, 90.0) if is_in_bed else 0.0
        else:
            delta = rng.uniform(20.0, 90.0)
            sign = rng.choice((-1.0, 1.0))
            if abs(angle + sign * delta) > 100.0:
                sign = -sign
            new = angle + sign * delta
        segments.append((ev.onset, ev.offset, angle, new))
        angle = new
    return Posture(tuple(s[0] for s in segments), tuple(segments))
