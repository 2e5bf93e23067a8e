"""Discovery payloads are pure functions: checked without a broker."""

from __future__ import annotations

from sleepenv.adapters import discovery
from sleepenv.core.model import MovementClass, MovementEvent
from sleepenv.settings import Settings


def settings(**bed: object) -> Settings:
    """A config with one bed (overridable)."""
    b: dict[str, object] = {
        "id": "main",
        "name": "Main bed",
        "sensors": [{"kind": "envelope", "topic": "bed/env", "status_topic": "bed/status"}],
    }
    b.update(bed)
    return Settings(beds=[b])


def test_device_payload_shape() -> None:
    s = settings()
    topic, payload = discovery.bed_discovery(s.mqtt, s.beds[0])
    assert topic == "homeassistant/device/sleepenv_main/config"
    assert payload["dev"]["ids"] == ["sleepenv_main"]
    assert payload["dev"]["name"] == "Main bed"
    assert payload["o"]["name"] == "sleepenv"
    assert payload["avty"] == [{"t": "sleepenv/status"}]
    cmps = payload["cmps"]
    ids = [c["unique_id"] for c in cmps.values()]
    assert len(ids) == len(set(ids))
    assert all(uid == f"sleepenv_main_{key}" for key, uid in zip(cmps, ids, strict=True))
    for c in cmps.values():
        assert c["default_entity_id"] == f"{c['p']}.{c['unique_id']}"
        assert "object_id" not in c
        assert c.get("state_class") != "measurement"


def test_counters_and_diagnostics() -> None:
    s = settings()
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    assert cmps["movements_tonight"]["state_class"] == "total_increasing"
    assert cmps["movements_tonight"]["state_topic"] == "sleepenv/main/movements_tonight"
    assert "state_class" not in cmps["movements_last_hour"]
    assert cmps["last_movement"]["device_class"] == "timestamp"
    assert cmps["movement"]["p"] == "binary_sensor"
    assert cmps["frames_received"]["entity_category"] == "diagnostic"
    assert cmps["sensor_both_online"]["device_class"] == "connectivity"
    assert set(cmps["movement_event"]["event_types"]) == {c.value for c in MovementClass}


def test_two_sensors_same_side_get_distinct_keys() -> None:
    s = settings(
        sensors=[
            {"kind": "envelope", "topic": "a", "status_topic": "a/s"},
            {"kind": "envelope", "topic": "b", "status_topic": "b/s"},
        ]
    )
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    assert {"sensor_both1_online", "sensor_both2_online"} <= set(cmps)


def test_state_encoding() -> None:
    assert discovery.encode_state(True, "binary") == b"ON"
    assert discovery.encode_state(False, "binary") == b"OFF"
    assert discovery.encode_state(None, "timestamp") == b"None"
    assert discovery.encode_state(0.0, "timestamp") == b"1970-01-01T00:00:00+00:00"
    assert discovery.encode_state(7, "count") == b"7"


def test_event_payload_carries_class_and_details() -> None:
    import json  # noqa: PLC0415

    e = MovementEvent(100.0, 101.5, 9.25, MovementClass.LIMB_MOVEMENT, side="left")
    doc = json.loads(discovery.encode_event(e))
    assert doc["event_type"] == "limb_movement"
    assert doc["duration_seconds"] == 1.5
    assert doc["side"] == "left"


def test_attributes_say_what_the_sensor_cannot_see() -> None:
    s = settings()
    attrs = discovery.bed_attributes(s.beds[0], is_lower_bound=True)
    assert attrs["counts_are_lower_bounds"] is True
    assert "partner" in attrs["partner_movement"]
