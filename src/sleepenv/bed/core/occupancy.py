"""Whether the bed is occupied, for the bed tracker: presence input, silence, getting up.

Pure: reads the night's classification, the presence input's changes and when the
envelope sensors were last heard; the tracker decides what to publish.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

from sleepenv.bed.core.classify import NightClassification
from sleepenv.bed.core.intake import SensorState
from sleepenv.bed.core.model import RestingMinute, SourceKind
from sleepenv.bed.core.night import NightWindow

# With no frame from any envelope sensor for this long (a Wi-Fi hiccup, a sensor reboot),
# occupancy is unknown: silence says nothing about the bed, and "Clear" would start
# "got out of bed" automations.
SILENT_SECONDS = 15.0
# After the window's `morning`, a night closes once the sleeper has been out of bed this
# long after sleeping: "last night" is then the night that just ended, in the morning when
# people look (a bathroom trip is shorter; back in bed before this keeps the night open).
UP_SECONDS = 20 * 60.0


def presence_spans(presence: list[tuple[float, bool]]) -> list[tuple[float, float]] | None:
    """Occupied spans from the presence input's changes, None without one."""
    if not presence:
        return None
    spans: list[tuple[float, float]] = []
    since: float | None = None
    for t, is_present in presence:
        if is_present and since is None:
            since = t
        elif not is_present and since is not None:
            spans.append((since, t))
            since = None
    if since is not None:
        spans.append((since, math.inf))  # still in bed
    return spans


def last_heard(sensors: Iterable[SensorState]) -> float | None:
    """Clock time of the latest reading from an envelope sensor; None without one."""
    heard = [
        s.heard_at for s in sensors if s.spec.kind is SourceKind.ENVELOPE and s.heard_at is not None
    ]
    return max(heard) if heard else None


def is_in_bed(
    classification: NightClassification | None,
    now: float,
    *,
    has_presence: bool,
    heard: float | None,
    levels: list[RestingMinute],
) -> bool | None:
    """Occupancy now, from the night's classification; None when it cannot tell
    (no classification, or envelope sensors silent with no presence input)."""
    c = classification
    if c is None:
        return None
    if not has_presence and heard is not None and now - heard >= SILENT_SECONDS:
        return None
    if c.sleep.in_bed is None:
        # Empty by breathing evidence, or nothing to tell by yet.
        return False if any(m.rhythm is not None for m in levels) else None
    return c.sleep.is_in_bed_at(now)


def is_up_for_the_day(
    window: NightWindow, night: date | None, classification: NightClassification | None, now: float
) -> bool:
    """True once, in the morning, the sleeper has been out of bed UP_SECONDS after
    sleeping (the night then closes before the window's end)."""
    c = classification
    if night is None or c is None:
        return False
    morning = window.morning_of(night)
    s = c.sleep
    return (
        morning is not None
        and now >= morning
        and s.sleep_onset is not None
        and s.out_of_bed is not None
        and s.out_of_bed > s.sleep_onset
        and now - s.out_of_bed >= UP_SECONDS
    )
