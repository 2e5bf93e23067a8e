"""What a bed shows in Home Assistant, as one typed value (the core's side of the contract).

bed/entities.py maps each field to the entity that publishes it; a field no entity reads
fails a test, and a misspelt one fails mypy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

from sleepenv.bed.core.classify import NightClassification
from sleepenv.bed.core.model import MovementClass, NightSummary


class Unset(Enum):
    """A state left as it is: unchanged in an update, or not known yet (last night's
    figures before the first night closed), so not published."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class BedStates:
    """A bed's published states; from `BedTracker.states` all that are known, in an
    update only those that changed (the others UNSET). Times are unix seconds."""

    movements_tonight: int | Unset = UNSET
    movements_last_hour: int | Unset = UNSET
    last_movement: float | Unset | None = UNSET
    movement: bool | Unset = UNSET  # a movement under way
    frames_received: int | Unset = UNSET
    messages_rejected: int | Unset = UNSET
    # Tonight, by the provisional labels.
    twitches_tonight: int | Unset = UNSET
    limb_movements_tonight: int | Unset = UNSET
    rollovers_tonight: int | Unset = UNSET
    hypnic_jerks_tonight: int | Unset = UNSET
    plm_tonight: int | Unset = UNSET
    plm_index_tonight: float | Unset | None = UNSET
    sleep_onset: float | Unset | None = UNSET
    time_to_fall_asleep_minutes: int | Unset | None = UNSET
    in_bed: bool | Unset | None = UNSET  # None: cannot tell
    # The last closed night's final figures.
    movements_last_night: int | Unset = UNSET
    twitches_last_night: int | Unset = UNSET
    limb_movements_last_night: int | Unset = UNSET
    rollovers_last_night: int | Unset = UNSET
    hypnic_jerks_last_night: int | Unset = UNSET
    plm_last_night: int | Unset = UNSET
    plm_index_last_night: float | Unset | None = UNSET
    sleep_onset_last_night: float | Unset | None = UNSET
    waking_jerks_last_night: int | Unset | None = UNSET  # None: not known for that night
    worth_discussing: bool | Unset = UNSET
    advisory_attributes: Mapping[str, Any] | Unset = UNSET
    # Sensor key -> online, for the sensors that reported a status.
    sensors_online: Mapping[str, bool] = field(default_factory=dict)

    def merged(self, newer: BedStates) -> BedStates:
        """These states updated by those `newer` sets."""
        # Most merges start from, or add, nothing (an update's states before any change).
        if self is NO_STATES:
            return newer
        if newer is NO_STATES:
            return self
        changes: dict[str, Any] = {
            name: value for name in _VALUE_FIELDS if (value := getattr(newer, name)) is not UNSET
        }
        if newer.sensors_online:
            changes["sensors_online"] = {**self.sensors_online, **newer.sensors_online}
        return replace(self, **changes)


# Every field but sensors_online (merged key by key), read once instead of per merge.
_VALUE_FIELDS = tuple(f.name for f in fields(BedStates) if f.name != "sensors_online")
# No state set: an update's states until something changes (frozen, so it is shared).
NO_STATES = BedStates()


# The classes' keys in a night's counts, read once: Python 3.11 reads an enum class's
# attributes and a member's value through Python code (~15x a module global), and the
# tracker builds these fields on every movement.
_TWITCH = MovementClass.TWITCH.value
_LIMB_MOVEMENT = MovementClass.LIMB_MOVEMENT.value
_ROLLOVER = MovementClass.ROLLOVER.value
_HYPNIC_JERK = MovementClass.HYPNIC_JERK.value
_PLM = MovementClass.PLM.value


def tonight_fields(c: NightClassification | None, *, in_bed: bool | None) -> dict[str, Any]:
    """`tonight_states` as keyword arguments of BedStates (the tracker builds its states in
    one go from these)."""
    # Its class counts as kept (zeros included) rather than the `counts` copy without them:
    # the same figures, without a new dict per state update.
    counts: Mapping[str, int] = (
        {} if c is None else c.class_counts if c.class_counts is not None else c.counts
    )
    sleep = c.sleep if c is not None else None
    latency = sleep.time_to_fall_asleep_seconds if sleep else None
    return {
        "twitches_tonight": counts.get(_TWITCH, 0),
        "limb_movements_tonight": counts.get(_LIMB_MOVEMENT, 0),
        "rollovers_tonight": counts.get(_ROLLOVER, 0),
        "hypnic_jerks_tonight": counts.get(_HYPNIC_JERK, 0),
        "plm_tonight": counts.get(_PLM, 0),
        "plm_index_tonight": (
            round(c.plm_index, 1) if c is not None and c.plm_index is not None else None
        ),
        "sleep_onset": sleep.sleep_onset if sleep else None,
        "time_to_fall_asleep_minutes": round(latency / 60.0) if latency is not None else None,
        "in_bed": in_bed,
    }


def tonight_states(c: NightClassification | None, *, in_bed: bool | None) -> BedStates:
    """Per-class counts and sleep figures from tonight's classification (None: none yet)."""
    return BedStates(**tonight_fields(c, in_bed=in_bed))


def last_night_fields(night: NightSummary) -> dict[str, Any]:
    """`last_night_states` as keyword arguments of BedStates."""
    return {
        "movements_last_night": night.total_movements,
        "twitches_last_night": night.counts.get(_TWITCH, 0),
        "limb_movements_last_night": night.counts.get(_LIMB_MOVEMENT, 0),
        "rollovers_last_night": night.counts.get(_ROLLOVER, 0),
        "hypnic_jerks_last_night": night.counts.get(_HYPNIC_JERK, 0),
        "plm_last_night": night.counts.get(_PLM, 0),
        "plm_index_last_night": (
            round(night.plm_index, 1) if night.plm_index is not None else None
        ),
        "sleep_onset_last_night": night.sleep_onset,
        "waking_jerks_last_night": night.waking_jerks,
    }


def last_night_states(night: NightSummary) -> BedStates:
    """Final figures of a closed night, for the "last night" sensors."""
    return BedStates(**last_night_fields(night))
