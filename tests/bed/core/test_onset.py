"""The onset search going on from a saved point answers what a search from the start does."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.core.onset import OnsetCache, OnsetPoint, OnsetScan, scan_onset
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
        got = cache.find(
            moves[:n],
            onsets[:n],
            0.0,
            until,
            still=CONFIG.still_seconds,
            periodic=periodic,
            config=CONFIG,
            breaks=breaks,
            is_final=is_final,
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
        found = cache.find(
            moves[:n],
            onsets[:n],
            0.0,
            moves[n - 1].offset,
            still=CONFIG.still_seconds,
            periodic=set(),
            config=CONFIG,
            breaks=(),
            is_final=False,
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
) -> OnsetScan:
    return scan_onset(
        moves,
        [e.onset for e in moves],
        search_from,
        until,
        still=still,
        periodic=set(),
        config=CONFIG,
        breaks=breaks or [],
        resume=resume,
        save_before=save_before,
    )


def test_a_point_is_not_used_when_what_it_read_changed() -> None:
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
    later_gap = (point.horizon + 10.0, point.horizon + 400.0)  # after it: still usable
    assert _scan(moves, breaks=[later_gap], resume=point).is_resumed
    same = _scan(moves, resume=point)
    assert same.is_resumed
    assert (same.onset, same.is_confirmed) == (first.onset, first.is_confirmed)
