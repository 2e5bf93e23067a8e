"""One evening's factors, gathered as they happen and closed into NightFactors.

The shell feeds it what the bedroom reports (thermometer readings, presses of the "Had
caffeine" and "Exercised" buttons or their configured sources, the no-screen window's
screen minutes, screens turning on and off, the guidance's samples of its phases and of
the wind-down, `bedroom.GuidanceLog`) and, when the night ends, the evening's plan and the
bed's sleep span. Unknown stays unknown: a habit without a configured source is
None, never False, and so is a room without a recent reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from math import isfinite

from sleepenv.insights.core.bedroom import (
    MAX_SPANS,
    GuidanceLog,
    Span,
    log_from_json,
    log_to_json,
)
from sleepenv.insights.core.factors import NightFactors

MIN_CELSIUS = -10.0
MAX_CELSIUS = 50.0
STALE_SECONDS = 2 * 3600.0  # room sensors report at least hourly; older says nothing
# A reading equal to the last one kept changes no mean (each holds until the next), so
# within this long it is not kept: a thermometer reporting every 10 s would otherwise
# fill the running evening that is saved every minute. Far below STALE_SECONDS.
REPEAT_SECONDS = 600.0
# A screen back on within this long of going off is one stretch (a flapping plug).
SCREEN_MERGE_SECONDS = 60.0
MAX_SCREEN_SPANS = 10 * MAX_SPANS  # in memory until the night ends; the oldest go first
# The room readings kept (in memory and as stored, `running_to_json`): those of this long
# before the latest save, the newest this many at most. An evening's night closes within
# a day of its wind-down; a bedroom no bed closes keeps no more than that either.
KEEP_READINGS_SECONDS = 36 * 3600.0
MAX_READINGS = 10_000  # a thermometer reporting every 10 s for 28 h
MAX_SCREENS = 64  # screens on at once, as stored


class Habit(StrEnum):
    """A habit the user reports by pressing a button (or through a configured source)."""

    CAFFEINE = "caffeine"
    EXERCISE = "exercise"


@dataclass(frozen=True, slots=True)
class EveningPlan:
    """The evening's schedule as the guidance computed it (Unix times)."""

    bedtime_at: float  # scheduled lights-out
    caffeine_cutoff_at: float | None = None  # None: no cutoff configured
    # The guidance's rules (guidance/core/buttons.py), passed in by the composition root so
    # that the Note's answer to a press and the stored factor agree; these defaults match.
    exercise_hours: float = 3.0  # exercise this close to bedtime counts as late
    press_window_seconds: float = 6 * 3600.0  # presses this long after bedtime still count


@dataclass(frozen=True, slots=True)
class SleepSpan:
    """What the bed saw: when the sleeper got in, fell asleep and woke (Unix times)."""

    in_bed_at: float | None
    asleep_at: float | None
    wake_at: float | None
    end_at: float | None = None  # when the bed's night closed


