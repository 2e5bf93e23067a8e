"""Bed occupancy and the sleep period from movement alone (pure).

Movement-based sleep estimation (actigraphy, bed sensors) sees stillness, not sleep:
the onset is the start of the first long still stretch after getting into bed that is
confirmed by mostly-still minutes after it (docs/sleep-science.md). It runs early on people who
lie still awake, which is why the hypnic-jerk window around it is wide.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Sequence
from dataclasses import dataclass
from statistics import median

from sleepenv.bed.core.model import MovementClass, MovementEvent, RestingMinute
from sleepenv.bed.core.onset import onset_in_sorted, wake_in_sorted

MINUTE = 60.0
Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class SleepConfig:
    """How long is still, what confirms it, what makes an occupied bed."""

    still_seconds: float = 300.0  # 5 immobile minutes (fine sensor)
    coarse_still_seconds: float = 600.0  # 10 on the Zigbee vibration sensor
    confirm_seconds: float = 600.0  # minutes after the still run that must be mostly still
    confirm_max_moving_minutes: int = 2  # ... at most this many with a wake-like movement
    # ... or this many on a night where the occupant step rule (below) found someone else
    # in the bed: their movements reach the sensor too and would break every window.
    shared_confirm_max_moving_minutes: int = 3
    wake_chain_gap_seconds: float = 250.0  # movements this close belong to the final awakening
    occupied_ratio: float = 2.5  # resting level above this × the empty floor = occupied
    min_contrast_ratio: float = 2.5  # below this max/min level ratio the night has no contrast
    empty_max_events_per_hour: float = 2.0  # without contrast: this few events = empty bed
    # Occupancy from breathing evidence (RestingMinute.rhythm, ~1 on an empty bed): a
    # stretch between two possible getting-in/out movements is occupied at or above
    # rhythm_occupied, empty at or below rhythm_empty, and keeps the state before it
    # in between or without evidence.
    rhythm_occupied: float = 1.8
    rhythm_empty: float = 1.4
    transition_min_seconds: float = 5.0  # shorter movements cannot be getting in or out
    min_absence_seconds: float = 180.0  # a shorter empty stretch in the night is not one
    # The person over the sensor raises the resting level several times more than a
    # partner on the other side (attenuated through the mattress): an occupied stretch
    # adding this many times less above the empty bed's floor than the next one (or the
    # one before) was the partner alone, before the sleeper got in (or after they got up).
    occupant_step_ratio: float = 2.0
    # ... and the level itself must step by this much, from both ends of one stretch to
    # both ends of the other: near the floor (a drifting level makes the floor measured
    # beside the stay too high) what a person adds above it is small, and a level
    # drifting within the stretches is no step.
    occupant_raw_ratio: float = 1.7
    # Back within this factor of the sleeper's level before they got up: they are back.
    occupant_back_ratio: float = 1.4
    occupant_step_minutes: int = 5  # minutes of evidence each side of the step compared
    # A stretch with fewer minutes of evidence is not compared (the first minutes of data
    # that began while someone got in carry the movement's level until it is re-learnt).
    occupant_min_minutes: int = 3
    # A data gap this long may hide getting in or out: occupancy is cut there.
    gap_cut_seconds: float = 20.0
    # Gaps are unknown, never stillness: a still run needs still_seconds of data, and a
    # gap this long ends it (shorter ones only do not count towards it).
    gap_break_seconds: float = 120.0


@dataclass(frozen=True, slots=True)
class SleepPeriod:
    """Key moments of one night; None where the data does not tell."""

    in_bed: float | None = None
    sleep_onset: float | None = None
    wake: float | None = None
    out_of_bed: float | None = None
    is_onset_confirmed: bool = False
    # Every stretch in bed (a night out of bed for a while has several); the last one
    # ends at infinity while the person is still in bed.
    in_bed_spans: tuple[Span, ...] = ()

    @property
    def total_sleep_seconds(self) -> float | None:
        """Wake minus onset, less the time out of bed in between (movement-based: brief
        awakenings in bed are not subtracted)."""
        if self.sleep_onset is None or self.wake is None:
            return None
        away = sum(
            max(0.0, min(b, self.wake) - max(a, self.sleep_onset)) for a, b in self.absences()
        )
        return max(0.0, self.wake - self.sleep_onset - away)

    def absences(self) -> list[Span]:
        """Stretches out of bed between the first getting in and the last getting out."""
        spans = self.in_bed_spans
        return [(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)]

    def is_in_bed_at(self, t: float) -> bool:
        """True when `t` lies in a stretch in bed."""
        return any(a <= t < b for a, b in self.in_bed_spans)

    @property
    def time_to_fall_asleep_seconds(self) -> float | None:
        """Sleep onset latency: from getting into bed to sleep onset."""
        if self.sleep_onset is None or self.in_bed is None:
            return None
        return max(0.0, self.sleep_onset - self.in_bed)


def occupied_spans_by_level(
    levels: Sequence[RestingMinute], config: SleepConfig = SleepConfig()
) -> list[Span] | None:
    """Occupied stretches from per-minute resting levels alone; None without contrast.

    The fallback for levels stored without breathing evidence: the empty bed carries
    only the sensor floor, a person adds several times that. Without both states in the
    data the floor is unknown.
    """
    values = [v for _, v, *_ in levels if v > 0.0]
    if len(values) < 2:
        return None
    floor = min(values)
    if max(values) < config.min_contrast_ratio * floor:
        return None
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for i, (t, v, *_) in enumerate(levels):
        is_occupied = v >= config.occupied_ratio * floor
        if is_occupied and start is None:
            start = t
        elif not is_occupied and start is not None:
            spans.append((start, t))
            start = None
        if i == len(levels) - 1 and start is not None:
            spans.append((start, t + MINUTE))
    return spans


def occupied_spans(
    levels: Sequence[RestingMinute],
    events: Sequence[MovementEvent],
    data: Span,
    gaps: Sequence[Span] = (),
    config: SleepConfig = SleepConfig(),
) -> list[Span] | None:
    """In-bed stretches in `data` from breathing evidence (see `occupied_pieces`)."""
    found = occupied_pieces(levels, events, data, gaps, config)
    return None if found is None else found.spans


@dataclass(frozen=True, slots=True)
class Pieces:
    """Occupancy from breathing evidence (`occupied_pieces`)."""

    spans: list[Span]
    is_last_occupied: bool  # the last span ends at the data's end, its piece occupied
    # The occupant step rule found someone else alone in the bed for a while: a shared bed.
    is_shared: bool


def occupied_pieces(
    levels: Sequence[RestingMinute],
    events: Sequence[MovementEvent],
    data: Span,
    gaps: Sequence[Span] = (),
    config: SleepConfig = SleepConfig(),
) -> Pieces | None:
    """In-bed stretches in `data` (first, last moment with data) from breathing evidence.

    Nobody gets in or out of bed without a movement of some seconds (or unseen, in a
    gap in the data), so the night is cut at those; each piece is occupied or empty by
    the breathing evidence of its quiet minutes (a person breathes, an empty bed only
    carries sensor noise) and keeps the state before it when the evidence is weak or
    missing. A state change therefore always sits at a movement, and no fixed level
    ratio or drifting floor is involved. None when no minute has breathing evidence.
    """
    if not any(m.rhythm is not None for m in levels):
        return None
    cuts = sorted(
        [
            (e.onset, e.offset)
            for e in events
            if e.duration_seconds >= config.transition_min_seconds and data[0] <= e.onset < data[1]
        ]
        + [g for g in gaps if g[1] - g[0] >= config.gap_cut_seconds]
    )
    pieces: list[Span] = []
    cursor = data[0]
    for a, b in cuts:
        pieces.append((cursor, max(cursor, a)))
        cursor = max(cursor, b)
    pieces.append((cursor, max(cursor, data[1])))
    minutes = _piece_minutes(levels, pieces)
    known = _piece_evidence(minutes, config)
    if all(k is None for k in known):
        return None  # minutes with evidence, but none inside a piece yet (getting in)
    by_evidence = _resolve(known, cuts)
    states = _fill_absences(cuts, _partner_alone(by_evidence, minutes, config), config)
    # Only the step rule turns an occupied piece empty (filling only turns empty ones).
    is_shared = any(a and not b for a, b in zip(by_evidence, states, strict=True))
    spans: list[Span] = []
    for i, is_occupied in enumerate(states):
        if not is_occupied:
            continue
        # From the onset of the movement that got the person in (or the data's start)
        # to the offset of the one that got them out (or the data's end).
        a = cuts[i - 1][0] if i > 0 else data[0]
        b = cuts[i][1] if i < len(cuts) else data[1]
        if spans and spans[-1][1] >= a:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return Pieces(spans, states[-1], is_shared)


def _piece_minutes(
    levels: Sequence[RestingMinute], pieces: Sequence[Span]
) -> list[list[RestingMinute]]:
    """The minutes with breathing evidence inside each piece (pieces in time order)."""
    out: list[list[RestingMinute]] = []
    j = 0
    for a, b in pieces:
        inside: list[RestingMinute] = []
        while j < len(levels) and levels[j].t <= b:
            m = levels[j]
            # A minute's evidence covers the minute before its time stamp.
            if m.t - MINUTE >= a - 1.0 and m.rhythm is not None:
                inside.append(m)
            j += 1
        out.append(inside)
    return out


def _piece_evidence(
    minutes: Sequence[Sequence[RestingMinute]], config: SleepConfig
) -> list[bool | None]:
    """Occupied or not per piece by its evidence; None where it is weak or missing."""
    known: list[bool | None] = []
    for inside in minutes:
        rhythms = [m.rhythm for m in inside if m.rhythm is not None]
        evidence = median(rhythms) if rhythms else None
        if evidence is None or config.rhythm_empty < evidence < config.rhythm_occupied:
            known.append(None)
        else:
            known.append(evidence >= config.rhythm_occupied)
    return known


def _resolve(known: list[bool | None], cuts: Sequence[Span]) -> list[bool]:
    """Fill pieces without evidence. Between an empty and an occupied piece the change
    sits at the longest movement in between (getting in or out is a long one); at the
    ends of the night, the nearest known state holds."""
    states = list(known)
    i = 0
    while i < len(states):
        if states[i] is not None:
            i += 1
            continue
        k = i
        while k < len(states) and states[k] is None:
            k += 1
        before = states[i - 1] if i > 0 else None
        after = states[k] if k < len(states) else None
        if before is None or after is None or before == after:
            fill = before if before is not None else after
            states[i:k] = [bool(fill)] * (k - i)
        else:
            # Cut j separates piece j from piece j + 1: cuts i - 1 .. k - 1 are candidates.
            j = max(range(i - 1, k), key=lambda c: cuts[c][1] - cuts[c][0])
            states[i : j + 1] = [before] * (j + 1 - i)
            states[j + 1 : k] = [after] * (k - j - 1)
        i = k
    return [bool(s) for s in states]


def _piece_levels(
    minutes: Sequence[Sequence[RestingMinute]], config: SleepConfig
) -> list[tuple[float, float] | None]:
    """(level at its start, level at its end) per piece: the median resting level of its
    first and last `occupant_step_minutes` minutes of evidence; None with fewer than
    `occupant_min_minutes` of them."""
    out: list[tuple[float, float] | None] = []
    k = config.occupant_step_minutes
    for piece in minutes:
        inside = [m.level for m in piece if m.level > 0.0]
        enough = len(inside) >= max(1, config.occupant_min_minutes)
        out.append((median(inside[:k]), median(inside[-k:])) if enough else None)
    return out


def _partner_alone(
    states: list[bool], minutes: Sequence[Sequence[RestingMinute]], config: SleepConfig
) -> list[bool]:
    """Occupied stretches of a stay where only someone else was in bed.

    Within one stay (consecutive occupied pieces), the resting level steps up by
    occupant_step_ratio or more where the person over the sensor got in beside someone
    already lying there, and down by as much where they got up and the other stayed.
    The stretch before a step up, or after a step down, up to the next step or the end
    of the stay, is not theirs; so is one between a step down and a step up (out for a
    while, the other stayed). Pieces without evidence between the two compared ones are
    the movements of getting in or out and keep their state.
    """
    ratio = config.occupant_step_ratio
    if not ratio > 1.0:
        return states
    piece_levels = _piece_levels(minutes, config)
    out = list(states)
    i = 0
    while i < len(states):
        if not states[i]:
            i += 1
            continue
        k = i
        while k < len(states) and states[k]:
            k += 1
        stay = [j for j in range(i, k) if piece_levels[j] is not None]
        _mark_stay(out, i, k, stay, piece_levels, _floor_beside(states, piece_levels, i, k), config)
        i = k
    return out


def _floor_beside(
    states: Sequence[bool], piece_levels: Sequence[tuple[float, float] | None], i: int, k: int
) -> float:
    """The empty bed's level next to the stay states[i:k]: the empty piece with evidence
    just before it, else just after it; 0 when neither has any."""
    before = piece_levels[i - 1] if i > 0 and not states[i - 1] else None
    if before is not None:
        return before[1]
    after = piece_levels[k] if k < len(states) and not states[k] else None
    return after[0] if after is not None else 0.0


def _mark_stay(
    out: list[bool],
    i: int,
    k: int,
    stay: list[int],
    piece_levels: Sequence[tuple[float, float] | None],
    floor: float,
    config: SleepConfig,
) -> None:
    """Mark the partner-alone stretches of the stay out[i:k] (`stay`: its pieces with
    evidence, in order) as not occupied, in place.

    Levels are compared above the empty bed's `floor` (what each occupant adds), which
    makes the partner's small share stand out even on a bed with a high floor.

    Walking the stay: a step up by the ratio means the sleeper got in (what came before,
    since the stay began or they last left, was the other's); a step down means they got
    up. Once they are up, a level back within occupant_back_ratio of theirs before they
    left is them again, even when the step from the other's level alone falls short of
    the ratio (the two steps of one absence are not always equally clear).
    """
    ratio = config.occupant_step_ratio
    back = config.occupant_back_ratio
    raw = config.occupant_raw_ratio

    def added(level: float) -> float:
        return max(level - floor, 0.05 * level)

    since = i  # first piece of the stretch whose occupant is not decided yet
    theirs: float | None = None  # the sleeper's level when they last got up
    is_other = False
    for p, q in itertools.pairwise(stay):
        end_p, start_q = piece_levels[p], piece_levels[q]
        if end_p is None or start_q is None:
            continue
        was, now = added(end_p[1]), added(start_q[0])
        # A step, not a drift: each end of one stretch against each end of the other.
        low_p, high_p = min(end_p), max(end_p)
        low_q, high_q = min(start_q), max(start_q)
        rose = low_q >= raw * high_p
        fell = low_p >= raw * high_q
        if (rose and now >= ratio * was) or (
            is_other and theirs is not None and start_q[0] > end_p[1] and now * back >= theirs
        ):
            out[since : p + 1] = [False] * (p + 1 - since)  # the other's, alone
            is_other = False
            since = q
        elif not is_other and fell and was >= ratio * now:
            is_other = True
            theirs = was
            since = q
    if is_other:
        out[since:k] = [False] * (k - since)


def _fill_absences(cuts: Sequence[Span], states: list[bool], config: SleepConfig) -> list[bool]:
    """Empty stretches between two occupied ones shorter than a real absence are occupied."""
    out = list(states)
    i = 0
    while i < len(out):
        if out[i]:
            i += 1
            continue
        k = i
        while k < len(out) and not out[k]:
            k += 1
        if i > 0 and k < len(out):
            away = cuts[k - 1][0] - cuts[i - 1][1]
            if away < config.min_absence_seconds:
                out[i:k] = [True] * (k - i)
        i = k
    return out


def main_span(
    spans: Sequence[tuple[float, float]], gap_seconds: float = 10 * MINUTE
) -> tuple[float, float] | None:
    """The longest stretch, with neighbours less than `gap_seconds` apart joined to it."""
    if not spans:
        return None
    joined: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if joined and a - joined[-1][1] < gap_seconds:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return max(joined, key=lambda s: s[1] - s[0])


def find_sleep_onset(
    events: Sequence[MovementEvent],
    search_from: float,
    until: float,
    *,
    is_coarse: bool = False,
    periodic: Container[float] | None = None,
    config: SleepConfig = SleepConfig(),
    breaks: Sequence[Span] = (),
    is_final: bool = False,
) -> tuple[float | None, bool]:
    """(onset, is_confirmed): start of the first confirmed still run after `search_from`.

    `until` is the end of the data (or of the bed occupancy). A still run whose
    confirmation window is not complete yet gives a provisional (unconfirmed) onset;
    one that fails confirmation (an awakening) restarts the search after it. `breaks`
    (data gaps, time out of bed) are never stillness: one of gap_break_seconds or more
    ends a still run, a shorter one does not count towards it. When every still run
    failed its confirmation, a final answer falls back to the first still run
    (unconfirmed): a person in bed all night with still stretches slept.
    """
    moves = sorted(events, key=lambda e: e.onset)
    return onset_in_sorted(
        moves,
        [e.onset for e in moves],
        search_from,
        until,
        still=config.coarse_still_seconds if is_coarse else config.still_seconds,
        periodic=periodic if periodic is not None else set(),
        config=config,
        breaks=breaks,
        is_final=is_final,
    )


def find_wake(
    events: Sequence[MovementEvent],
    onset: float,
    out_of_bed: float,
    periodic: Container[float] | None = None,
    config: SleepConfig = SleepConfig(),
) -> float:
    """First movement of the final awakening: the chain of close movements before getting up."""
    moves = sorted(events, key=lambda e: e.onset)
    periodic = periodic if periodic is not None else set()
    return wake_in_sorted(moves, [e.onset for e in moves], onset, out_of_bed, periodic, config)


def _moving_minutes(events: Sequence[MovementEvent], lo: float, hi: float) -> set[int]:
    """Minute indexes (from `lo`) holding the onset of a wake-like movement."""
    return {
        int((e.onset - lo) // MINUTE)
        for e in events
        if lo <= e.onset < hi and e.cls is not MovementClass.TWITCH
    }


def _period_end(moving: set[int], start_minute: int, end_minute: int, window: int) -> int:
    """First minute from which `window` minutes are mostly moving (sustained wake)."""
    for m in range(start_minute, end_minute):
        if m not in moving:
            continue
        if sum(1 for k in range(m, m + window) if k in moving) * 2 >= window:
            return m
    return end_minute


def sleep_periods(
    events: Sequence[MovementEvent],
    lo: float,
    hi: float,
    *,
    wake_window_seconds: float = 1200.0,
    config: SleepConfig = SleepConfig(),
) -> list[tuple[float, float]]:
    """Sleep periods in [lo, hi) without an occupancy signal (wrist actigraphy, a sensor
    that cannot tell an empty bed): each starts at a confirmed still run and ends where
    movement takes over (most minutes of `wake_window_seconds` moving)."""
    moving = _moving_minutes(events, lo, hi)
    window = max(1, round(wake_window_seconds / MINUTE))
    end_minute = int((hi - lo) // MINUTE)
    periods: list[tuple[float, float]] = []
    cursor = lo
    while cursor < hi:
        onset, _ = find_sleep_onset(events, cursor, hi, config=config)
        if onset is None:
            break
        first = int((onset - lo) // MINUTE) + 1
        end = lo + _period_end(moving, first, end_minute, window) * MINUTE
        periods.append((onset, end))
        cursor = end + MINUTE
    return periods


def main_sleep_period(
    events: Sequence[MovementEvent], lo: float, hi: float, config: SleepConfig = SleepConfig()
) -> tuple[float, float] | None:
    """The longest sleep period in [lo, hi), periods less than 30 min apart joined."""
    return main_span(
        [(a, b) for a, b in sleep_periods(events, lo, hi, config=config)], gap_seconds=1800.0
    )
