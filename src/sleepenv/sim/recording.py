"""Simulated nights as recordings, and the MQTT payloads the demo publishes.

Lines are written by the one recording codec (`sleepenv.bed.recording`, which
also reads them), floats rounded to 4 decimals. Envelope payloads are the fine sensor's
batched frame (`{"t", "hz", "rms", "peak", "gravity"}`); Zigbee payloads have
Zigbee2MQTT's shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from sleepenv.bed.core.model import EnvelopeFrame, SourceKind, ZigbeeVibration
from sleepenv.bed.recording import write_line
from sleepenv.sim.night import SimNight
from sleepenv.sim.truth import NightTruth

ENVELOPE_TOPIC = "bed/sensor/envelope"
ZIGBEE_TOPIC = "zigbee2mqtt/bed_vibration"
_DIGITS = 4
# Zigbee2MQTT's raw axis values for the DJT11LM: about 1024 per g.
_AXIS_PER_G = 1024


def _r(values: tuple[float, ...]) -> list[float]:
    return [round(v, _DIGITS) for v in values]


def frame_to_payload(frame: EnvelopeFrame) -> dict[str, object]:
    """The JSON payload of an envelope frame, as the fine sensor publishes it."""
    payload: dict[str, object] = {
        "t": round(frame.t, _DIGITS),
        "hz": frame.hz,
        "rms": _r(frame.rms),
    }
    if frame.peak is not None:
        payload["peak"] = _r(frame.peak)
    if frame.gravity is not None:
        payload["gravity"] = _r(frame.gravity)
    return payload


def frame_from_payload(payload: dict[str, Any]) -> EnvelopeFrame:
    """Parse what `frame_to_payload` wrote (for replaying recordings)."""
    peak = payload.get("peak")
    grav = payload.get("gravity")
    return EnvelopeFrame(
        t=float(payload["t"]),
        hz=float(payload["hz"]),
        rms=tuple(float(v) for v in payload["rms"]),
        peak=None if peak is None else tuple(float(v) for v in peak),
        gravity=None if grav is None else (float(grav[0]), float(grav[1]), float(grav[2])),
    )


def zigbee_to_payload(reading: ZigbeeVibration) -> dict[str, object]:
    """The Zigbee2MQTT state payload of a DJT11LM report."""
    payload: dict[str, object] = {}
    if reading.action is not None:
        payload["action"] = reading.action
    if reading.action == "vibration":
        payload["vibration"] = True
    if reading.strength is not None:
        payload["strength"] = round(reading.strength)
    if reading.angle is not None:
        payload["angle"] = round(reading.angle)
    if reading.angle_xyz is not None:
        for axis, angle in zip("xyz", reading.angle_xyz, strict=True):
            payload[f"angle_{axis}"] = round(angle)
        for axis, angle in zip("xyz", reading.angle_xyz, strict=True):
            payload[f"{axis}_axis"] = round(_AXIS_PER_G * math.sin(math.radians(angle)))
    if reading.battery is not None:
        payload["battery"] = round(reading.battery)
    if reading.linkquality is not None:
        payload["linkquality"] = round(reading.linkquality)
    return payload


def messages(
    night: SimNight, topic: str | None = None
) -> Iterator[tuple[float, str, dict[str, object]]]:
    """The night's sensor messages (time, topic, payload) in time order, on `topic`
    (default by source)."""
    if night.source is SourceKind.ZIGBEE_VIBRATION:
        ztopic = topic or ZIGBEE_TOPIC
        for reading in night.zigbee_readings():
            yield round(reading.t, _DIGITS), ztopic, zigbee_to_payload(reading)
    else:
        etopic = topic or ENVELOPE_TOPIC
        for frame in night.frames():
            yield round(frame.t, _DIGITS), etopic, frame_to_payload(frame)


def write_recording(night: SimNight, path: Path, topic: str | None = None) -> None:
    """Write the night's messages as JSON lines (topic defaults to the source's usual one:
    `bed/sensor/envelope` or `zigbee2mqtt/bed_vibration`)."""
    with path.open("w", encoding="utf-8") as out:
        for t, msg_topic, payload in messages(night, topic):
            write_line(out, t, msg_topic, payload)


def write_truth(truth: NightTruth, path: Path) -> None:
    """Write a night's truth as JSON."""
    path.write_text(json.dumps(truth.to_json(), indent=1) + "\n", encoding="utf-8")


def read_truth(path: Path) -> NightTruth:
    """Read a night's truth written by `write_truth`."""
    return NightTruth.from_json(cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8"))))
