"""The insights demo: simulated nights with habits, through the real detection.

Each night of the run draws its habits (sleepenv.sim.habits), the planted effects change
the simulated sleeper, the night's 10 Hz envelope goes through the same detection and
classification as `sleepenv analyze`, and the insights then compare what was detected,
as they would for a user's own nights. Nights run in worker processes. Each night's chart
gets a simulated bedroom under it, made from the night's habits (`simulated_bedroom`): the
room cooling to its drawn temperature, the evening's phases, the screen minutes in the
no-screen window, a late caffeine press.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from sleepenv.bed.analyze import analyze_readings
from sleepenv.bed.core.model import NightSummary, SourceKind
from sleepenv.insights.core.bedroom import BedroomNight
from sleepenv.insights.core.factors import NightFactors, NightRecord
from sleepenv.insights.records import outcomes_of
from sleepenv.report.night import ChartNight, from_analysis, with_evening
from sleepenv.sim import generate_night
from sleepenv.sim.habits import HabitEffects, fortnight_nights, night_seed
from sleepenv.sim.night import DEFAULT_START
from sleepenv.sim.profiles import Profile

DAY = 86400.0
HOUR = 3600.0
BED_NAME = "Demo bed"
# The simulated bedroom's guidance: the defaults (a 90 min wind-down, the last 60 min of it
# without screens, 18 °C), lights-out when the sleeper got into bed, the cut-off at 14:00
# for a 22:30 bedtime.
TARGET_CELSIUS = 18.0
WIND_DOWN_SECONDS = 90 * 60.0
NO_SCREEN_SECONDS = 60 * 60.0
CUTOFF_BEFORE_BEDTIME = 8.5 * HOUR
LATE_COFFEE_BEFORE_BEDTIME = 6 * HOUR


@dataclass(frozen=True, slots=True)
class DemoNight:
    """One simulated night: what was detected, drawn and what preceded it."""

    summary: NightSummary
    chart: ChartNight
    factors: NightFactors

    @property
    def record(self) -> NightRecord:
        """The night as the insights compare it."""
        return NightRecord(self.summary.night, outcomes_of(self.summary), self.factors)


def _analyze(job: tuple[int, Profile, float]) -> dict[str, Any]:
    seed, profile, start = job
    night = generate_night(seed, profile, start=start)
    return analyze_readings(night.frames(), SourceKind.ENVELOPE)


def simulated_bedroom(chart: ChartNight, habits: NightFactors) -> BedroomNight | None:
    """The bedroom of the evening before a simulated night, made from its habits: the room
    cools from a degree above the night's temperature to it, a screen is on for
    the night's screen minutes from 5 min into the no-screen window, and a late caffeine
    is a press in the late afternoon."""
    if not chart.in_bed_spans:
        return None
    lights_out = chart.in_bed_spans[0][0]
    wind_down = lights_out - WIND_DOWN_SECONDS
    no_screen = lights_out - NO_SCREEN_SECONDS
    end = chart.view[1]
    room = habits.room_celsius if habits.room_celsius is not None else TARGET_CELSIUS + 1.0
    temperatures = []
    t = wind_down - 1800.0
    while t <= end:
        hours = (t - wind_down) / HOUR + 0.5
        celsius = room + math.exp(-hours / 1.5) + 0.05 * math.sin(t / 900.0)
        temperatures.append((t, round(celsius, 2)))
        t += 300.0
    screen: tuple[tuple[float, float], ...] = ()
    if habits.screen_minutes:
        on = no_screen + 300.0
        screen = ((on, min(on + habits.screen_minutes * 60.0, lights_out)),)
    cutoff = lights_out - CUTOFF_BEFORE_BEDTIME
    caffeine = (lights_out - LATE_COFFEE_BEFORE_BEDTIME,) if habits.caffeine_late else ()
    return BedroomNight(
        target_celsius=TARGET_CELSIUS,
        temperatures=tuple(temperatures),
        wind_down_at=wind_down,
        no_screen_at=no_screen,
        lights_out_at=lights_out,
        screen_on=screen,
        caffeine_cutoff_at=cutoff,
        caffeine=caffeine,
    )


def with_bedroom(chart: ChartNight, habits: NightFactors) -> ChartNight:
    """The night's chart with its simulated bedroom under it."""
    room = simulated_bedroom(chart, habits)
    if room is None:
        return chart
    return replace(chart, bedroom=room, view=with_evening(chart.view, room))


def summary_of(doc: dict[str, Any], chart: ChartNight) -> NightSummary:
    """The NightSummary the live service would have stored for this analysis."""
    spans = tuple((float(a), float(b)) for a, b in doc.get("in_bed_spans") or ())
    return NightSummary(
        bed_id="demo",
        night=chart.night,
        start=float(doc["start"]),
        end=float(doc["end"]),
        counts=dict(doc["counts"]),
        sleep_onset=doc.get("sleep_onset"),
        plm_index=doc.get("plm_index"),
        rejected=int(doc.get("rejected", 0)),
        waking_jerks=len(doc.get("waking_jerks") or ()),
        in_bed_spans=spans,
        wake=doc.get("wake"),
    )


def simulate(
    nights: int,
    seed: int = 1,
    effects: HabitEffects | None = None,
    workers: int | None = None,
    on_night: Callable[[], None] | None = None,
) -> list[DemoNight]:
    """`nights` consecutive simulated nights with habits, oldest first."""
    plan = fortnight_nights(seed, nights, effects)
    jobs = [
        (night_seed(seed, i), profile, DEFAULT_START + i * DAY)
        for i, (_, _, profile) in enumerate(plan)
    ]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    out: list[DemoNight] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for (_, habits, _), doc in zip(plan, pool.map(_analyze, jobs), strict=True):
            chart = from_analysis(doc, UTC, BED_NAME)
            out.append(DemoNight(summary_of(doc, chart), with_bedroom(chart, habits), habits))
            if on_night is not None:
                on_night()
    return out
