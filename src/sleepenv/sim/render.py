"""Turning a night's truth into 10 Hz envelope samples, lazily, one frame per second.

Everything random about the shape of each burst is drawn up front into a RenderPlan;
`render_frames` then only draws per-sample noise from its own RNG, so every call
yields identical frames.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from random import Random

from sleepenv.core.model import EnvelopeFrame, MovementClass
from sleepenv.sim.params import FLOOR_REL, NightParams, log_uniform
from sleepenv.sim.truth import PARTNER, SLEEPER, NightTruth, TruthEvent

HZ = 10
# Bursts at least this many baseline units above baseline make the mattress ring.
RING_MIN_REL = 2.5
# Partner at rest adds this much (times the attenuation) to the resting level.
PARTNER_REST_REL = 0.4
_TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class Burst:
    """The envelope shape of one true event: rise, irregular plateau, fall, ringing."""

    on: float
    off: float
    amp: float
    rise: float
    fall: float
    mod: tuple[float, float, float, float] | None  # (w1, p1, w2, p2) for long events
    ring_amp: float
    ring_tau: float
    ring_w: float
    end: float  # when the ringing has died away

    def level(self, ts: float) -> float:
        """Noise-free envelope contribution to the sample [ts, ts + 0.1)."""
        lo = self.on if self.on > ts else ts
        hi = self.off if self.off < ts + 0.1 else ts + 0.1
        if hi > lo:
            tm = min(max(ts + 0.05, self.on), self.off)
            u_on, u_off = tm - self.on, self.off - tm
            shape = min(1.0, 0.35 + 0.65 * u_on / self.rise, 0.35 + 0.65 * u_off / self.fall)
            if self.mod is not None:
                w1, p1, w2, p2 = self.mod
                shape *= 0.7 + 0.3 * (
                    0.6 * math.sin(w1 * u_on + p1) + 0.4 * math.sin(w2 * u_on + p2)
                )
            return self.amp * math.sqrt((hi - lo) * HZ) * shape
        dt = ts + 0.05 - self.off
        if dt >= 0.0 and ts < self.end:
            return (
                self.ring_amp
                * math.exp(-dt / self.ring_tau)
                * (0.5 + 0.5 * math.cos(self.ring_w * dt))
            )
        return 0.0


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
    occupied: tuple[float, float] | None  # sleeper in bed (baseline up) between these
    partner: tuple[float, float] | None
    bursts: tuple[Burst, ...]
    posture: Posture
    glitches: tuple[tuple[int, float], ...]  # (sample index, amplitude)
    dropped_frames: frozenset[int]


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
    rel = ev.peak / params.base_at(ev.onset - start)
    ring_amp = rng.uniform(0.25, 0.4) * ev.peak if rel >= RING_MIN_REL else 0.0
    tau = rng.uniform(0.35, 0.7)
    return Burst(
        on=ev.onset,
        off=ev.offset,
        amp=ev.peak,
        rise=min(0.25, 0.3 * dur),
        fall=min(0.6, 0.3 * dur),
        mod=mod,
        ring_amp=ring_amp,
        ring_tau=tau,
        ring_w=_TWO_PI * rng.uniform(3.0, 6.0),
        end=ev.offset + (5.0 * tau if ring_amp else 0.0),
    )


def _occupancy(events: tuple[TruthEvent, ...], side: str) -> tuple[float, float] | None:
    """From the middle of getting in to the middle of getting up (first/last events)."""
    mine = [e for e in events if e.side == side]
    if not mine:
        return None
    first, last = mine[0], mine[-1]
    return ((first.onset + first.offset) / 2.0, (last.onset + last.offset) / 2.0)


def _posture(rng: Random, events: tuple[TruthEvent, ...]) -> Posture:
    """Rotations by 20–90° on rollovers; from and back to flat on getting in and out."""
    changes = [e for e in events if e.has_posture_change and e.side == SLEEPER]
    segments: list[tuple[float, float, float, float]] = []
    angle = 0.0
    for i, ev in enumerate(changes):
        if i == 0:
            new = rng.choice((-1.0, 1.0)) * rng.uniform(20.0, 90.0)
        elif i == len(changes) - 1 and ev.cls is MovementClass.BOUT:
            new = 0.0
        else:
            delta = rng.uniform(20.0, 90.0)
            sign = rng.choice((-1.0, 1.0))
            if abs(angle + sign * delta) > 100.0:
                sign = -sign
            new = angle + sign * delta
        segments.append((ev.onset, ev.offset, angle, new))
        angle = new
    return Posture(tuple(s[0] for s in segments), tuple(segments))


@dataclass(frozen=True, slots=True)
class _Levels:
    """The resting signal of one second: level, noise sd, oscillator amplitudes."""

    base: float
    level: float
    sd: float
    breath_amp: float
    heart_amp: float
    partner_amp: float
    breath_step: float
    is_occupied: bool


def _levels(plan: RenderPlan, k: int, wobble_phase: float) -> _Levels:
    """Resting levels for frame k (the bed's occupancy, drift, breathing rate)."""
    p = plan.params
    mid = plan.start + k + 0.5
    occ_lo, occ_hi = plan.occupied or (math.inf, math.inf)
    par_lo, par_hi = plan.partner or (math.inf, math.inf)
    is_occ = occ_lo <= mid < occ_hi
    has_partner = par_lo <= mid < par_hi
    base = p.gain * p.drift_factor(k + 0.5)
    level = base if is_occ else base * FLOOR_REL
    rate = p.breath_hz * (1.0 + 0.08 * math.sin(k / 300.0 + wobble_phase))
    return _Levels(
        base=base,
        level=level + (base * p.partner_att * PARTNER_REST_REL if has_partner else 0.0),
        sd=p.noise_rel * (base if is_occ else base * FLOOR_REL * 1.5),
        breath_amp=level * p.breath_amp if is_occ else 0.0,
        heart_amp=level * p.heart_amp if is_occ else 0.0,
        partner_amp=base * p.partner_att * 0.1 if has_partner else 0.0,
        breath_step=_TWO_PI * rate / HZ,
        is_occupied=is_occ,
    )


class _Synth:
    """Per-sample synthesis state: the noise RNG and the oscillators' phases."""

    def __init__(self, plan: RenderPlan) -> None:
        self.rng = Random(plan.noise_key)
        self.tail_prob = plan.params.tail_prob
        self.glitches = dict(plan.glitches)
        self.phases = [self.rng.random() * _TWO_PI for _ in range(3)]
        self.heart_step = _TWO_PI * plan.params.heart_hz / HZ
        self.partner_step = _TWO_PI * plan.params.partner_breath_hz / HZ
        self.wobble_phase = self.rng.random() * _TWO_PI

    def samples(
        self, lv: _Levels, t: float, k: int, active: list[Burst]
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """rms and peak values of the ten samples of frame k starting at t."""
        gauss, rnd, sin, exp = self.rng.gauss, self.rng.random, math.sin, math.exp
        b_ph, h_ph, p_ph = self.phases
        rms: list[float] = []
        peak: list[float] = []
        floor = 0.01 * lv.base * FLOOR_REL
        for i in range(HZ):
            b_ph += lv.breath_step
            h_ph += self.heart_step
            p_ph += self.partner_step
            v = lv.level + lv.breath_amp * sin(b_ph) + lv.heart_amp * sin(h_ph)
            v += lv.partner_amp * sin(p_ph)
            noise = gauss(0.0, lv.sd)
            if self.tail_prob and rnd() < self.tail_prob:
                noise *= 3.0
            v += noise
            r = rnd()
            pk = v * (1.3 + 0.3 * r)
            if active:
                c = sum(b.level(t + i / HZ) for b in active)
                if c > 0.0:
                    c *= exp(gauss(0.0, 0.2))
                    v += c
                    pk += c * (1.6 + 0.8 * r)
            g = self.glitches.get(k * HZ + i) if self.glitches else None
            if g is not None:
                v += g
                pk += 2.5 * g
            v = max(v, floor)
            rms.append(v)
            peak.append(max(pk, v))
        self.phases = [b_ph, h_ph, p_ph]
        return tuple(rms), tuple(peak)

    def gravity(self, plan: RenderPlan, lv: _Levels, t: float) -> tuple[float, float, float]:
        """Mean gravity over the frame: the posture plus a little noise."""
        tilt = plan.params.head_tilt if lv.is_occupied else 0.005
        gx, gy, gz = gravity(plan.posture.angle_at(t), tilt)
        gauss = self.rng.gauss
        return (gx + gauss(0.0, 0.002), gy + gauss(0.0, 0.002), gz + gauss(0.0, 0.002))


def render_frames(plan: RenderPlan) -> Iterator[EnvelopeFrame]:
    """The night's envelope frames: one per second, 10 rms + 10 peak values, gravity."""
    synth = _Synth(plan)
    bursts, n_bursts, bi = plan.bursts, len(plan.bursts), 0
    active: list[Burst] = []
    for k in range(plan.n_frames):
        t = plan.start + k
        while bi < n_bursts and bursts[bi].on < t + 1.0:
            active.append(bursts[bi])
            bi += 1
        if active:
            active = [b for b in active if b.end > t]
        lv = _levels(plan, k, synth.wobble_phase)
        rms, peak = synth.samples(lv, t, k, active)
        if k in plan.dropped_frames:
            continue
        grav = synth.gravity(plan, lv, t + 0.5)
        yield EnvelopeFrame(t=t, hz=float(HZ), rms=rms, peak=peak, gravity=grav)
