"""What real beds do that once broke detection, pinned on hand-built signals.

Each test builds a night with tests/bed/core/bed_signals.py (no simulator) and runs it
through the bed tracker exactly as `analyze` does.
"""

from __future__ import annotations

from datetime import UTC, time

import pytest

from sleepenv.bed.core import tracker as bed_module
from sleepenv.bed.core.classify import NightClassification
from sleepenv.bed.core.model import MovementClass, SourceKind
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.states import UNSET
from sleepenv.bed.core.tracker import BedTracker, SensorSpec
from tests.bed.core.bed_signals import T0, Bed, Move

H = 3600.0


def run(bed: Bed) -> tuple[BedTracker, NightClassification]:
    """The whole night through one tracker, then its final classification."""
    window = NightWindow(time(12, 0), time(11, 59), UTC)
    tracker = BedTracker("bed", window, [SensorSpec("s", SourceKind.ENVELOPE)])
    tracker.restore(T0, [], {}, {})
    last = T0
    for frame in bed.frames():
        tracker.on_reading("s", frame, frame.t)
        last = frame.end
    tracker.finish(last)
    return tracker, tracker.classify_final(last)


def test_in_bed_from_the_first_second_stays_in_bed_and_sleeps() -> None:
    """Getting in as the recording starts: no 'out of bed' two minutes later."""
    bed = Bed(3 * H, occupied=[(0, 3 * H)], moves=[Move(0, 60, 4.0), Move(4000, 2.0, 2.0)])
    tracker, night = run(bed)
    sleep = night.sleep
    assert sleep.in_bed == pytest.approx(T0, abs=1.0)
    assert sleep.out_of_bed is None
    assert len(sleep.in_bed_spans) == 1
    assert sleep.sleep_onset is not None
    assert sleep.sleep_onset - T0 < 5 * 60
    first = night.events[0]
    assert first.onset == pytest.approx(T0, abs=1.0)
    assert first.cls is MovementClass.BOUT
    assert tracker.states(T0 + 3 * H).in_bed is True


def test_getting_in_seconds_after_the_recording_starts_dates_the_movement_there() -> None:
    """The recording starts on the empty bed and getting in begins 2.5 s later: the
    movement starts then, not at the first sample (scored as a miss and a false one)."""
    bed = Bed(H, occupied=[(2.5, H)], moves=[Move(2.5, 60, 4.0)])
    _, night = run(bed)
    first = night.events[0]
    assert first.onset == pytest.approx(T0 + 2.5, abs=0.3)
    assert first.cls is MovementClass.BOUT


def test_empty_first_hour_has_no_movements_and_gets_in_at_the_entry() -> None:
    """An hour of empty bed: no false movements, in bed from the getting-in movement."""
    bed = Bed(
        3 * H,
        occupied=[(H + 30, 3 * H)],
        moves=[Move(H, 60, 4.0), Move(2 * H, 2.0, 2.0)],
        noise=0.08,
    )
    tracker, night = run(bed)
    assert night.sleep.in_bed == pytest.approx(T0 + H, abs=2.0)
    assert [e.onset - T0 for e in night.events] == pytest.approx([H, 2 * H], abs=1.0)
    assert night.sleep.sleep_onset is not None
    assert 0 <= night.sleep.sleep_onset - (T0 + H + 60) < 10 * 60
    assert tracker.states(T0 + 30 * 60).in_bed is False
    assert tracker.states(T0 + 2 * H).in_bed is True


def test_empty_all_night_has_no_one_in_bed_and_no_movements() -> None:
    tracker, night = run(Bed(2 * H, occupied=[], moves=[Move(1800, 0.3, 0.5)]))
    assert night.sleep.in_bed is None
    assert night.events == ()
    assert tracker.states(T0 + 2 * H).in_bed is False


