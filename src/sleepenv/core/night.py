"""Night windows on a bed's local clock (pure: takes a tzinfo and unix times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True, slots=True)
class NightWindow:
    """A nightly window from `start` to `end` local time; `end` may be on the next day."""

    start: time
    end: time
    tz: tzinfo
    # From this local time on, a night may close before `end` once the sleeper is up
    # (BedTracker decides when); None: nights close at `end` only.
    morning: time | None = None

    @property
    def crosses_midnight(self) -> bool:
        """True when the night ends on the day after it starts (the usual case)."""
        return self.end <= self.start

    def bounds(self, night: date) -> tuple[float, float]:
        """Unix start and end of the night that starts on local date `night`."""
        start = datetime.combine(night, self.start, self.tz)
        end_day = night + timedelta(days=1) if self.crosses_midnight else night
        end = datetime.combine(end_day, self.end, self.tz)
        return start.timestamp(), end.timestamp()

    def morning_of(self, night: date) -> float | None:
        """Unix time of the first `morning` after the night's start, if before its end."""
        if self.morning is None:
            return None
        start, end = self.bounds(night)
        day = night
        while True:
            at = datetime.combine(day, self.morning, self.tz).timestamp()
            if at > start:
                return at if at < end else None
            day += timedelta(days=1)

    def night_of(self, at: float) -> date | None:
        """The local date of the night containing `at`, or None in the daytime gap."""
        local = datetime.fromtimestamp(at, self.tz).date()
        for candidate in (local, local - timedelta(days=1)):
            start, end = self.bounds(candidate)
            if start <= at < end:
                return candidate
        return None

    def _boundaries_near(self, at: float) -> list[float]:
        local = datetime.fromtimestamp(at, self.tz).date()
        moments = []
        for offset in (-2, -1, 0, 1, 2):
            start, end = self.bounds(local + timedelta(days=offset))
            moments += [start, end]
        return moments

    def next_boundary(self, at: float) -> float:
        """The first night start or end strictly after `at`."""
        return min(m for m in self._boundaries_near(at) if m > at)

    def last_boundary(self, at: float) -> float:
        """The latest night start or end at or before `at` (when nightly counts reset)."""
        return max(m for m in self._boundaries_near(at) if m <= at)
