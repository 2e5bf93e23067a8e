"""Each profile behaves as described, in the truth and in the samples."""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics

import pytest

from sleepenv.bed.core.model import EnvelopeFrame, MovementClass, SourceKind
from sleepenv.sim import PROFILES, SimNight, TruthEvent, generate_night
from sleepenv.sim.zigbee import angles_xyz


def frames_by_second(night: SimNight) -> dict[int, EnvelopeFrame]:
    """The night's frames keyed by their nominal second: undoes jitter, duplicates, swaps."""
    return {round(f.t - night.truth.start): f for f in night.frames()}


def samples(night: SimNight) -> list[tuple[float, float]]:
    """(time, rms) of every sample of the night, in time order, at nominal times."""
    start = night.truth.start
    return [
        (start + k + i / f.hz, v)
        for k, f in sorted(frames_by_second(night).items())
        for i, v in enumerate(f.rms)
    ]


def test_every_profile_named_in_the_brief_exists() -> None:
    names = {"clean", "noisy", "plm_heavy", "partner", "restless_onset", "empty_bed", "zigbee"}
    extremes = {"ringing", "drift", "bcg_strong", "in_from_start", "out_midnight"}
    assert names | extremes | {"empty_first_hour"} <= set(PROFILES)
    assert PROFILES["zigbee"].source is SourceKind.ZIGBEE_VIBRATION


def test_frames_are_one_per_second_with_ten_samples_and_gravity() -> None:
    night = generate_night(2, "clean", hours=0.5)
    by_second = frames_by_second(night)
    missing = sum(int(b - a) for a, b in night.truth.dropouts)
    assert sorted(by_second) == [
        k
        for k in range(1800)
        if not any(a <= night.truth.start + k < b for a, b in night.truth.dropouts)
    ]
    assert len(by_second) == 1800 - missing
    for k, f in by_second.items():
        assert abs(f.t - night.truth.start - k) <= 0.025  # the jitter
        assert f.hz == 10.0
        assert len(f.rms) == 10
        assert f.peak is not None
        assert len(f.peak) == 10
        assert all(p >= r > 0.0 for p, r in zip(f.peak, f.rms, strict=True))
        assert f.gravity is not None
        assert math.hypot(*f.gravity) == pytest.approx(1.0, abs=0.02)


def test_empty_bed_has_no_events_and_a_low_floor() -> None:
    """The empty bed sits at the night's own floor (0.08–0.45 of the occupied level)."""
    night = generate_night(8, "empty_bed", hours=1.0)
    t = night.truth
    assert t.events == ()
    assert t.sleep_onset is None
    assert t.plm_index is None
    assert t.occupied_spans() == ()
    p = night.params
    floor = p.floor_rel * p.gain
    values = [v for _, v in samples(night)]
    # drift moves the whole level by at most ±drift_fraction
    assert max(values) < floor * (1.0 + p.drift_fraction) * 1.6
    assert (1.0 - p.drift_fraction) * 0.9 < statistics.median(values) / floor
    assert statistics.median(values) / floor < (1.0 + p.drift_fraction) * 1.1
    occupied = generate_night(8, "clean", hours=1.0)
    t = occupied.truth
    assert t.sleep_onset is not None
    rest = [v for ts, v in samples(occupied) if t.sleep_onset <= ts < t.sleep_onset + 300]
    assert statistics.median(rest) > 0.6 * occupied.params.gain


def test_movements_stand_out_and_rest_is_quiet() -> None:
    night = generate_night(6, "clean", hours=1.0)
    t = night.truth
    xs = samples(night)
    assert t.sleep_onset is not None
    rest = [v for ts, v in xs if t.sleep_onset + 5 <= ts < t.sleep_onset + 295]
    base, sd = statistics.median(rest), statistics.pstdev(rest)
    assert 0.05 < sd / base < 0.25
    strong = [e for e in t.sleeper_events() if e.cls is MovementClass.ROLLOVER]
    assert strong
    for e in strong:
        burst = [v for ts, v in xs if e.onset <= ts < e.offset]
        assert max(burst) > base + 10 * sd


def test_rollovers_rotate_gravity_by_20_to_90_degrees() -> None:
    night = generate_night(6, "clean", hours=2.0)
    frames = frames_by_second(night)
    t0 = night.truth.start
    rolls = [e for e in night.truth.sleeper_events() if e.cls is MovementClass.ROLLOVER]
    assert rolls
    for e in rolls:
        k_before, k_after = math.floor(e.onset - t0) - 2, math.ceil(e.offset - t0) + 2
        if k_before not in frames or k_after not in frames:
            continue  # a dropout
        before = frames[k_before].gravity
        after = frames[k_after].gravity
        assert before is not None
        assert after is not None
        cos = sum(a * b for a, b in zip(before, after, strict=True))
        assert 18.0 <= math.degrees(math.acos(min(1.0, cos))) <= 92.0


def test_plm_heavy_nights_have_a_plm_index_of_at_least_20() -> None:
    for seed in range(30):
        for hours in (8.0, 2.0):
            pi = generate_night(seed, "plm_heavy", hours=hours).truth.plm_index
            assert pi is not None
            assert 20.0 <= pi <= 65.0


def test_clean_nights_fall_on_both_sides_of_the_15_per_hour_threshold() -> None:
    indices = [generate_night(s, "clean").truth.plm_index or 0.0 for s in range(100)]
    high = sum(1 for pi in indices if pi >= 15.0)
    assert 15 <= high <= 50


