"""Hypnic jerks followed by an awakening, on hand-built nights."""

from __future__ import annotations

from collections.abc import Iterator

from sleepenv.bed.core.arousal import WakingConfig, waking_jerks
from sleepenv.bed.core.classify import NightClassification
from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.core.sleep import SleepPeriod

JERK = MovementClass.HYPNIC_JERK
LM = MovementClass.LIMB_MOVEMENT


def ev(onset: float, seconds: float, cls: MovementClass) -> MovementEvent:
    """An event of a class, strong enough to be a jerk when it is one."""
    return MovementEvent(onset, onset + seconds, 5.0, cls, strength=8.0)


def test_a_settled_sleeper_jerks_then_repositions() -> None:
    events = [ev(1000.0, 1.0, LM), ev(1300.0, 0.8, JERK), ev(1312.0, 4.0, MovementClass.ROLLOVER)]
    assert [e.onset for e in waking_jerks(events)] == [1300.0]


def test_a_jerk_without_a_wake_like_movement_after_it_did_not_wake() -> None:
    events = [
        ev(1300.0, 0.8, JERK),
        ev(1305.0, 0.2, MovementClass.TWITCH),  # twitches are sleep-compatible
        ev(1320.0, 1.5, MovementClass.PLM),  # so are members of a PLM series
        ev(1400.0, 1.5, LM),  # too late to be the jerk's awakening
    ]
    assert waking_jerks(events) == ()


def test_a_jerk_amid_restlessness_is_not_counted_as_waking() -> None:
    """Awake already (moving just before): the movement after the jerk is no awakening."""
    events = [ev(1260.0, 2.0, LM), ev(1300.0, 0.8, JERK), ev(1310.0, 2.0, LM)]
    assert waking_jerks(events) == ()
    # With a shorter settling requirement the same night counts.
    assert len(waking_jerks(events, WakingConfig(settled_seconds=30.0))) == 1


def test_only_hypnic_jerks_are_candidates_and_order_does_not_matter() -> None:
    events = [ev(1310.0, 3.0, MovementClass.ROLLOVER), ev(1300.0, 0.8, LM)]
    assert waking_jerks(events) == ()
    events = [ev(2312.0, 3.0, MovementClass.BOUT), ev(2300.0, 0.8, JERK)]
    assert len(waking_jerks(events)) == 1


class _Untouchable(list[MovementEvent]):
    """A night's events that fail the test when walked."""

    def __iter__(self) -> Iterator[MovementEvent]:
        raise AssertionError("the night's events were walked")


def test_a_live_night_without_a_jerk_answers_without_walking_its_events() -> None:
    """The count kept by a live night says there is no jerk: no walk over the night (it
    ran at every checkpoint, a cost that grew with the night)."""
    events = _Untouchable([ev(1000.0, 1.0, LM)])
    night = NightClassification(
        events,
        SleepPeriod(),
        None,
        None,
        is_final=False,
        is_lower_bound=False,
        class_counts={LM.value: 1},
    )
    assert night.waking_jerks == 0
    with_jerk = NightClassification(
        [ev(1000.0, 1.0, LM), ev(1300.0, 0.8, JERK), ev(1312.0, 4.0, MovementClass.ROLLOVER)],
        SleepPeriod(),
        None,
        None,
        is_final=False,
        is_lower_bound=False,
        class_counts={LM.value: 1, JERK.value: 1, MovementClass.ROLLOVER.value: 1},
    )
    assert with_jerk.waking_jerks == 1
