"""Zigbee2MQTT lights, groups, TRVs, plugs and temperature sensors: actions ⇄ MQTT payloads.

Lights take `brightness` 0–254, `color_temp` in mireds and `transition` in seconds on
`<topic>/set`; TRVs take their model's setpoint key; plugs take `state`. Every device
publishes its state as JSON on `<topic>`, which is what override detection reads.
"""

from __future__ import annotations

import json
from typing import Any

from sleepenv.guidance.core.actions import Action, DeviceState, MediaOff, SetClimate, SetLight
from sleepenv.guidance.settings import DeviceSettings
from sleepenv.mqtt.outbox import Outgoing
from sleepenv.mqtt.payload import finite_number, json_object
from sleepenv.rejection import Rejection

MAX_BRIGHTNESS = 254
MAX_PAYLOAD_BYTES = 64 * 1024
# 1,000,000 K .. 1,000 K: wider than any bulb; outside it a color_temp is nonsense.
MIN_MIRED = 1.0
MAX_MIRED = 1000.0
# Z2M reports the temperature a TRV measures under one of these keys.
TRV_TEMPERATURE_KEYS = ("local_temperature", "temperature")


def pct_to_brightness(pct: float) -> int:
    """0–100 % → Zigbee's 0–254 (at least 1 for any non-zero percentage)."""
    value = round(max(0.0, min(100.0, pct)) * MAX_BRIGHTNESS / 100)
    return max(value, 1) if pct > 0 else 0


def brightness_to_pct(value: float) -> float:
    """Zigbee's 0–254 → 0–100 %, one decimal."""
    return round(max(0.0, min(float(MAX_BRIGHTNESS), value)) * 100 / MAX_BRIGHTNESS, 1)


def kelvin_to_mired(kelvin: float) -> int:
    """Colour temperature in kelvin → mireds (454 ≈ 2200 K, 370 ≈ 2700 K)."""
    return round(1_000_000 / kelvin)


def mired_to_kelvin(mired: float) -> int | None:
    """Mireds → kelvin; None outside what any lamp reports (a hostile 1e-320 → inf)."""
    if not MIN_MIRED <= mired <= MAX_MIRED:
        return None
    return round(1_000_000 / mired)


def set_topic(device: DeviceSettings) -> str:
    """Where commands for the device go."""
    return f"{device.topic}/set"


def encode(action: Action, device: DeviceSettings) -> Outgoing | None:
    """The `/set` message for an action, or None when the action is not for Zigbee2MQTT."""
    payload: dict[str, Any]
    if isinstance(action, SetLight):
        payload = {"transition": round(action.transition_seconds, 1)}
        if action.is_off:
            payload["state"] = "OFF"
        else:
            # Brightness alone would switch an off light on: the core only sends it to lights
            # reported on, and we never add "state": "ON".
            if action.brightness_pct is not None:
                payload["brightness"] = pct_to_brightness(action.brightness_pct)
            if action.color_temp_kelvin is not None:
                payload["color_temp"] = kelvin_to_mired(action.color_temp_kelvin)
    elif isinstance(action, SetClimate):
        payload = {device.setpoint_key: action.setpoint_celsius}
    elif isinstance(action, MediaOff):
        payload = {"state": "OFF"}
    else:
        return None
    return Outgoing(set_topic(device), json.dumps(payload).encode())


def get_request(device: DeviceSettings) -> Outgoing | None:
    """Ask Zigbee2MQTT for a device's state (answered on `<topic>`); sleepy sensors can't."""
    if device.role in ("light", "screen"):
        return Outgoing(f"{device.topic}/get", b'{"state": ""}')
    if device.role == "climate":
        return Outgoing(f"{device.topic}/get", json.dumps({device.setpoint_key: ""}).encode())
    return None


def _number(data: dict[str, Any], key: str) -> float | None:
    return finite_number(data.get(key))


def _on_off(data: dict[str, Any]) -> bool | None:
    state = data.get("state")
    if isinstance(state, str) and state.upper() in ("ON", "OFF"):
        return state.upper() == "ON"
    return None


def decode(payload: bytes, device: DeviceSettings) -> DeviceState | None:
    """A Zigbee2MQTT state message → DeviceState; None when it is not usable JSON."""
    state = decode_or_reject(payload, device)
    return None if isinstance(state, Rejection) else state


def decode_or_reject(payload: bytes, device: DeviceSettings) -> DeviceState | Rejection | None:
    """Like `decode`, with the Rejection of a payload that is not a sane JSON object."""
    data = json_object(payload, MAX_PAYLOAD_BYTES)
    if isinstance(data, Rejection):
        return data
    return _decode_role(data, device)


def _decode_role(data: dict[str, Any], device: DeviceSettings) -> DeviceState | None:
    if device.role == "light":
        brightness = _number(data, "brightness")
        mired = _number(data, "color_temp")
        return DeviceState(
            is_on=_on_off(data),
            brightness_pct=None if brightness is None else brightness_to_pct(brightness),
            color_temp_kelvin=None if mired is None else mired_to_kelvin(mired),
        )
    if device.role == "climate":
        temperature = next(
            (t for k in TRV_TEMPERATURE_KEYS if (t := _number(data, k)) is not None), None
        )
        return DeviceState(
            setpoint_celsius=_number(data, device.setpoint_key), temperature_celsius=temperature
        )
    if device.role == "screen":
        return DeviceState(is_on=_on_off(data))
    if device.role == "temperature":
        return DeviceState(temperature_celsius=_number(data, "temperature"))
    return None
