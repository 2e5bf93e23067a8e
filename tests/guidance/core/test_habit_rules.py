"""When a habit's Home Assistant entity counts as a press of its button (pure rules)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepenv.guidance.core.buttons import (
    HabitRule,
    HabitTrigger,
    habit_rule,
    habit_step,
)


def presses(rule: HabitRule, states: Sequence[str]) -> list[bool]:
    """Feed `states` in order from a fresh start; whether each read was a press."""
    baseline: str | None = None
    out = []
    for state in states:
        step = habit_step(rule, baseline, state)
        baseline = step.baseline
        out.append(step.is_press)
    return out


@pytest.mark.parametrize(
    ("entity", "states", "trigger"),
    [
        ("input_boolean.had_coffee", None, HabitTrigger.TURNED_ON),
        ("switch.coffee_machine", None, HabitTrigger.TURNED_ON),
        ("binary_sensor.gym_door", None, HabitTrigger.TURNED_ON),
        ("counter.coffees_today", None, HabitTrigger.INCREASED),
        ("input_number.cups", None, HabitTrigger.INCREASED),
        ("number.cups", None, HabitTrigger.INCREASED),
        ("sensor.workouts_today", None, HabitTrigger.INCREASED),
        ("sensor.phone_activity", ["Running", " cycling "], HabitTrigger.ENTERED),
        ("input_boolean.x", ["off"], HabitTrigger.ENTERED),  # states win over the domain
        ("input_select.activity", ["gym"], HabitTrigger.ENTERED),
    ],
)
def test_the_rule_follows_the_states_else_the_domain(
    entity: str, states: list[str] | None, trigger: HabitTrigger
) -> None:
    rule = habit_rule(entity, states)
    assert rule is not None
    assert rule.trigger is trigger
    if states:
        assert rule.states == {s.strip().casefold() for s in states}


def test_other_domains_need_states() -> None:
    assert habit_rule("input_select.activity", None) is None
    assert habit_rule("person.me", []) is None


def test_an_input_boolean_turning_on_is_one_press() -> None:
    rule = habit_rule("input_boolean.had_coffee", None)
    assert rule is not None
    # The first read is a baseline, even when it is "on" (sleepenv just started).
    assert presses(rule, ["on", "on", "off", "on", "on", "off", "on"]) == [
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    assert presses(rule, ["off", "on"]) == [False, True]


def test_unavailable_and_unknown_never_count_nor_move_the_baseline() -> None:
    rule = habit_rule("input_boolean.had_coffee", None)
    assert rule is not None
    # on → unavailable → on (Home Assistant restarting) is not a press; off → unknown → on is.
    assert presses(rule, ["on", "unavailable", "on"]) == [False, False, False]
    assert presses(rule, ["off", "unknown", "on"]) == [False, False, True]
    assert presses(rule, ["unavailable", "on"]) == [False, False]  # still the first usable
    step = habit_step(rule, "off", "unavailable")
    assert step.baseline == "off"
    assert step.problem is None


def test_a_counter_increase_is_one_press_whatever_its_size() -> None:
    rule = habit_rule("counter.coffees_today", None)
    assert rule is not None
    # 3 → 5 between two reads is one press; the reset at midnight is a new baseline.
    assert presses(rule, ["2", "2", "3", "5", "0", "0", "1", "1.0"]) == [
        False,
        False,
        True,
        True,
        False,
        False,
        True,
        False,
    ]


def test_a_state_entering_the_configured_ones_is_one_press() -> None:
    rule = habit_rule("sensor.phone_activity", ["running", "cycling"])
    assert rule is not None
    states = ["Running", "still", "Walking", "Running", "cycling", "Still", "cycling"]
    # The first read (already running at start-up) is only a baseline; running → cycling
    # stays inside the set, so it is the same workout.
    assert presses(rule, states) == [False, False, False, True, False, False, True]


def test_unusable_states_are_problems_and_keep_the_baseline() -> None:
    on_rule = habit_rule("binary_sensor.door", None)
    number_rule = habit_rule("counter.cups", None)
    assert on_rule is not None
    assert number_rule is not None
    step = habit_step(on_rule, "off", "open")
    assert step.baseline == "off"
    assert step.problem == "expected on or off, got 'open'"
    assert not step.is_press
    for bad in ("two", "nan", "inf", ""):
        step = habit_step(number_rule, "1.0", bad)
        assert step.baseline == "1.0"
        assert step.problem is not None
        assert not step.is_press
    long = habit_step(number_rule, "1.0", "9" * 300)
    assert long.problem == "expected a state of 1 to 255 characters"
    # After the bad reads the counter's increase is still seen against the old value.
    assert habit_step(number_rule, "1.0", "2").is_press


RULES = st.sampled_from(
    [
        HabitRule(HabitTrigger.TURNED_ON),
        HabitRule(HabitTrigger.INCREASED),
        HabitRule(HabitTrigger.ENTERED, frozenset({"running"})),
    ]
)
STATES = st.one_of(
    st.sampled_from(["on", "off", "running", "still", "unavailable", "unknown", "1", "2", "-1"]),
    st.text(max_size=300),
)


@given(RULES, st.lists(STATES, max_size=30))
def test_a_press_needs_a_usable_state_after_a_baseline(rule: HabitRule, states: list[str]) -> None:
    """Never a press on the first usable read, on unavailable/unknown, or on a problem;
    and never an exception, whatever the state."""
    baseline: str | None = None
    for state in states:
        step = habit_step(rule, baseline, state)
        if step.is_press:
            assert baseline is not None
            assert step.problem is None
            assert state.strip().casefold() not in ("unavailable", "unknown")
        if step.problem is not None or state.strip().casefold() in ("unavailable", "unknown"):
            assert step.baseline == baseline
        baseline = step.baseline
