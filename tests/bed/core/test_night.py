"""Night windows across midnight and both DST changes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed.core.night import NightWindow

BERLIN = ZoneInfo("Europe/Berlin")


def ts(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Unix time of a Berlin wall-clock moment."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).timestamp()


def test_night_crosses_midnight() -> None:
    w = NightWindow(time(18), time(12), BERLIN)
    assert w.night_of(ts(2026, 1, 5, 23, 0)) == date(2026, 1, 5)
    assert w.night_of(ts(2026, 1, 6, 3, 0)) == date(2026, 1, 5)
    assert w.night_of(ts(2026, 1, 6, 11, 59)) == date(2026, 1, 5)
    assert w.night_of(ts(2026, 1, 6, 12, 0)) is None
    assert w.night_of(ts(2026, 1, 6, 18, 0)) == date(2026, 1, 6)


def test_bounds_on_spring_forward_and_fall_back() -> None:
    w = NightWindow(time(18), time(12), BERLIN)
    start, end = w.bounds(date(2026, 3, 28))  # clocks go forward on 29 March
    assert end - start == 17 * 3600
    start, end = w.bounds(date(2026, 10, 24))  # and back on 25 October
    assert end - start == 19 * 3600


def test_same_day_window() -> None:
    w = NightWindow(time(0), time(8), BERLIN)
    assert not w.crosses_midnight
    assert w.night_of(ts(2026, 1, 6, 3, 0)) == date(2026, 1, 6)
    assert w.night_of(ts(2026, 1, 6, 9, 0)) is None


def test_next_boundary() -> None:
    w = NightWindow(time(18), time(12), BERLIN)
    assert w.next_boundary(ts(2026, 1, 6, 3, 0)) == ts(2026, 1, 6, 12, 0)
    assert w.next_boundary(ts(2026, 1, 6, 12, 0)) == ts(2026, 1, 6, 18, 0)
    assert w.next_boundary(ts(2026, 1, 6, 13, 0)) == ts(2026, 1, 6, 18, 0)


def test_last_boundary_is_when_nightly_counts_reset() -> None:
    w = NightWindow(time(18), time(12), BERLIN)
    assert w.last_boundary(ts(2026, 1, 6, 3, 0)) == ts(2026, 1, 5, 18, 0)
    assert w.last_boundary(ts(2026, 1, 6, 12, 0)) == ts(2026, 1, 6, 12, 0)
    assert w.last_boundary(ts(2026, 1, 6, 17, 59)) == ts(2026, 1, 6, 12, 0)
    # Across the autumn change the night is 19 h long; its start is still found.
    assert w.last_boundary(ts(2026, 10, 25, 11, 0)) == ts(2026, 10, 24, 18, 0)


# -- the cached answers against the datetimes built afresh -------------------------------

NEW_YORK = ZoneInfo("America/New_York")
# Local noon on the days of DST changes: spring forward and fall back in both zones.
DST_DAYS = [
    datetime(2026, 3, 29, 12, tzinfo=BERLIN).timestamp(),
    datetime(2026, 10, 25, 12, tzinfo=BERLIN).timestamp(),
    datetime(2026, 3, 8, 12, tzinfo=NEW_YORK).timestamp(),
    datetime(2026, 11, 1, 12, tzinfo=NEW_YORK).timestamp(),
]


class Reference:
    """NightWindow's answers computed as before the cache: new datetimes every time."""

    def __init__(self, w: NightWindow) -> None:
        self.w = w

    def bounds(self, night: date) -> tuple[float, float]:
        start = datetime.combine(night, self.w.start, self.w.tz)
        end_day = night + timedelta(days=1) if self.w.crosses_midnight else night
        end = datetime.combine(end_day, self.w.end, self.w.tz)
        return start.timestamp(), end.timestamp()

    def morning_of(self, night: date) -> float | None:
        if self.w.morning is None:
            return None
        start, end = self.bounds(night)
        day = night
        while True:
            at = datetime.combine(day, self.w.morning, self.w.tz).timestamp()
            if at > start:
                return at if at < end else None
            day += timedelta(days=1)

    def night_of(self, at: float) -> date | None:
        local = datetime.fromtimestamp(at, self.w.tz).date()
        for candidate in (local, local - timedelta(days=1)):
            start, end = self.bounds(candidate)
            if start <= at < end:
                return candidate
        return None

    def near(self, at: float) -> list[float]:
        local = datetime.fromtimestamp(at, self.w.tz).date()
        moments = []
        for offset in (-2, -1, 0, 1, 2):
            start, end = self.bounds(local + timedelta(days=offset))
            moments += [start, end]
        return moments

    def next_boundary(self, at: float) -> float:
        return min(m for m in self.near(at) if m > at)

    def last_boundary(self, at: float) -> float:
        return max(m for m in self.near(at) if m <= at)


# Quarter hours, so that windows start or end inside the skipped and repeated hours too.
wall_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def instants(draw: st.DrawFn, w: NightWindow) -> list[float]:
    """Times within three days of a DST change, some exactly on (or next to) a boundary."""
    centre = draw(st.sampled_from(DST_DAYS))
    spread = 3 * 86400.0
    plain = st.floats(centre - spread, centre + spread, allow_nan=False)
    on_boundary = plain.flatmap(
        lambda at: st.sampled_from(Reference(w).near(at)).flatmap(
            lambda b: st.sampled_from([b, b - 1e-6, b + 1e-6, math.nextafter(b, -math.inf)])
        )
    )
    times = draw(st.lists(st.one_of(plain, on_boundary), min_size=1, max_size=40))
    if draw(st.booleans()):
        times.sort()  # as a night's readings arrive; unsorted: jumps back and forth
    return times


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from([BERLIN, NEW_YORK]),
    start=wall_times,
    end=wall_times,
    morning=st.none() | wall_times,
    data=st.data(),
)
def test_cached_answers_equal_fresh_datetimes(
    tz: ZoneInfo, start: time, end: time, morning: time | None, data: st.DataObject
) -> None:
    # end before start (across midnight), after it (a same-day window), or equal (24 h).
    w = NightWindow(start, end, tz, morning)
    ref = Reference(w)
    for at in data.draw(instants(w)):
        night = w.night_of(at)
        assert night == ref.night_of(at), at
        assert w.next_boundary(at) == ref.next_boundary(at), at
        assert w.last_boundary(at) == ref.last_boundary(at), at
        if night is not None:
            assert w.bounds(night) == ref.bounds(night)
            assert w.morning_of(night) == ref.morning_of(night)
        # And asked again out of order, as app.py and a restore do.
        other = night or datetime.fromtimestamp(at, UTC).astimezone().date()
        assert w.bounds(other) == ref.bounds(other)
        assert w.morning_of(other) == ref.morning_of(other)


def test_cache_is_not_part_of_equality_or_repr() -> None:
    a = NightWindow(time(18), time(12), BERLIN)
    b = NightWindow(time(18), time(12), BERLIN)
    a.night_of(ts(2026, 1, 6, 3, 0))  # fills a's cache only
    assert a == b
    assert hash(a) == hash(b)
    assert repr(a) == repr(b)
    assert "cache" not in repr(a)
