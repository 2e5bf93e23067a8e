"""Night windows across midnight and both DST changes."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sleepenv.core.night import NightWindow

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
