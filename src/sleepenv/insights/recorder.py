"""Gathers each bedroom's factors through the evening and stores them when its night ends.

The guidance runner tells it what the bedroom reports (room temperature, the no-screen
window's screen minutes, screens turning on and off, a habit button pressed or a habit
source turning on) and samples its own state (tonight's phases, the target, whether it
runs and whether the person holds a device by hand: the wind-down's minutes); the bed
runner tells it when the bed's night ends, with the sleep span it saw; the evening's plan
(bedtime, caffeine cut-off) comes from the guidance schedule. Presses are stored as they
come, so a restart loses none; the rest of an evening (room readings, screens, the
guidance's samples and the wind-down's minutes so far) is kept in memory and saved to the
store with the guidance's samples, at most once a minute and at every change of what the
wind-down counts, so a restart mid-evening resumes it. When the night ends, the factors
and the bedroom's record for the chart are stored.

While the service is down nothing is sampled: a gap of up to ten minutes counts as the
state before it (the room stays as the guidance left it), a longer one as neither ran
nor overridden, the same rule as for samples that stop coming (`bedroom.GuidanceLog`).

A habit counts as tracked from the first time its button (or source) is used: nights
before that have it unknown, not "no", since a button nobody presses says nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from math import isfinite
from typing import Protocol

from sleepenv.bed.core.model import NightSummary
from sleepenv.insights.core import bedroom
from sleepenv.insights.core.bedroom import GuidanceLog, Phases
from sleepenv.insights.core.evening import (
    EveningLog,
    EveningPlan,
    Habit,
    SleepSpan,
    running_from_json,
    running_to_json,
)
from sleepenv.insights.core.factors import NightFactors
from sleepenv.insights.records import factors_to_json

log = logging.getLogger(__name__)
DAY = 86400.0
# Presses this long before the evening's bedtime still belong to it (a morning coffee
# is not late, but it is looked at: the cut-off decides).
PRESS_LOOKBACK = DAY
# The evening so far is saved with a guidance sample this long after the last save, or
# sooner when the sample changes what the wind-down counts (running, overridden).
SAVE_EVERY_SECONDS = 60.0


class FactorStore(Protocol):
    """What the recorder needs of the store."""

    def save_factors(self, room: str, evening: str, factors: dict[str, object]) -> None:
        """Keep one evening's factors (a later save replaces them)."""

    def add_press(self, room: str, habit: str, at: float) -> None:
        """Keep one habit press."""

    def presses(self, room: str, since: float) -> list[tuple[str, float]]:
        """(habit, at) of the bedroom's presses from `since` on, oldest first."""

    def save_bedroom(self, room: str, evening: str, record: dict[str, object]) -> None:
        """Keep one evening's bedroom record for the chart (a later save replaces it)."""

    def save_running_evening(self, room: str, state: dict[str, object]) -> None:
        """Keep a bedroom's evening so far (a later save replaces it)."""

    def running_evening(self, room: str) -> dict[str, object] | None:
        """The bedroom's evening so far as last saved, None when none is."""


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
        self._resumed: set[str] = set()
        self._saved_at: dict[str, float] = {}

    def _room(self, room: str) -> EveningLog:
        """The bedroom's evening; the first time, as the store last saw it (a restart)."""
        if room not in self._resumed:
            self._resumed.add(room)
            doc = self._store.running_evening(room)
            if doc is not None:
                self._rooms[room] = running_from_json(doc)
                saved_at = doc.get("saved_at")
                if isinstance(saved_at, int | float) and isfinite(saved_at):
                    self._saved_at[room] = float(saved_at)
        return self._rooms.setdefault(room, EveningLog())

    def _save(self, room: str, at: float) -> None:
        """Save the bedroom's evening so far, as of `at`."""
        self._saved_at[room] = at
        evening_log = self._room(room)
        evening_log.trim_readings(at)
        self._store.save_running_evening(room, running_to_json(evening_log, at))

    def on_temperature(self, room: str, at: float, celsius: float) -> None:
        """A room thermometer's (or thermostat's) reading."""
        if not self._room(room).add_temperature(at, celsius):
            log.debug("%s: room reading %r ignored (not a room temperature)", room, celsius)

    def on_screen_minutes(self, room: str, minutes: float) -> None:
        """Tonight's screen minutes in the no-screen window so far."""
        self._room(room).screen_minutes = minutes

    def on_screen(self, room: str, device: str, at: float, *, is_on: bool) -> None:
        """One of the bedroom's screens reported on or off."""
        self._room(room).add_screen(device, at, is_on=is_on)

    def on_guidance(
        self,
        room: str,
        evening: str,
        at: float,
        phases: Mapping[str, float],
        *,
        target_celsius: float,
        is_enabled: bool,
        is_paused: bool,
        is_held: bool,
    ) -> None:
        """A sample of the guidance of `evening`: tonight's phase starts by name
        ("wind_down", "no_screen", "lights_out", "caffeine_cutoff"), the room's target,
        whether guidance is on, paused, and whether the person holds a device by hand."""
        try:
            plan = Phases(
                wind_down_at=float(phases["wind_down"]),
                no_screen_at=float(phases["no_screen"]),
                lights_out_at=float(phases["lights_out"]),
                caffeine_cutoff_at=phases.get("caffeine_cutoff"),
            )
        except (KeyError, TypeError, ValueError):
            log.debug("%s: guidance sample without its phases ignored", room)
            return
        if not all(isfinite(t) for t in (plan.wind_down_at, plan.lights_out_at)):
            return
        logs = self._room(room).guidance
        entry = logs.get(evening)
        if entry is None:
            entry = logs[evening] = GuidanceLog(plan)
            for old in sorted(logs)[:-2]:  # evenings no night closed: keep the last two
                del logs[old]
        entry.target_celsius = target_celsius if bedroom.is_celsius(target_celsius) else None
        before = entry.state
        entry.observe(at, plan, is_enabled=is_enabled, is_paused=is_paused, is_held=is_held)
        last = self._saved_at.get(room)
        if last is None or not 0 <= at - last < SAVE_EVERY_SECONDS or entry.state != before:
            self._save(room, at)

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
            end_at=night.end,
        )
        rooms = self._rooms_of_bed.get(bed_id, [])
        for room in rooms:
            self.close(room, night.night, self._plan_of(room, night.night), sleep)
        if rooms and self._on_stored is not None:
            self._on_stored(bed_id)

    def close(self, room: str, evening: str, plan: EveningPlan, sleep: SleepSpan) -> NightFactors:
        """The night of `evening` ended: its factors and the bedroom's record, stored; the
        next evening starts."""
        self._room(room)  # a restart since the last report: the evening as saved
        evening_log = self._rooms.pop(room)
        # What already belongs to the next evening stays for it: its guidance samples and
        # the screens still on.
        later = {e: g for e, g in evening_log.guidance.items() if e > evening}
        if later or evening_log.screens_on_since:
            self._rooms[room] = EveningLog(
                guidance=later, screens_on_since=dict(evening_log.screens_on_since)
            )
        self._save(room, max(self._saved_at.get(room, 0.0), plan.bedtime_at))
        guidance = evening_log.guidance.get(evening)
        if guidance is not None:
            evening_log.wind_down_minutes = guidance.ran_minutes
            evening_log.wind_down_overridden_minutes = guidance.overridden_minutes
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
        self._save_bedroom(room, evening, evening_log, plan, sleep)
        return factors

    def _save_bedroom(
        self, room: str, evening: str, evening_log: EveningLog, plan: EveningPlan, sleep: SleepSpan
    ) -> None:
        """The bedroom's record of the evening, when its guidance reported anything."""
        guidance = evening_log.guidance.get(evening)
        if guidance is None:
            return
        ends = [t for t in (sleep.end_at, sleep.wake_at) if t is not None]
        end = max(ends) if ends else guidance.phases.lights_out_at
        until = plan.bedtime_at + plan.press_window_seconds
        caffeine = [at for h, at in evening_log.presses if h is Habit.CAFFEINE and at <= until]
        record = bedroom.bedroom_night(
            guidance,
            evening_log.temperatures,
            evening_log.screens_until(end),
            caffeine,
            end,
        )
        if record is not None:
            record = replace(record, caffeine_cutoff_at=plan.caffeine_cutoff_at)
            self._store.save_bedroom(room, evening, bedroom.to_json(record))
