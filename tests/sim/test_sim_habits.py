"""The simulator's habits: drawn per night, and their planted effects show in the truth."""

from __future__ import annotations

from statistics import mean

from sleepenv.insights.core.factors import NightFactors, Outcome
from sleepenv.sim import PROFILES, generate_night
from sleepenv.sim.habits import (
    NO_EFFECTS,
    HabitEffects,
    apply_habits,
    draw_habits,
    fortnight_nights,
    truth_record,
)


def test_a_profile_object_gives_the_same_night_as_its_name() -> None:
    assert generate_night(3, PROFILES["clean"]).truth == generate_night(3, "clean").truth


def test_habits_are_deterministic_and_vary_between_nights() -> None:
    assert draw_habits(1, 0) == draw_habits(1, 0)
    drawn = [draw_habits(1, i) for i in range(40)]
    assert 5 < sum(bool(h.caffeine_late) for h in drawn) < 30
    assert len({h.room_celsius for h in drawn}) > 20


def _outcome(habits: NightFactors, effects: HabitEffects, outcome: Outcome) -> float:
    values = []
    for seed in range(30):
        profile = apply_habits(PROFILES["clean"], habits, effects)
        night = generate_night(500 + seed, profile)
        value = truth_record("n", night.truth, habits).outcomes[outcome]
        assert value is not None
        values.append(value)
    return mean(values)


def test_late_caffeine_brings_more_jerks_and_a_later_onset() -> None:
    plain = NightFactors(caffeine_late=False, screen_minutes=0.0, room_celsius=18.0)
    coffee = NightFactors(caffeine_late=True, screen_minutes=0.0, room_celsius=18.0)
    effects = HabitEffects()
    more = _outcome(coffee, effects, Outcome.HYPNIC_JERKS) - _outcome(
        plain, effects, Outcome.HYPNIC_JERKS
    )
    assert 1.5 <= more <= 2.5  # two planted, the rest of the night unchanged
    later = _outcome(coffee, effects, Outcome.ONSET_MINUTES) - _outcome(
        plain, effects, Outcome.ONSET_MINUTES
    )
    assert later > 6.0
    assert _outcome(coffee, NO_EFFECTS, Outcome.HYPNIC_JERKS) == _outcome(
        plain, NO_EFFECTS, Outcome.HYPNIC_JERKS
    )


def test_a_fortnight_plants_only_the_declared_pairs() -> None:
    nights = fortnight_nights(2, 14)
    assert [label for label, _, _ in nights][:2] == ["night-01", "night-02"]
    assert len(HabitEffects().planted()) == 5
    assert NO_EFFECTS.planted() == set()
