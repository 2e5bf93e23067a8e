"""A night's movements → hypnic jerks, twitches, limb movements, PLM series, rollovers, bouts.

Pure and re-runnable. Live labels are provisional (a fourth limb movement turns three
into a PLM series, the onset estimate settles): `core/live.py` keeps them up movement by
movement with the same answers as `classify_night`, which runs over the whole night once
when it ends (final labels).
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sleepenv.bed.core.arousal import waking_jerks
from sleepenv.bed.core.model import (
    CLASS_VALUES,
    MovementClass,
    MovementEvent,
    RestingMinute,
    SourceKind,
)
from sleepenv.bed.core.model import ENVELOPE as _ENVELOPE
from sleepenv.bed.core.model import HYPNIC_JERK as _HYPNIC_JERK
from sleepenv.bed.core.model import PLM as _PLM
from sleepenv.bed.core.model import TWITCH as _TWITCH
from sleepenv.bed.core.model import ZIGBEE as _ZIGBEE
from sleepenv.bed.core.period import sleep_period
from sleepenv.bed.core.rules import (
    DEFAULT_CONFIG,
    REFINABLE,
    ClassifyConfig,
    base_class,
    is_jerk_shaped,
)
from sleepenv.bed.core.series import (
    PERIODICITY_START,
    PeriodicityState,
    SeriesScan,
    periodic_series,
    periodicity_feed,
    periodicity_index,
    periodicity_of,
)
from sleepenv.bed.core.sleep import SleepPeriod, Span

__all__ = [  # the labelling vocabulary, importable from here as before
    "PERIODICITY_START",
    "ClassifyConfig",
    "PeriodicityState",
    "SeriesScan",
    "base_class",
    "classify_night",
    "is_jerk_shaped",
    "merge_sides",
    "periodic_series",
    "periodicity_feed",
    "periodicity_index",
    "periodicity_of",
    "sleep_period",
]

HOUR = 3600.0
# Each resting level covers the minute before its time stamp.
LEVEL_SECONDS = 60.0
LEFT, RIGHT, AMBIGUOUS = "left", "right", "ambiguous"


@dataclass(frozen=True, slots=True)
class NightClassification:
    """Labelled events and the night's sleep figures."""

    events: Sequence[MovementEvent]
    sleep: SleepPeriod
    plm_index: float | None
    periodicity_index: float | None
    is_final: bool
    is_lower_bound: bool
    glitches: int = 0
    # Events per class, when whoever built this kept count already (a live night).
    class_counts: Mapping[str, int] | None = field(default=None, compare=False, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        """Events per class."""
        if self.class_counts is not None:
            return {k: v for k, v in self.class_counts.items() if v}
        counts: dict[str, int] = {}
        for e in self.events:
            value = CLASS_VALUES[e.cls]
            counts[value] = counts.get(value, 0) + 1
        return counts

    @property
    def waking_jerks(self) -> int:
        """Hypnic jerks followed by an awakening (see core/arousal.py)."""
        counts = self.class_counts
        if counts is not None and not counts.get(MovementClass.HYPNIC_JERK.value):
            return 0  # a live night kept count: without a jerk, no walk over the night
        return len(waking_jerks(self.events))

    @property
    def hypnagogic_twitches(self) -> int:
        """Twitches in the sleep-onset window."""
        return sum(1 for e in self.events if e.is_hypnagogic)


def sided_sensors(events: Sequence[MovementEvent]) -> set[str]:
    """Sensors that watch one side of the bed; two of them make a two-sensor bed."""
    return {e.sensor for e in events if e.side in (LEFT, RIGHT)}


def merge_sides(
    events: Sequence[MovementEvent],
    config: ClassifyConfig = DEFAULT_CONFIG,
    *,
    is_two_sided: bool | None = None,
) -> list[MovementEvent]:
    """One event per movement on a two-sensor bed, attributed to the side with clearly
    more energy (strength × duration), else `ambiguous`. One-sensor beds pass through.
    `is_two_sided` says what kind of bed it is when `events` are only part of its night."""
    sided = sorted(events, key=lambda e: e.onset)
    if is_two_sided is None:
        is_two_sided = len(sided_sensors(sided)) >= 2
    if not is_two_sided:
        return sided
    out: list[MovementEvent] = []
    used: set[int] = set()
    for i, e in enumerate(sided):
        if i in used:
            continue
        group = [e]
        for j in range(i + 1, len(sided)):
            o = sided[j]
            if o.onset - e.onset > config.same_movement_seconds:
                break
            if j not in used and o.sensor != e.sensor and o.onset < e.offset and e.onset < o.offset:
                group.append(o)
                used.add(j)
        out.append(_attribute(group, config))
    return out


def _energy(e: MovementEvent) -> float:
    return max(e.strength, 1e-9) * max(e.duration_seconds, 0.1)


def _attribute(group: list[MovementEvent], config: ClassifyConfig) -> MovementEvent:
    """The strongest sensor's event, with the side it clearly belongs to."""
    group = sorted(group, key=_energy, reverse=True)
    best = group[0]
    if len(group) == 1 or _energy(best) >= config.side_ratio * _energy(group[1]):
        return best
    return replace(best, side=AMBIGUOUS)


def classify_night(
    events: Sequence[MovementEvent],
    start: float,
    end: float,
    *,
    levels: Sequence[RestingMinute] = (),
    is_final: bool = False,
    config: ClassifyConfig = DEFAULT_CONFIG,
    presence: Sequence[Span] | None = None,
    gaps: Sequence[Span] = (),
) -> NightClassification:
    """Label a night's movements (duration classes in, final vocabulary out).

    `levels` are per-minute resting levels with breathing evidence (occupancy from the
    signal); `presence`, when given, are occupied spans from a presence input and take
    precedence; `gaps` are stretches without data (unknown, never stillness). Where
    occupancy is known, movements while nobody is in bed are not the sleeper's: dropped.
    """
    reads_posture = any(e.has_posture_change for e in events)
    sided = [
        _relabel(e, base_class(e, reads_posture=reads_posture), is_hypnagogic=False)
        for e in merge_sides(events, config)
    ]
    merged = [e for e in sided if not _is_glitch(e, config)]
    glitches = len(sided) - len(merged)
    is_coarse = bool(merged) and all(e.source is SourceKind.ZIGBEE_VIBRATION for e in merged)
    series = [] if is_coarse else periodic_series(merged, config)
    periodic = {e.onset for s in series for e in s}
    # Startles neither confirm wakefulness nor break stillness runs' confirmation.
    sleep_neutral = periodic | {e.onset for e in merged if is_jerk_shaped(e, config)}
    sleep = sleep_period(
        merged,
        levels,
        start,
        end,
        is_coarse=is_coarse,
        is_final=is_final,
        periodic=sleep_neutral,
        config=config.sleep,
        presence=presence,
        gaps=gaps,
    )
    if presence is not None or any(m.rhythm is not None for m in levels):
        merged = [e for e in merged if _is_in_bed(e, sleep.in_bed_spans)]
    labelled = [_label(e, sleep, periodic, merged, config) for e in merged]
    plmi = _plm_index(labelled, sleep, end) if not is_coarse else None
    pi = None
    if not is_coarse and sleep.sleep_onset is not None:
        asleep_end = sleep.wake if sleep.wake is not None else end
        pi = periodicity_index(
            [e for e in merged if sleep.sleep_onset <= e.onset < asleep_end], config
        )
    return NightClassification(
        events=tuple(labelled),
        sleep=sleep,
        plm_index=plmi,
        periodicity_index=pi,
        is_final=is_final,
        is_lower_bound=is_coarse,
        glitches=glitches,
    )


# A movement this close to a stretch in bed belongs to it (getting in, getting out).
_IN_BED_MARGIN_SECONDS = 5.0


def _is_in_bed(e: MovementEvent, spans: Sequence[Span]) -> bool:
    return any(
        a - _IN_BED_MARGIN_SECONDS <= e.onset <= b + _IN_BED_MARGIN_SECONDS for a, b in spans
    )


def _is_glitch(e: MovementEvent, config: ClassifyConfig) -> bool:
    return (
        e.source is _ENVELOPE
        and e.duration_seconds <= config.glitch_max_seconds
        and e.strength >= config.jerk_min_strength
    )


def _in_sleep(t: float, sleep: SleepPeriod) -> bool:
    if sleep.sleep_onset is None or t < sleep.sleep_onset:
        return False
    return sleep.wake is None or t < sleep.wake


def _label(
    e: MovementEvent,
    sleep: SleepPeriod,
    periodic: Container[float],
    events: Sequence[MovementEvent],
    config: ClassifyConfig,
) -> MovementEvent:
    """The class of one event given the night around it."""
    cls = base_class(e)
    if e.source is _ZIGBEE or cls not in REFINABLE:
        return _relabel(e, cls, is_hypnagogic=False)
    if e.onset in periodic and _in_sleep(e.onset, sleep):
        return _relabel(e, _PLM, is_hypnagogic=False)
    in_window = _in_onset_window(e.onset, sleep, config)
    if in_window and _is_jerk_like(e, events, config):
        return _relabel(e, _HYPNIC_JERK, is_hypnagogic=False)
    is_hypnagogic = in_window and cls is _TWITCH
    return _relabel(e, cls, is_hypnagogic=is_hypnagogic)


def _relabel(e: MovementEvent, cls: MovementClass, *, is_hypnagogic: bool) -> MovementEvent:
    """The event with these labels; the same object when nothing changes (re-classifying
    a night runs on every new movement: copying every event each time dominated)."""
    if e.cls is cls and e.is_hypnagogic == is_hypnagogic:
        return e
    # The constructor, not dataclasses.replace: several times faster, and this is hot.
    return MovementEvent(
        e.onset,
        e.offset,
        e.peak,
        cls,
        e.source,
        e.sensor,
        e.side,
        e.has_posture_change,
        e.is_truncated,
        e.is_lower_bound,
        e.strength,
        is_hypnagogic,
        e.active_seconds,
    )


def _in_onset_window(t: float, sleep: SleepPeriod, config: ClassifyConfig) -> bool:
    """In the hypnic-jerk window around the (possibly provisional) onset estimate.

    Before any estimate nothing is a hypnic jerk yet: once five still minutes give one,
    the strong startles of the ten minutes before it are relabelled.
    """
    if sleep.sleep_onset is None:
        return False
    lo, hi = config.onset_window
    return sleep.sleep_onset + lo <= t <= sleep.sleep_onset + hi


def _is_jerk_like(
    e: MovementEvent, events: Sequence[MovementEvent], config: ClassifyConfig
) -> bool:
    """Strong, short and not the continuation of another movement."""
    if not is_jerk_shaped(e, config):
        return False
    return not any(
        o is not e and e.onset - config.jerk_isolation_seconds <= o.offset <= e.onset
        for o in events
    )


def _plm_index(events: Sequence[MovementEvent], sleep: SleepPeriod, end: float) -> float | None:
    """PLM events during sleep per hour of sleep."""
    if sleep.sleep_onset is None:
        return None
    asleep_end = sleep.wake if sleep.wake is not None else end
    hours = (asleep_end - sleep.sleep_onset) / HOUR
    if hours <= 0.0:
        return None
    plm = sum(
        1
        for e in events
        if e.cls is MovementClass.PLM and sleep.sleep_onset <= e.onset < asleep_end
    )
    return plm / hours
