"""One evening's bedroom as the night chart draws it, and the wind-down's own account.

The guidance runner reports, a few times a minute and at every change, tonight's phase
start times, the room's target and whether the guidance is running and whether the person
holds a device by hand; `GuidanceLog` turns those samples into minutes the wind-down ran
and minutes it was overridden. When the night ends, `bedroom_night` keeps what the chart
needs (a bounded room temperature series, the phases, when a screen was on, the caffeine
presses) as a `BedroomNight`, stored as one JSON object per evening (`to_json`,
`from_json`; a damaged or hand-edited value is dropped, never an error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

MINUTE = 60.0
# Runner samples come at least once a minute; a longer silence is a restart or a stopped
# service: that stretch is not counted either way.
MAX_SAMPLE_GAP_SECONDS = 10 * MINUTE
# The temperature series: one reading a minute at most, and this many points in all (a
# longer night is coarsened to fit), so that a record stays a few kB whatever the sensor.
MAX_TEMPERATURE_POINTS = 720
MAX_SPANS = 100  # screen-on and override spans kept per evening (the longest are kept)
MAX_PRESSES = 20
# The record covers the evening from this long before the wind-down to the morning.
LEAD_SECONDS = 30 * MINUTE
MIN_CELSIUS, MAX_CELSIUS = -10.0, 50.0

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Phases:
    """Tonight's phase start times as the guidance plans them now (Unix times)."""

    wind_down_at: float
    no_screen_at: float
    lights_out_at: float
    caffeine_cutoff_at: float | None = None


@dataclass(slots=True)
class GuidanceLog:
    """One evening's guidance samples: the latest phases and the wind-down's minutes.

    A sample's state holds until the next one. The wind-down *ran* while guidance was on
    and not paused between its start and lights-out; it was *overridden* while the person
    held a device by hand (a light turned up, the TV back on) in that stretch, or had
    switched guidance off after the wind-down had begun. Paused (guests) counts as neither.
    """

    phases: Phases
    target_celsius: float | None = None
    ran_seconds: float = 0.0
    overridden_seconds: float = 0.0
    overridden: list[Span] = field(default_factory=list)
    _last: tuple[float, bool, bool] | None = None  # (at, running, overridden)

    def observe(
        self,
        at: float,
        phases: Phases,
        *,
        is_enabled: bool,
        is_paused: bool,
        is_held: bool,
    ) -> None:
        """One sample from the guidance at `at` (samples out of order are ignored)."""
        if not isfinite(at):
            return
        last = self._last
        if last is not None:
            if at < last[0]:
                return
            if at - last[0] <= MAX_SAMPLE_GAP_SECONDS:
                self._count(last, at)
        self.phases = phases
        running = is_enabled and not is_paused
        overridden = (running and is_held) or (
            not is_enabled and not is_paused and self.ran_seconds > 0
        )
        self._last = (at, running, overridden)

    def _count(self, last: tuple[float, bool, bool], until: float) -> None:
        since, running, overridden = last
        lo = max(since, self.phases.wind_down_at)
        hi = min(until, self.phases.lights_out_at)
        if hi <= lo:
            return
        if running:
            self.ran_seconds += hi - lo
        if overridden:
            self.overridden_seconds += hi - lo
            if self.overridden and self.overridden[-1][1] >= lo:
                self.overridden[-1] = (self.overridden[-1][0], hi)
            else:
                self.overridden.append((lo, hi))

    @property
    def state(self) -> tuple[bool, bool] | None:
        """What the last sample counts as: (running, overridden); None before one."""
        return None if self._last is None else self._last[1:]

    @property
    def ran_minutes(self) -> float:
        """Minutes the wind-down ran."""
        return round(self.ran_seconds / MINUTE, 1)

    @property
    def overridden_minutes(self) -> float:
        """Minutes the wind-down was overridden by the person."""
        return round(self.overridden_seconds / MINUTE, 1)


