"""Scoring rules and the duration class a movement starts from (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.core.sleep import SleepConfig

# Classes the duration classifier gives that classification may refine.
REFINABLE = (MovementClass.TWITCH, MovementClass.LIMB_MOVEMENT)
# The members the per-movement rules compare with, read once. Python 3.11 reads an enum
# class's attributes through EnumType.__getattr__ and a member's `.value` through a
# property, Python code ~15x the time of a module global, and the classification runs
# these for every movement of a night's unsettled part on every new movement (the
# classification modules keep such constants for the same reason).
_TWITCH, _LIMB_MOVEMENT, _ROLLOVER = REFINABLE[0], REFINABLE[1], MovementClass.ROLLOVER
_REFINED = (MovementClass.HYPNIC_JERK, MovementClass.PLM)


@dataclass(frozen=True, slots=True)
class ClassifyConfig:
    """Scoring rules (docs/sleep-science.md); `plm_profile` "wasm" (10–90 s) or "aasm" (5–90 s)."""

    plm_profile: str = "wasm"
    plm_min_members: int = 4
    plm_max_interval_seconds: float = 90.0
    # WASM's LM minimum is 0.5 s; a weak movement's measured duration loses its edges
    # under the off-threshold, so series accept slightly shorter detections.
    lm_min_seconds: float = 0.4
    lm_max_seconds: float = 10.0
    # A series member too weak to measure whole (measured as a twitch, 0.2-0.4 s on the
    # tuning nights, against 0.5-1 s true) would be missing from the count, or break its
    # series in two and lose both parts' members when each is short: a twitch at least
    # this long between two members joins the series when the intervals stay in range
    # (see SeriesScan).
    plm_bridge_min_seconds: float = 0.2
    # ≤ 2 s of movement (measured on the movement, not on the mattress ringing after it).
    jerk_max_seconds: float = 2.5
    jerk_min_strength: float = 4.5  # baseline units above rest: limb movements stay below
    jerk_isolation_seconds: float = 5.0  # no other movement this close before a jerk
    onset_window: tuple[float, float] = (-600.0, 900.0)  # around estimated sleep onset
    # A strong movement makes the mattress ring for a second or more; a strong "event"
    # this short did not ring: a sensor glitch, dropped.
    glitch_max_seconds: float = 0.25
    side_ratio: float = 1.5  # "clearly larger energy" on one side of a two-sensor bed
    same_movement_seconds: float = 1.0  # two sensors' events this close are one movement
    sleep: SleepConfig = field(default_factory=SleepConfig)

    @property
    def plm_min_interval_seconds(self) -> float:
        """Shortest onset-to-onset interval inside a PLM series for the profile."""
        return 5.0 if self.plm_profile == "aasm" else 10.0


DEFAULT_CONFIG = ClassifyConfig()


def base_class(event: MovementEvent, *, reads_posture: bool = False) -> MovementClass:
    """The duration class before refinement (stored events carry refined ones).

    On a sensor that reads posture (gravity), a "rollover" by size alone that is no longer
    than a limb movement and did not turn the sleeper is a strong limb movement.
    """
    if event.cls in _REFINED:
        return _TWITCH if event.movement_seconds < 0.5 else _LIMB_MOVEMENT
    if (
        reads_posture
        and event.cls is _ROLLOVER
        and not event.has_posture_change
        and event.movement_seconds <= 10.0
    ):
        return _LIMB_MOVEMENT
    return event.cls


def is_jerk_shaped(e: MovementEvent, config: ClassifyConfig) -> bool:
    """Strong and short: a startle (hypnic jerk), not a limb movement of a series."""
    return e.movement_seconds <= config.jerk_max_seconds and e.strength >= config.jerk_min_strength
