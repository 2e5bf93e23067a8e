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
from collections.abc import Callable, Mapping
from typing import Protocol

from sleepenv.bed.core.model import NightSummary
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

    def save_factors(self, room: str, evening: str, factors: dict[str, object]) -> None:
        """Keep one evening's factors (a later save replaces them)."""

    def add_press(self, room: str, habit: str, at: float) -> None:
        """Keep one habit press."""

    def presses(self, room: str, since: float) -> list[tuple[str, float]]:
        """(habit, at) of the bedroom's presses from `since` on, oldest first."""


PlanOf = Callable[[str, str], EveningPlan]  # (room, evening) -> the evening's plan


class FactorRecorder:
    """Each bedroom's evening, from the first report to the night's end."""

    def __init__(
        self,
        store: FactorStore,
        rooms_of_bed: Mapping[str, list[str]] | None = None,
        plan_of: PlanOf | None = None,
        on_stored: Callable[[str], None] | None = None,
    ) -> None:
        """`rooms_of_bed` names the bedrooms that follow each bed and `plan_of` gives a
        bedroom's plan for an evening: with both, a bed's closed night closes them, and
        `on_stored` then hears the bed's id (its insights may have changed)."""
        self._store = store
        self._rooms: dict[str, EveningLog] = {}
        self._rooms_of_bed = dict(rooms_of_bed or {})
        self._plan_of = plan_of
        self._on_stored = on_stored

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

    def on_habit(self, room: str, habit: str, at: float) -> None:
        """A habit button pressed, by its name ("caffeine", "exercise")."""
        try:
            self.on_press(room, Habit(habit), at)
        except ValueError:
            log.warning("%s: unknown habit %r not kept", room, habit)

    # -- the bed's side ---------------------------------------------------------------

    def on_bed_movement(self, bed_id: str, onset: float) -> None:
        """Movements say nothing about the factors."""

    def on_bed_asleep(self, bed_id: str) -> None:
        """Nor does the sleep onset, until the night ends."""

    def on_bed_night_closed(self, bed_id: str, night: NightSummary) -> None:
        """The bed's night ended: close the evening of every bedroom that follows it."""
        if self._plan_of is None:
            return
        spans = night.in_bed_spans
        sleep = SleepSpan(
            in_bed_at=spans[0][0] if spans else None,
            asleep_at=night.sleep_onset,
            wake_at=night.wake,
        )
        rooms = self._rooms_of_bed.get(bed_id, [])
        for room in rooms:
            self.close(room, night.night, self._plan_of(room, night.night), sleep)
        if rooms and self._on_stored is not None:
            self._on_stored(bed_id)

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
