"""Per-sample synthesis of a night's envelope frames from its RenderPlan.

Per 100 ms sample: the resting level (occupied: drifting base; empty: base × floor_rel),
breathing, the heartbeats (sleeper and partner, see bcg.py), Gaussian noise whose sd
drifts independently of the level, the bursts and their ringing (×exp(N(0, 0.2))), and
glitches. Frames then go through the stream faults (stream.py).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from random import Random

from sleepenv.bed.core.model import EnvelopeFrame
from sleepenv.sim.bcg import Heart, share_table, spread
from sleepenv.sim.render import (
    HZ,
    PARTNER_BREATH_REL,
    PARTNER_REST_REL,
    Burst,
    RenderPlan,
    gravity,
)
from sleepenv.sim.stream import stream_faults

_TWO_PI = 2.0 * math.pi
# Slots of the heartbeat buffer: one frame plus what a beat late in it spills over.
_BUF = 2 * HZ


@dataclass(slots=True)
class _Levels:
    """The resting signal of one second: level, noise sd, oscillator amplitudes."""

    base: float
    level: float
    sd: float
    breath_amp: float
    partner_amp: float
    breath_step: float
    is_occupied: bool
    has_partner: bool


def _levels(plan: RenderPlan, k: int, wobble_phase: float) -> _Levels:
    """Resting levels for frame k (the bed's occupancy, drift, breathing rate)."""
    p = plan.params
    mid = plan.start + k + 0.5
    is_occ = plan.is_occupied(mid)
    has_partner = any(a <= mid < b for a, b in plan.partner)
    base = p.gain * p.drift_factor(k + 0.5)
    level = base if is_occ else base * p.floor_rel
    rate = p.breath_hz * (1.0 + 0.08 * math.sin(k / 300.0 + wobble_phase))
    sd = p.noise_rel * p.noise_factor(k + 0.5) * (level if is_occ else level * 1.5)
    return _Levels(
        base=base,
        level=level + (base * p.partner_att * PARTNER_REST_REL if has_partner else 0.0),
        sd=sd,
        breath_amp=level * p.breath_amp if is_occ else 0.0,
        partner_amp=base * p.partner_att * PARTNER_BREATH_REL if has_partner else 0.0,
        breath_step=_TWO_PI * rate / HZ,
        is_occupied=is_occ,
        has_partner=has_partner,
    )


class _Synth:
    """Per-sample synthesis state: the noise RNG, the hearts and the breathing phases."""

    def __init__(self, plan: RenderPlan) -> None:
        p = plan.params
        self.plan = plan
        self.rng = Random(plan.noise_key)
        self.tail_prob = p.tail_prob
        self.glitches = dict(plan.glitches)
        self.b_ph = self.rng.random() * _TWO_PI
        self.p_ph = self.rng.random() * _TWO_PI
        self.partner_step = _TWO_PI * p.partner_breath_hz / HZ
        self.wobble_phase = self.rng.random() * _TWO_PI
        self.heart = Heart(plan.noise_key + ":heart", p.heart_hz, p.hrv, plan.start)
        self.partner_heart = Heart(
            plan.noise_key + ":partner-heart", p.partner_heart_hz, p.hrv, plan.start
        )
        self.buf = [0.0] * _BUF
        self.table = share_table(p.bcg_seconds)

    def heartbeats(self, lv: _Levels, t: float) -> list[float]:
        """The heartbeats' contribution to the ten samples of the frame starting at t."""
        p, plan, buf = self.plan.params, self.plan, self.buf
        table = self.table
        beats = self.heart.beats_before(t + 1.0)
        if lv.is_occupied and p.bcg_rel > 0.0:
            for tb in beats:
                i = bisect_right(plan.bcg_changes, tb) - 1
                size = plan.bcg_factors[i] if i >= 0 else 1.0
                x = tb - t
                phase = self.b_ph + (x * HZ + 1.0) * lv.breath_step
                amp = p.bcg_rel * lv.base * size * (1.0 + p.bcg_breath_depth * math.sin(phase))
                spread(buf, x, table, amp)
        if plan.partner:
            beats = self.partner_heart.beats_before(t + 1.0)
            if lv.has_partner:
                scale = p.partner_bcg_rel * p.partner_att * lv.base
                for tb in beats:
                    x = tb - t
                    phase = self.p_ph + (x * HZ + 1.0) * self.partner_step
                    spread(buf, x, table, scale * (1.0 + p.bcg_breath_depth * math.sin(phase)))
        self.buf = buf[HZ:] + [0.0] * HZ
        return buf

    def samples(
        self, lv: _Levels, t: float, k: int, active: list[Burst], bcg: list[float]
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The rms and peak values of the ten samples of frame k starting at t."""
        gauss, rnd, sin, exp = self.rng.gauss, self.rng.random, math.sin, math.exp
        b_ph, p_ph = self.b_ph, self.p_ph
        b_step, p_step = lv.breath_step, self.partner_step
        level, breath_amp, partner_amp, sd = lv.level, lv.breath_amp, lv.partner_amp, lv.sd
        tail_prob, glitches = self.tail_prob, self.glitches
        rms: list[float] = []
        peak: list[float] = []
        floor = 0.01 * lv.base * self.plan.params.floor_rel
        for i in range(HZ):
            b_ph += b_step
            noise = gauss(0.0, sd)
            if tail_prob and rnd() < tail_prob:
                noise *= 3.0
            v = level + breath_amp * sin(b_ph) + bcg[i] + noise
            if partner_amp:
                p_ph += p_step
                v += partner_amp * sin(p_ph)
            r = rnd()
            pk = v * (1.3 + 0.3 * r)
            if active:
                c = sum(b.level(t + i / HZ) for b in active)
                if c > 0.0:
                    c *= exp(gauss(0.0, 0.2))
                    v += c
                    pk += c * (1.6 + 0.8 * r)
            if glitches:
                g = glitches.get(k * HZ + i)
                if g is not None:
                    v += g
                    pk += 2.5 * g
            v = max(v, floor)
            rms.append(v)
            peak.append(pk if pk > v else v)
        self.b_ph, self.p_ph = b_ph, p_ph + (0.0 if partner_amp else HZ * p_step)
        return tuple(rms), tuple(peak)

    def gravity(self, lv: _Levels, t: float) -> tuple[float, float, float]:
        """Mean gravity over the frame: the posture plus a little noise."""
        tilt = self.plan.params.head_tilt if lv.is_occupied else 0.005
        gx, gy, gz = gravity(self.plan.posture.angle_at(t), tilt)
        gauss = self.rng.gauss
        return (gx + gauss(0.0, 0.002), gy + gauss(0.0, 0.002), gz + gauss(0.0, 0.002))


def _frames(plan: RenderPlan) -> Iterator[EnvelopeFrame]:
    """The frames without stream faults other than dropouts and jitter."""
    synth = _Synth(plan)
    jitter_rng = Random(plan.noise_key + ":jitter")
    jitter = plan.params.jitter_seconds
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
        bcg = synth.heartbeats(lv, t)
        rms, peak = synth.samples(lv, t, k, active, bcg)
        if k in plan.dropped_frames:
            continue
        grav = synth.gravity(lv, t + 0.5)
        ts = t + jitter_rng.uniform(-jitter, jitter) if jitter else t
        yield EnvelopeFrame(t=ts, hz=float(HZ), rms=rms, peak=peak, gravity=grav)


def render_frames(plan: RenderPlan) -> Iterator[EnvelopeFrame]:
    """The night's envelope frames: one per second, 10 rms + 10 peak values, gravity; with
    the night's dropouts, jitter, duplicated and swapped frames."""
    p = plan.params
    return stream_faults(plan.noise_key + ":stream", _frames(plan), p.duplicate_prob, p.swap_prob)
