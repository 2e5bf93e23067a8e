"""Nights as the insights see them, from what the store keeps (or a simulated run).

The bed's NightSummary gives the outcomes; the bedroom's stored factors (a JSON object
per evening, written by the guidance) give what preceded them. A night with no stored
factors still counts: all its factors are unknown, so it joins no comparison.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import Any

from sleepenv.bed.core.model import MovementClass, NightSummary
from sleepenv.insights.core.factors import NightFactors, NightRecord, Outcome
from sleepenv.insights.core.findings import compare_all, headline

_FACTOR_FIELDS = tuple(f.name for f in fields(NightFactors))
_YES_NO = {"caffeine_late", "exercise_late"}


def factors_to_json(factors: NightFactors) -> dict[str, object]:
    """The stored form: every field, unknown ones as null."""
    return asdict(factors)


def factors_from_json(doc: dict[str, Any]) -> NightFactors:
    """Read stored factors back; a value of the wrong type (a damaged or hand-edited row)
    is unknown rather than an error."""
    values: dict[str, Any] = {}
    for name in _FACTOR_FIELDS:
        value = doc.get(name)
        if name in _YES_NO:
            values[name] = value if isinstance(value, bool) else None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[name] = float(value) if math.isfinite(value) else None
        else:
            values[name] = None
    return NightFactors(**values)


def outcomes_of(summary: NightSummary) -> dict[Outcome, float | None]:
    """The figures the insights compare, from a stored night."""
    onset = None
    if summary.sleep_onset is not None:
        start = summary.in_bed_spans[0][0] if summary.in_bed_spans else None
        if start is not None:
            onset = max(0.0, (summary.sleep_onset - start) / 60.0)
    return {
        Outcome.HYPNIC_JERKS: float(summary.counts.get(MovementClass.HYPNIC_JERK, 0)),
        Outcome.TWITCHES: float(summary.counts.get(MovementClass.TWITCH, 0)),
        Outcome.WAKING_JERKS: (
            None if summary.waking_jerks is None else float(summary.waking_jerks)
        ),
        Outcome.ONSET_MINUTES: onset,
        Outcome.PLM_INDEX: summary.plm_index,
    }


def records(nights: list[NightSummary], factors: dict[str, dict[str, Any]]) -> list[NightRecord]:
    """Closed nights (oldest first) with the factors stored for their evenings."""
    closed = sorted((n for n in nights if n.end is not None), key=lambda n: n.night)
    return [
        NightRecord(
            night=n.night,
            outcomes=outcomes_of(n),
            factors=factors_from_json(factors.get(n.night, {})),
        )
        for n in closed
    ]


def insights_json(nights: list[NightRecord]) -> dict[str, object]:
    """The insights of these nights as one JSON object: the headline sentence and every
    comparison with its numbers (`sleepenv insights --json`, the bed's insight sensor)."""
    comparisons = compare_all(nights)
    return {
        "headline": headline(comparisons),
        "nights": len(nights),
        "comparisons": [
            {
                "factor": c.factor.value,
                "outcome": c.outcome.value,
                "nights_with": c.n_with,
                "nights_without": c.n_without,
                "difference": None if c.result is None else round(c.result.difference, 3),
                "interval_90": None
                if c.result is None
                else [round(c.result.low, 3), round(c.result.high, 3)],
                "p_value": None if c.result is None else round(c.result.p_value, 4),
                "finding": c.finding,
                "sentence": c.sentence(),
            }
            for c in comparisons
        ],
    }
