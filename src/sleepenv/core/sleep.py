"""Bed occupancy and the sleep period from movement alone (pure).

Movement-based sleep estimation (actigraphy, bed sensors) sees stillness, not sleep:
the onset is the start of the first long still stretch after getting into bed that is
confirmed by mostly-still minutes after it (DOMAIN.md §3). It runs early on people who
lie still awake, which is why the hypnic-jerk window around it is wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sleepenv.core.model import MovementClass, MovementEvent

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class SleepConfig:
    """How long is still, what confirms it, what makes an occupied bed."""

    still_seconds: float = 300.0  # 5 immobile minutes (fine sensor)
    coarse_still_seconds: float = 600.0  # 10 on the Zigbee vibration sensor
    confirm_seconds: float = 600.0  # minutes after the still run that must be mostly still
    confirm_max_moving_minutes: int = 2  # ... at most this many with a wake-like movement
    wake_chain_gap_seconds: float = 250.0  # movements this close belong to the final awakening
    occupied_ratio: float = 2.5  # resting level above this × the empty floor = occupied
    min_contrast_ratio: float = 2.5  # below this max/min level ratio the night has no contrast
    empty_max_events_per_hour: float = 2.0  # without contrast: this few events = empty bed


@dataclass(frozen=True, slots=True)
class SleepPeriod:
    """Key moments of one night; None where the data does not tell."""

    in_bed: float | None = None
    sleep_onset: float | None = None
    wake: float | None = None
    out_of_bed: float | None = None
    is_onset_confirmed: bool = False

    @property
    def total_sleep_seconds(self) -> float | None:
        """Wake minus onset (movement-based: no subtraction of brief awakenings)."""
        if self.sleep_onset is None or self.wake is None:
            return None
        return max(0.0, self.wake - self.sleep_onset)

    @property
    def time_to_fall_asleep_seconds(self) -> float | None:
        """Sleep onset latency: from getting into bed to sleep onset."""
        if self.sleep_onset is None or self.in_bed is None:
            return None
        return max(0.0, self.sleep_onset - self.in_bed)


def occupied_spans(
    levels: Sequence[tuple[float, float]], config: SleepConfig = SleepConfig()
) -> list[tuple[float, float]] | None:
    """Occupied stretches from per-minute resting levels `(t, level)`; None without contrast.

    The empty bed carries only the sensor floor; a person adds breathing and heartbeat
    energy, several times the floor. Without both states in the data the floor is unknown.
    """
    values = [v for _, v in levels if v > 0.0]
    if len(values) < 2:
        return None
    floor = min(values)
    if max(values) < config.min_contrast_ratio * floor:
        return None
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for i, (t, v) in enumerate(levels):
        is_occupied = v >= config.occupied_ratio * floor
        if is_occupied and start is None:
            start = t
        elif not is_occupied and start is not None:
            spans.append((start, t))
            start = None
        if i == len(levels) - 1 and start is not None:
            spans.append((start, t + MINUTE))
    return spans


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


def _is_wake_like(event: MovementEvent, periodic: set[float]) -> bool:
    """Movements that speak for wakefulness: not twitches, not members of a periodic series."""
    return event.cls is not MovementClass.TWITCH and event.onset not in periodic


def _confirmed(
    events: Sequence[MovementEvent],
    start: float,
    config: SleepConfig,
    periodic: set[float],
) -> bool:
    """True when few minutes of [start, start + confirm) hold a wake-like movement."""
    minutes: set[int] = set()
    for e in events:
        if start <= e.onset < start + config.confirm_seconds and _is_wake_like(e, periodic):
            if e.cls is MovementClass.BOUT:
                return False
            minutes.add(int((e.onset - start) // MINUTE))
    return len(minutes) <= config.confirm_max_moving_minutes


def find_sleep_onset(
    events: Sequence[MovementEvent],
    search_from: float,
    until: float,
    *,
    is_coarse: bool = False,
    periodic: set[float] | None = None,
    config: SleepConfig = SleepConfig(),
) -> tuple[float | None, bool]:
    """(onset, is_confirmed): start of the first confirmed still run after `search_from`.

    `until` is the end of the data (or of the bed occupancy). A still run whose
    confirmation window is not complete yet gives a provisional (unconfirmed) onset;
    one that fails confirmation (an awakening) restarts the search after it.
    """
    still = config.coarse_still_seconds if is_coarse else config.still_seconds
    periodic = periodic or set()
    moves = sorted((e for e in events if search_from <= e.onset < until), key=lambda e: e.onset)
    quiet_from = search_from
    for i in range(len(moves) + 1):
        next_onset = moves[i].onset if i < len(moves) else until
        if next_onset - quiet_from >= still:
            confirm_from = quiet_from + still
            if confirm_from + config.confirm_seconds > until:
                return quiet_from, False  # not enough data after it yet: provisional
            if _confirmed(moves[i:], confirm_from, config, periodic):
                return quiet_from, True
        if i < len(moves):
            quiet_from = max(quiet_from, moves[i].offset)
    return None, False


def find_wake(
    events: Sequence[MovementEvent],
    onset: float,
    out_of_bed: float,
    periodic: set[float] | None = None,
    config: SleepConfig = SleepConfig(),
) -> float:
    """First movement of the final awakening: the chain of close movements before getting up."""
    periodic = periodic or set()
    moves = sorted(
        (e for e in events if onset < e.onset < out_of_bed and e.onset not in periodic),
        key=lambda e: e.onset,
    )
    if not moves:
        return out_of_bed
    wake = moves[-1].onset
    if out_of_bed - moves[-1].offset > config.wake_chain_gap_seconds * 2:
        return out_of_bed  # nothing moved near the end: woke while getting up
    for prev in reversed(moves[:-1]):
        if wake - prev.offset > config.wake_chain_gap_seconds:
            break
        wake = prev.onset
    return max(wake, onset)


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
