"""The onset search going on from a saved point answers what a search from the start does."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.core.onset import (
    OnsetCache,
    OnsetPoint,
    OnsetScan,
    onset_after,
    onset_in_sorted,
    scan_onset,
)
from sleepenv.bed.core.sleep import SleepConfig, find_sleep_onset

CONFIG = SleepConfig()
CLASSES = (MovementClass.TWITCH, MovementClass.LIMB_MOVEMENT, MovementClass.BOUT)

steps = st.lists(
    st.tuples(
        st.sampled_from((5.0, 30.0, 90.0, 200.0, 320.0, 700.0)),  # seconds since the last
        st.sampled_from(CLASSES),
        st.booleans(),  # periodic (sleep-neutral)
    ),
    min_size=1,
    max_size=120,
)
gap_lists = st.lists(
    st.tuples(st.floats(0.0, 20000.0), st.sampled_from((30.0, 150.0, 900.0))), max_size=3
)


def build(
    raw: list[tuple[float, MovementClass, bool]],
) -> tuple[list[MovementEvent], set[float]]:
    """Movements in onset order, and the onsets of the periodic ones."""
    t, moves, periodic = 0.0, [], set()
    for step, cls, is_periodic in raw:
        t += step
        seconds = 60.0 if cls is MovementClass.BOUT else 1.5
        moves.append(MovementEvent(t, t + seconds, 1.0, cls))
        if is_periodic:
            periodic.add(t)
    return moves, periodic


@settings(max_examples=150, deadline=None)
@given(steps, gap_lists, st.booleans())
def test_a_growing_night_searched_from_saved_points_finds_the_same_onset(
    raw: list[tuple[float, MovementClass, bool]],
    gaps: list[tuple[float, float]],
    is_final: bool,
) -> None:
    """As the night grows, movements settle (a live night's cut) and each search goes on
    from where the last proved nothing starts earlier: every answer is the fresh one."""
    moves, periodic = build(raw)
    breaks = [(a, a + d) for a, d in gaps]
    onsets = [e.onset for e in moves]
    cache = OnsetCache()
    for n in range(1, len(moves) + 1):
        until = moves[n - 1].offset + 1.0
        # The settled part trails the data, as a live night's cut does.
        cache.stable_before = moves[max(0, n - 6)].onset
        got = onset_in_sorted(
            moves[:n],
            onsets[:n],
            0.0,
            until,
            still=CONFIG.still_seconds,
            periodic=periodic,
            config=CONFIG,
            breaks=breaks,
            is_final=is_final,
            cache=cache,
        )
        fresh = find_sleep_onset(
            moves[:n],
            0.0,
            until,
            periodic=periodic,
            config=CONFIG,
            breaks=breaks,
            is_final=is_final,
        )
        assert got == fresh
        last = cache.last
        assert last is not None
        assert last.open_from <= (got[0] if got[0] is not None and got[1] else math.inf)
        point = cache.point
        if point is not None:
            assert point.horizon <= cache.stable_before  # read nothing unsettled


def _restless(count: int, step: float) -> list[MovementEvent]:
    """Wake-like movements every `step` seconds: no still run anywhere."""
    return [
        MovementEvent(step * i, step * i + 1.5, 1.0, MovementClass.LIMB_MOVEMENT)
        for i in range(count)
    ]


def test_a_search_goes_on_from_its_point_and_reads_only_the_new_part() -> None:
    moves = _restless(2000, 30.0)
    onsets = [e.onset for e in moves]
    cache = OnsetCache()
    read = []
    for n in range(100, len(moves) + 1):
        cache.stable_before = moves[n - 10].onset
        before = cache.steps
        found = onset_in_sorted(
            moves[:n],
            onsets[:n],
            0.0,
            moves[n - 1].offset,
            still=CONFIG.still_seconds,
            periodic=set(),
            config=CONFIG,
            cache=cache,
        )
        assert found == (None, False)
        read.append(cache.steps - before)
    assert max(read[100:]) <= 12  # the ten unsettled movements and the end, not the night
    assert cache.last is not None
    assert cache.last.is_resumed
    # Nothing can start before the stillness since the last movement.
    assert cache.last.open_from == moves[-1].offset


def _scan(
    moves: list[MovementEvent],
    *,
    search_from: float = 0.0,
    until: float = 6000.0,
    still: float = CONFIG.still_seconds,
    breaks: list[tuple[float, float]] | None = None,
    resume: OnsetPoint | None = None,
    save_before: float = -math.inf,
    config: SleepConfig = CONFIG,
) -> OnsetScan:
    return scan_onset(
        moves,
        [e.onset for e in moves],
        search_from,
        until,
        still=still,
        periodic=set(),
        config=config,
        breaks=breaks or [],
        resume=resume,
        save_before=save_before,
    )


def test_a_point_is_not_used_when_what_it_read_changed() -> None:
    """A point holds only for the same start, stillness, allowance, breaks and data."""
    moves = _restless(200, 30.0)
    first = _scan(moves, save_before=3000.0)
    point = first.point
    assert point is not None
    assert point.horizon <= 3000.0
    assert not _scan(moves, search_from=10.0, resume=point).is_resumed
    assert not _scan(moves, still=CONFIG.coarse_still_seconds, resume=point).is_resumed
    gap = (1000.0, 1000.0 + CONFIG.gap_break_seconds)
    assert not _scan(moves, breaks=[gap], resume=point).is_resumed
    assert not _scan(moves, until=point.horizon - 1.0, resume=point).is_resumed
    shared = replace(CONFIG, confirm_max_moving_minutes=CONFIG.shared_confirm_max_moving_minutes)
    assert not _scan(moves, config=shared, resume=point).is_resumed  # another allowance
    later_gap = (point.horizon + 10.0, point.horizon + 400.0)  # after it: still usable
    assert _scan(moves, breaks=[later_gap], resume=point).is_resumed
    same = _scan(moves, resume=point)
    assert same.is_resumed
    assert (same.onset, same.is_confirmed) == (first.onset, first.is_confirmed)


later_steps = st.lists(
    st.tuples(
        st.sampled_from((5.0, 30.0, 90.0, 90.0, 90.0, 700.0)),
        st.sampled_from(CLASSES),
        st.booleans(),
    ),
    min_size=1,
    max_size=150,
)


@settings(max_examples=200, deadline=None)
@given(
    steps,
    later_steps,
    st.sampled_from((1.0, 300.0, 650.0, 1300.0, 8000.0)),
    st.sampled_from((0.0, 1.0, 300.0, 650.0, 1300.0, 8000.0)),
    st.booleans(),
)
def test_a_scan_that_reached_the_end_goes_on_over_later_movements_alone(
    raw: list[tuple[float, MovementClass, bool]],
    more: list[tuple[float, MovementClass, bool]],
    lag: float,
    later: float,
    is_coarse: bool,
) -> None:
    """A scan over the first movements that reached the end of its data finding nothing
    before it, then later movements (some of them before that end) and a later end: what
    `onset_after` answers from the scan's end alone is what a scan over the whole data
    answers."""
    moves, periodic = build(raw + more)
    cut = len(raw)
    still = CONFIG.coarse_still_seconds if is_coarse else CONFIG.still_seconds
    onsets = [e.onset for e in moves]

    def scan(n: int, until: float) -> OnsetScan:
        return scan_onset(
            moves[:n], onsets[:n], 0.0, until, still=still, periodic=periodic, config=CONFIG
        )

    until = moves[cut - 1].onset + lag
    first = scan(cut, until)
    end = max(until, moves[-1].onset + 0.5) + later
    spans = [(e.onset, e.offset) for e in moves[cut:]]
    if first.at_end is None:
        return
    got = onset_after(first.at_end, spans, 0.0, end, still=still, config=CONFIG)
    whole = scan(len(moves), end)
    if got is None:  # a later movement ends a still run
        quiet, ends = first.at_end[0], []
        for onset, offset in spans:
            ends.append(onset - quiet >= still)
            quiet = max(quiet, offset)
        assert any(ends)
    else:
        assert got == ((whole.onset, whole.is_confirmed), whole.at_end)


def test_a_later_movement_after_a_still_run_sends_the_scan_through_again() -> None:
    """A new movement that ends a still run leaves its confirmation to a full scan."""
    moves = _restless(20, 30.0)
    first = _scan(moves, until=moves[-1].offset + 1.0)
    assert first.at_end is not None
    later = moves[-1].offset + CONFIG.still_seconds + 5.0
    assert (
        onset_after(
            first.at_end,
            [(later, later + 1.0)],
            0.0,
            later + 2.0,
            still=CONFIG.still_seconds,
            config=CONFIG,
        )
        is None
    )
    nearer = moves[-1].offset + 10.0
    found = onset_after(
        first.at_end,
        [(nearer, nearer + 1.0)],
        0.0,
        nearer + 2.0,
        still=CONFIG.still_seconds,
        config=CONFIG,
    )
    assert found == ((None, False), (nearer + 1.0, None))


def test_two_hours_after_a_failed_still_run_it_stands_in_going_on_alone() -> None:
    """A still run that failed its confirmation, restlessness past two hours in bed: the
    answer going on from a scan's end is that run, as a scan over the whole data finds."""
    restless = _restless(400, 30.0)
    moves = [
        *restless[:10],
        *(replace(e, onset=e.onset + 700.0, offset=e.offset + 700.0) for e in restless[10:]),
    ]
    onsets = [e.onset for e in moves]

    def scan(n: int, until: float) -> OnsetScan:
        return scan_onset(
            moves[:n],
            onsets[:n],
            0.0,
            until,
            still=CONFIG.still_seconds,
            periodic=set(),
            config=CONFIG,
        )

    first = scan(100, moves[99].offset + 1.0)
    assert first.at_end is not None
    assert first.at_end[1] == moves[9].offset  # the failed still run
    assert first.onset is None
    end = moves[-1].offset + 1.0
    whole = scan(len(moves), end)
    got = onset_after(
        first.at_end,
        [(e.onset, e.offset) for e in moves[100:]],
        0.0,
        end,
        still=CONFIG.still_seconds,
        config=CONFIG,
    )
    assert got == ((moves[9].offset, False), whole.at_end)
    assert (whole.onset, whole.is_confirmed) == (moves[9].offset, False)
