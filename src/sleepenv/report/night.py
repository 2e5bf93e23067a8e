"""What one night's chart shows, gathered from the store or from `analyze`'s document.

No drawing here and no matplotlib: this module is cheap to import and easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any

from sleepenv.bed.core.arousal import waking_jerks
from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary, SourceKind
from sleepenv.bed.core.sleep import find_wake
from sleepenv.insights.core.bedroom import BedroomNight

Span = tuple[float, float]

# Rows of the timeline, top to bottom, with the words the chart uses for them.
ROWS: tuple[tuple[MovementClass, str], ...] = (
    (MovementClass.TWITCH, "twitch"),
    (MovementClass.HYPNIC_JERK, "hypnic jerk"),
    (MovementClass.LIMB_MOVEMENT, "limb movement"),
    (MovementClass.PLM, "PLM-like"),
    (MovementClass.ROLLOVER, "rollover"),
    (MovementClass.BOUT, "long bout"),
    (MovementClass.MOVEMENT, "movement"),  # the coarse Zigbee source: class unknown
)
LABELS: Mapping[MovementClass, str] = dict(ROWS)

# Before getting into bed and after getting up, this much of the evening and morning.
LEAD_SECONDS = 30 * 60.0
TRAIL_SECONDS = 15 * 60.0
# With the bedroom drawn, the timeline starts this long before the evening's wind-down.
WIND_DOWN_LEAD_SECONDS = 10 * 60.0
# ... unless that is absurdly long before getting into bed (a record that is not this night's).
MAX_EVENING_SECONDS = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class ChartNight:
    """One bed-night as the chart draws it; times are unix seconds, `tz` the bed's zone."""

    bed_name: str
    night: str  # local date the night started on, ISO format
    tz: tzinfo
    view: Span  # the stretch of time the timeline shows
    events: tuple[MovementEvent, ...] = ()
    waking_onsets: frozenset[float] = frozenset()  # hypnic jerks followed by waking
    in_bed_spans: tuple[Span, ...] = ()
    sleep_onset: float | None = None
    wake: float | None = None
    plm_index: float | None = None
    total_sleep_seconds: float | None = None
    time_to_fall_asleep_seconds: float | None = None
    is_lower_bound: bool = False
    sensors: int = 1
    screen_minutes: float | None = None
    # How the in-bed stretch was found when it is an estimate (said in the footer).
    in_bed_note: str | None = None
    # The night's own final figures when stored (the store keeps the movements themselves
    # for about two nights only): the header shows these rather than what is drawn.
    stored_counts: dict[str, int] | None = None
    stored_waking_jerks: int | None = None
    # The bedroom through the evening (guidance configured and its record stored): drawn
    # as a second panel under the timeline.
    bedroom: BedroomNight | None = None

    def counts(self) -> dict[MovementClass, int]:
        """Movements per class: the night's stored figures, else the drawn movements."""
        counts: dict[MovementClass, int] = {}
        if self.stored_counts:
            for value, n in self.stored_counts.items():
                try:
                    counts[MovementClass(value)] = n
                except ValueError:
                    continue  # a class this version does not know: not drawn either
            return counts
        for e in self.events:
            counts[e.cls] = counts.get(e.cls, 0) + 1
        return counts

    @property
    def waking_jerk_count(self) -> int:
        """Hypnic jerks followed by waking: stored, else those drawn."""
        if self.stored_waking_jerks is not None:
            return self.stored_waking_jerks
        return len(self.waking_onsets)

    @property
    def movements_missing(self) -> bool:
        """True when the night had movements but they are no longer stored."""
        return not self.events and any((self.stored_counts or {}).values())


def night_of(t: float, tz: tzinfo) -> str:
    """The local date a night containing `t` started on (before noon: the day before)."""
    return (datetime.fromtimestamp(t, tz) - timedelta(hours=12)).date().isoformat()


def _view(spans: Sequence[Span], events: Sequence[MovementEvent], fallback: Span) -> Span:
    times = [t for span in spans for t in span] + [e.onset for e in events]
    times += [e.offset for e in events]
    if not times:
        return fallback
    return min(times) - LEAD_SECONDS, max(times) + TRAIL_SECONDS


