"""Movements from the coarse Aqara DJT11LM vibration sensor (Zigbee2MQTT), pure.

The sensor reports at most one vibration per minute and cannot time a movement, so
every event it yields is a lower bound with onset == offset. Posture changes come from
`tilt` actions and from its angle readings, which keep arriving during the lockout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sleepenv.bed.core.model import MOVEMENT as _MOVEMENT
from sleepenv.bed.core.model import ROLLOVER as _ROLLOVER
from sleepenv.bed.core.model import ZIGBEE as _ZIGBEE
from sleepenv.bed.core.model import (
    DetectorOutput,
    MovementClass,
    MovementEvent,
    ZigbeeVibration,
)

# A tilt report and the angle updates describing the same turn arrive within this.
_SAME_TURN_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class CoarseConfig:
    """Settings of the coarse tracker."""

    posture_change_degrees: float = 10.0


def _finite_angles(
    angles: tuple[float, float, float] | None,
) -> tuple[float, float, float] | None:
    if angles is None or len(angles) != 3 or not all(math.isfinite(a) for a in angles):
        return None
    return angles


class CoarseTracker:
    """Turns Zigbee vibration-sensor readings into lower-bound movement events."""

    def __init__(
        self, config: CoarseConfig = CoarseConfig(), sensor: str = "", side: str = "both"
    ) -> None:
        self._config = config
        self._sensor = sensor
        self._side = side
        self._posture: tuple[float, float, float] | None = None
        self._last_turn_at: float | None = None
        self._latest_t: float | None = None
        # Readings already handled at `_latest_t`: Zigbee2MQTT may deliver one twice.
        self._seen_at_latest: set[ZigbeeVibration] = set()

    def feed(self, reading: ZigbeeVibration) -> list[DetectorOutput]:
        """Process one reading; return the movement it reveals, if any."""
        if not math.isfinite(reading.t) or self._is_replay(reading):
            return []
        if reading.action == "drop":
            return []  # the sensor fell or was knocked: not a movement in bed
        is_turn = self._posture_changed(reading) or reading.action == "tilt"
        if is_turn and self._is_same_turn(reading.t):
            return []  # a later report of a turn already counted
        if is_turn:
            self._last_turn_at = reading.t
            # A vibration report that also shows a new posture is one movement: the turn.
            return [self._event(reading, _ROLLOVER, has_posture_change=True)]
        if reading.action == "vibration":
            return [self._event(reading, _MOVEMENT, has_posture_change=False)]
        return []

    def _is_replay(self, reading: ZigbeeVibration) -> bool:
        """True for a reading older than the latest, or one already seen at the latest t."""
        if self._latest_t is not None:
            if reading.t < self._latest_t:
                return True
            if reading.t == self._latest_t:
                if reading in self._seen_at_latest:
                    return True
                self._seen_at_latest.add(reading)
                return False
        self._latest_t = reading.t
        self._seen_at_latest = {reading}
        return False

    def _posture_changed(self, reading: ZigbeeVibration) -> bool:
        """Track the angle vector; True when it moved by the threshold on some axis."""
        angles = _finite_angles(reading.angle_xyz)
        if angles is None:
            return False
        if self._posture is None:
            self._posture = angles
            return False
        change = max(abs(new - old) for new, old in zip(angles, self._posture, strict=True))
        if change < self._config.posture_change_degrees:
            return False
        self._posture = angles
        return True

    def _is_same_turn(self, t: float) -> bool:
        """True when a turn was already counted within the same-turn window."""
        return self._last_turn_at is not None and t - self._last_turn_at < _SAME_TURN_SECONDS

    def _event(
        self, reading: ZigbeeVibration, cls: MovementClass, *, has_posture_change: bool
    ) -> MovementEvent:
        strength = reading.strength
        peak = strength if strength is not None and math.isfinite(strength) else 0.0
        return MovementEvent(
            onset=reading.t,
            offset=reading.t,
            peak=peak,
            cls=cls,
            source=_ZIGBEE,
            sensor=self._sensor,
            side=self._side,
            has_posture_change=has_posture_change,
            is_lower_bound=True,
        )
