"""The physics of real beds: heartbeat, drift, ringing, partner; knobs drawn per night."""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics

import pytest

from sleepenv.bed.core.model import MovementClass
from sleepenv.sim import PROFILES, SimNight, generate_night
from sleepenv.sim.params import NightParams
from sleepenv.sim.profiles import Profile
from sleepenv.sim.ringing import ring_samples
from sleepenv.sim.synth import render_frames

SEEDS = range(40)
EXTREMES = ("ringing", "drift", "bcg_strong")


def rest_samples(night: SimNight, lo: float, hi: float) -> list[float]:
    """The rms values of the samples in [lo, hi), in time order, at nominal times."""
    start = night.truth.start
    by_second = {round(f.t - start): f for f in night.frames()}
    return [
        v
        for k, f in sorted(by_second.items())
        for i, v in enumerate(f.rms)
        if lo <= start + k + i / 10 < hi
    ]


def acf(xs: list[float], lag: int) -> float:
    """Autocorrelation of xs at `lag` samples."""
    m = statistics.fmean(xs)
    d = [x - m for x in xs]
    return sum(d[i] * d[i + lag] for i in range(len(d) - lag)) / sum(x * x for x in d)


def high_pass(xs: list[float], half: int = 5) -> list[float]:
    """The xs minus their centred moving average over 1.1 s (removes breathing and drift)."""
    return [
        xs[i] - statistics.fmean(xs[i - half : i + half + 1]) for i in range(half, len(xs) - half)
    ]


def beat_acf(xs: list[float], heart_hz: float) -> tuple[float, float]:
    """(autocorrelation at the beat period, at half of it) of high-passed samples."""
    hp = high_pass(xs)
    lag = 10.0 / heart_hz
    at_beat = max(acf(hp, math.floor(lag)), acf(hp, math.ceil(lag)))
    return at_beat, acf(hp, max(1, round(lag / 2.0)))


def within(value: float, span: tuple[float, float]) -> bool:
    lo, hi = span
    return lo - 1e-9 <= value <= hi + 1e-9


def check_ranges(p: NightParams, prof: Profile) -> None:
    assert within(p.drift_fraction, prof.level_drift)
    assert within(p.noise_drift, prof.noise_drift)
    assert within(p.floor_rel, prof.floor_rel)
    assert within(p.heart_hz * 60.0, prof.heart_bpm)
    assert within(p.partner_heart_hz * 60.0, prof.heart_bpm)
    assert within(p.bcg_rel, prof.bcg_rel)
    assert within(p.bcg_breath_depth, prof.bcg_breath_depth)
    assert 0.06 <= p.bcg_seconds <= 0.15
    assert within(p.ring_hz[0], prof.ring_hz)
    assert within(p.ring_hz[1] - p.ring_hz[0], prof.ring_spacing_hz)
    assert within(p.ring_tau_seconds, prof.ring_tau_seconds)
    assert within(p.ring_ratio, prof.ring_ratio)
    assert 0.3 <= p.partner_lp_seconds <= 1.0
    assert within(p.dropouts_per_hour, prof.dropouts_per_hour)
    assert within(p.duplicate_prob, prof.duplicate_prob)
    assert within(p.swap_prob, prof.swap_prob)
    assert 0.0 <= p.jitter_seconds <= 0.025
    waves = [w for w, _, _ in p.drift]
    assert sum(waves) == pytest.approx(1.0)
    slow, fast = (period / 3600.0 for _, period, _ in p.drift)
    assert within(slow, prof.drift_hours_slow)
    assert within(fast, prof.drift_hours_fast)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_knob_stays_in_its_range_and_spans_it(profile: str) -> None:
    prof = PROFILES[profile]
    params = [generate_night(s, profile, hours=0.5).params for s in SEEDS]
    for p in params:
        check_ranges(p, prof)
    # the draws really spread over the range, night after night
    for name, span in (
        ("floor_rel", prof.floor_rel),
        ("bcg_rel", prof.bcg_rel),
        ("ring_tau_seconds", prof.ring_tau_seconds),
        ("drift_fraction", prof.level_drift),
    ):
        values = [float(getattr(p, name)) for p in params]
        assert max(values) - min(values) > 0.6 * (span[1] - span[0])