def from_store(
    summary: NightSummary,
    events: Sequence[MovementEvent],
    tz: tzinfo,
    *,
    bed_name: str | None = None,
    sensors: int = 1,
    screen_minutes: float | None = None,
    bedroom: BedroomNight | None = None,
) -> ChartNight:
    """A stored night: its final labels, onset, PLM index, stretches in bed and wake as
    stored; with the bedroom's record of its evening, the timeline starts at the
    wind-down.

    Nights stored before sleepenv kept occupancy have none: for those the stretch in bed
    is taken from the first to the last movement (getting in and getting up are
    movements) and the wake from the movements before getting up, as the live service
    finds it, and the footer says so.
    """
    events = tuple(sorted(events, key=lambda e: e.onset))
    spans: tuple[Span, ...] = tuple(summary.in_bed_spans)
    wake = summary.wake
    note = None
    if not spans and events:
        spans = ((events[0].onset, max(e.offset for e in events)),)
        note = "in bed from the first to the last movement"
    total = latency = None
    onset = summary.sleep_onset
    if spans and onset is not None:
        if wake is None:
            periodic = {e.onset for e in events if e.cls is MovementClass.PLM}
            wake = find_wake(events, onset, spans[-1][1], periodic)
        away = sum(max(0.0, min(a2, wake) - max(b1, onset)) for (_, b1), (a2, _) in pairwise(spans))
        total = max(0.0, wake - onset - away)
        latency = max(0.0, onset - spans[0][0])
    fallback = (summary.start, summary.end if summary.end is not None else summary.start)
    return ChartNight(
        bed_name=bed_name or summary.bed_id,
        night=summary.night,
        tz=tz,
        view=with_evening(_view(spans, events, fallback), bedroom),
        events=events,
        waking_onsets=frozenset(e.onset for e in waking_jerks(events)),
        in_bed_spans=spans,
        sleep_onset=summary.sleep_onset,
        wake=wake,
        plm_index=summary.plm_index,
        total_sleep_seconds=total,
        time_to_fall_asleep_seconds=latency,
        is_lower_bound=bool(events) and all(e.is_lower_bound for e in events),
        sensors=sensors,
        screen_minutes=screen_minutes,
        in_bed_note=note,
        stored_counts=dict(summary.counts) or None,
        stored_waking_jerks=summary.waking_jerks,
        bedroom=bedroom,
    )


def with_evening(view: Span, bedroom: BedroomNight | None) -> Span:
    """The timeline's stretch, started at the evening's wind-down when the bedroom's
    record has one (and it is not far from this night)."""
    if bedroom is None or bedroom.wind_down_at is None:
        return view
    start = bedroom.wind_down_at - WIND_DOWN_LEAD_SECONDS
    if view[0] - MAX_EVENING_SECONDS <= start < view[0]:
        return start, view[1]
    return view


def _event(doc: Mapping[str, Any]) -> MovementEvent:
    is_lower_bound = bool(doc.get("is_lower_bound", False))
    return MovementEvent(
        onset=float(doc["onset"]),
        offset=float(doc["offset"]),
        peak=float(doc.get("peak", 0.0)),
        cls=MovementClass(doc["class"]),
        source=SourceKind.ZIGBEE_VIBRATION if is_lower_bound else SourceKind.ENVELOPE,
        side=str(doc.get("side", "both")),
        is_truncated=bool(doc.get("is_truncated", False)),
        is_lower_bound=is_lower_bound,
        strength=float(doc.get("strength", 0.0)),
        is_hypnagogic=bool(doc.get("is_hypnagogic", False)),
        active_seconds=doc.get("movement_seconds"),
    )


def from_analysis(doc: Mapping[str, Any], tz: tzinfo, bed_name: str = "Recording") -> ChartNight:
    """The `sleepenv analyze --json` document of a recording (the whole of it is one night)."""
    events = tuple(_event(e) for e in doc.get("events", ()))
    spans = tuple((float(a), float(b)) for a, b in doc.get("in_bed_spans") or ())
    start, end = doc.get("start"), doc.get("end")
    fallback = (float(start or 0.0), float(end or start or 0.0))
    onset, in_bed = doc.get("sleep_onset"), doc.get("in_bed")
    latency = onset - in_bed if onset is not None and in_bed is not None else None
    first = in_bed if in_bed is not None else fallback[0]
    lo, hi = _view(spans, events, fallback)
    return ChartNight(
        bed_name=bed_name,
        night=night_of(first, tz),
        tz=tz,
        view=(max(lo, fallback[0]), min(hi, fallback[1])) if start and end else (lo, hi),
        events=events,
        waking_onsets=frozenset(float(t) for t in doc.get("waking_jerks") or ()),
        in_bed_spans=spans,
        sleep_onset=onset,
        wake=doc.get("wake"),
        plm_index=doc.get("plm_index"),
        total_sleep_seconds=doc.get("total_sleep_seconds"),
        time_to_fall_asleep_seconds=max(0.0, latency) if latency is not None else None,
        is_lower_bound=bool(doc.get("is_lower_bound", False)),
    )
