"""Invariants of classification on arbitrary nights (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed.core.classify import classify_night
from sleepenv.bed.core.model import MovementClass, MovementEvent

T0 = 1_767_650_400.0

events = st.lists(
    st.tuples(
        st.floats(0, 8 * 3600),  # onset, seconds into the night
        st.floats(0.15, 60.0),  # duration
        st.floats(0.0, 15.0),  # strength
        st.booleans(),  # posture change
    ),
    max_size=60,
)


def build(raw: list[tuple[float, float, float, bool]]) -> list[MovementEvent]:
    """Duration-classed events as the detector would emit them."""
    out = []
    for onset, duration, strength, posture in sorted(raw):
        cls = (
            MovementClass.TWITCH
            if duration < 0.5
            else MovementClass.BOUT
            if duration > 45
            else MovementClass.ROLLOVER
            if posture
            else MovementClass.LIMB_MOVEMENT
        )
        out.append(
            MovementEvent(
                T0 + onset,
                T0 + onset + duration,
                1.0,
                cls,
                strength=strength,
                has_posture_change=posture,
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(events, st.booleans())
def test_labels_are_stable_and_from_the_vocabulary(
    raw: list[tuple[float, float, float, bool]], is_final: bool
) -> None:
    night = classify_night(build(raw), T0, T0 + 8 * 3600, is_final=is_final)
    assert len(night.events) + night.glitches == len(raw)
    assert {e.cls for e in night.events} <= set(MovementClass) - {MovementClass.MOVEMENT}
    assert sum(night.counts.values()) == len(night.events)
    # Stored events carry refined labels: classifying them again changes nothing.
    again = classify_night(list(night.events), T0, T0 + 8 * 3600, is_final=is_final)
    assert [e.cls for e in again.events] == [e.cls for e in night.events]
    assert again.sleep == night.sleep
    if night.plm_index is not None:
        assert night.plm_index >= 0.0
    assert all(
        e.cls is not MovementClass.PLM or night.sleep.sleep_onset is not None for e in night.events
    )