def test_ten_minutes_out_of_bed_mid_night_is_one_absence() -> None:
    bed = Bed(
        4 * H,
        occupied=[(0, 2 * H), (2 * H + 660, 4 * H)],
        moves=[Move(0, 50, 4.0), Move(2 * H - 50, 50, 4.0), Move(2 * H + 610, 50, 4.0)],
    )
    _, night = run(bed)
    (a, out), (back, end) = night.sleep.in_bed_spans
    assert a == pytest.approx(T0, abs=1.0)
    assert out == pytest.approx(T0 + 2 * H, abs=5.0)
    assert back == pytest.approx(T0 + 2 * H + 610, abs=5.0)
    assert end == float("inf")
    total = night.sleep.total_sleep_seconds
    onset = night.sleep.sleep_onset
    wake = night.sleep.wake
    assert total is not None
    assert onset is not None
    assert wake is not None
    assert total == pytest.approx(wake - onset - (back - out))


def test_a_ringing_mattress_keeps_a_twitch_a_twitch() -> None:
    """The ringing after a short twitch lengthens its offset, never its class."""
    bed = Bed(
        H,
        occupied=[(0, H)],
        moves=[Move(0, 40, 4.0), Move(1500, 0.3, 1.5, ring=0.7, ring_tau=0.25, beat_hz=1.5)],
    )
    _, night = run(bed)
    twitch = next(e for e in night.events if abs(e.onset - (T0 + 1500)) < 1.0)
    assert twitch.duration_seconds >= 0.5  # the hysteresis offset includes the ringing
    assert twitch.movement_seconds < 0.5
    assert twitch.cls is MovementClass.TWITCH


def test_a_drifting_level_with_heartbeat_bursts_stays_in_bed_without_false_movements() -> None:
    bed = Bed(
        4 * H,
        occupied=[(0, 4 * H)],
        moves=[Move(0, 50, 4.0), Move(2 * H, 2.0, 2.5)],
        drift=0.3,
        heart=0.5,
    )
    _, night = run(bed)
    assert [round(e.onset - T0) for e in night.events] == [0, 2 * H]
    assert night.sleep.out_of_bed is None
    assert night.sleep.sleep_onset is not None


def test_a_gap_in_the_data_is_not_stillness() -> None:
    """Six minutes without frames must not make a sleep onset (nor hypnic jerks after it):
    restless before the gap, then movements every 290 s, never 5 still minutes."""
    restless = [Move(60 + 100 * k, 2.0, 2.0) for k in range(10)]
    calmer = [Move(1400 + 290 * k, 2.0, 2.0) for k in range(8)]
    bed = Bed(H, occupied=[(0, H)], moves=[Move(0, 50, 4.0), *restless, *calmer])
    bed.gaps = [(1000, 1360)]
    _, night = run(bed)
    assert night.sleep.in_bed is not None
    assert night.sleep.sleep_onset is None
    assert not any(e.cls is MovementClass.HYPNIC_JERK for e in night.events)


def test_a_restart_learns_the_rest_level_from_redelivered_frames() -> None:
    """After a kill the broker redelivers the last unacknowledged frames: they are
    duplicates, but the fresh detector learns its baseline from them, so a movement
    seconds after the restart is not lost to the warm-up."""
    bed = Bed(200, occupied=[(0, 200)], moves=[Move(60 + 30 * k, 2.0, 2.0) for k in range(4)])
    frames = list(bed.frames())
    window = NightWindow(time(12, 0), time(11, 59), UTC)
    first = BedTracker("bed", window, [SensorSpec("s", SourceKind.ENVELOPE)])
    first.restore(T0, [], {}, {})
    stored = []
    for frame in frames[:55]:  # killed 5 s before the first movement
        stored += first.on_reading("s", frame, frame.t).events
    again = BedTracker("bed", window, [SensorSpec("s", SourceKind.ENVELOPE)])
    again.restore(T0 + 55, stored, first.cursors(), first.diagnostics())
    for frame in frames[45:]:  # ten redelivered frames, then the new ones
        again.on_reading("s", frame, frame.t)
    assert again.messages_rejected == 10
    onsets = [round(e.onset - T0) for e in again.tonight]
    assert onsets == [60, 90, 120, 150]


