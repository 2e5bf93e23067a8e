"""Invariants of the ground truth, over many seeds and every occupied profile."""

from __future__ import annotations

import functools
import itertools
import json

import pytest

from sleepenv.bed.core.arousal import waking_jerks
from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.sim import PROFILES, NightTruth, TruthEvent, generate_night

OCCUPIED = sorted(p for p in PROFILES if PROFILES[p].is_occupied)
SEEDS = range(12)
DURATIONS = {
    MovementClass.TWITCH: (0.15, 0.5),
    MovementClass.HYPNIC_JERK: (0.2, 1.5),
    MovementClass.LIMB_MOVEMENT: (0.5, 10.0),
    MovementClass.PLM: (0.5, 5.0),
    MovementClass.ROLLOVER: (3.0, 20.0),
    MovementClass.BOUT: (30.0, 300.0),  # getting in: 30–100 s
}


@functools.cache
def nights(hours: float = 8.0) -> tuple[NightTruth, ...]:
    """The truths of every occupied profile's nights (generated once per module)."""
    return tuple(generate_night(s, p, hours=hours).truth for p in OCCUPIED for s in SEEDS)


def plm_series(truth: NightTruth) -> list[list[TruthEvent]]:
    """PLM events grouped by onset-to-onset intervals of at most 90 s."""
    series: list[list[TruthEvent]] = []
    for e in truth.sleeper_events():
        if e.cls is not MovementClass.PLM:
            continue
        if series and e.onset - series[-1][-1].onset <= 90.0:
            series[-1].append(e)
        else:
            series.append([e])
    return series


@pytest.mark.parametrize("hours", [8.0, 0.5])
def test_events_are_sorted_well_formed_and_within_the_night(hours: float) -> None:
    for t in nights(hours):
        onsets = [e.onset for e in t.events]
        assert onsets == sorted(onsets)
        for e in t.events:
            assert t.start <= e.onset < e.offset <= t.end
            assert e.peak > 0.0
            lo, hi = DURATIONS[e.cls]
            assert lo <= e.duration_seconds <= hi, e


@pytest.mark.parametrize("hours", [8.0, 0.5])
def test_key_moments_are_in_order(hours: float) -> None:
    for t in nights(hours):
        assert t.in_bed is not None
        assert t.sleep_onset is not None
        assert t.wake is not None
        assert t.out_of_bed is not None
        assert t.start <= t.in_bed < t.sleep_onset < t.wake < t.out_of_bed <= t.end
        assert t.in_bed - t.start <= 75 * 60
        if hours == 8.0:
            assert 15 * 60 <= t.end - t.wake <= 30 * 60


def test_sleeper_events_never_overlap() -> None:
    for t in nights():
        ev = t.sleeper_events()
        for a, b in itertools.pairwise(ev):
            assert a.offset <= b.onset, (a, b)


def test_sleep_onset_starts_a_five_minute_still_period() -> None:
    for t in nights():
        assert t.sleep_onset is not None
        assert t.sleep_onset in {e.offset for e in t.sleeper_events()}
        still = [e for e in t.sleeper_events() if t.sleep_onset <= e.onset < t.sleep_onset + 300]
        assert still == []


def test_no_earlier_still_period_without_a_false_onset() -> None:
    """Except on restless_onset (a false onset), pre-sleep gaps stay under 5 min."""
    for t in nights():
        if t.profile == "restless_onset":
            continue
        assert t.sleep_onset is not None
        pre = [e for e in t.sleeper_events() if e.offset <= t.sleep_onset]
        gaps = [b.onset - a.offset for a, b in itertools.pairwise(pre)]
        assert max(gaps) < 300.0


def test_plm_series_have_four_members_at_scoring_intervals_during_sleep() -> None:
    seen = 0
    for t in nights():
        assert t.sleep_onset is not None
        assert t.wake is not None
        for series in plm_series(t):
            seen += 1
            assert len(series) >= 4
            for a, b in itertools.pairwise(series):
                assert 10.0 <= b.onset - a.onset <= 90.0
            assert t.sleep_onset <= series[0].onset
            assert series[-1].offset <= t.wake
    assert seen > 20


def test_isolated_limb_movements_never_join_a_plm_series() -> None:
    for t in nights():
        assert t.sleep_onset is not None
        assert t.wake is not None
        limbs = [
            e
            for e in t.sleeper_events()
            if e.cls in (MovementClass.PLM, MovementClass.LIMB_MOVEMENT)
            and t.sleep_onset < e.onset < t.wake
        ]
        for a, b in itertools.pairwise(limbs):
            if MovementClass.LIMB_MOVEMENT in (a.cls, b.cls):
                assert b.onset - a.onset > 90.0, (a, b)


