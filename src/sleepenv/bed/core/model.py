"""Readings, events and outputs that cross the core's boundary.

Everything here is a frozen, slotted dataclass: adapters decode bytes into readings,
the core turns readings into events and outputs, adapters encode outputs again.
Times are unix seconds (float) throughout the core; only adapters format them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class MovementClass(StrEnum):
    """What a movement event is, by duration and posture (later refined by classify)."""

    TWITCH = "twitch"
    LIMB_MOVEMENT = "limb_movement"
    ROLLOVER = "rollover"
    BOUT = "bout"
    # Coarse Zigbee source: a vibration report, duration unknown, counts are lower bounds.
    MOVEMENT = "movement"
    # Refinements that the classification stage assigns (hypnic jerk, PLM series).
    HYPNIC_JERK = "hypnic_jerk"
    PLM = "plm"


# Each class's value, for the code that keys counts by it on every movement: Python 3.11
# reads a member's `.value` through a property, ~5x the time of this lookup.
CLASS_VALUES: Mapping[MovementClass, str] = {c: c.value for c in MovementClass}


class SourceKind(StrEnum):
    """Which kind of bed sensor a reading came from."""

    ENVELOPE = "envelope"
    ZIGBEE_VIBRATION = "zigbee_vibration"


# The members read once, for the code that compares with them on every movement or report:
# Python 3.11 reads an enum class's attributes through EnumType.__getattr__ (~15x a module
# global). Import these rather than keeping another copy per module.
TWITCH, LIMB_MOVEMENT, ROLLOVER, BOUT = (
    MovementClass.TWITCH,
    MovementClass.LIMB_MOVEMENT,
    MovementClass.ROLLOVER,
    MovementClass.BOUT,
)
MOVEMENT, HYPNIC_JERK, PLM = MovementClass.MOVEMENT, MovementClass.HYPNIC_JERK, MovementClass.PLM
ENVELOPE, ZIGBEE = SourceKind.ENVELOPE, SourceKind.ZIGBEE_VIBRATION


@dataclass(frozen=True, slots=True)
class EnvelopeFrame:
    """A batch of envelope samples from a fine bed sensor (one per second, typically 10 Hz).

    `rms[i]` and `peak[i]` describe the interval starting at `t + i / hz`.
    `gravity` is the mean gravity vector over the frame in g, when the sensor has one.
    """

    t: float
    hz: float
    rms: tuple[float, ...]
    peak: tuple[float, ...] | None = None
    gravity: tuple[float, float, float] | None = None

    @property
    def end(self) -> float:
        """Unix time just after the last sample of the frame."""
        return self.t + len(self.rms) / self.hz


@dataclass(frozen=True, slots=True)
class ZigbeeVibration:
    """A decoded Aqara DJT11LM report from Zigbee2MQTT (the coarse source)."""

    t: float
    action: str | None  # "vibration" | "tilt" | "drop" | None for attribute-only updates
    strength: float | None = None
    angle: float | None = None
    angle_xyz: tuple[float, float, float] | None = None
    battery: float | None = None
    linkquality: float | None = None


Reading = EnvelopeFrame | ZigbeeVibration


@dataclass(frozen=True, slots=True)
class MovementEvent:
    """One detected movement on one sensor.

    `peak` is in the sensor's envelope units (the coarse source: its `strength`).
    `is_truncated` marks an event closed by a dropout; `is_lower_bound` marks counts
    from a source that cannot see every movement (the Zigbee vibration sensor).
    """

    onset: float
    offset: float
    peak: float
    cls: MovementClass
    source: SourceKind = SourceKind.ENVELOPE
    sensor: str = ""
    side: str = "both"
    has_posture_change: bool = False
    is_truncated: bool = False
    is_lower_bound: bool = False
    # Largest RMS above the resting baseline, in baseline units (0 when unknown): lets
    # the classifier compare movements across beds and sensor gains.
    strength: float = 0.0
    # A twitch in the sleep-onset window (hypnagogic myoclonus), set by classification.
    is_hypnagogic: bool = False
    # How long the movement itself lasted (its width at half its height above rest),
    # without the mattress ringing that `offset` includes; None when not measured.
    active_seconds: float | None = None

    @property
    def duration_seconds(self) -> float:
        """Offset minus onset."""
        return self.offset - self.onset

    @property
    def movement_seconds(self) -> float:
        """The movement's own duration: classes depend on this, never on the ringing."""
        return self.duration_seconds if self.active_seconds is None else self.active_seconds


@dataclass(frozen=True, slots=True)
class MovementStarted:
    """The detector has confirmed that a movement is under way."""

    at: float
    sensor: str = ""


@dataclass(frozen=True, slots=True)
class Dropout:
    """A gap in a sensor's sample stream longer than the allowed gap."""

    start: float
    end: float
    sensor: str = ""

    @property
    def duration_seconds(self) -> float:
        """Length of the gap."""
        return self.end - self.start


DetectorOutput = MovementStarted | MovementEvent | Dropout


class RestingMinute(NamedTuple):
    """One minute of a bed at rest: its level and how strongly it breathes.

    `rhythm` is the variance of one-second means over what white noise of the same
    sample-to-sample noise would give: about 1 for an empty bed, several times that
    with someone breathing on it; None when the minute had too little quiet data.
    """

    t: float
    level: float
    rhythm: float | None = None


@dataclass(frozen=True, slots=True)
class NightSummary:
    """Totals for one bed and one night, as stored and published."""

    bed_id: str
    night: str  # local date the night started on, ISO format
    start: float
    end: float | None
    counts: dict[str, int] = field(default_factory=dict)
    sleep_onset: float | None = None
    plm_index: float | None = None
    rejected: int = 0
    # Hypnic jerks followed by an awakening; None when not known (nights stored before
    # sleepenv counted them, or no classification).
    waking_jerks: int | None = None
    # Occupancy and wake as the final classification saw them; empty / None for nights
    # stored before sleepenv kept them (or without a classification).
    in_bed_spans: tuple[tuple[float, float], ...] = ()
    wake: float | None = None

    @property
    def total_movements(self) -> int:
        """All movement events of the night, whatever their class."""
        return sum(self.counts.values())