def test_a_silent_sensor_makes_occupancy_unknown_not_empty() -> None:
    """A Wi-Fi hiccup is not getting out of bed: while no frame arrives occupancy is
    unknown (published as such by the next tick), and in bed again when frames resume."""
    bed = Bed(H, occupied=[(0, H)], moves=[Move(0, 60, 4.0)], gaps=[(1800, 1830)], heart=0.3)
    window = NightWindow(time(12, 0), time(11, 59), UTC)
    tracker = BedTracker("bed", window, [SensorSpec("s", SourceKind.ENVELOPE)])
    tracker.restore(T0, [], {}, {})
    seen: list[bool | None] = []
    for frame in bed.frames():
        update = tracker.on_reading("s", frame, frame.end)
        if update.states.in_bed is not UNSET:
            seen.append(update.states.in_bed)
        if frame.t == T0 + 1799:
            # The ticker wakes when the silence begins and says "unknown" then.
            assert tracker.wake_at(frame.end + 1) == frame.end + bed_module.SILENT_SECONDS
            assert tracker.tick(frame.end + 5).states.in_bed is UNSET
            silent = tracker.tick(frame.end + bed_module.SILENT_SECONDS)
            assert silent.states.in_bed is None
            assert tracker.states(frame.end + 25).in_bed is None
            seen.append(None)
    # Unknown before the first minute with evidence, then in bed; never "empty".
    assert False not in seen
    assert seen.index(None, 1) > seen.index(True)
    assert seen[-1] is True
    assert tracker.states(T0 + H).in_bed is True


def _morning_night(bed: Bed) -> tuple[BedTracker, list[tuple[float, str]]]:
    """Feed `bed` live (clock = frame end) through a 18:00-12:00 window whose mornings
    start at 04:00; the nights it closed, as (clock time, night)."""
    window = NightWindow(time(18, 0), time(12, 0), UTC, time(4, 0))
    tracker = BedTracker("bed", window, [SensorSpec("s", SourceKind.ENVELOPE)])
    tracker.restore(T0, [], {}, {})
    closed: list[tuple[float, str]] = []
    for frame in bed.frames():
        update = tracker.on_reading("s", frame, frame.end)
        if update.closed_night is not None:
            closed.append((frame.end, update.closed_night.night))
    return tracker, closed


def test_getting_up_in_the_morning_closes_the_night_then() -> None:
    """Up at 06:30 (T0 is 22:00): the night closes 20 minutes later, not at noon, so
    "last night" is the night that just ended when people look in the morning; a
    restart that morning keeps it closed."""
    up = 8.5 * H
    bed = Bed(9 * H, occupied=[(0, up)], moves=[Move(0, 60, 4.0), Move(up, 40, 4.0)])
    tracker, closed = _morning_night(bed)
    assert len(closed) == 1
    at, night = closed[0]
    assert night == "2026-01-05"
    assert T0 + up + bed_module.UP_SECONDS <= at < T0 + up + bed_module.UP_SECONDS + 60
    last = tracker.last_night
    assert last is not None
    assert last.sleep_onset is not None
    assert last.end == pytest.approx(at, abs=1.0)
    # Occupancy and wake are kept with the night (the nightly chart draws them).
    assert len(last.in_bed_spans) == 1
    assert last.in_bed_spans[0][0] == pytest.approx(T0, abs=1.0)
    assert last.in_bed_spans[0][1] == pytest.approx(T0 + up + 40, abs=5.0)
    assert last.wake is not None
    assert last.sleep_onset < last.wake <= last.in_bed_spans[0][1]
    states = tracker.states(T0 + 9 * H)
    assert states.movements_tonight == 0  # tonight starts afresh at 18:00
    assert states.sleep_onset_last_night == last.sleep_onset
    assert tracker.tick(T0 + 14 * H).closed_night is None  # noon: nothing closes twice
    again = BedTracker("bed", tracker.window, [SensorSpec("s", SourceKind.ENVELOPE)])
    again.restore(T0 + 10 * H, [], {}, {}, last_night=last, history=[last])
    assert again.night is None
    assert again.tick(T0 + 13 * H).closed_night is None
    assert again.tick(T0 + 20 * H).closed_night is None  # 18:00 next day: a new night
    assert again.night is not None
    assert again.night.isoformat() == "2026-01-06"


