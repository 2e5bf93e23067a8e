"""The naive floor detector (`sleepenv.evaluation.naive`) on hand-built envelope frames."""

from __future__ import annotations

from collections.abc import Callable
from random import Random

import pytest

from sleepenv.bed.core.model import EnvelopeFrame
from sleepenv.evaluation.naive import (
    NaiveEvent,
    analyze_naive,
    classify_width,
    detect,
    find_sleep_onset,
    find_wake,
    label_plm,
    robust_stats,
)

T0 = 1_000_000.0
HZ = 10.0
EMPTY, OCCUPIED = 0.2, 1.0


def frames(
    seconds: float,
    level: Callable[[float], float],
    bursts: list[tuple[float, float, float]],
    *,
    gaps: tuple[tuple[float, float], ...] = (),
    seed: int = 1,
) -> list[EnvelopeFrame]:
    """One-second 10 Hz frames: `level(t)` with noise of 5 % of it, plus each burst
    (start, duration, height) added on top; no frames start inside a gap (start, end)."""
    rng = Random(seed)
    out = []
    for k in range(int(seconds)):
        if any(a <= k < b for a, b in gaps):
            continue
        rms = []
        for i in range(int(HZ)):
            t = k + i / HZ
            v = level(t) * (1.0 + rng.gauss(0.0, 0.05))
            v += sum(h for s, d, h in bursts if s <= t < s + d - 1e-9)
            rms.append(v)
        out.append(EnvelopeFrame(T0 + k, HZ, tuple(rms)))
    return out


def occupied(_: float) -> float:
    """A bed with someone lying still in it all along."""
    return OCCUPIED


def rel(t: float | None) -> float:
    """Seconds since the start of the hand-built recording."""
    assert t is not None
    return t - T0


def test_classify_width_boundaries() -> None:
    assert classify_width(0.3) == "twitch"
    assert classify_width(0.5) == "limb_movement"
    assert classify_width(10.0) == "limb_movement"
    assert classify_width(10.1) == "rollover"
    assert classify_width(45.0) == "rollover"
    assert classify_width(46.0) == "bout"


def test_robust_stats_median_and_mad_with_floor() -> None:
    median, noise = robust_stats([1.0, 2.0, 3.0, 4.0, 100.0])
    assert median == 3.0
    assert noise == pytest.approx(1.4826)
    assert robust_stats([2.0] * 10) == (2.0, 1e-3)


def test_quiet_bed_with_one_twitch_and_one_limb_movement() -> None:
    data = frames(240, occupied, [(100.0, 0.2, 1.0), (180.0, 3.0, 2.0)])
    events = detect(data)
    assert [(round(rel(e.onset), 1), e.cls) for e in events] == [
        (100.0, "twitch"),
        (180.0, "limb_movement"),
    ]
    twitch, limb = events
    assert twitch.width_seconds == pytest.approx(0.2)
    assert limb.width_seconds == pytest.approx(3.0)
    assert rel(limb.offset) == pytest.approx(183.0)
    assert limb.peak == pytest.approx(2.0, abs=0.3)
    assert not twitch.is_truncated


def test_a_still_bed_has_no_events() -> None:
    assert detect(frames(600, occupied, [])) == []


def test_duplicated_and_reordered_frames_are_skipped() -> None:
    data = frames(240, occupied, [(100.0, 0.2, 1.0), (180.0, 3.0, 2.0)])
    messy = [*data[:120], *data[100:130], data[140], *data[130:]]  # repeats, one early
    events = detect(messy)
    assert [round(rel(e.onset), 1) for e in events] == [100.0, 180.0]
    assert detect(data + data) == detect(data)  # a replay after the end adds nothing


def test_a_gap_over_one_second_closes_an_open_event_as_truncated() -> None:
    data = frames(240, occupied, [(100.0, 20.0, 2.0)], gaps=((105.0, 108.0),))
    events = detect(data)
    assert rel(events[0].onset) == pytest.approx(100.0)
    assert events[0].is_truncated
    assert rel(events[0].offset) == pytest.approx(105.0)  # just after the last sample
    assert rel(events[1].onset) == pytest.approx(108.0)  # the rest, as a new event


def night_level(t: float) -> float:
    """Empty until 120 s, someone in bed from 150 s to 2330 s, empty again."""
    return OCCUPIED if 150.0 <= t < 2330.0 else EMPTY


