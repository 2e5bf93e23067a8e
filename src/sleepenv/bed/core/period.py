"""The night's sleep period (in bed, onset, wake, out of bed) from its movements (pure).

Works on `Moves`, the movements sorted by onset with the few figures the period reads
from all of them, so that a live night kept up movement by movement (`core/live.py`)
can hand over what it already has instead of the whole night being gone through again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, replace

from sleepenv.bed.core.model import MovementEvent, RestingMinute
from sleepenv.bed.core.onset import OnsetCache, onset_in_sorted, wake_in_sorted
from sleepenv.bed.core.sleep import (
    Pieces,
    SleepConfig,
    SleepPeriod,
    Span,
    main_span,
    occupied_pieces,
    occupied_spans_by_level,
)

HOUR = 3600.0


# Occupancy from breathing evidence for a data span, or None without evidence.
RhythmSpans = Callable[[Span], Pieces | None]


@dataclass(frozen=True, slots=True)
class Moves:
    """A night's movements sorted by onset, and what the sleep period reads from all of them."""

    events: Sequence[MovementEvent]
    onsets: Sequence[float]
    # Long enough to be getting in or out of bed: the only ones occupancy cuts at.
    long: Sequence[MovementEvent]
    first_onset: float  # inf without movements
    last_offset: float  # 0.0 without movements

    @classmethod
    def of(cls, events: Sequence[MovementEvent], config: SleepConfig) -> Moves:
        """Index `events` (any order; ties keep their order)."""
        moves = sorted(events, key=lambda e: e.onset)
        return cls(
            moves,
            [e.onset for e in moves],
            [e for e in moves if e.duration_seconds >= config.transition_min_seconds],
            moves[0].onset if moves else math.inf,
            max((e.offset for e in moves), default=0.0),
        )


def sleep_period(
    events: Sequence[MovementEvent],
    levels: Sequence[RestingMinute],
    start: float,
    end: float,
    *,
    is_coarse: bool,
    is_final: bool,
    periodic: Container[float],
    config: SleepConfig | None = None,
    presence: Sequence[Span] | None = None,
    gaps: Sequence[Span] = (),
) -> SleepPeriod:
    """In bed, sleep onset, wake and out of bed for the data in [start, end)."""
    config = config or SleepConfig()
    return period_of(
        Moves.of(events, config),
        levels,
        start,
        end,
        is_coarse=is_coarse,
        is_final=is_final,
        periodic=periodic,
        config=config,
        presence=presence,
        gaps=gaps,
    )


def period_of(
    moves: Moves,
    levels: Sequence[RestingMinute],
    start: float,
    end: float,
    *,
    is_coarse: bool,
    is_final: bool,
    periodic: Container[float],
    config: SleepConfig,
    presence: Sequence[Span] | None = None,
    gaps: Sequence[Span] = (),
    rhythm_spans: RhythmSpans | None = None,
    onset_cache: OnsetCache | None = None,
) -> SleepPeriod:
    """`sleep_period` over indexed movements; `rhythm_spans` may stand in for
    `occupied_spans` over them, and `onset_cache` searches the onset from where its last
    search left off (caches that give the same answers)."""
    data = data_span(moves, levels, start, end)
    if rhythm_spans is None:
        rhythm_spans = lambda d: occupied_pieces(levels, moves.long, d, gaps, config)  # noqa: E731
    spans, is_open, is_shared = occupancy(
        moves, levels, data, end, config, presence, rhythm_spans, is_coarse=is_coarse
    )
    if not spans:
        return SleepPeriod()
    in_bed = spans[0][0]
    out_of_bed = None if is_open else spans[-1][1]
    until = out_of_bed if out_of_bed is not None else data[1]
    in_bed_spans = (*spans[:-1], (spans[-1][0], math.inf if is_open else spans[-1][1]))
    breaks = list(gaps)
    breaks += [(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)]
    if is_shared:
        # Someone else's movements reach the sensor too: a window holds more of them.
        allowance = config.shared_confirm_max_moving_minutes
        config = replace(config, confirm_max_moving_minutes=allowance)
    onset, confirmed = onset_in_sorted(
        moves.events,
        moves.onsets,
        in_bed,
        until,
        still=config.coarse_still_seconds if is_coarse else config.still_seconds,
        periodic=periodic,
        config=config,
        breaks=breaks,
        is_final=is_final,
        cache=onset_cache,
    )
    if onset is None:
        return SleepPeriod(in_bed=in_bed, out_of_bed=out_of_bed, in_bed_spans=in_bed_spans)
    wake = None
    if is_final or out_of_bed is not None:
        wake = wake_in_sorted(moves.events, moves.onsets, onset, until, periodic, config)
    return SleepPeriod(
        in_bed, onset, wake, out_of_bed, is_onset_confirmed=confirmed, in_bed_spans=in_bed_spans
    )


