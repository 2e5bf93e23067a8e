"""Bed-presence payloads: a plain ON/OFF state or a Zigbee2MQTT presence/occupancy JSON."""

from __future__ import annotations

from sleepenv.mqtt.payload import json_object

_TRUE = {"on", "true", "1", "home", "occupied", "detected", "present"}
_FALSE = {"off", "false", "0", "not_home", "clear", "not_occupied", "absent"}
_KEYS = ("occupancy", "presence", "in_bed", "state")
MAX_BYTES = 4096


def decode_presence(payload: bytes) -> bool | None:
    """True/False for someone in bed, None when the payload says neither."""
    if len(payload) > MAX_BYTES:
        return None
    try:
        text = payload.decode().strip()
    except UnicodeDecodeError:
        return None
    word = _word(text)
    return word if word is not None else _from_json(text)


def _from_json(text: str) -> bool | None:
    obj = json_object(text.encode(), MAX_BYTES)
    if not isinstance(obj, dict):
        return None
    for key in _KEYS:
        value = obj.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and (found := _word(value)) is not None:
            return found
    return None


def _word(text: str) -> bool | None:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None
