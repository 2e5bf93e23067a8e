"""The insights demo: simulated nights with habits, through the real detection.

Each night of the run draws its habits (sleepenv.sim.habits), the planted effects change
the simulated sleeper, the night's 10 Hz envelope goes through the same detection and
classification as `sleepenv analyze`, and the insights then compare what was detected,
as they would for a user's own nights. Nights run in worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sleepenv.bed.analyze import analyze_readings
from sleepenv.bed.core.model import NightSummary, SourceKind
from sleepenv.insights.core.factors import NightFactors, NightRecord
from sleepenv.insights.records import outcomes_of
from sleepenv.report.night import ChartNight, from_analysis
from sleepenv.sim import generate_night
from sleepenv.sim.habits import HabitEffects, fortnight_nights, night_seed
from sleepenv.sim.night import DEFAULT_START
from sleepenv.sim.profiles import Profile

DAY = 86400.0
BED_NAME = "Demo bed"


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
            out.append(DemoNight(summary_of(doc, chart), chart, habits))
            if on_night is not None:
                on_night()
    return out