def test_randomised_ranges_are_wider_than_real_beds() -> None:
    """Real beds (docs/sleep-science.md): the ordinary profiles cover those ranges and more."""
    clean = PROFILES["clean"]
    known = {
        "heart_bpm": (45.0, 80.0),
        "ring_hz": (4.0, 8.0),
        "ring_tau_seconds": (0.1, 0.3),
        "noise_drift": (0.2, 0.3),
    }
    for name, (lo, hi) in known.items():
        wide_lo, wide_hi = getattr(clean, name)
        assert wide_lo < lo
        assert hi < wide_hi
    for name in ("clean", "noisy", "plm_heavy", "partner", "restless_onset", "zigbee"):
        prof = PROFILES[name]
        assert prof.bcg_rel == (0.0, 0.35)
        assert prof.floor_rel == (0.08, 0.45)
        assert prof.absence_prob == pytest.approx(0.1)
        assert prof.entry_at_start_prob == pytest.approx(0.25)
    assert PROFILES["noisy"].dropouts_per_hour[1] > clean.dropouts_per_hour[1]


@pytest.mark.parametrize("profile", EXTREMES)
def test_extreme_profiles_are_the_clean_sleeper_with_one_knob_changed(profile: str) -> None:
    for seed in range(5):
        clean = generate_night(seed, "clean", hours=2.0)
        other = generate_night(seed, profile, hours=2.0)
        assert [(e.onset, e.cls) for e in other.truth.events] == [
            (e.onset, e.cls) for e in clean.truth.events
        ]
        assert other.params.gain == clean.params.gain
        assert other.params.heart_hz == clean.params.heart_hz
    bcg = [generate_night(s, "bcg_strong", hours=0.5).params.bcg_rel for s in SEEDS]
    assert min(bcg) >= 0.35
    ringing = [generate_night(s, "ringing", hours=0.5).params for s in SEEDS]
    assert min(p.ring_tau_seconds for p in ringing) >= 0.25
    assert min(p.ring_ratio for p in ringing) >= 0.6


def test_level_and_noise_drift_over_the_night() -> None:
    for seed in range(20):
        for profile, least in (("clean", 1.0), ("drift", 1.3)):
            p = generate_night(seed, profile, hours=0.5).params
            levels = [p.base_at(t) / p.gain for t in range(0, 8 * 3600, 60)]
            assert 1.0 - p.drift_fraction - 1e-9 <= min(levels)
            assert max(levels) <= 1.0 + p.drift_fraction + 1e-9
            assert max(levels) / min(levels) >= least
            noise = [p.noise_factor(t) for t in range(0, 8 * 3600, 60)]
            assert 1.0 - p.noise_drift - 1e-9 <= min(noise)
            assert max(noise) <= 1.0 + p.noise_drift + 1e-9
            assert max(noise) / min(noise) > 1.05
    floors = [generate_night(s, "empty_bed", hours=0.5).params.floor_rel for s in SEEDS]
    assert max(floors) - min(floors) > 0.2  # an empty bed's floor differs between nights


def test_heartbeat_shows_at_the_heart_rate_in_bed_and_not_in_the_empty_bed() -> None:
    for seed in (1, 2, 3):
        night = generate_night(seed, "bcg_strong", hours=1.0)
        onset = night.truth.sleep_onset
        assert onset is not None
        xs = rest_samples(night, onset + 5.0, onset + 295.0)
        at_beat, at_half = beat_acf(xs, night.params.heart_hz)
        assert at_beat > 0.3
        assert at_beat > at_half + 0.2
        # the peak channel carries it too
        start = night.truth.start
        frames = {round(f.t - start): f for f in night.frames()}
        peaks = [
            v
            for k in sorted(frames)
            if onset + 5 <= start + k < onset + 295
            for v in frames[k].peak or ()
        ]
        assert beat_acf(peaks, night.params.heart_hz)[0] > 0.2
    empty = generate_night(1, "empty_bed", hours=0.5)
    xs = rest_samples(empty, empty.truth.start + 600.0, empty.truth.start + 900.0)
    assert beat_acf(xs, empty.params.heart_hz)[0] < 0.15


def test_heartbeat_is_resized_at_every_posture_change() -> None:
    night = generate_night(4, "clean", hours=2.0)
    changes = [e.offset for e in night.truth.sleeper_events() if e.has_posture_change]
    assert list(night.plan.bcg_changes) == changes
    assert len(night.plan.bcg_factors) == len(changes)
    assert all(0.5 <= f <= 1.6 for f in night.plan.bcg_factors)


