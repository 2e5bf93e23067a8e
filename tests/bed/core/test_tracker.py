"""The bed tracker: nightly counts, last hour, duplicates, restarts (fake clock, no loop)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sleepenv.bed.core.model import EnvelopeFrame, SourceKind, ZigbeeVibration
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec, Update
from tests.helpers.frames import Burst, frames

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 5, 23, 0, tzinfo=BERLIN).timestamp()


def tracker() -> BedTracker:
    """One bed with one envelope sensor and a 18:00-12:00 night."""
    window = NightWindow(time(18), time(12), BERLIN)
    bed = BedTracker("main", window, [SensorSpec("both", SourceKind.ENVELOPE)])
    bed.restore(T0, [], {}, {})
    return bed


def feed(bed: BedTracker, fs: list[EnvelopeFrame]) -> Update:
    """Feed frames as they would arrive (now = end of each frame)."""
    total = Update()
    for f in fs:
        total.merge(bed.on_reading("both", f, f.end))
    return total


BURSTS = (Burst(T0 + 30, 0.3), Burst(T0 + 60, 2.0), Burst(T0 + 100, 20.0))


def test_counts_by_class_and_states() -> None:
    bed = tracker()
    update = feed(bed, list(frames(T0, 150, BURSTS)))
    assert [e.cls.value for e in update.events] == ["twitch", "limb_movement", "rollover"]
    states = bed.states(T0 + 150)
    assert states.movements_tonight == 3
    assert states.twitches_tonight == 1
    assert states.limb_movements_tonight == 1
    assert states.rollovers_tonight == 1
    assert states.movements_last_hour == 3
    assert states.frames_received == 150
    assert isinstance(states.last_movement, float)
    assert abs(states.last_movement - (T0 + 100)) < 0.3


def test_duplicate_and_out_of_order_frames_are_rejected_not_counted() -> None:
    bed = tracker()
    fs = list(frames(T0, 150, BURSTS))
    feed(bed, fs)
    update = Update()
    for f in fs[40:80]:  # replayed later: the clock has moved on
        update.merge(bed.on_reading("both", f, T0 + 200))
    assert update.events == []
    assert bed.messages_rejected == 40
    assert bed.states(T0 + 150).movements_tonight == 3
    assert {r.reason for r in update.rejections} == {"duplicate"}


def test_a_frame_from_the_future_does_not_block_the_stream() -> None:
    """One well-formed frame 200 s ahead of the clock moves the cursor there; the live
    frames behind it are refused only until three in a row show the cursor was wrong."""
    bed = tracker()
    fs = list(frames(T0, 150, BURSTS))
    feed(bed, fs[:20])
    ahead = EnvelopeFrame(T0 + 220, 10.0, (1.0,) * 10)
    bed.on_reading("both", ahead, T0 + 21)
    feed(bed, fs[20:])
    assert bed.messages_rejected == 2  # the first two live frames behind it
    assert bed.states(T0 + 150).movements_tonight == 3
    assert bed.cursors()["both"] == fs[-1].end


def test_restart_restores_counts_and_ignores_replayed_events() -> None:
    first = tracker()
    fs = list(frames(T0, 150, BURSTS))
    events = feed(first, fs).events
    # A fresh process that lost its cursor sees the whole night again.
    window = NightWindow(time(18), time(12), BERLIN)
    second = BedTracker("main", window, [SensorSpec("both", SourceKind.ENVELOPE)])
    second.restore(T0 + 150, events, {}, {"frames_received": 150})
    assert second.states(T0 + 150).movements_tonight == 3
    replay = feed(second, fs)
    assert replay.events == []
    assert second.states(T0 + 150).movements_tonight == 3


def test_last_hour_decays_and_wake_at_says_when() -> None:
    bed = tracker()
    feed(bed, list(frames(T0, 150, BURSTS)))
    # Long after the last frame (the sensor's silence already began): only the window.
    assert bed.wake_at(T0 + 200) == bed.recent_onsets[0] + 3600
    update = bed.tick(T0 + 30 + 3600.5)
    assert update.states.movements_last_hour == 2
    assert bed.tick(T0 + 100 + 3601).states.movements_last_hour == 0


def test_night_end_closes_a_summary_and_next_night_resets() -> None:
    bed = tracker()
    feed(bed, list(frames(T0, 150, BURSTS)))
    noon = datetime(2026, 1, 6, 12, 0, tzinfo=BERLIN).timestamp()
    closed = bed.tick(noon).closed_night
    assert closed is not None
    assert closed.night == "2026-01-05"
    assert closed.total_movements == 3
    assert bed.counts_reset_at == noon  # the daytime zeros start at the night's end
    evening = datetime(2026, 1, 6, 18, 0, tzinfo=BERLIN).timestamp()
    update = bed.tick(evening + 5)
    assert update.states.movements_tonight == 0
    assert update.states.movements_last_night == 3
    assert bed.counts_reset_at == evening


def test_counts_reset_at_after_a_restart_is_the_night_start() -> None:
    bed = tracker()
    night_start = datetime(2026, 1, 5, 18, 0, tzinfo=BERLIN).timestamp()
    assert bed.counts_reset_at == night_start


def test_zigbee_sensor_counts_are_lower_bounds() -> None:
    window = NightWindow(time(18), time(12), BERLIN)
    bed = BedTracker("z", window, [SensorSpec("both", SourceKind.ZIGBEE_VIBRATION)])
    bed.restore(T0, [], {}, {})
    assert bed.is_lower_bound
    update = bed.on_reading("both", ZigbeeVibration(T0 + 5, "vibration", strength=12), T0 + 5)
    assert [e.is_lower_bound for e in update.events] == [True]
    dup = bed.on_reading("both", ZigbeeVibration(T0 + 5, "vibration", strength=12), T0 + 6)
    assert dup.events == []
    assert bed.states(T0 + 6).movements_tonight == 1


def test_plain_number_jitter_is_absorbed() -> None:
    bed = tracker()
    for i in range(20):
        at = T0 + i * 0.1 - (0.03 if i % 2 else 0.0)
        bed.on_reading("both", EnvelopeFrame(at, 10.0, (1.0,)), at)
    assert bed.messages_rejected == 0
    assert bed.frames_received == 20
