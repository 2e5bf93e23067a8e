"""The answers to a bedroom's buttons (pure): start wind-down now, snooze's window, habits.

`Guidance` (`guidance.py`) keeps tonight's state and applies a press; what a press means
at a given moment of the plan, and the note that tells the person why, is decided here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

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

# Exercise this close to bedtime counts as late, and presses up to this long after bedtime
# still belong to that evening (the insights use the same hours).
LATE_EXERCISE_HOURS = 3.0
PRESS_WINDOW_AFTER_BEDTIME = 6 * 3600.0


def wall_clock(at: float, tz: tzinfo) -> str:
    """A local wall-clock time of a bedroom, for notes (22:30)."""
    return datetime.fromtimestamp(at, tz).strftime("%H:%M")


def habit_note(plan: NightPlan, habit: str, at: float, local_time: str) -> str:
    """The note that answers a habit press ("caffeine" or "exercise"), saying whether it
    counts as late for tonight."""
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
        late = is_tonight and at >= plan.bedtime_at - LATE_EXERCISE_HOURS * 3600.0
        when = "in the last hours before bed" if late else "well before bed"
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
