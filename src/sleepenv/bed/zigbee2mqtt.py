"""Zigbee2MQTT: the Aqara DJT11LM vibration sensor's state payload and its sensitivity."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Final

from sleepenv.bed.core.model import ZigbeeVibration
from sleepenv.mqtt.payload import (
    DecodeLimits,
    Invalid,
    as_number,
    check_time,
    decode_text,
    optional_number,
    parse_object,
)
from sleepenv.rejection import Rejection

# Zigbee2MQTT's DJT11LM exposes `action` as an enum of exactly these values.
ACTIONS: Final = frozenset({"vibration", "tilt", "drop"})
SENSITIVITY_LEVELS: Final = ("low", "medium", "high")
# The device's raw sensitivity register: 1 (most sensitive) .. 21 (least).
SENSITIVITY_RAW_RANGE: Final = range(1, 22)

# Keys of which at least one marks a payload as coming from the vibration sensor;
# a payload with none of them was routed to the wrong decoder.
_KNOWN_KEYS: Final = frozenset(
    {
        "action",
        "vibration",
        "strength",
        "angle",
        "angle_x",
        "angle_y",
        "angle_z",
        "battery",
        "linkquality",
    }
)
_ANGLE_LIMIT: Final = 180.0
_DEFAULT_LIMITS: Final = DecodeLimits()


def decode_vibration(
    payload: bytes, received_at: float, limits: DecodeLimits = _DEFAULT_LIMITS
) -> ZigbeeVibration | Rejection:
    """Decode a DJT11LM state payload from `zigbee2mqtt/<name>`; never raises."""
    try:
        obj = parse_object(decode_text(payload, limits))
        if not _KNOWN_KEYS & obj.keys():
            raise Invalid("missing_field", "none of the vibration sensor's keys present")
        axes = [
            optional_number(obj, key, -_ANGLE_LIMIT, _ANGLE_LIMIT)
            for key in ("angle_x", "angle_y", "angle_z")
        ]
        ax, ay, az = axes
        # Zigbee2MQTT reports the three axes together; a partial set is not a posture.
        angle_xyz = None if ax is None or ay is None or az is None else (ax, ay, az)
        return ZigbeeVibration(
            t=_message_time(obj.get("last_seen"), received_at, limits),
            action=_action(obj.get("action")),
            strength=optional_number(obj, "strength", 0.0, limits.max_value),
            angle=optional_number(obj, "angle", -_ANGLE_LIMIT, _ANGLE_LIMIT),
            angle_xyz=angle_xyz,
            battery=optional_number(obj, "battery", 0.0, 100.0),
            linkquality=optional_number(obj, "linkquality", 0.0, 255.0),
        )
    except Invalid as exc:
        return exc.rejection


def encode_sensitivity(level: str | int) -> bytes:
    """The `zigbee2mqtt/<name>/set` payload for a sensitivity: low/medium/high or 1–21.

    Zigbee2MQTT's own converter writes only low/medium/high (raw 21/11/1); check that
    your version accepts a number before relying on the raw form.
    """
    value: str | int
    if isinstance(level, bool):
        # ValueError for every unusable level (a bool, a float, another word): one error
        # for the caller to catch, whatever the level's type.
        message = f"sensitivity must be low/medium/high or 1–21, not {level!r}"
        raise ValueError(message)  # noqa: TRY004
    if isinstance(level, str):
        value = level.strip().lower()
        if value not in SENSITIVITY_LEVELS:
            raise ValueError(f"sensitivity must be one of {SENSITIVITY_LEVELS}, not {level!r}")
    elif isinstance(level, int):
        if level not in SENSITIVITY_RAW_RANGE:
            raise ValueError(f"sensitivity must be in 1–21, not {level}")
        value = level
    else:
        message = f"sensitivity must be a str or int, not {type(level).__name__}"
        raise ValueError(message)  # noqa: TRY004
    return json.dumps({"sensitivity": value}, separators=(",", ":")).encode()


def _action(value: object) -> str | None:
    """The action enum; absent, null and "" are attribute-only updates."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid("wrong_type", f"action: expected a string, got {type(value).__name__}")
    if value not in ACTIONS:
        raise Invalid("out_of_range", f"action: unknown {value[:40]!r}")
    return value


def _message_time(last_seen: object, received_at: float, limits: DecodeLimits) -> float:
    """Zigbee2MQTT's `last_seen` (ISO 8601 or epoch ms) when present, else receive time."""
    if last_seen is None:
        return received_at
    if isinstance(last_seen, str):
        t = _parse_iso(last_seen)
        if t is None:
            raise Invalid("wrong_type", f"last_seen: not ISO 8601 with offset: {last_seen[:40]!r}")
    else:
        t = as_number(last_seen, "last_seen", 0.0, math.inf) / 1000.0
    check_time(t, received_at, limits)
    return t


def _parse_iso(text: str) -> float | None:
    """Unix seconds of an ISO 8601 time with a UTC offset; naive times are ambiguous."""
    if len(text) > 64:  # longer than any ISO 8601 timestamp
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return None if parsed.tzinfo is None else parsed.timestamp()
    except (ValueError, OverflowError):
        return None