def data_span(moves: Moves, levels: Sequence[RestingMinute], start: float, end: float) -> Span:
    """From the first to the last moment with data (a live night window opens hours
    before anyone lies down, and a fine sensor's data may stop before `end`)."""
    if not levels:
        return start, end
    first = min(levels[0].t, moves.first_onset)
    last = max(levels[-1].t, moves.last_offset)
    return max(start, first), min(end, last)


def occupancy(
    moves: Moves,
    levels: Sequence[RestingMinute],
    data: Span,
    end: float,
    config: SleepConfig,
    presence: Sequence[Span] | None,
    rhythm_spans: RhythmSpans,
    *,
    is_coarse: bool,
) -> tuple[list[Span], bool, bool]:
    """(in-bed spans, is the last one still open, is the bed shared) from presence,
    breathing evidence, the resting level, or movement, in that order; only breathing
    evidence tells a shared bed (see `sleep.occupied_pieces`)."""
    if presence is not None:
        spans = _joined([(a, b) for a, b in presence if a <= end], config.min_absence_seconds)
        return [(a, min(b, end)) for a, b in spans], bool(spans) and spans[-1][1] > end, False
    if not is_coarse:
        by_rhythm = rhythm_spans(data)
        if by_rhythm is not None:
            spans = by_rhythm.spans
            return spans, bool(spans) and spans[-1][1] >= data[1], by_rhythm.is_shared
        # Levels stored before breathing evidence existed; with evidence that cannot place
        # a piece yet (the first minutes), movement decides below.
        has_rhythm = any(m.rhythm is not None for m in levels)
        by_level = None if has_rhythm else occupied_spans_by_level(levels, config)
        if by_level is not None:
            return (*_level_occupancy(moves.events, by_level, end), False)
    if not moves.events:
        return [], False, False
    hours = max(data[1] - data[0], 60.0) / HOUR
    if not is_coarse and len(moves.events) / hours < config.empty_max_events_per_hour:
        return [], False, False  # a flat, quiet signal all night: nobody there
    return [(moves.first_onset, end)], True, False


def _level_occupancy(
    events: Sequence[MovementEvent], by_level: Sequence[Span], end: float
) -> tuple[list[Span], bool]:
    """The main occupied stretch by level, dated from the movements that got in and out."""
    span = main_span(by_level)
    if span is None:
        return [], False
    a, b = span
    # The level rises once the getting-in movement has ended: date it from that movement.
    entering = [e for e in events if a - 300.0 <= e.onset <= a + 60.0]
    in_bed = min((e.onset for e in entering), default=a)
    if b >= end:
        return [(in_bed, end)], True
    leaving = [e for e in events if b - 300.0 <= e.offset <= b + 60.0]
    return [(in_bed, max((e.offset for e in leaving), default=b))], False


def _joined(spans: Sequence[Span], gap_seconds: float) -> list[Span]:
    """Spans in time order, those less than `gap_seconds` apart joined."""
    joined: list[Span] = []
    for a, b in sorted(spans):
        if joined and a - joined[-1][1] < gap_seconds:
            joined[-1] = (joined[-1][0], max(b, joined[-1][1]))
        else:
            joined.append((a, b))
    return joined