def test_a_bathroom_trip_or_a_night_awake_up_before_morning_does_not_close_it() -> None:
    """Out for 10 minutes at 02:00 and for 40 minutes at 03:00 (before 04:00): the night
    stays open and closes at its end."""
    bed = Bed(
        7 * H,
        occupied=[(0, 4 * H), (4 * H + 600, 5 * H), (5 * H + 2400, 7 * H)],
        moves=[
            Move(0, 60, 4.0),
            Move(4 * H, 30, 4.0),
            Move(4 * H + 600, 30, 4.0),
            Move(5 * H, 30, 4.0),
            Move(5 * H + 2400, 30, 4.0),
        ],
    )
    tracker, closed = _morning_night(bed)
    assert closed == []
    assert tracker.night is not None
    assert tracker.tick(T0 + 14 * H).closed_night is not None  # at 12:00


def test_a_partner_lying_down_first_is_not_the_sleeper_getting_in() -> None:
    """One sensor under the sleeper's side: the partner in bed alone for 40 minutes raises
    the level a little and breathes faintly; the sleeper's getting in raises it several
    times over. In bed, and the search for sleep onset, start with the sleeper."""
    bed = Bed(
        4 * H,
        occupied=[(2430, 4 * H)],
        partner=[(600, 4 * H)],
        moves=[Move(580, 50, 1.0), Move(2400, 60, 4.0), Move(3 * H, 2.0, 2.0)],
    )
    tracker, night = run(bed)
    sleep = night.sleep
    assert sleep.in_bed == pytest.approx(T0 + 2400, abs=5.0)
    assert len(sleep.in_bed_spans) == 1
    assert sleep.sleep_onset is not None
    assert 0 <= sleep.sleep_onset - (T0 + 2460) < 10 * 60
    assert tracker.states(T0 + 1500).in_bed is False  # only the partner
    assert tracker.states(T0 + 2 * H).in_bed is True


def _restless_confirmation(*, with_partner: bool) -> NightClassification:
    """The sleeper gets in at 2400 s (the movement, with the mattress settling, ends by
    2500 s) and lies still; five minutes later, three of the next ten minutes hold a limb
    movement (theirs or the partner's, the sensor cannot tell), then all is still. With
    `with_partner`, the partner lay down at 600 s."""
    moves = [Move(2400, 60, 4.0)] + [Move(2900 + k * 120.0, 2.0, 1.5) for k in range(3)]
    if with_partner:
        moves.insert(0, Move(580, 50, 1.0))
    bed = Bed(
        4 * H,
        occupied=[(2430, 4 * H)],
        partner=[(600, 4 * H)] if with_partner else [],
        moves=moves,
    )
    return run(bed)[1]


def test_in_a_shared_bed_an_onset_is_confirmed_with_three_restless_minutes() -> None:
    """Someone else's movements reach the sensor too: where the step rule has seen a
    partner, three minutes of ten with a wake-like movement still confirm an onset; in a
    bed of one, the same three put the onset after them."""
    last_move = T0 + 2900 + 2 * 120.0
    shared = _restless_confirmation(with_partner=True).sleep
    assert shared.in_bed == pytest.approx(T0 + 2400, abs=5.0)
    assert shared.sleep_onset is not None
    assert T0 + 2460 <= shared.sleep_onset <= T0 + 2500  # the end of getting in
    assert shared.is_onset_confirmed
    alone = _restless_confirmation(with_partner=False).sleep
    assert alone.sleep_onset is not None
    assert alone.sleep_onset >= last_move


