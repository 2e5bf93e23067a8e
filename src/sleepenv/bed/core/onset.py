"""Sleep onset and wake over movements already sorted by onset (pure).

The scans stop as soon as the answer is known and find their range by bisection, so a
live night that asks again on every new movement pays for the movements up to the
onset's confirmation (or around the wake), not for the whole night.
`sleep.find_sleep_onset` and `sleep.find_wake` sort and call these.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Container, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from sleepenv.bed.core.model import MovementClass, MovementEvent

if TYPE_CHECKING:
    from sleepenv.bed.core.sleep import SleepConfig, Span

MINUTE = 60.0
# After this long in bed, a night whose still runs all failed confirmation takes its
# first one rather than none (see onset_in_sorted).
FALLBACK_AFTER_SECONDS = 2 * 3600.0


def _is_wake_like(event: MovementEvent, periodic: Container[float]) -> bool:
    """Movements that speak for wakefulness: not twitches, not members of a periodic series."""
    return event.cls is not MovementClass.TWITCH and event.onset not in periodic


def _confirmed(
    moves: Sequence[MovementEvent],
    first: int,
    last: int,
    start: float,
    config: SleepConfig,
    periodic: Container[float],
) -> bool:
    """True when few minutes of [start, start + confirm) hold a wake-like movement."""
    minutes: set[int] = set()
    stop = start + config.confirm_seconds
    for i in range(first, last):
        e = moves[i]
        if e.onset >= stop:
            break
        if start <= e.onset and _is_wake_like(e, periodic):
            if e.cls is MovementClass.BOUT:
                return False
            minutes.add(int((e.onset - start) // MINUTE))
    return len(minutes) <= config.confirm_max_moving_minutes


def _spans(
    moves: Sequence[MovementEvent], first: int, last: int, long_breaks: list[Span]
) -> Iterator[Span]:
    """Movements and long breaks in time order (ties in any order: a tie never starts a
    still run, since a span ends no earlier than it starts)."""
    return heapq.merge(((moves[i].onset, moves[i].offset) for i in range(first, last)), long_breaks)


def onset_in_sorted(
    moves: Sequence[MovementEvent],
    onsets: Sequence[float],
    search_from: float,
    until: float,
    *,
    still: float,
    periodic: Container[float],
    config: SleepConfig,
    breaks: Sequence[Span] = (),
    is_final: bool = False,
) -> tuple[float | None, bool]:
    """`sleep.find_sleep_onset` over `moves` sorted by onset (`onsets` their onsets)."""
    first = bisect_left(onsets, search_from)
    last = max(first, bisect_left(onsets, until))
    relevant = [(a, b) for a, b in breaks if b > search_from and a < until]
    short = sorted(g for g in relevant if g[1] - g[0] < config.gap_break_seconds)
    long_breaks = sorted(g for g in relevant if g[1] - g[0] >= config.gap_break_seconds)
    quiet_from = search_from
    first_still: float | None = None
    ends = chain(_spans(moves, first, last, long_breaks), [(until, until)])
    for next_onset, next_offset in ends:
        unseen = _overlap(short, quiet_from, next_onset)
        if next_onset - quiet_from - unseen >= still:
            if first_still is None:
                first_still = quiet_from
            confirm_from = quiet_from + still + unseen
            if confirm_from + config.confirm_seconds > until:
                return quiet_from, False  # not enough data after it yet: provisional
            j = bisect_left(onsets, confirm_from, first, last)
            if _confirmed(moves, j, last, confirm_from, config, periodic):
                return quiet_from, True
        quiet_from = max(quiet_from, next_offset)
    if is_final or until - search_from >= FALLBACK_AFTER_SECONDS:
        return first_still, False
    return None, False


def _overlap(spans: Sequence[Span], a: float, b: float) -> float:
    """Seconds of `spans` inside [a, b)."""
    return sum(max(0.0, min(hi, b) - max(lo, a)) for lo, hi in spans if hi > a and lo < b)


def wake_in_sorted(
    moves: Sequence[MovementEvent],
    onsets: Sequence[float],
    onset: float,
    out_of_bed: float,
    periodic: Container[float],
    config: SleepConfig,
) -> float:
    """`sleep.find_wake` over `moves` sorted by onset (`onsets` their onsets)."""
    first = bisect_right(onsets, onset)
    i = bisect_left(onsets, out_of_bed, first) - 1
    while i >= first and moves[i].onset in periodic:
        i -= 1
    if i < first:
        return out_of_bed
    last = moves[i]
    wake = last.onset
    if out_of_bed - last.offset > config.wake_chain_gap_seconds * 2:
        return out_of_bed  # nothing moved near the end: woke while getting up
    for k in range(i - 1, first - 1, -1):
        prev = moves[k]
        if prev.onset in periodic:
            continue
        if wake - prev.offset > config.wake_chain_gap_seconds:
            break
        wake = prev.onset
    return max(wake, onset)
