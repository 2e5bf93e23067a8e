"""Provisional labels live, final labels when the night closes (fake clock, no loop)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from sleepenv.bed.core.model import MovementClass, SourceKind
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec
from sleepenv.bed.store import Store
from tests.bed.core.test_tracker import BERLIN, T0, feed, tracker
from tests.helpers.frames import Burst, frames

LYING_DOWN = Burst(T0 + 30, 2.0, 2.0)
ONSET = T0 + 32
SERIES = tuple(Burst(ONSET + 360 + 25 * i, 1.5, 2.0) for i in range(4))


def test_a_fourth_periodic_movement_relabels_the_first_three() -> None:
    bed = tracker()
    fs = list(frames(T0, 800, (LYING_DOWN, *SERIES)))
    update = feed(bed, fs[:455])  # up to just after the third member
    assert [e.cls for e in update.events[1:]] == [MovementClass.LIMB_MOVEMENT] * 3
    assert bed.states(T0 + 455).plm_tonight == 0
    update = feed(bed, fs[455:])
    assert update.events[-1].cls is MovementClass.PLM
    states = bed.states(T0 + 800)
    assert states.plm_tonight == 4
    assert states.limb_movements_tonight == 1
    assert states.sleep_onset == ONSET
    assert states.in_bed is True
    assert states.plm_index_tonight is not None


def test_closing_the_night_gives_final_labels_and_the_store_follows(tmp_path: Path) -> None:
    bed = tracker()
    fs = list(frames(T0, 800, (LYING_DOWN, *SERIES)))
    store = Store(tmp_path / "s.db")
    night = "2026-01-05"
    for f in fs:
        for event in bed.on_reading("both", f, f.end).events:
            store.add_event("main", night, event)
    stored = [e.cls for e in store.events("main", night)]
    assert stored.count(MovementClass.LIMB_MOVEMENT) == 4  # three were provisional
    closed = bed.tick(T0 + 14 * 3600)  # 13:00 the next day: the night is over
    assert closed.closed_night is not None
    assert closed.final_events is not None
    assert closed.closed_night.counts == {"limb_movement": 1, "plm": 4}
    assert closed.closed_night.sleep_onset == ONSET
    store.relabel_night("main", night, closed.final_events)
    stored = [e.cls for e in store.events("main", night)]
    assert stored == [MovementClass.LIMB_MOVEMENT] + [MovementClass.PLM] * 4
    states = bed.states(T0 + 14 * 3600)
    assert states.plm_last_night == 4
    assert states.sleep_onset_last_night == ONSET
    store.close()


def test_relabel_deletes_events_that_are_not_in_the_final_night(tmp_path: Path) -> None:
    bed = tracker()
    store = Store(tmp_path / "s.db")
    fs = list(frames(T0, 100, (LYING_DOWN,)))
    events = [e for f in fs for e in bed.on_reading("both", f, f.end).events]
    for e in events:
        store.add_event("main", "n", e)
    store.relabel_night("main", "n", [])
    assert store.events("main", "n") == []
    store.close()


def test_two_sensors_count_a_movement_once_on_the_side_with_more_energy() -> None:
    window = NightWindow(time(18), time(12), BERLIN)
    specs = [SensorSpec("left", SourceKind.ENVELOPE, "left")]
    specs.append(SensorSpec("right", SourceKind.ENVELOPE, "right"))
    bed = BedTracker("main", window, specs)
    bed.restore(T0, [], {}, {})
    left = list(frames(T0, 60, (Burst(T0 + 30, 2.0, 6.0),), seed=1))
    right = list(frames(T0, 60, (Burst(T0 + 30, 2.0, 1.5),), seed=2))
    for a, b in zip(left, right, strict=True):
        bed.on_reading("left", a, a.end)
        bed.on_reading("right", b, b.end)
    states = bed.states(T0 + 60)
    assert states.movements_tonight == 1
    assert bed.classification is not None
    assert [e.side for e in bed.classification.events] == ["left"]


def test_a_jerk_that_wakes_the_settled_sleeper_is_counted_in_the_night() -> None:
    bed = tracker()
    jerk = Burst(ONSET + 540, 0.6, 12.0)  # after six still minutes: settled
    rollover = Burst(ONSET + 553, 8.0, 12.0)  # repositioning a few seconds later
    quiet_jerk = Burst(ONSET + 900, 0.6, 12.0)  # in the window, nothing follows it
    feed(bed, list(frames(T0, 1500, (LYING_DOWN, jerk, rollover, quiet_jerk))))
    closed = bed.tick(T0 + 14 * 3600).closed_night
    assert closed is not None
    assert closed.counts.get("hypnic_jerk") == 2
    assert closed.waking_jerks == 1
    assert bed.states(T0 + 14 * 3600).waking_jerks_last_night == 1


def test_resting_levels_survive_a_restart_so_occupancy_does_not_fall_back() -> None:
    """Without the stored levels a restarted tracker has no contrast between empty and
    occupied bed until enough new minutes arrive."""
    bed = tracker()
    empty = list(frames(T0, 600, baseline=0.1))  # ten minutes of an empty bed's floor
    occupied = list(frames(T0 + 600, 900, (Burst(T0 + 610, 2.0, 2.0),), seed=1))
    update = feed(bed, empty + occupied)
    assert len(update.levels) >= 20
    assert update.levels == bed.levels
    now = T0 + 1500
    assert bed.states(now).in_bed is True
    window = NightWindow(time(18), time(12), BERLIN)
    stored_events = list(bed.tonight)
    again = BedTracker("main", window, [SensorSpec("both", SourceKind.ENVELOPE)])
    again.restore(now, stored_events, bed.cursors(), {}, levels=update.levels)
    assert again.levels == bed.levels
    assert again.states(now).in_bed is True
    without = BedTracker("main", window, [SensorSpec("both", SourceKind.ENVELOPE)])
    without.restore(now, stored_events, bed.cursors(), {})
    assert without.states(now).in_bed is not True
