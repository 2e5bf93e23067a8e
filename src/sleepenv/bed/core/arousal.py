"""Hypnic jerks that wake the sleeper (pure).

A hypnic jerk is often followed by a brief awakening (docs/sleep-science.md); the
reason for a doctor's look is frequent jerks that disrupt sleep, not jerks as such. A bed
sensor cannot see an awakening directly, so this reads it from movement: the sleeper had
settled (no wake-like movement for a while), the jerk came, and a wake-like movement
(repositioning: a limb movement outside a PLM series, a rollover, a bout) followed within
seconds. Twitches, PLM-series members and further jerks are sleep-compatible and do not
count as waking up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sleepenv.bed.core.model import MovementClass, MovementEvent

WAKE_LIKE = frozenset(
    {
        MovementClass.LIMB_MOVEMENT,
        MovementClass.ROLLOVER,
        MovementClass.BOUT,
        MovementClass.MOVEMENT,
    }
)


@dataclass(frozen=True, slots=True)
class WakingConfig:
    """How long "settled" is, and how soon the awakening's movement must follow."""

    settled_seconds: float = 60.0  # no wake-like movement ended this long before the jerk
    response_seconds: float = 30.0  # a wake-like movement starts this soon after it ends


def waking_jerks(
    events: Sequence[MovementEvent], config: WakingConfig = WakingConfig()
) -> tuple[MovementEvent, ...]:
    """The hypnic jerks among labelled `events` that were followed by an awakening."""
    jerks = [e for e in events if e.cls is MovementClass.HYPNIC_JERK]
    if not jerks:  # most reports of a night (and every Zigbee one): nothing to sort
        return ()
    wake_like = [e for e in events if e.cls in WAKE_LIKE]
    found: list[MovementEvent] = []
    for jerk in sorted(jerks, key=lambda e: e.onset):
        was_settled = not any(
            jerk.onset - config.settled_seconds < e.offset <= jerk.onset
            or e.onset <= jerk.onset < e.offset
            for e in wake_like
        )
        woke = any(jerk.onset < e.onset <= jerk.offset + config.response_seconds for e in wake_like)
        if was_settled and woke:
            found.append(jerk)
    return tuple(found)
