"""What a guidance bedroom shows in Home Assistant, as one typed value.

guidance/discovery.py maps each field to the entity that publishes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sleepenv.guidance.core.timeline import Phase


@dataclass(frozen=True, slots=True)
class GuidanceStates:
    """Every published state of a bedroom (unix seconds for times)."""

    is_enabled: bool  # the guidance switch
    is_paused: bool  # the guests/vacation switch
    phase: Phase
    is_wind_down: bool  # wind-down or its no-screen part
    is_no_screen_window: bool
    next_bedtime: float
    room_temperature_deviation_celsius: float | None  # room minus target; None: no sensor
    is_room_too_warm: bool
    screen_minutes_in_window: float
    note: str | None  # the answer to the last button press
