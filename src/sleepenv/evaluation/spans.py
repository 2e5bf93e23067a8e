"""Time spans (start, end) for scoring occupancy: complements, minutes right, and the
occupied spans a detector's document reports (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MINUTE = 60.0

Span = tuple[float, float]


def inside(t: float, spans: Iterable[Span]) -> bool:
    """True when `t` falls in one of the half-open spans."""
    return any(a <= t < b for a, b in spans)


def complement(spans: Iterable[Span], start: float, end: float) -> list[Span]:
    """The parts of [start, end) that no span covers."""
    out: list[Span] = []
    cursor = start
    for a, b in sorted(spans):
        if a > cursor:
            out.append((cursor, min(a, end)))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        out.append((cursor, end))
    return [(a, b) for a, b in out if b > a]


def occupancy_minutes(
    truth: Sequence[Span], detected: Sequence[Span], start: float, end: float
) -> tuple[int, int]:
    """(minutes whose detected occupancy equals the truth, minutes of the night), each
    minute judged at its middle."""
    total = int((end - start) // MINUTE)
    right = 0
    for k in range(total):
        t = start + (k + 0.5) * MINUTE
        right += inside(t, truth) == inside(t, detected)
    return right, total


def detected_occupancy(doc: Mapping[str, Any], end: float) -> list[Span]:
    """A detector document's occupied spans: `in_bed_spans`, or else in bed from `in_bed`
    to `out_of_bed` (or the end), or none when `in_bed` is None."""
    spans = doc.get("in_bed_spans")
    if spans is not None:
        return [(float(a), float(b) if b is not None else end) for a, b in spans]
    if doc.get("in_bed") is None:
        return []
    out = doc.get("out_of_bed")
    return [(float(doc["in_bed"]), float(out) if out is not None else end)]