@dataclass(frozen=True, slots=True)
class BedroomNight:
    """What the chart draws under the night: the bedroom through the evening and night."""

    target_celsius: float | None = None
    temperatures: tuple[tuple[float, float], ...] = ()  # (at, °C), time order
    wind_down_at: float | None = None
    no_screen_at: float | None = None
    lights_out_at: float | None = None
    screen_on: tuple[Span, ...] = ()  # a screen was on (any of the bedroom's)
    overridden: tuple[Span, ...] = ()  # the wind-down under a manual hold
    caffeine_cutoff_at: float | None = None
    caffeine: tuple[float, ...] = ()  # the evening's "Had caffeine" presses
    wind_down_minutes: float | None = None
    overridden_minutes: float | None = None

    @property
    def late_caffeine(self) -> tuple[float, ...]:
        """The presses at or after the cut-off (none when no cut-off is configured)."""
        cutoff = self.caffeine_cutoff_at
        return () if cutoff is None else tuple(t for t in self.caffeine if t >= cutoff)

    def screen_minutes_in_window(self) -> float | None:
        """Minutes a screen was on between the no-screen window's start and lights-out."""
        if self.no_screen_at is None or self.lights_out_at is None:
            return None
        lo, hi = self.no_screen_at, self.lights_out_at
        seconds = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in self.screen_on)
        return round(seconds / MINUTE, 1)

    @property
    def start(self) -> float | None:
        """The earliest time the record has something to draw."""
        times = [t for t in (self.wind_down_at, self.no_screen_at) if t is not None]
        times += [t for t, _ in self.temperatures[:1]]
        return min(times) if times else None


def is_celsius(value: object) -> bool:
    """True for a number a room thermometer can report (NaN, inf and absurd values not)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and isfinite(value)
        and MIN_CELSIUS <= value <= MAX_CELSIUS
    )


def thin_temperatures(
    readings: Iterable[tuple[float, float]], lo: float, hi: float
) -> tuple[tuple[float, float], ...]:
    """The readings in [lo, hi] as a bounded series: the last reading of each step (a
    minute, or longer when the stretch would need more than MAX_TEMPERATURE_POINTS), plus
    the reading in force at `lo`, so the line starts at the left edge."""
    if not (isfinite(lo) and isfinite(hi)) or hi <= lo:
        return ()
    good = sorted((t, c) for t, c in readings if isfinite(t) and is_celsius(c))
    before = [(t, c) for t, c in good if t < lo]
    inside = [(t, c) for t, c in good if lo <= t <= hi]
    step = max(MINUTE, (hi - lo) / (MAX_TEMPERATURE_POINTS - 1))
    buckets: dict[int, tuple[float, float]] = {}
    for t, c in inside:
        buckets[int((t - lo) // step)] = (t, c)  # the last one in each step
    series = [buckets[k] for k in sorted(buckets)]
    if before:
        series.insert(0, (lo, before[-1][1]))
    series = series[:MAX_TEMPERATURE_POINTS]
    return tuple((round(t, 1), round(c, 2)) for t, c in series)


def _bounded(spans: Sequence[Span]) -> tuple[Span, ...]:
    """At most MAX_SPANS spans, the longest, in time order."""
    good = [(a, b) for a, b in spans if isfinite(a) and isfinite(b) and b > a]
    if len(good) > MAX_SPANS:
        good = sorted(good, key=lambda s: s[1] - s[0], reverse=True)[:MAX_SPANS]
    return tuple(sorted((round(a, 1), round(b, 1)) for a, b in good))


def clip(spans: Iterable[Span], lo: float, hi: float) -> list[Span]:
    """The parts of `spans` inside [lo, hi]."""
    return [(max(a, lo), min(b, hi)) for a, b in spans if min(b, hi) > max(a, lo)]


def bedroom_night(
    guidance: GuidanceLog | None,
    temperatures: Sequence[tuple[float, float]],
    screen_on: Sequence[Span],
    caffeine: Sequence[float],
    end: float,
) -> BedroomNight | None:
    """The evening's record up to `end` (the wake, or when the night closed), or None
    when the guidance reported nothing for this evening."""
    if guidance is None:
        return None
    p = guidance.phases
    lo = p.wind_down_at - LEAD_SECONDS
    if not end > lo:
        end = p.lights_out_at
    presses = sorted(t for t in caffeine if isfinite(t))[-MAX_PRESSES:]
    return BedroomNight(
        target_celsius=guidance.target_celsius,
        temperatures=thin_temperatures(temperatures, lo, end),
        wind_down_at=p.wind_down_at,
        no_screen_at=p.no_screen_at,
        lights_out_at=p.lights_out_at,
        screen_on=_bounded(clip(screen_on, lo, end)),
        overridden=_bounded(guidance.overridden),
        caffeine_cutoff_at=p.caffeine_cutoff_at,
        caffeine=tuple(round(t, 1) for t in presses),
        wind_down_minutes=guidance.ran_minutes,
        overridden_minutes=guidance.overridden_minutes,
    )


# -- the stored form --------------------------------------------------------------------


def to_json(night: BedroomNight) -> dict[str, object]:
    """The stored form (lists of numbers; unknown values null)."""
    return {
        "target_celsius": night.target_celsius,
        "temperatures": [list(p) for p in night.temperatures],
        "wind_down_at": night.wind_down_at,
        "no_screen_at": night.no_screen_at,
        "lights_out_at": night.lights_out_at,
        "screen_on": [list(s) for s in night.screen_on],
        "overridden": [list(s) for s in night.overridden],
        "caffeine_cutoff_at": night.caffeine_cutoff_at,
        "caffeine": list(night.caffeine),
        "wind_down_minutes": night.wind_down_minutes,
        "overridden_minutes": night.overridden_minutes,
    }


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and isfinite(value):
        return float(value)
    return None


def _pairs(value: object) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    if not isinstance(value, list):
        return out
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 2:
            a, b = _number(item[0]), _number(item[1])
            if a is not None and b is not None:
                out.append((a, b))
    return out


def from_json(doc: Mapping[str, Any]) -> BedroomNight:
    """Read a stored record back; values of the wrong type, non-finite numbers and
    temperatures no room has are dropped, and what is left is bounded again."""
    temperatures = sorted((t, c) for t, c in _pairs(doc.get("temperatures")) if is_celsius(c))
    presses = doc.get("caffeine")
    caffeine = sorted(
        t for t in (_number(x) for x in (presses if isinstance(presses, list) else ()))
        if t is not None
    )  # fmt: skip
    target = _number(doc.get("target_celsius"))
    return BedroomNight(
        target_celsius=target if is_celsius(target) else None,
        temperatures=tuple(temperatures[:MAX_TEMPERATURE_POINTS]),
        wind_down_at=_number(doc.get("wind_down_at")),
        no_screen_at=_number(doc.get("no_screen_at")),
        lights_out_at=_number(doc.get("lights_out_at")),
        screen_on=_bounded(_pairs(doc.get("screen_on"))),
        overridden=_bounded(_pairs(doc.get("overridden"))),
        caffeine_cutoff_at=_number(doc.get("caffeine_cutoff_at")),
        caffeine=tuple(caffeine[-MAX_PRESSES:]),
        wind_down_minutes=_number(doc.get("wind_down_minutes")),
        overridden_minutes=_number(doc.get("overridden_minutes")),
    )


# -- an evening's guidance log, kept while the evening runs (a restart resumes it) -------


def log_to_json(entry: GuidanceLog) -> dict[str, object]:
    """A running evening's guidance log as a JSON object (`log_from_json` reads it)."""
    p = entry.phases
    return {
        "phases": [p.wind_down_at, p.no_screen_at, p.lights_out_at, p.caffeine_cutoff_at],
        "target_celsius": entry.target_celsius,
        "ran_seconds": entry.ran_seconds,
        "overridden_seconds": entry.overridden_seconds,
        "overridden": [list(s) for s in entry.overridden[-MAX_SPANS:]],
        "last": None if entry._last is None else list(entry._last),
    }