def test_noisy_nights_have_glitches_and_dropouts() -> None:
    nights = [generate_night(s, "noisy", hours=2.0) for s in range(10)]
    assert sum(len(n.truth.glitches) for n in nights) > 0
    night = next(n for n in nights if n.truth.dropouts)
    by_second = frames_by_second(night)
    missing = sum(int(b - a) for a, b in night.truth.dropouts)
    assert len(by_second) == 7200 - missing
    for a, b in night.truth.dropouts:
        assert 1.0 <= b - a <= 120.0
        assert not any(a <= night.truth.start + k < b for k in by_second)


def test_noisy_glitches_are_single_sample_spikes() -> None:
    night = next(
        n for s in range(20) if (n := generate_night(s, "noisy", hours=1.0)).truth.glitches
    )
    xs = dict(samples(night))
    keys = sorted(xs)
    index = {ts: i for i, ts in enumerate(keys)}
    for g in night.truth.glitches:
        ts = min(keys, key=lambda k: abs(k - g))
        i = index[ts]
        neighbours = [xs[keys[i - 1]], xs[keys[i + 1]]]
        assert xs[ts] > 2.0 * max(neighbours)


def test_partner_movements_are_attenuated() -> None:
    nights = [generate_night(s, "partner") for s in range(5)]
    for n in nights:
        partner = [e for e in n.truth.events if e.side == "partner"]
        sleeper = n.truth.sleeper_events()
        assert partner
        assert sleeper
        p_roll = [e.peak for e in partner if e.cls is MovementClass.ROLLOVER]
        s_roll = [e.peak for e in sleeper if e.cls is MovementClass.ROLLOVER]
        if p_roll and s_roll:
            assert statistics.median(p_roll) < 0.6 * statistics.median(s_roll)


def test_restless_onset_has_jerks_and_a_false_onset() -> None:
    for seed in range(10):
        t = generate_night(seed, "restless_onset").truth
        assert t.in_bed is not None
        assert t.sleep_onset is not None
        ev = t.sleeper_events()
        jerks = [e for e in ev if e.cls is MovementClass.HYPNIC_JERK]
        assert len(jerks) >= 2
        pre = [e for e in ev if e.offset <= t.sleep_onset]
        gaps = [b.onset - a.offset for a, b in itertools.pairwise(pre)]
        assert max(gaps) >= 3.5 * 60  # the still stretch the awakening ends
        assert t.sleep_onset - t.in_bed >= 20 * 60


def test_zigbee_vibration_reports_obey_the_hardware_lockout() -> None:
    tilts_in_lockout = 0
    for seed in range(10):
        night = generate_night(seed, "zigbee")
        readings = list(night.zigbee_readings())
        assert [r.t for r in readings] == sorted(r.t for r in readings)
        vib = [r for r in readings if r.action == "vibration"]
        assert len(vib) >= 10
        for a, b in itertools.pairwise(vib):
            assert b.t - a.t >= 60.0
            assert b.strength is not None
            assert b.strength >= 1
        tilts = [r for r in readings if r.action == "tilt"]
        posture = [e for e in night.truth.events if e.has_posture_change]
        assert len(tilts) == len(posture)
        tilts_in_lockout += sum(1 for r in tilts if any(0 < r.t - v.t < 60 for v in vib))
        assert all(r.angle_xyz is not None for r in readings)
    assert tilts_in_lockout > 0


def test_zigbee_strength_is_the_300_second_maximum_and_weak_twitches_unseen() -> None:
    night = generate_night(3, "empty_bed", hours=1.0)
    t0 = night.truth.start + 600.0

    def ev(at: float, rel: float, cls: MovementClass) -> TruthEvent:
        peak = rel * night.params.base_at(at - night.truth.start)
        return TruthEvent(at, at + 2.0, cls, peak)

    events = (
        ev(t0, 10.0, MovementClass.HYPNIC_JERK),
        ev(t0 + 30.0, 1.0, MovementClass.LIMB_MOVEMENT),  # inside the 60 s lockout
        ev(t0 + 100.0, 1.0, MovementClass.LIMB_MOVEMENT),
        ev(t0 + 500.0, 1.0, MovementClass.LIMB_MOVEMENT),
        ev(t0 + 700.0, 0.4, MovementClass.TWITCH),  # too weak for the device
    )
    truth = dataclasses.replace(night.truth, events=events)
    scripted = SimNight(truth, SourceKind.ZIGBEE_VIBRATION, night.plan)
    vib = [r for r in scripted.zigbee_readings() if r.action == "vibration"]
    assert [round(r.t - t0) for r in vib] == [0, 100, 500]
    strong, kept, weak = (r.strength or 0.0 for r in vib)
    assert strong > 40.0
    assert kept == strong  # the jerk is still within the 300 s window
    assert weak < 20.0


def test_zigbee_angles_match_zigbee2mqtt_convention() -> None:
    assert angles_xyz((0.0, 0.0, 1.0)) == (0.0, 0.0, 90.0)
    assert angles_xyz((0.0, -1.0, 0.0)) == (0.0, -90.0, 0.0)
    assert angles_xyz((0.02, -0.01, 0.99)) == (1.0, -1.0, 89.0)


def test_movements_ring_without_a_truth_event() -> None:
    """The mattress rings after a hypnic jerk: energy after the offset, but no event."""
    night = generate_night(1, "restless_onset", hours=1.0)
    xs = samples(night)
    p = night.params
    jerks = [e for e in night.truth.events if e.cls is MovementClass.HYPNIC_JERK]
    assert jerks
    for e in jerks:
        base = statistics.median(v for ts, v in xs if e.onset - 10 <= ts < e.onset - 1)
        ring = [v for ts, v in xs if e.offset <= ts < e.offset + 0.5]
        if not ring:
            continue  # a dropout
        expected = p.ring_ratio * 0.8 * e.peak * math.exp(-0.1 / p.ring_tau_seconds)
        assert max(ring) - base > 0.3 * expected
        assert not any(e.offset < o.onset < e.offset + 3.0 for o in night.truth.events)
