"""Recordings and payloads: what is written parses back to the same frames and truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepenv.bed.core.model import ZigbeeVibration
from sleepenv.bed.recording import RecordedMessage, read_recording
from sleepenv.sim import (
    frame_to_payload,
    generate_night,
    read_truth,
    write_recording,
    write_truth,
    zigbee_to_payload,
)
from sleepenv.sim.recording import frame_from_payload


def _read(path: Path) -> list[RecordedMessage]:
    """The recording's messages, read by the codec `analyze` uses; no line rejected."""
    out = list(read_recording(path))
    assert all(isinstance(m, RecordedMessage) for m in out), out
    return [m for m in out if isinstance(m, RecordedMessage)]


def test_envelope_recording_round_trip(tmp_path: Path) -> None:
    night = generate_night(9, "noisy", hours=0.5)
    path = tmp_path / "night.jsonl"
    write_recording(night, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    frames = list(night.frames())
    assert len(lines) == len(frames)
    first = json.loads(lines[0])
    assert set(first) == {"t", "topic", "payload"}
    assert first["topic"] == "bed/sensor/envelope"
    assert set(first["payload"]) == {"t", "hz", "rms", "peak", "gravity"}
    for msg, frame in zip(_read(path), frames, strict=True):
        back = frame_from_payload(json.loads(msg.payload))
        assert msg.t == pytest.approx(frame.t)
        assert back.t == pytest.approx(frame.t)
        assert back.hz == frame.hz
        assert back.rms == pytest.approx(frame.rms, abs=6e-5)
        assert back.peak == pytest.approx(frame.peak, abs=6e-5)
        assert back.gravity == pytest.approx(frame.gravity, abs=6e-5)


def test_recording_topic_can_be_chosen(tmp_path: Path) -> None:
    path = tmp_path / "night.jsonl"
    write_recording(generate_night(1, "clean", hours=0.5), path, topic="lab/bed1/envelope")
    assert {m.topic for m in _read(path)} == {"lab/bed1/envelope"}


def test_zigbee_recording_has_zigbee2mqtt_payloads(tmp_path: Path) -> None:
    night = generate_night(2, "zigbee", hours=1.0)
    path = tmp_path / "zigbee.jsonl"
    write_recording(night, path)
    msgs = _read(path)
    assert len(msgs) == len(list(night.zigbee_readings()))
    assert {m.topic for m in msgs} == {"zigbee2mqtt/bed_vibration"}
    payloads = [json.loads(m.payload) for m in msgs]
    vib = [p for p in payloads if p.get("action") == "vibration"]
    assert vib
    keys = {"action", "vibration", "strength", "angle_x", "angle_y", "angle_z", "battery"}
    assert keys <= set(vib[0])
    assert vib[0]["vibration"] is True
    assert isinstance(vib[0]["strength"], int)


def test_frame_payload_rounds_to_four_decimals() -> None:
    frame = next(iter(generate_night(1, "clean", hours=0.5).frames()))
    payload = frame_to_payload(frame)
    assert payload["hz"] == 10.0
    rms = payload["rms"]
    assert isinstance(rms, list)
    assert len(rms) == 10
    assert all(round(v, 4) == v for v in rms)


def test_zigbee_payload_shapes() -> None:
    tilt = ZigbeeVibration(
        t=0.0, action="tilt", angle=34.0, angle_xyz=(1.0, -1.0, 88.0), battery=97.0
    )
    p = zigbee_to_payload(tilt)
    assert p["action"] == "tilt"
    assert p["angle"] == 34
    assert "vibration" not in p
    assert (p["angle_x"], p["angle_y"], p["angle_z"]) == (1, -1, 88)
    assert p["z_axis"] == 1023
    attrs = zigbee_to_payload(ZigbeeVibration(t=0.0, action=None, linkquality=96.0))
    assert attrs == {"linkquality": 96}


def test_truth_file_round_trip(tmp_path: Path) -> None:
    truth = generate_night(12, "partner").truth
    path = tmp_path / "truth.json"
    write_truth(truth, path)
    back = read_truth(path)
    assert back.profile == "partner"
    assert back.seed == 12
    assert len(back.events) == len(truth.events)
    assert [e.side for e in back.events] == [e.side for e in truth.events]
    assert back.out_of_bed == truth.out_of_bed
