"""Readable words for the guidance entities in Home Assistant (phases, reminders).

The published payloads keep the machine values; these words go into discovery's value
templates (mqtt/ha_labels.py builds them).
"""

from __future__ import annotations

from sleepenv.guidance.core.actions import Reminder
from sleepenv.guidance.core.timeline import Phase

PHASE_LABELS: dict[str, str] = {
    Phase.DAY: "Day",
    Phase.CAFFEINE_CUTOFF: "Caffeine cut-off",
    Phase.WIND_DOWN: "Wind-down",
    Phase.NO_SCREEN: "No screens",
    Phase.LIGHTS_OUT: "Lights out",
    Phase.ASLEEP: "Asleep",
    Phase.WAKE: "Wake-up",
}
REMINDER_LABELS: dict[str, str] = {
    Reminder.CAFFEINE_CUTOFF: "Caffeine cut-off",
    Reminder.NO_SCREEN: "No screens",
}
