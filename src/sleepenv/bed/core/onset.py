"""Sleep onset and wake over movements already sorted by onset (pure).

The scans stop as soon as the answer is known and find their range by bisection, and a
live night that asks again on every new movement goes on from a saved point, where the
last search proved that no onset starts earlier (`OnsetCache`): it pays for the
movements it has not settled yet, not for the night since getting into bed, also
while no onset is found. `sleep.find_sleep_onset` and `sleep.find_wake` sort and call
these.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class OnsetPoint:
    """Where an onset scan can go on from: every movement and long break starting before
    `at` was gone through, and none of the still runs among them was the onset."""

    search_from: float
    still: float
    max_moving: int  # the confirmation's allowance (a shared bed allows more)
    at: float
    quiet_from: float  # the scan's state there
    first_still: float | None
    reach: float  # the end of the last confirmation window read before `at`
    breaks: tuple[Span, ...]  # the breaks that meet [search_from, max(at, reach))

    @property
    def horizon(self) -> float:
        """Everything the point was built from starts before this."""
        return max(self.at, self.reach)


@dataclass(frozen=True, slots=True)
class OnsetScan:
    """One onset scan's answer and what a next one may reuse."""

    onset: float | None
    is_confirmed: bool
    # The latest point the scan passed that lies before `save_before` (or the one it went
    # on from), None for none.
    point: OnsetPoint | None
    # The earliest start the onset may yet take as data comes in: the answer when it is
    # confirmed or provisional, else the earliest still run whose failed confirmation is
    # recent (see `scan_onset`) or the stillness since the last movement, whichever is
    # first (a fallback answer, the first still run, is not one of them).
    open_from: float
    is_resumed: bool = False
    steps: int = 0  # movements and breaks gone through (tests read it)
    # (quiet_from, first_still) as the scan reached the end of the data having found no
    # onset before it, None when it stopped earlier: a later scan over the same data and
    # later movements would be here again after them (see `LiveNight`).
    at_end: tuple[float, float | None] | None = None


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
    cache: OnsetCache | None = None,
) -> tuple[float | None, bool]:
    """`sleep.find_sleep_onset` over `moves` sorted by onset (`onsets` their onsets);
    with a `cache`, going on from its saved point when that holds (see `OnsetCache`)."""
    scan = scan_onset(
        moves,
        onsets,
        search_from,
        until,
        still=still,
        periodic=periodic,
        config=config,
        breaks=breaks,
        is_final=is_final,
        resume=None if cache is None else cache.point,
        save_before=-math.inf if cache is None else cache.stable_before,
        recent_after=math.inf if cache is None else cache.recent_after,
    )
    if cache is not None:
        cache.point, cache.last = scan.point, scan
        cache.steps += scan.steps
    return scan.onset, scan.is_confirmed


def scan_onset(
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
    resume: OnsetPoint | None = None,
    save_before: float = -math.inf,
    recent_after: float = math.inf,
) -> OnsetScan:
    """`onset_in_sorted`, going on from `resume` when it still holds, with a point to go
    on from next time.

    The caller vouches that the movements starting before `save_before` (their onsets,
    offsets, classes and whether they are in `periodic`) are the same in every later call
    given the point: only points whose scan read nothing from `save_before` on are saved.
    The point is used again only with the same start, stillness and breaks before its
    horizon, and data reaching past that horizon. A failed confirmation whose window ends
    after `recent_after` counts as one that may yet turn (in `open_from`).
    """
    first = bisect_left(onsets, search_from)
    last = max(first, bisect_left(onsets, until))
    relevant = [(a, b) for a, b in breaks if b > search_from and a < until]
    short = sorted(g for g in relevant if g[1] - g[0] < config.gap_break_seconds)
    long_breaks = sorted(g for g in relevant if g[1] - g[0] >= config.gap_break_seconds)
    quiet_from, first_still, reach = search_from, None, search_from
    point, is_resumed = None, False
    max_moving = config.confirm_max_moving_minutes
    if resume is not None and _holds(resume, (search_from, still, max_moving), until, relevant):
        quiet_from, first_still, reach = resume.quiet_from, resume.first_still, resume.reach
        first = bisect_left(onsets, resume.at, first, last)
        long_breaks = [g for g in long_breaks if g[0] >= resume.at]
        point, is_resumed = resume, True
    saved: tuple[float, float, float | None, float] | None = None
    open_from, previous, end_quiet, steps = math.inf, -math.inf, quiet_from, 0
    found: tuple[float | None, bool] | None = None
    at_end: tuple[float, float | None] | None = None
    end = (until, until)
    for span in chain(_spans(moves, first, last, long_breaks), [end]):
        next_onset, next_offset = span
        if span is end:
            at_end = (quiet_from, first_still)
        if previous < next_onset <= save_before and reach <= save_before:
            saved = (next_onset, quiet_from, first_still, reach)
        previous, end_quiet, steps = next_onset, quiet_from, steps + 1
        unseen = _overlap(short, quiet_from, next_onset)
        if next_onset - quiet_from - unseen >= still:
            if first_still is None:
                first_still = quiet_from
            confirm_from = quiet_from + still + unseen
            window_end = confirm_from + config.confirm_seconds
            if window_end > until:
                found = (quiet_from, False)  # not enough data after it yet: provisional
                break
            j = bisect_left(onsets, confirm_from, first, last)
            if _confirmed(moves, j, last, confirm_from, config, periodic):
                found = (quiet_from, True)
                break
            reach = max(reach, window_end)
            if window_end > recent_after:
                open_from = min(open_from, quiet_from)
        quiet_from = max(quiet_from, next_offset)
    if found is not None:
        open_from = min(open_from, quiet_from)
    else:
        open_from = min(open_from, end_quiet)
        is_fallback = is_final or until - search_from >= FALLBACK_AFTER_SECONDS
        found = (first_still if is_fallback else None, False)
    return OnsetScan(
        onset=found[0],
        is_confirmed=found[1],
        point=_point(point, saved, (search_from, still, max_moving), relevant),
        open_from=open_from,
        is_resumed=is_resumed,
        steps=steps,
        at_end=at_end,
    )