def test_partner_adds_an_attenuated_heartbeat_and_breathing() -> None:
    """A hand-built plan: nobody moves, the partner alone lies in bed."""
    night = generate_night(2, "partner", hours=0.5)
    t0, t1 = night.truth.start, night.truth.end
    params = dataclasses.replace(
        night.params, bcg_rel=0.0, partner_bcg_rel=0.35, partner_att=0.4, noise_rel=0.02
    )
    plan = dataclasses.replace(
        night.plan, params=params, bursts=(), occupied=(), partner=((t0, t1),), glitches=()
    )
    frames = sorted({round(f.t - t0): f for f in render_frames(plan)}.items())
    xs = [v for _, f in frames[60:360] for v in f.rms]
    at_beat, _ = beat_acf(xs, params.partner_heart_hz)
    assert at_beat > 0.3
    floor = params.floor_rel * params.gain
    assert statistics.median(xs) > floor  # the partner's weight and breathing
    alone = dataclasses.replace(plan, partner=())
    ys = [v for f in itertools.islice(render_frames(alone), 60, 360) for v in f.rms]
    assert beat_acf(ys, params.partner_heart_hz)[0] < 0.15


def test_partner_movements_are_low_passed() -> None:
    night = generate_night(3, "partner", hours=2.0)
    lp = night.params.partner_lp_seconds
    partner = [
        b for b, e in zip(night.plan.bursts, night.truth.events, strict=True) if e.side == "partner"
    ]
    sleeper = [
        b for b, e in zip(night.plan.bursts, night.truth.events, strict=True) if e.side != "partner"
    ]
    assert partner
    assert all(b.lp == lp for b in partner)
    assert all(b.lp == 0.0 for b in sleeper)
    for b in partner:
        assert b.level(b.on) < 0.3 * b.amp  # a slow rise ...
        assert b.level(b.off + lp / 2.0) > 0.1 * b.level(b.off - 0.1)  # ... and a slow fall


def test_ringing_decays_below_the_noise_within_about_a_second() -> None:
    """Even a twitch at the largest ratio and the longest decay of the randomised range."""
    for seed in range(10):
        night = generate_night(seed, "clean", hours=1.0)
        p = night.params
        for b, e in zip(night.plan.bursts, night.truth.events, strict=True):
            if e.cls is not MovementClass.TWITCH:
                continue
            noise_sd = p.noise_rel * p.base_at(e.offset - night.truth.start)
            late = [v for j, v in enumerate(b.ring) if b.ring_t0 + j / 10 >= e.offset + 1.3]
            assert all(v < noise_sd for v in late)
    # the bound itself: level × exp(−t/τ), at the randomised range's extremes
    t0, ring = ring_samples(0.05, 0.0, 1.0, (4.0, 5.0), 0.35, 1.0, 0.001)
    assert all(v < 0.05 for j, v in enumerate(ring) if t0 + j / 10 >= 1.2)


def test_ringing_beats_dips_and_rises_again() -> None:
    # modes 2 Hz apart: a dip at 0.25 s after the offset, a re-rise at 0.5 s
    t0, ring = ring_samples(0.0, 0.0, 1.0, (5.0, 7.0), 0.3, 0.9, 0.001)
    assert t0 == 0.0
    assert ring[0] == pytest.approx(1.0, rel=0.35)  # the ring level at the offset
    dip = min(range(1, 5), key=lambda j: ring[j])
    assert ring[dip + 2] > 1.5 * ring[dip]
    # without a second mode it only decays
    _, single = ring_samples(0.0, 0.0, 1.0, (5.0, 7.0), 0.3, 0.0, 0.001)
    assert all(b < a for a, b in itertools.pairwise(single))
    # on a ringing mattress most rollovers' rings re-rise at least once
    rising = total = 0
    for seed in range(10):
        night = generate_night(seed, "ringing", hours=1.0)
        for b, e in zip(night.plan.bursts, night.truth.events, strict=True):
            if e.cls is MovementClass.ROLLOVER:
                total += 1
                rising += any(y > 1.05 * x for x, y in itertools.pairwise(b.ring[1:]))
    assert total > 0
    assert rising >= 0.5 * total


def test_every_movement_rings_but_the_truth_excludes_it() -> None:
    night = generate_night(5, "clean", hours=1.0)
    ratio = night.params.ring_ratio
    for b, e in zip(night.plan.bursts, night.truth.events, strict=True):
        assert b.ring
        assert b.off == e.offset
        assert b.ring_t0 <= e.offset < b.ring_t0 + 0.1
        level = max(b.ring[:2])
        assert 0.3 * ratio * e.peak < level < 1.5 * ratio * e.peak
