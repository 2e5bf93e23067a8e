"""The coarse Zigbee vibration tracker: lower-bound movements and posture changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sleepenv.bed.core.coarse import CoarseConfig, CoarseTracker
from sleepenv.bed.core.model import (
    DetectorOutput,
    MovementClass,
    MovementEvent,
    SourceKind,
    ZigbeeVibration,
)

T0 = 1_700_000_000.0


def events(outputs: list[DetectorOutput]) -> list[MovementEvent]:
    """The movement events among outputs."""
    return [o for o in outputs if isinstance(o, MovementEvent)]


def feed_all(tracker: CoarseTracker, readings: list[ZigbeeVibration]) -> list[MovementEvent]:
    """Feed readings in order and collect the events."""
    out: list[DetectorOutput] = []
    for reading in readings:
        out += tracker.feed(reading)
    return events(out)


def test_vibration_is_a_lower_bound_movement_at_its_time() -> None:
    tracker = CoarseTracker(sensor="bed_vib", side="left")
    out = tracker.feed(ZigbeeVibration(t=T0, action="vibration", strength=14))
    assert out == [
        MovementEvent(
            onset=T0,
            offset=T0,
            peak=14,
            cls=MovementClass.MOVEMENT,
            source=SourceKind.ZIGBEE_VIBRATION,
            sensor="bed_vib",
            side="left",
            is_lower_bound=True,
        )
    ]


def test_vibration_without_strength_has_zero_peak() -> None:
    (event,) = events(CoarseTracker().feed(ZigbeeVibration(t=T0, action="vibration")))
    assert event.peak == 0.0


def test_tilt_is_a_rollover_with_posture_change() -> None:
    (event,) = events(CoarseTracker().feed(ZigbeeVibration(t=T0, action="tilt", angle=30)))
    assert event.cls is MovementClass.ROLLOVER
    assert event.has_posture_change
    assert event.is_lower_bound
    assert event.onset == event.offset == T0


def test_angle_change_over_threshold_is_a_rollover() -> None:
    tracker = CoarseTracker()
    got = feed_all(
        tracker,
        [
            ZigbeeVibration(t=T0, action=None, angle_xyz=(2, -1, 88)),
            ZigbeeVibration(t=T0 + 10, action=None, angle_xyz=(5, 3, 85)),  # 4° at most
            ZigbeeVibration(t=T0 + 20, action=None, angle_xyz=(2, -13, 88)),  # 12° on y
        ],
    )
    assert [(e.cls, e.onset) for e in got] == [(MovementClass.ROLLOVER, T0 + 20)]
    assert got[0].has_posture_change


def test_small_drift_never_accumulates_to_a_turn_without_threshold() -> None:
    tracker = CoarseTracker(CoarseConfig(posture_change_degrees=10.0))
    got = feed_all(
        tracker,
        [ZigbeeVibration(t=T0 + i, action=None, angle_xyz=(0, 0, 80 + i)) for i in range(10)],
    )
    # 9° in total from the first posture: below the threshold.
    assert got == []


def test_tilt_then_angle_updates_of_the_same_turn_count_once() -> None:
    tracker = CoarseTracker()
    got = feed_all(
        tracker,
        [
            ZigbeeVibration(t=T0, action=None, angle_xyz=(2, -1, 88)),
            ZigbeeVibration(t=T0 + 100, action="tilt", angle=40),
            ZigbeeVibration(t=T0 + 105, action=None, angle_xyz=(40, -1, 50)),
            ZigbeeVibration(t=T0 + 130, action="vibration", angle_xyz=(42, 0, 48)),
            ZigbeeVibration(t=T0 + 150, action=None, angle_xyz=(40, 20, 50)),
        ],
    )
    assert [e.cls for e in got] == [MovementClass.ROLLOVER, MovementClass.MOVEMENT]
    assert got[0].onset == T0 + 100


def test_a_turn_after_the_same_turn_window_counts_again() -> None:
    tracker = CoarseTracker()
    got = feed_all(
        tracker,
        [
            ZigbeeVibration(t=T0, action=None, angle_xyz=(0, 0, 90)),
            ZigbeeVibration(t=T0 + 10, action=None, angle_xyz=(30, 0, 60)),
            ZigbeeVibration(t=T0 + 200, action=None, angle_xyz=(0, 0, 90)),
        ],
    )
    assert [e.onset for e in got] == [T0 + 10, T0 + 200]
    assert all(e.cls is MovementClass.ROLLOVER for e in got)


def test_vibration_with_new_posture_is_one_rollover() -> None:
    tracker = CoarseTracker()
    tracker.feed(ZigbeeVibration(t=T0, action=None, angle_xyz=(0, 0, 90)))
    got = events(
        tracker.feed(
            ZigbeeVibration(t=T0 + 5, action="vibration", strength=9, angle_xyz=(25, 0, 65))
        )
    )
    assert [(e.cls, e.peak) for e in got] == [(MovementClass.ROLLOVER, 9)]


def test_drop_is_ignored() -> None:
    tracker = CoarseTracker()
    assert tracker.feed(ZigbeeVibration(t=T0, action="drop", angle_xyz=(0, 0, 90))) == []
    # The drop's angles did not become the reference posture either.
    assert tracker.feed(ZigbeeVibration(t=T0 + 1, action=None, angle_xyz=(0, 0, 10))) == []


def test_duplicate_readings_count_once() -> None:
    tracker = CoarseTracker()
    vibration = ZigbeeVibration(t=T0, action="vibration", strength=3)
    tilt = ZigbeeVibration(t=T0, action="tilt")
    got = feed_all(tracker, [vibration, vibration, tilt, vibration, tilt])
    assert [e.cls for e in got] == [MovementClass.MOVEMENT, MovementClass.ROLLOVER]


def test_readings_from_the_past_are_ignored() -> None:
    tracker = CoarseTracker()
    tracker.feed(ZigbeeVibration(t=T0 + 10, action="vibration"))
    assert tracker.feed(ZigbeeVibration(t=T0, action="vibration")) == []


readings = st.builds(
    ZigbeeVibration,
    t=st.floats(T0, T0 + 3600),
    action=st.sampled_from(["vibration", "tilt", "drop", None]),
    strength=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    angle_xyz=st.none()
    | st.tuples(
        st.floats(-180, 180), st.floats(-180, 180), st.floats(allow_nan=True, allow_infinity=True)
    ),
)


@given(st.lists(readings, max_size=40))
def test_replaying_sorted_readings_twice_adds_nothing(batch: list[ZigbeeVibration]) -> None:
    batch.sort(key=lambda r: r.t)
    once = feed_all(CoarseTracker(), batch)
    doubled = feed_all(CoarseTracker(), [r for r in batch for _ in range(2)])
    assert doubled == once
    assert all(e.is_lower_bound and e.onset == e.offset for e in once)
    assert all(e.peak == e.peak for e in once)  # never NaN