def test_out_of_bed_while_the_partner_stays_is_an_absence() -> None:
    """The sleeper gets up for 12 minutes; the partner stays: the bed never falls to its
    empty floor, but the level falls to the partner's share, so it is an absence."""
    out, back = 2 * H, 2 * H + 720
    bed = Bed(
        4 * H,
        occupied=[(30, out + 25), (back + 25, 4 * H)],
        partner=[(0, 4 * H)],
        moves=[Move(0, 60, 4.0), Move(out, 50, 4.0), Move(back, 50, 4.0)],
    )
    _, night = run(bed)
    (a, left), (returned, end) = night.sleep.in_bed_spans
    assert a == pytest.approx(T0, abs=30.0)  # within the getting-in movement
    assert left == pytest.approx(T0 + out + 50, abs=5.0)
    assert returned == pytest.approx(T0 + back, abs=5.0)
    assert end == float("inf")


def test_getting_up_before_the_partner_ends_the_night_in_bed() -> None:
    """The sleeper gets up at 3 h, the partner an hour later: out of bed at 3 h."""
    bed = Bed(
        4.5 * H,
        occupied=[(30, 3 * H + 25)],
        partner=[(0, 4 * H + 25)],
        moves=[Move(0, 60, 4.0), Move(3 * H, 50, 4.0), Move(4 * H, 50, 1.0)],
    )
    tracker, night = run(bed)
    sleep = night.sleep
    assert sleep.out_of_bed == pytest.approx(T0 + 3 * H + 50, abs=5.0)
    assert sleep.wake is not None
    assert sleep.wake <= T0 + 3 * H + 50
    assert tracker.states(T0 + 3.5 * H).in_bed is False


def test_a_level_doubling_slowly_over_the_night_is_one_stay() -> None:
    """The level drifting by ±40 % (1.0 -> 2.3 x over hours) is no partner leaving:
    each step from one still stretch to the next is small."""
    bed = Bed(
        6 * H,
        occupied=[(0, 6 * H)],
        moves=[Move(0, 60, 4.0)] + [Move(k * 1800.0, 8.0, 2.0) for k in range(1, 12)],
        drift=0.4,
    )
    _, night = run(bed)
    assert len(night.sleep.in_bed_spans) == 1
    assert night.sleep.out_of_bed is None


def test_on_a_bed_with_a_high_floor_the_partner_and_an_absence_are_still_seen() -> None:
    """An empty bed at 0.45 of the occupied level: the partner alone (0.6) against both
    (1.15) is a step under 2x, but what each adds above the floor differs 6-7x; the
    sleeper's absence with the partner staying is an absence, and the return ends it."""
    out, back = 2 * H, 2 * H + 720
    bed = Bed(
        4 * H,
        occupied=[(2430, out + 25), (back + 25, 4 * H)],
        partner=[(600, 4 * H)],
        floor=0.45,
        moves=[
            Move(580, 50, 1.0),
            Move(2400, 60, 4.0),
            Move(out, 50, 4.0),
            Move(back, 50, 4.0),
        ],
    )
    _, night = run(bed)
    (a, left), (returned, end) = night.sleep.in_bed_spans
    assert a == pytest.approx(T0 + 2400, abs=5.0)
    assert left == pytest.approx(T0 + out + 50, abs=5.0)
    assert returned == pytest.approx(T0 + back, abs=5.0)
    assert end == float("inf")


def test_a_level_drifting_fast_near_a_high_floor_is_still_one_stay() -> None:
    """A level swinging ±45 % in waves of 40 minutes over a floor at 0.4 of it, with
    restless stretches of movements between still ones: across a cluster of movements the
    level can change by 1.5x, and above the floor by more than 2x, but it drifts within
    each still stretch too, so it is no partner leaving or arriving."""
    moves = [Move(0, 60, 4.0)]
    for k in range(1, 20):
        start = k * 1200.0
        moves += [Move(start + j * 40.0, 6.0, 1.5) for j in range(6)]
    bed = Bed(
        7 * H,
        occupied=[(0, 7 * H)],
        moves=moves,
        floor=0.4,
        drift=0.45,
        drift_seconds=2400.0,
    )
    _, night = run(bed)
    assert night.sleep.in_bed == pytest.approx(T0, abs=1.0)
    assert len(night.sleep.in_bed_spans) == 1
    assert night.sleep.out_of_bed is None
