"""Gathers each bedroom's factors through the evening and stores them when its night ends.

The guidance runner tells it what the bedroom reports (room temperature, the no-screen
window's screen minutes, how long the wind-down ran, a habit button pressed or a habit
source turning on); the bed runner tells it when the bed's night ends, with the sleep
span it saw; the evening's plan (bedtime, caffeine cut-off) comes from the guidance
schedule. Presses are stored as they come, so a restart loses none; the rest of an
evening is kept in memory until its night ends.

A habit counts as tracked from the first time its button (or source) is used: nights
before that have it unknown, not "no", since a button nobody presses says nothing.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sleepenv.insights.core.evening import EveningLog, EveningPlan, Habit, SleepSpan
from sleepenv.insights.core.factors import NightFactors
from sleepenv.insights.records import factors_to_json

log = logging.getLogger(__name__)
DAY = 86400.0
# Presses this long before the evening's bedtime still belong to it (a morning coffee
# is not late, but it is looked at: the cut-off decides).
PRESS_LOOKBACK = DAY


class FactorStore(Protocol):
    """What the recorder needs of the store."""

    def save_factors(self, room: str, evening: str, factors: dict[str, object]) -> None: ...
    def add_press(self, room: str, habit: str, at: float) -> None: ...
    def presses(self, room: str, since: float) -> list[tuple[str, float]]: ...


class FactorRecorder:
    """Each bedroom's evening, from the first report to the night's end."""

    def __init__(self, store: FactorStore) -> None:
        self._store = store
        self._rooms: dict[str, EveningLog] = {}

    def _room(self, room: str) -> EveningLog:
        return self._rooms.setdefault(room, EveningLog())

    def on_temperature(self, room: str, at: float, celsius: float) -> None:
        """A room thermometer's (or thermostat's) reading."""
        if not self._room(room).add_temperature(at, celsius):
            log.debug("%s: room reading %r ignored (not a room temperature)", room, celsius)

    def on_screen_minutes(self, room: str, minutes: float) -> None:
        """Tonight's screen minutes in the no-screen window so far."""
        self._room(room).screen_minutes = minutes

    def on_wind_down(self, room: str, minutes: float) -> None:
        """How long tonight's wind-down ran (0 when it was switched off or overridden)."""
        self._room(room).wind_down_minutes = minutes

    def on_press(self, room: str, habit: Habit, at: float) -> None:
        """A habit reported now: kept at once, so a restart does not lose it."""
        self._store.add_press(room, habit.value, at)

    def close(self, room: str, evening: str, plan: EveningPlan, sleep: SleepSpan) -> NightFactors:
        """The night of `evening` ended: its factors, stored; the next evening starts."""
        evening_log = self._rooms.pop(room, EveningLog())
        since = plan.bedtime_at - PRESS_LOOKBACK
        tracked: set[Habit] = set()
        for name, at in self._store.presses(room, 0.0):
            try:
                habit = Habit(name)
            except ValueError:
                continue  # a habit a later version knew
            if at <= plan.bedtime_at + DAY:
                tracked.add(habit)  # used at least once by this night: tracked
            if at >= since:
                evening_log.add_press(habit, at)
        evening_log.sources = frozenset(tracked)
        factors = evening_log.factors(plan, sleep)
        self._store.save_factors(room, evening, factors_to_json(factors))
        return factors
