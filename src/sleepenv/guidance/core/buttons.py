"""The answers to a bedroom's buttons (pure): start wind-down now, snooze's window, habits,
and when a habit's Home Assistant entity counts as a press of its button.

`Guidance` (`guidance.py`) keeps tonight's state and applies a press; what a press means
at a given moment of the plan, and the note that tells the person why, is decided here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from sleepenv.guidance.core.timeline import (
    NOON,
    GuidanceConfig,
    NightPlan,
    Phase,
    base_plan,
    to_instant,
)

BEFORE_LIGHTS_OUT = frozenset({Phase.DAY, Phase.CAFFEINE_CUTOFF, Phase.WIND_DOWN, Phase.NO_SCREEN})
# "Start wind-down now" works in the evening: from noon of the evening's date, or this long
# before the scheduled wind-down when that is earlier (a bedtime early in the afternoon).
# Pressed in the morning it would dim the lights for the whole day.
START_NOW_LEAD_SECONDS = 2 * 3600.0

# Presses up to this long after bedtime still belong to that evening (the insights use the
# same window). How close to bedtime exercise is late is the bedroom's own setting
# (GuidanceConfig.late_exercise_hours).
PRESS_WINDOW_AFTER_BEDTIME = 6 * 3600.0


def wall_clock(at: float, tz: tzinfo) -> str:
    """A local wall-clock time of a bedroom, for notes (22:30)."""
    return datetime.fromtimestamp(at, tz).strftime("%H:%M")


def habit_note(
    plan: NightPlan, habit: str, at: float, local_time: str, *, late_exercise_hours: float
) -> str:
    """The note that answers a habit press ("caffeine" or "exercise"), saying whether it
    counts as late for tonight (exercise: within `late_exercise_hours` of bedtime)."""
    # A press long after last night's bedtime (a morning coffee) belongs to the
    # coming evening, whose cut-off and bedtime are still ahead: not late.
    is_tonight = at <= plan.bedtime_at + PRESS_WINDOW_AFTER_BEDTIME
    if habit == "caffeine":
        cutoff = plan.caffeine_at
        late = is_tonight and cutoff is not None and at >= cutoff
        when = "after the caffeine cut-off" if late else "before the cut-off"
        if cutoff is None:
            when = "no cut-off is set"
    else:
        late = is_tonight and at >= plan.bedtime_at - late_exercise_hours * 3600.0
        when = f"within {late_exercise_hours:g} h of bedtime" if late else "well before bed"
    return f"{habit.capitalize()} noted at {local_time} ({when})"


def start_now_refusal(config: GuidanceConfig, plan: NightPlan, now: float) -> str | None:
    """Why the start-now button does nothing at `now`, or None when it starts."""
    phase = plan.phase_at(now)
    if phase in (Phase.WIND_DOWN, Phase.NO_SCREEN):
        return "Wind-down is already under way"
    if phase in (Phase.DAY, Phase.CAFFEINE_CUTOFF):
        noon = to_instant(plan.evening, NOON, config.tz)
        if now >= min(noon, plan.wind_down_at - START_NOW_LEAD_SECONDS):
            return None
        return f"Wind-down is for the evening; next at {wall_clock(plan.wind_down_at, config.tz)}"
    # Lights-out, asleep or the morning: tonight is over, the next evening is meant.
    following = base_plan(config, plan.evening + timedelta(days=1))
    next_at = wall_clock(following.wind_down_at, config.tz)
    if phase is Phase.WAKE:
        return f"Wind-down is for the evening; next at {next_at}"
    return f"Lights are out already; next wind-down at {next_at}"


# -- habits from a Home Assistant entity -------------------------------------------------
# What counts as one press of a habit's button when the habit comes from an entity
# (`habits:` of a bedroom). The adapter polls the entity; each usable state it reads is
# compared with the last one (the baseline), and the first one read is only a baseline.

SWITCH_DOMAINS = frozenset({"input_boolean", "switch", "binary_sensor"})
NUMBER_DOMAINS = frozenset({"counter", "input_number", "number", "sensor"})
# Home Assistant's own "no value": never a press, and never a new baseline either, so an
# entity that comes back with the state it had is not pressed again.
NO_VALUE_STATES = frozenset({"unavailable", "unknown"})
MAX_STATE_CHARS = 255  # Home Assistant's own limit


class HabitTrigger(StrEnum):
    """How an entity's states become presses."""

    TURNED_ON = "turned_on"  # off → on
    INCREASED = "increased"  # a number going up, one press per increase seen
    ENTERED = "entered"  # entering one of the configured states


@dataclass(frozen=True, slots=True)
class HabitRule:
    """The trigger for one entity, and the states that count (ENTERED; case-folded)."""

    trigger: HabitTrigger
    states: frozenset[str] = frozenset()


def habit_rule(entity_id: str, states: Sequence[str] | None) -> HabitRule | None:
    """The rule for an entity: its `states` when given, else by its domain (an
    input_boolean, switch or binary_sensor turning on; a counter, input_number, number or
    sensor increasing). None when the domain needs `states`."""
    if states:
        return HabitRule(HabitTrigger.ENTERED, frozenset(s.strip().casefold() for s in states))
    domain = entity_id.split(".", 1)[0]
    if domain in SWITCH_DOMAINS:
        return HabitRule(HabitTrigger.TURNED_ON)
    if domain in NUMBER_DOMAINS:
        return HabitRule(HabitTrigger.INCREASED)
    return None


@dataclass(frozen=True, slots=True)
class HabitStep:
    """What one state read means: the baseline to keep, whether it was a press, and why
    the state was unusable (None when it was usable or said "no value")."""

    baseline: str | None
    is_press: bool = False
    problem: str | None = None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def habit_step(rule: HabitRule, baseline: str | None, state: str) -> HabitStep:
    """The press decision for one state read against the last usable one (pure).

    `baseline` is None before the first usable state: that one is only a baseline, so a
    state that was already there when sleepenv started (or restarted) is never a press.
    `unavailable` and `unknown` change nothing. A counter going down (reset at midnight)
    is a new baseline, not a press; an increase of any size between two reads is one press.
    """
    text = state.strip()
    folded = text.casefold()
    if folded in NO_VALUE_STATES:
        return HabitStep(baseline)
    if not text or len(text) > MAX_STATE_CHARS:
        return HabitStep(baseline, problem=f"expected a state of 1 to {MAX_STATE_CHARS} characters")
    if rule.trigger is HabitTrigger.TURNED_ON:
        return _turned_on(baseline, text)
    if rule.trigger is HabitTrigger.INCREASED:
        return _increased(baseline, text)
    entered = folded in rule.states
    was_in = baseline is None or baseline in rule.states
    return HabitStep(folded, is_press=entered and not was_in)


def _turned_on(baseline: str | None, text: str) -> HabitStep:
    folded = text.casefold()
    if folded not in ("on", "off"):
        return HabitStep(baseline, problem=f"expected on or off, got {text[:40]!r}")
    return HabitStep(folded, is_press=folded == "on" and baseline == "off")


def _increased(baseline: str | None, text: str) -> HabitStep:
    value = _number(text)
    if value is None:
        return HabitStep(baseline, problem=f"expected a number, got {text[:40]!r}")
    before = None if baseline is None else _number(baseline)
    return HabitStep(repr(value), is_press=before is not None and value > before)
