"""What a night was like (its outcomes) and what came before it (its factors).

A factor with no source is unknown (None), never false: a night without a thermometer
reading is left out of the room-temperature comparison rather than counted as cool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """The night's figures the insights compare."""

    HYPNIC_JERKS = "hypnic_jerks"
    TWITCHES = "twitches"
    WAKING_JERKS = "waking_jerks"
    ONSET_MINUTES = "time_to_fall_asleep"
    PLM_INDEX = "plm_index"


class Factor(StrEnum):
    """A habit or condition a night either had or did not have."""

    WARM_ROOM = "warm_room"
    SCREENS = "screens"
    LATE_CAFFEINE = "late_caffeine"
    LATE_EXERCISE = "late_exercise"
    OFF_SCHEDULE = "off_schedule"
    WIND_DOWN_OVERRIDDEN = "wind_down_overridden"


@dataclass(frozen=True, slots=True)
class FactorRules:
    """Where each factor's line lies (the defaults follow common sleep-hygiene advice)."""

    warm_room_celsius: float = 19.5  # a room at or above this counts as warm
    screen_minutes: float = 1.0  # screen use in the no-screen window at or above this
    off_schedule_minutes: float = 45.0  # bedtime this far or further from the schedule
    # The wind-down overridden this long counts as overridden; run this long without, as
    # ran; a night with neither (guidance off or paused, no wind-down seen) is unknown.
    wind_down_minutes: float = 15.0


@dataclass(frozen=True, slots=True)
class NightFactors:
    """What preceded one night; None where sleepenv had no source for it."""

    room_celsius: float | None = None  # mean over the sleep period
    room_celsius_at_lights_out: float | None = None
    screen_minutes: float | None = None  # in the no-screen window
    caffeine_late: bool | None = None
    exercise_late: bool | None = None
    bedtime_offset_minutes: float | None = None  # signed: later than the schedule is positive
    wind_down_minutes: float | None = None  # how long the wind-down ran (guidance on)
    wind_down_overridden_minutes: float | None = None  # of the wind-down, held by hand


@dataclass(frozen=True, slots=True)
class NightRecord:
    """One night as the insights see it: its outcomes and its factors."""

    night: str  # the local date the night started on, ISO format
    outcomes: dict[Outcome, float | None] = field(default_factory=dict)
    factors: NightFactors = NightFactors()


def exposed(factor: Factor, night: NightFactors, rules: FactorRules) -> bool | None:
    """Whether the night had the factor; None when it is not known."""
    match factor:
        case Factor.WARM_ROOM:
            t = night.room_celsius
            return None if t is None else t >= rules.warm_room_celsius
        case Factor.SCREENS:
            m = night.screen_minutes
            return None if m is None else m >= rules.screen_minutes
        case Factor.LATE_CAFFEINE:
            return night.caffeine_late
        case Factor.LATE_EXERCISE:
            return night.exercise_late
        case Factor.OFF_SCHEDULE:
            off = night.bedtime_offset_minutes
            return None if off is None else abs(off) >= rules.off_schedule_minutes
        case Factor.WIND_DOWN_OVERRIDDEN:
            return _overridden(night, rules)


def _overridden(night: NightFactors, rules: FactorRules) -> bool | None:
    """Whether the wind-down was overridden (True), ran as planned (False) or neither."""
    held, ran = night.wind_down_overridden_minutes, night.wind_down_minutes
    if held is not None and held >= rules.wind_down_minutes:
        return True
    if ran is not None and ran >= rules.wind_down_minutes and held is not None:
        return False
    return None