@dataclass(slots=True)
class EveningLog:
    """What one bedroom reported during one evening and night."""

    sources: frozenset[Habit] = frozenset()
    temperatures: list[tuple[float, float]] = field(default_factory=list)  # (at, °C)
    presses: list[tuple[Habit, float]] = field(default_factory=list)
    screen_minutes: float | None = None
    wind_down_minutes: float | None = None
    wind_down_overridden_minutes: float | None = None
    guidance: dict[str, GuidanceLog] = field(default_factory=dict)  # by evening
    screens_on_since: dict[str, float] = field(default_factory=dict)  # by device
    screen_spans: list[Span] = field(default_factory=list)

    def add_screen(self, device: str, at: float, *, is_on: bool) -> None:
        """A screen reported on or off at `at`."""
        if not isfinite(at):
            return
        if is_on:
            self.screens_on_since.setdefault(device, at)
            return
        since = self.screens_on_since.pop(device, None)
        if since is None or at <= since:
            return
        spans = self.screen_spans
        if spans and since - spans[-1][1] <= SCREEN_MERGE_SECONDS:
            spans[-1] = (min(spans[-1][0], since), max(spans[-1][1], at))
        else:
            spans.append((since, at))
        del spans[:-MAX_SCREEN_SPANS]

    def screens_until(self, end: float) -> list[Span]:
        """When any screen was on, up to `end` (one still on counts until then), merged."""
        spans = sorted([*self.screen_spans, *((s, end) for s in self.screens_on_since.values())])
        merged: list[Span] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            elif b > a:
                merged.append((a, b))
        return merged

    def add_temperature(self, at: float, celsius: float) -> bool:
        """Keep a room reading; False (and nothing kept) when it cannot be a room's."""
        if not (isfinite(at) and isfinite(celsius) and MIN_CELSIUS <= celsius <= MAX_CELSIUS):
            return False
        if self.temperatures:
            last_at, last_celsius = self.temperatures[-1]
            if celsius == last_celsius and 0.0 <= at - last_at < REPEAT_SECONDS:
                return True  # the same step: the mean and the chart stay as they are
        self.temperatures.append((at, celsius))
        return True

    def trim_readings(self, at: float) -> None:
        """Forget the room readings that no night closing after `at` can use."""
        since = at - KEEP_READINGS_SECONDS
        if self.temperatures and (
            len(self.temperatures) > MAX_READINGS or self.temperatures[0][0] < since
        ):
            self.temperatures = [r for r in self.temperatures if r[0] >= since][-MAX_READINGS:]

    def add_press(self, habit: Habit, at: float) -> None:
        """A press of the habit's button (or its source turning on) at `at`."""
        self.presses.append((habit, at))

    def factors(self, plan: EveningPlan, sleep: SleepSpan) -> NightFactors:
        """The night's factors from what was reported, the plan and the sleep span."""
        start = sleep.asleep_at if sleep.asleep_at is not None else sleep.in_bed_at
        room = None
        if start is not None and sleep.wake_at is not None and sleep.wake_at > start:
            room = self._mean_celsius(start, sleep.wake_at)
        offset = None
        if sleep.in_bed_at is not None:
            offset = round((sleep.in_bed_at - plan.bedtime_at) / 60.0, 1)
        return NightFactors(
            room_celsius=room,
            room_celsius_at_lights_out=self._celsius_at(plan.bedtime_at),
            screen_minutes=self.screen_minutes,
            caffeine_late=self._late(Habit.CAFFEINE, plan.caffeine_cutoff_at, plan),
            exercise_late=self._late(
                Habit.EXERCISE, plan.bedtime_at - plan.exercise_hours * 3600.0, plan
            ),
            bedtime_offset_minutes=offset,
            wind_down_minutes=self.wind_down_minutes,
            wind_down_overridden_minutes=self.wind_down_overridden_minutes,
        )

    def _late(self, habit: Habit, since: float | None, plan: EveningPlan) -> bool | None:
        if habit not in self.sources or since is None:
            return None
        until = plan.bedtime_at + plan.press_window_seconds
        return any(h is habit and since <= at <= until for h, at in self.presses)

    def _celsius_at(self, at: float) -> float | None:
        before = [(t, c) for t, c in self.temperatures if t <= at]
        if not before:
            return None
        t, c = max(before)
        return c if at - t <= STALE_SECONDS else None

    def _mean_celsius(self, start: float, end: float) -> float | None:
        """The time-weighted mean over [start, end], each reading holding until the next."""
        readings = sorted(self.temperatures)
        current = self._celsius_at(start)
        if current is None:
            inside = [r for r in readings if start < r[0] <= end]
            if not inside:
                return None
            start, current = inside[0]
        total = 0.0
        last = start
        for t, c in readings:
            if t <= start:
                continue
            if t > end:
                break
            if t - last > STALE_SECONDS:
                return None  # the thermometer went quiet for over an hour
            total += current * (t - last)
            last, current = t, c
        if end - last > STALE_SECONDS:
            return None
        total += current * (end - last)
        return round(total / (end - start), 2)


# -- the running evening, stored while it runs so that a restart resumes it -----------


def running_to_json(evening_log: EveningLog, at: float) -> dict[str, object]:
    """What a restart needs of the evening so far (room readings, screens, the guidance's
    logs), as a JSON object; presses are stored on their own."""
    return {
        "saved_at": at,
        "temperatures": [[t, c] for t, c in evening_log.temperatures],
        "screen_minutes": evening_log.screen_minutes,
        "screens_on_since": dict(evening_log.screens_on_since),
        "screen_spans": [list(s) for s in evening_log.screen_spans],
        "guidance": {e: log_to_json(g) for e, g in evening_log.guidance.items()},
    }


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and isfinite(value):
        return float(value)
    return None


def _pairs(value: object) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, list) and len(item) == 2:
            a, b = _finite(item[0]), _finite(item[1])
            if a is not None and b is not None:
                out.append((a, b))
    return out


def running_from_json(doc: object) -> EveningLog:
    """A running evening stored by `running_to_json`; whatever is damaged or of another
    version is left out (an empty evening at worst), never an error."""
    evening_log = EveningLog()
    if not isinstance(doc, dict):
        return evening_log
    for at, celsius in _pairs(doc.get("temperatures"))[-MAX_READINGS:]:
        evening_log.add_temperature(at, celsius)
    minutes = _finite(doc.get("screen_minutes"))
    evening_log.screen_minutes = minutes if minutes is not None and minutes >= 0 else None
    on = doc.get("screens_on_since")
    if isinstance(on, dict):
        for device, since in list(on.items())[:MAX_SCREENS]:
            on_at = _finite(since)
            if isinstance(device, str) and on_at is not None:
                evening_log.screens_on_since[device] = on_at
    spans = sorted((a, b) for a, b in _pairs(doc.get("screen_spans")) if b > a)
    evening_log.screen_spans = spans[-MAX_SCREEN_SPANS:]
    guidance = doc.get("guidance")
    if isinstance(guidance, dict):
        for evening in sorted(e for e in guidance if isinstance(e, str))[-2:]:
            entry = log_from_json(guidance[evening])
            if entry is not None:
                evening_log.guidance[evening] = entry
    return evening_log
