"""Night windows on a bed's local clock (pure: takes a tzinfo and unix times)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

# What building datetimes can raise for an instant or a date out of their range.
_OUT_OF_RANGE = (ValueError, OverflowError, OSError)


@dataclass(frozen=True, slots=True)
class _Span:
    """The stretch [lo, hi) between two consecutive night boundaries, and its night."""

    lo: float
    hi: float
    night: date | None


# No instant lies in it: the first question fills the cache.
_EMPTY_SPAN = _Span(math.inf, -math.inf, None)


@dataclass(slots=True)
class _Cache:
    """The answers of the latest questions; each entry is replaced in one assignment."""

    span: _Span = _EMPTY_SPAN
    bounds: tuple[date, tuple[float, float]] | None = None
    morning: tuple[date, float | None] | None = None


@dataclass(frozen=True, slots=True)
class NightWindow:
    """A nightly window from `start` to `end` local time; `end` may be on the next day.

    A bed asks about every reading's time; between two night boundaries every answer is
    the same, so the window keeps the current stretch and answers with a comparison
    until time leaves it (the same answers as building the datetimes each time).
    """

    start: time
    end: time
    tz: tzinfo
    # From this local time on, a night may close before `end` once the sleeper is up
    # (BedTracker decides when); None: nights close at `end` only.
    morning: time | None = None
    _cache: _Cache = field(default_factory=_Cache, init=False, repr=False, compare=False)

    @property
    def crosses_midnight(self) -> bool:
        """True when the night ends on the day after it starts (the usual case)."""
        return self.end <= self.start

    def bounds(self, night: date) -> tuple[float, float]:
        """Unix start and end of the night that starts on local date `night`."""
        cached = self._cache.bounds
        if cached is not None and cached[0] == night:
            return cached[1]
        result = self._bounds(night)
        self._cache.bounds = (night, result)
        return result

    def morning_of(self, night: date) -> float | None:
        """Unix time of the first `morning` after the night's start, if before its end."""
        if self.morning is None:
            return None
        cached = self._cache.morning
        if cached is not None and cached[0] == night:
            return cached[1]
        result = self._morning_of(night, self.morning)
        self._cache.morning = (night, result)
        return result

    def night_of(self, at: float) -> date | None:
        """The local date of the night containing `at`, or None in the daytime gap."""
        span = self._span(at)
        return self._night_of(at) if span is None else span.night

    def next_boundary(self, at: float) -> float:
        """The first night start or end strictly after `at`."""
        span = self._span(at)
        if span is None:
            return min(m for m in self._boundaries_near(at) if m > at)
        return span.hi

    def last_boundary(self, at: float) -> float:
        """The latest night start or end at or before `at` (when nightly counts reset)."""
        span = self._span(at)
        if span is None:
            return max(m for m in self._boundaries_near(at) if m <= at)
        return span.lo

    def _span(self, at: float) -> _Span | None:
        """The cached stretch around `at`, refilled when `at` lies outside it; None when
        the datetimes around `at` are out of range (the caller then computes directly and
        fails, or not, exactly as without the cache)."""
        span = self._cache.span
        if span.lo <= at < span.hi:
            return span
        try:
            moments = self._boundaries_near(at)
            lo = max(m for m in moments if m <= at)
            hi = min(m for m in moments if m > at)
            # Every night begins and ends at a boundary, so no night starts or ends
            # inside [lo, hi): the night containing `at` contains all of the stretch.
            span = _Span(lo, hi, self._night_of(at))
        except _OUT_OF_RANGE:
            return None
        self._cache.span = span
        return span

    def _bounds(self, night: date) -> tuple[float, float]:
        start = datetime.combine(night, self.start, self.tz)
        end_day = night + timedelta(days=1) if self.crosses_midnight else night
        end = datetime.combine(end_day, self.end, self.tz)
        return start.timestamp(), end.timestamp()

    def _morning_of(self, night: date, morning: time) -> float | None:
        start, end = self._bounds(night)
        day = night
        while True:
            at = datetime.combine(day, morning, self.tz).timestamp()
            if at > start:
                return at if at < end else None
            day += timedelta(days=1)

    def _night_of(self, at: float) -> date | None:
        local = datetime.fromtimestamp(at, self.tz).date()
        for candidate in (local, local - timedelta(days=1)):
            start, end = self._bounds(candidate)
            if start <= at < end:
                return candidate
        return None

    def _boundaries_near(self, at: float) -> list[float]:
        local = datetime.fromtimestamp(at, self.tz).date()
        moments = []
        for offset in (-2, -1, 0, 1, 2):
            start, end = self._bounds(local + timedelta(days=offset))
            moments += [start, end]
        return moments