def onset_after(
    at_end: tuple[float, float | None],
    spans: Iterable[Span],
    search_from: float,
    until: float,
    *,
    still: float,
    config: SleepConfig,
) -> tuple[tuple[float | None, bool], tuple[float, float | None]] | None:
    """`scan_onset`'s answer (not final) and `at_end` for the data of a scan that reached
    its end at `at_end`, with later movements added (`spans`, in order, each starting
    after every movement that scan went through and before `until`) and `until` moved on
    as far as wanted; None when one of them ends a still run, whose confirmation must be
    read (the search then goes through the night again).

    The scan goes through the same movements as before up to them, and the still runs it
    found there failed their confirmation with windows ending by the old `until`: more
    movements in such a window cannot turn it. Without breaks in the data (`scan_onset`'s
    `breaks` empty) only the stillness before each new movement and the stillness since
    the last one are new.
    """
    quiet_from, first_still = at_end
    for onset, offset in spans:
        if onset - quiet_from >= still:
            return None
        quiet_from = max(quiet_from, offset)
    answer: tuple[float | None, bool]
    if until - quiet_from >= still:  # onset at the last movement's end
        # Nothing starts after it: confirmed once its window has passed.
        answer = (quiet_from, quiet_from + still + config.confirm_seconds <= until)
    elif first_still is not None and until - search_from >= FALLBACK_AFTER_SECONDS:
        answer = (first_still, False)
    else:
        answer = (None, False)
    return answer, (quiet_from, first_still)


def _holds(
    point: OnsetPoint, scan: tuple[float, float, int], until: float, relevant: list[Span]
) -> bool:
    """True when the scan up to `point` would read the same now (`scan`: its start,
    stillness and allowance)."""
    horizon = point.horizon
    return (
        (point.search_from, point.still, point.max_moving) == scan
        and horizon <= until
        and tuple(g for g in relevant if g[0] < horizon) == point.breaks
    )


def _point(
    resumed: OnsetPoint | None,
    saved: tuple[float, float, float | None, float] | None,
    scan: tuple[float, float, int],
    relevant: list[Span],
) -> OnsetPoint | None:
    """The point saved in this scan, else the one it went on from."""
    if saved is None:
        return resumed
    at, quiet_from, first_still, reach = saved
    horizon = max(at, reach)
    breaks = tuple(g for g in relevant if g[0] < horizon)
    search_from, still, max_moving = scan
    return OnsetPoint(search_from, still, max_moving, at, quiet_from, first_still, reach, breaks)


class OnsetCache:
    """The onset search of a night whose movements before `stable_before` never change
    (a live night's settled part): each search (`onset_in_sorted` given the cache) goes
    on from where the last one proved that no onset starts earlier."""

    def __init__(self) -> None:
        """Nothing scanned yet."""
        self.point: OnsetPoint | None = None
        self.stable_before = -math.inf  # set by the owner as its movements settle
        self.recent_after = math.inf  # set by the owner: see `scan_onset`
        self.last: OnsetScan | None = None  # the latest scan (None until one ran)
        self.steps = 0  # movements and breaks gone through, over all scans (tests read it)


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