def log_from_json(doc: object) -> GuidanceLog | None:
    """A guidance log stored by `log_to_json`; None when it is unusable (damaged or
    written by another version): that evening then counts from the next sample on."""
    if not isinstance(doc, Mapping):
        return None
    times = doc.get("phases")
    if not isinstance(times, list) or len(times) != 4:
        return None
    wind_down, no_screen, lights_out = (_number(t) for t in times[:3])
    if wind_down is None or no_screen is None or lights_out is None:
        return None
    entry = GuidanceLog(Phases(wind_down, no_screen, lights_out, _number(times[3])))
    target = _number(doc.get("target_celsius"))
    entry.target_celsius = target if is_celsius(target) else None
    entry.ran_seconds = max(0.0, _number(doc.get("ran_seconds")) or 0.0)
    entry.overridden_seconds = max(0.0, _number(doc.get("overridden_seconds")) or 0.0)
    entry.overridden = sorted((a, b) for a, b in _pairs(doc.get("overridden")) if b > a)
    last = doc.get("last")
    if isinstance(last, list) and len(last) == 3:
        at = _number(last[0])
        running, overridden = last[1], last[2]
        if at is not None and isinstance(running, bool) and isinstance(overridden, bool):
            entry._last = (at, running, overridden)
    return entry