NIGHT_BURSTS = [
    (120.0, 30.0, 3.0),  # getting in
    (900.0, 0.3, 5.0),  # a hypnic jerk (≥ 15 × noise, ≤ 2 s wide, near onset)
    (1200.0, 3.0, 2.0),  # a limb movement, outside the jerk window
    (1300.0, 0.2, 0.6),  # a weak twitch
    *[(1500.0 + 25.0 * k, 1.5, 2.0) for k in range(4)],  # a PLM series
    (2300.0, 30.0, 3.0),  # getting out
]


@pytest.fixture(scope="module")
def night() -> dict[str, object]:
    """The naive document of a short hand-built night."""
    return analyze_naive(frames(2500, night_level, NIGHT_BURSTS))


def test_getting_in_and_out_and_sleep_period(night: dict[str, object]) -> None:
    assert rel(night["in_bed"]) == pytest.approx(120.0)  # type: ignore[arg-type]
    assert rel(night["out_of_bed"]) == pytest.approx(2330.0, abs=0.2)  # type: ignore[arg-type]
    assert night["in_bed_spans"] == [[night["in_bed"], night["out_of_bed"]]]
    onset = rel(night["sleep_onset"])  # type: ignore[arg-type]
    # Onset is the end of getting in: the level step from the empty bed may hold that
    # event open up to ~90 s longer while the baseline learns the occupied level.
    assert 150.0 <= onset <= 250.0
    assert rel(night["wake"]) == pytest.approx(2300.0)  # type: ignore[arg-type]
    assert night["waking_jerks"] == []


def test_classes_of_the_night(night: dict[str, object]) -> None:
    events = night["events"]
    assert isinstance(events, list)
    classes = [(round(rel(e["onset"])), e["class"]) for e in events]
    assert classes == [
        (120, "rollover"),  # by its 30 s half-peak width: the class ignores the level step
        (900, "hypnic_jerk"),
        (1200, "limb_movement"),
        (1300, "twitch"),
        (1500, "plm"),
        (1525, "plm"),
        (1550, "plm"),
        (1575, "plm"),
        (2300, "rollover"),
    ]
    assert night["counts"] == {
        "rollover": 2,
        "hypnic_jerk": 1,
        "limb_movement": 1,
        "twitch": 1,
        "plm": 4,
    }
    sleep_hours = (night["wake"] - night["sleep_onset"]) / 3600.0  # type: ignore[operator]
    assert night["plm_index"] == pytest.approx(4 / sleep_hours, abs=0.01)  # rounded


def test_nobody_in_bed_means_no_events_count() -> None:
    doc = analyze_naive(frames(600, lambda _: EMPTY, [(300.0, 2.0, 1.0)]))
    assert (doc["in_bed"], doc["in_bed_spans"], doc["events"]) == (None, [], [])
    assert (doc["sleep_onset"], doc["plm_index"]) == (None, None)
    assert analyze_naive([])["events"] == []


def ev(onset: float, offset: float, cls: str = "limb_movement") -> NaiveEvent:
    """A detected event for the night-level rules."""
    return NaiveEvent(onset, offset, 2.0, 0.05, offset - onset, cls)


def test_sleep_onset_needs_five_still_minutes_before_the_limit() -> None:
    events = [ev(100.0, 102.0), ev(350.0, 352.0), ev(700.0, 701.0)]
    assert find_sleep_onset(events, 50.0, 5000.0) == 352.0  # 50→100, 102→350 too short
    assert find_sleep_onset(events, 50.0, 600.0) is None  # 352→600 is under 5 min
    assert find_sleep_onset([], 50.0, 350.0) == 50.0


def test_wake_is_the_start_of_the_movement_chain_into_getting_out() -> None:
    out = ev(5000.0, 5060.0, "bout")
    events = [ev(3000.0, 3005.0), ev(4500.0, 4503.0), ev(4700.0, 4702.0), out]
    assert find_wake(events, 1000.0, out) == 4500.0  # 3005 → 4500 breaks the chain
    assert find_wake(events, 4600.0, out) == 4700.0  # never before sleep onset


def test_plm_runs_need_four_movements_10_to_90_s_apart_in_sleep() -> None:
    onsets = [100.0, 130.0, 160.0, 190.0, 400.0, 405.0, 430.0, 460.0]
    events = [ev(t, t + 2.0) for t in onsets]
    assert label_plm(events, 0.0, 10_000.0) == 4  # 400→405 is under 10 s: 405–460 is three
    assert [e.cls for e in events[:4]] == ["plm"] * 4
    assert {e.cls for e in events[4:]} == {"limb_movement"}
    events = [ev(t, t + 2.0) for t in onsets[:4]]
    assert label_plm(events, 120.0, 10_000.0) == 0  # only three in sleep
