"""The bed tracker's classification glue: when to re-classify, what label a new event
fires with, and the night's totals by the latest labels.

Pure: reads a NightClassification and the tracker's clock times passed in.
"""

from __future__ import annotations

from datetime import date

from sleepenv.bed.core.classify import NightClassification
from sleepenv.bed.core.model import MovementEvent, NightSummary
from sleepenv.bed.core.night import NightWindow

# Re-run classification at least this often while nothing moves (the onset settles).
RECLASSIFY_SECONDS = 60.0
# While resting-level minutes arrive (each one re-classifies), the timer above waits this
# much longer: clock and data time drift apart (duplicates, gaps, a ticker of its own),
# and a timer firing just before each new minute would classify twice a minute.
LEVEL_SLACK_SECONDS = 30.0


def is_classification_due(
    now: float, classified_at: float | None, level_recorded_at: float | None
) -> bool:
    """True when the periodic re-classification is due (clock times)."""
    if classified_at is None:
        return True
    after = RECLASSIFY_SECONDS
    recorded = level_recorded_at
    if recorded is not None and now - recorded < RECLASSIFY_SECONDS + LEVEL_SLACK_SECONDS:
        after += LEVEL_SLACK_SECONDS
    return now - classified_at >= after


def provisional(classification: NightClassification | None, event: MovementEvent) -> MovementEvent:
    """The event with its current label (what the event entity fires)."""
    if classification is not None:
        for labelled in reversed(classification.events):
            if labelled.onset == event.onset and labelled.sensor == event.sensor:
                return labelled
            if labelled.onset < event.onset:
                break
    return event


def night_summary(
    bed_id: str,
    window: NightWindow,
    night: date | None,
    night_start: float | None,
    classification: NightClassification | None,
    counts: dict[str, int],
    rejected: int,
    now: float,
) -> NightSummary:
    """The current (or just closed) night's totals, by the latest labels."""
    end = window.bounds(night)[1] if night else now
    c = classification
    return NightSummary(
        bed_id=bed_id,
        night=night.isoformat() if night else "",
        start=night_start or now,
        end=min(end, now),
        counts=c.counts if c is not None else dict(counts),
        sleep_onset=c.sleep.sleep_onset if c is not None else None,
        plm_index=c.plm_index if c is not None else None,
        rejected=rejected,
        waking_jerks=c.waking_jerks if c is not None else None,
        # A still-open stretch ends with the summary (the night's end, or now).
        in_bed_spans=tuple(
            (a, min(b, end, now)) for a, b in (c.sleep.in_bed_spans if c is not None else ())
        ),
        wake=c.sleep.wake if c is not None else None,
    )
