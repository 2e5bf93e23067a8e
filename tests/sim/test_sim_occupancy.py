"""Getting in at the start or an hour late, getting out mid-night: truth and samples."""

from __future__ import annotations

import functools
import itertools
import json
import statistics

import pytest

from sleepenv.bed.core.model import MovementClass
from sleepenv.sim import NightTruth, SimNight, generate_night

MIN = 60.0


def entry_bouts(t: NightTruth) -> list[float]:
    """Durations of the sleeper's getting-in bouts (every other posture-changing bout)."""
    bouts = [e for e in t.sleeper_events() if e.cls is MovementClass.BOUT and e.has_posture_change]
    return [e.duration_seconds for e in bouts[::2]]


@functools.cache
def clean_nights() -> tuple[NightTruth, ...]:
    """The truths of 200 randomised 8-h nights (generated once per module)."""
    return tuple(generate_night(s, "clean").truth for s in range(200))


def levels(night: SimNight, lo: float, hi: float) -> list[float]:
    start = night.truth.start
    return [v for f in night.frames() if lo <= round(f.t - start) + start < hi for v in f.rms]


def test_randomised_entry_right_at_the_start_on_about_a_quarter_of_nights() -> None:
    truths = clean_nights()
    at_start = 0
    for t in truths:
        assert t.in_bed is not None
        assert 0.0 <= t.in_bed - t.start <= 75 * MIN
        at_start += t.in_bed - t.start <= 3.0
    assert 30 <= at_start <= 70
    late = [t.in_bed - t.start for t in truths if t.in_bed and t.in_bed - t.start > 3.0]
    assert max(late) > 60 * MIN  # uniform over 0–75 min
    durations = [d for t in truths for d in entry_bouts(t)]
    assert min(durations) >= 30.0
    assert max(durations) <= 100.0
    assert min(durations) < 40.0
    assert max(durations) > 90.0


@pytest.mark.parametrize("hours", [8.0, 1.0])
def test_in_from_start_lies_down_in_the_first_three_seconds(hours: float) -> None:
    for seed in range(30):
        t = generate_night(seed, "in_from_start", hours=hours).truth
        assert t.in_bed is not None
        assert t.sleep_onset is not None
        assert 0.0 <= t.in_bed - t.start <= 3.0
    night = generate_night(1, "in_from_start", hours=1.0)
    t = night.truth
    assert t.sleep_onset is not None
    first = t.sleeper_events()[0]
    assert first.cls is MovementClass.BOUT
    assert first.onset - t.start <= 3.0
    # the occupied level right after getting in, not an empty floor
    assert statistics.median(levels(night, first.offset + 2.0, first.offset + 30.0)) > (
        0.6 * night.params.gain
    )


@pytest.mark.parametrize("hours", [8.0, 2.0])
def test_empty_first_hour_keeps_the_bed_empty_for_55_minutes(hours: float) -> None:
    for seed in range(30):
        t = generate_night(seed, "empty_first_hour", hours=hours).truth
        assert t.in_bed is not None
        assert t.sleep_onset is not None
        assert 55 * MIN <= t.in_bed - t.start <= 75 * MIN
        assert all(e.onset >= t.in_bed for e in t.events)
    night = generate_night(2, "empty_first_hour", hours=2.0)
    p = night.params
    empty = levels(night, night.truth.start + 60.0, night.truth.start + 54 * MIN)
    floor = p.floor_rel * p.gain
    assert (1.0 - p.drift_fraction) * 0.9 < statistics.median(empty) / floor
    assert statistics.median(empty) / floor < (1.0 + p.drift_fraction) * 1.1


def test_occupied_spans_are_in_bed_minus_the_absences() -> None:
    t = NightTruth(
        profile="out_midnight",
        seed=1,
        start=0.0,
        end=8 * 3600.0,
        in_bed=100.0,
        sleep_onset=1000.0,
        wake=27000.0,
        out_of_bed=28000.0,
        events=(),
        plm_index=0.0,
        absences=((5000.0, 5600.0), (9000.0, 9900.0)),
    )
    assert t.occupied_spans() == ((100.0, 5000.0), (5600.0, 9000.0), (9900.0, 28000.0))
    alone = NightTruth("clean", 1, 0.0, 3600.0, 10.0, 600.0, 3000.0, 3300.0, (), 0.0)
    assert alone.occupied_spans() == ((10.0, 3300.0),)
    empty = NightTruth("empty_bed", 1, 0.0, 3600.0, None, None, None, None, (), None)
    assert empty.occupied_spans() == ()


def test_out_midnight_gets_up_once_or_twice_for_5_to_15_minutes() -> None:
    counts = []
    for seed in range(30):
        t = generate_night(seed, "out_midnight").truth
        assert t.sleep_onset is not None
        assert t.wake is not None
        counts.append(len(t.absences))
        spans = t.occupied_spans()
        assert len(spans) == len(t.absences) + 1
        assert spans[0][0] == t.in_bed
        assert spans[-1][1] == t.out_of_bed
        for (a, b), (c, d) in itertools.pairwise(spans):
            assert a < b < c < d
        for out, back in t.absences:
            assert t.sleep_onset + 5 * MIN < out < back < t.wake
            assert 5 * MIN <= back - out <= 15 * MIN
            ev = t.sleeper_events()
            # nothing happens in the empty bed; a getting-up bout ends at `out`,
            # a getting-in bout starts at `back`
            assert not any(out < e.onset < back for e in ev)
            getup = next(e for e in ev if e.offset == out)
            entry = next(e for e in ev if e.onset == back)
            assert getup.cls is entry.cls is MovementClass.BOUT
            assert getup.has_posture_change
            assert entry.has_posture_change
        # the PLM index keeps its definition: per hour of sleep onset → wake
        plms = [e for e in t.sleeper_events() if e.cls is MovementClass.PLM]
        n = sum(1 for e in plms if t.sleep_onset <= e.onset < t.wake)
        assert t.plm_index == pytest.approx(n / ((t.wake - t.sleep_onset) / 3600.0))
    assert set(counts) == {1, 2}


def test_randomised_nights_sometimes_get_up_mid_night() -> None:
    counts = [len(t.absences) for t in clean_nights()]
    assert 8 <= sum(counts) <= 40  # about 10 %
    assert max(counts) == 1
    # short nights have no room for one
    assert all(not generate_night(s, "clean", hours=2.0).truth.absences for s in range(50))


def test_the_bed_is_empty_during_an_absence() -> None:
    night = generate_night(3, "out_midnight", hours=3.0)
    t = night.truth
    assert t.absences
    p = night.params
    for out, back in t.absences:
        inside = levels(night, out + 30.0, back - 30.0)
        ratio = statistics.median(inside) / (p.floor_rel * p.base_at(out - t.start))
        assert 0.85 < ratio < 1.15  # the empty floor: no breathing, no heartbeat
        assert statistics.median(levels(night, back + 300.0, back + 400.0)) > 0.6 * p.gain


def test_absences_round_trip_and_old_truth_files_have_none() -> None:
    t = next(tr for s in range(10) if (tr := generate_night(s, "out_midnight").truth).absences)
    data = json.loads(json.dumps(t.to_json()))
    back = NightTruth.from_json(data)
    assert len(back.absences) == len(t.absences)
    for (a, b), (c, d) in zip(back.absences, t.absences, strict=True):
        assert a == pytest.approx(c, abs=1e-4)
        assert b == pytest.approx(d, abs=1e-4)
    del data["absences"]  # as written before the field existed
    old = NightTruth.from_json(data)
    assert old.absences == ()
    assert old.occupied_spans() == ((old.in_bed, old.out_of_bed),)
