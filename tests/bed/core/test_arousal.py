"""Hypnic jerks followed by an awakening, on hand-built nights."""

from __future__ import annotations

from sleepenv.bed.core.arousal import WakingConfig, waking_jerks
from sleepenv.bed.core.model import MovementClass, MovementEvent

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