def test_hypnic_jerks_fall_in_the_onset_window() -> None:
    jerks = 0
    for t in nights():
        assert t.sleep_onset is not None
        for e in t.sleeper_events():
            if e.cls is MovementClass.HYPNIC_JERK:
                jerks += 1
                assert t.sleep_onset - 600 <= e.onset <= t.sleep_onset + 900
    assert jerks >= len(SEEDS) * 2  # restless_onset alone has at least two per night


def test_plm_index_matches_events_and_sleep_hours() -> None:
    for t in nights():
        assert t.sleep_onset is not None
        assert t.wake is not None
        assert t.plm_index is not None
        n = sum(
            1
            for e in t.sleeper_events()
            if e.cls is MovementClass.PLM and t.sleep_onset <= e.onset < t.wake
        )
        assert t.plm_index == pytest.approx(n / ((t.wake - t.sleep_onset) / 3600.0))


def test_posture_changes_only_on_sleeper_rollovers_and_getting_in_or_out() -> None:
    for t in nights():
        for e in t.events:
            if e.cls is MovementClass.ROLLOVER and e.side == "sleeper":
                assert e.has_posture_change
            if e.side == "partner" or e.cls in (MovementClass.TWITCH, MovementClass.PLM):
                assert not e.has_posture_change


def test_truth_json_round_trip() -> None:
    t = generate_night(4, "noisy").truth
    back = NightTruth.from_json(json.loads(json.dumps(t.to_json())))
    assert back.profile == t.profile
    assert back.seed == t.seed
    assert back.sleep_onset == t.sleep_onset
    assert back.plm_index == pytest.approx(t.plm_index, abs=1e-4)  # 4 decimals in JSON
    assert len(back.events) == len(t.events)
    for a, b in zip(back.events, t.events, strict=True):
        assert a.cls is b.cls
        assert a.side == b.side
        assert a.has_posture_change == b.has_posture_change
        assert a.onset == pytest.approx(b.onset, abs=1e-4)
        assert a.peak == pytest.approx(b.peak, abs=1e-4)
    assert back.glitches == pytest.approx(t.glitches, abs=1e-4)
    assert len(back.dropouts) == len(t.dropouts)


@pytest.mark.parametrize("hours", [8.0, 0.5])
def test_restless_onset_records_the_jerk_that_ended_the_false_onset(hours: float) -> None:
    for seed in SEEDS:
        t = generate_night(seed, "restless_onset", hours=hours).truth
        assert t.sleep_onset is not None
        assert len(t.waking_jerks) == 1
        ev = t.sleeper_events()
        i = next(i for i, e in enumerate(ev) if e.onset == t.waking_jerks[0])
        jerk, before, after = ev[i], ev[i - 1], ev[i + 1]
        assert jerk.cls is MovementClass.HYPNIC_JERK
        assert jerk.offset < t.sleep_onset
        assert jerk.onset - before.offset >= 3.5 * 60  # the false onset's still stretch
        assert after.cls in (MovementClass.LIMB_MOVEMENT, MovementClass.ROLLOVER)
        assert 9.0 <= after.onset - jerk.offset <= 15.0  # the awakening


def test_the_true_awakening_fits_the_waking_jerk_rule() -> None:
    """Read from the true events and classes, core/arousal.py finds every true waking jerk
    (it may find more: chance jerk-then-movement pairs the simulator did not draw)."""
    for seed in SEEDS:
        t = generate_night(seed, "restless_onset").truth
        events = [MovementEvent(e.onset, e.offset, e.peak, e.cls) for e in t.sleeper_events()]
        found = {e.onset for e in waking_jerks(events)}
        assert set(t.waking_jerks) <= found


def test_only_restless_onset_draws_waking_jerks() -> None:
    for profile in sorted(PROFILES):
        if profile == "restless_onset":
            continue
        for seed in SEEDS:
            assert generate_night(seed, profile, hours=1.0).truth.waking_jerks == ()


def test_waking_jerks_round_trip_and_old_truth_files_have_none() -> None:
    t = generate_night(3, "restless_onset").truth
    data = json.loads(json.dumps(t.to_json()))
    assert len(data["waking_jerks"]) == 1
    assert NightTruth.from_json(data).waking_jerks == pytest.approx(t.waking_jerks, abs=1e-4)
    del data["waking_jerks"]  # as written before the field existed
    assert NightTruth.from_json(data).waking_jerks == ()
