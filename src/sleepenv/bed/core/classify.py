"""A night's movements → hypnic jerks, twitches, limb movements, PLM series, rollovers, bouts.

Pure and re-runnable: the live service calls `classify_night` again whenever a movement
arrives (labels are provisional: a fourth limb movement turns three into a PLM series,
the onset estimate settles) and once more when the night ends (final labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise

from sleepenv.bed.core.arousal import waking_jerks
from sleepenv.bed.core.model import MovementClass, MovementEvent, RestingMinute, SourceKind
from sleepenv.bed.core.period import sleep_period
from sleepenv.bed.core.sleep import SleepConfig, SleepPeriod, Span

HOUR = 3600.0
# Each resting level covers the minute before its time stamp.
LEVEL_SECONDS = 60.0
LEFT, RIGHT, AMBIGUOUS = "left", "right", "ambiguous"
# Classes the duration classifier gives that classification may refine.
_REFINABLE = (MovementClass.TWITCH, MovementClass.LIMB_MOVEMENT)


@dataclass(frozen=True, slots=True)
class ClassifyConfig:
    """Scoring rules (DOMAIN.md §2–3); `plm_profile` "wasm" (10–90 s) or "aasm" (5–90 s)."""

    plm_profile: str = "wasm"
    plm_min_members: int = 4
    plm_max_interval_seconds: float = 90.0
    # WASM's LM minimum is 0.5 s; a weak movement's measured duration loses its edges
    # under the off-threshold, so series accept slightly shorter detections.
    lm_min_seconds: float = 0.4
    lm_max_seconds: float = 10.0
    # ≤ 2 s of movement (measured on the movement, not on the mattress ringing after it).
    jerk_max_seconds: float = 2.5
    jerk_min_strength: float = 4.5  # baseline units above rest: limb movements stay below
    jerk_isolation_seconds: float = 5.0  # no other movement this close before a jerk
    onset_window: tuple[float, float] = (-600.0, 900.0)  # around estimated sleep onset
    # A strong movement makes the mattress ring for a second or more; a strong "event"
    # this short did not ring: a sensor glitch (DOMAIN.md §3), dropped.
    glitch_max_seconds: float = 0.25
    side_ratio: float = 1.5  # "clearly larger energy" on one side of a two-sensor bed
    same_movement_seconds: float = 1.0  # two sensors' events this close are one movement
    sleep: SleepConfig = field(default_factory=SleepConfig)

    @property
    def plm_min_interval_seconds(self) -> float:
        """Shortest onset-to-onset interval inside a PLM series for the profile."""
        return 5.0 if self.plm_profile == "aasm" else 10.0


@dataclass(frozen=True, slots=True)
class NightClassification:
    """Labelled events and the night's sleep figures."""

    events: tuple[MovementEvent, ...]
    sleep: SleepPeriod
    plm_index: float | None
    periodicity_index: float | None
    is_final: bool
    is_lower_bound: bool
    glitches: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Events per class."""
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e.cls.value] = counts.get(e.cls.value, 0) + 1
        return counts

    @property
    def waking_jerks(self) -> int:
        """Hypnic jerks followed by an awakening (see core/arousal.py)."""
        return len(waking_jerks(self.events))

    @property
    def hypnagogic_twitches(self) -> int:
        """Twitches in the sleep-onset window."""
        return sum(1 for e in self.events if e.is_hypnagogic)


def base_class(event: MovementEvent, reads_posture: bool = False) -> MovementClass:
    """The duration class before refinement (stored events carry refined ones).

    On a sensor that reads posture (gravity), a "rollover" by size alone that is no longer
    than a limb movement and did not turn the sleeper is a strong limb movement.
    """
    if event.cls in (MovementClass.HYPNIC_JERK, MovementClass.PLM):
        return MovementClass.TWITCH if event.movement_seconds < 0.5 else MovementClass.LIMB_MOVEMENT
    if (
        reads_posture
        and event.cls is MovementClass.ROLLOVER
        and not event.has_posture_change
        and event.movement_seconds <= 10.0
    ):
        return MovementClass.LIMB_MOVEMENT
    return event.cls


def merge_sides(
    events: Sequence[MovementEvent], config: ClassifyConfig = ClassifyConfig()
) -> list[MovementEvent]:
    """One event per movement on a two-sensor bed, attributed to the side with clearly
    more energy (strength × duration), else `ambiguous`. One-sensor beds pass through."""
    sided = sorted(events, key=lambda e: e.onset)
    if len({e.sensor for e in sided if e.side in (LEFT, RIGHT)}) < 2:
        return list(sided)
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


def periodic_series(
    events: Sequence[MovementEvent], config: ClassifyConfig = ClassifyConfig()
) -> list[list[MovementEvent]]:
    """Series of ≥ 4 limb movements with onset-to-onset intervals in the profile's range.

    A rollover or bout in between, or a truncated movement (a dropout), breaks a series.
    """
    series: list[list[MovementEvent]] = []
    current: list[MovementEvent] = []
    lo, hi = config.plm_min_interval_seconds, config.plm_max_interval_seconds
    for e in sorted(events, key=lambda e: e.onset):
        cls = base_class(e)
        is_lm = (
            cls in _REFINABLE
            and config.lm_min_seconds <= e.movement_seconds <= config.lm_max_seconds
            and not e.is_truncated
            and not is_jerk_shaped(e, config)
        )
        if not is_lm:
            if cls in (MovementClass.ROLLOVER, MovementClass.BOUT) or e.is_truncated:
                _keep(series, current, config)
                current = []
            continue  # twitches neither join nor break a series
        if current and not lo <= e.onset - current[-1].onset <= hi:
            _keep(series, current, config)
            current = []
        current.append(e)
    _keep(series, current, config)
    return series


def is_jerk_shaped(e: MovementEvent, config: ClassifyConfig) -> bool:
    """Strong and short: a startle (hypnic jerk), not a limb movement of a series."""
    return e.movement_seconds <= config.jerk_max_seconds and e.strength >= config.jerk_min_strength


def _keep(
    series: list[list[MovementEvent]], current: list[MovementEvent], config: ClassifyConfig
) -> None:
    if len(current) >= config.plm_min_members:
        series.append(current)


def periodicity_index(
    events: Sequence[MovementEvent], config: ClassifyConfig = ClassifyConfig()
) -> float | None:
    """Share of LM onset-to-onset intervals lying in runs of ≥ 3 periodic intervals (Ferri)."""
    lms = sorted(
        (e for e in events if base_class(e) is MovementClass.LIMB_MOVEMENT),
        key=lambda e: e.onset,
    )
    intervals = [b.onset - a.onset for a, b in pairwise(lms)]
    if not intervals:
        return None
    lo, hi = config.plm_min_interval_seconds, config.plm_max_interval_seconds
    periodic, run = 0, 0
    for x in [*intervals, -1.0]:
        if lo <= x <= hi:
            run += 1
            continue
        if run >= 3:
            periodic += run
        run = 0
    return periodic / len(intervals)


def classify_night(
    events: Sequence[MovementEvent],
    start: float,
    end: float,
    *,
    levels: Sequence[RestingMinute] = (),
    is_final: bool = False,
    config: ClassifyConfig = ClassifyConfig(),
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
    sided = [_relabel(e, base_class(e, reads_posture), False) for e in merge_sides(events, config)]
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
    labelled = [_label(e, sleep, periodic, merged, config, is_final) for e in merged]
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
        e.source is SourceKind.ENVELOPE
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
    periodic: set[float],
    events: Sequence[MovementEvent],
    config: ClassifyConfig,
    is_final: bool,
) -> MovementEvent:
    """The class of one event given the night around it."""
    cls = base_class(e)
    if e.source is SourceKind.ZIGBEE_VIBRATION or cls not in _REFINABLE:
        return _relabel(e, cls, False)
    if e.onset in periodic and _in_sleep(e.onset, sleep):
        return _relabel(e, MovementClass.PLM, False)
    in_window = _in_onset_window(e.onset, sleep, config, is_final)
    if in_window and _is_jerk_like(e, events, config):
        return _relabel(e, MovementClass.HYPNIC_JERK, False)
    is_hypnagogic = in_window and cls is MovementClass.TWITCH
    return _relabel(e, cls, is_hypnagogic)


def _relabel(e: MovementEvent, cls: MovementClass, is_hypnagogic: bool) -> MovementEvent:
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


def _in_onset_window(t: float, sleep: SleepPeriod, config: ClassifyConfig, is_final: bool) -> bool:
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
