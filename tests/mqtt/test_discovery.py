"""The discovery builder both devices share: envelope, component fields, state encodings."""

from __future__ import annotations

import json

import pytest

from sleepenv import __version__
from sleepenv.config.settings import MqttSettings
from sleepenv.mqtt.discovery import (
    Encoding,
    Entity,
    Published,
    StateEncoder,
    component,
    device_discovery,
    encode_state,
)


def test_state_encodings() -> None:
    assert encode_state(value=True, encoding=Encoding.BINARY) == b"ON"
    assert encode_state(value=False, encoding=Encoding.BINARY) == b"OFF"
    assert encode_state(None, Encoding.BINARY) == b"None"
    assert encode_state(None, Encoding.TIMESTAMP) == b"None"
    assert encode_state(0.0, Encoding.TIMESTAMP) == b"1970-01-01T00:00:00+00:00"
    assert encode_state(7, Encoding.TEXT) == b"7"
    assert encode_state(2.5, Encoding.TEXT) == b"2.5"
    assert encode_state({"b": 1, "a": [2]}, Encoding.JSON) == b'{"a": [2], "b": 1}'
    with pytest.raises(TypeError, match="unix seconds"):
        encode_state("22:30", Encoding.TIMESTAMP)


def test_a_nightly_count_carries_its_last_reset() -> None:
    doc = json.loads(encode_state(3, Encoding.NIGHTLY_COUNT, 0.0))
    assert doc == {"count": 3, "last_reset": "1970-01-01T00:00:00+00:00"}
    assert json.loads(encode_state(None, Encoding.NIGHTLY_COUNT, 60.0))["count"] == 0
    with pytest.raises(ValueError, match="reset"):
        encode_state(3, Encoding.NIGHTLY_COUNT)


def test_component_fields_come_in_a_fixed_order() -> None:
    entity: Entity[object, object] = Entity(
        "x",
        "sensor",
        "X",
        icon="mdi:x",
        device_class="duration",
        unit="min",
        enabled_by_default=False,
    )
    cfg = component(entity, "sleepenv_b_x", {"state_topic": "t"}, {"json_attributes_topic": "a"})
    assert list(cfg.items()) == [
        ("p", "sensor"),
        ("name", "X"),
        ("unique_id", "sleepenv_b_x"),
        ("default_entity_id", "sensor.sleepenv_b_x"),
        ("state_topic", "t"),
        ("device_class", "duration"),
        ("icon", "mdi:x"),
        ("unit_of_measurement", "min"),
        ("json_attributes_topic", "a"),
        ("enabled_by_default", False),
    ]
    assert component(entity, "u", {}, is_main_feature=True)["name"] is None


def test_the_device_envelope() -> None:
    mqtt = MqttSettings(base_topic="house", discovery_prefix="ha")
    topic, payload = device_discovery(
        mqtt, "sleepenv_d", name="D", model="M", area="Attic", components={"x": {"p": "sensor"}}
    )
    assert topic == "ha/device/sleepenv_d/config"
    assert payload == {
        "dev": {
            "ids": ["sleepenv_d"],
            "name": "D",
            "mf": "sleepenv",
            "mdl": "M",
            "sw": __version__,
            "sa": "Attic",
        },
        "o": {"name": "sleepenv", "sw": __version__},
        "avty": [{"t": "house/status"}],
        "qos": 1,
        "cmps": {"x": {"p": "sensor"}},
    }


def test_the_state_encoder_gives_what_encode_state_gives() -> None:
    """Values in a row on one topic, each encoded as `encode_state` would: unchanged ones
    reuse their bytes, equal values of another type (1, 1.0, True) do not."""
    encoder = StateEncoder()
    attributes: dict[str, object] = {"patterns": ["a"], "nights": 1}
    steps: list[tuple[Published, Encoding, float | None]] = [
        (1, Encoding.TEXT, None),
        (1, Encoding.TEXT, None),
        (1.0, Encoding.TEXT, None),
        (True, Encoding.TEXT, None),
        (None, Encoding.TEXT, None),
        (3, Encoding.NIGHTLY_COUNT, 0.0),
        (3, Encoding.NIGHTLY_COUNT, 0.0),
        (3, Encoding.NIGHTLY_COUNT, 60.0),
        (attributes, Encoding.JSON, None),
        ({"patterns": ["a"], "nights": True}, Encoding.JSON, None),
        ({"patterns": ["a"], "nights": 1}, Encoding.JSON, None),
        ({"patterns": [1], "nights": 1}, Encoding.JSON, None),
        ({"patterns": [1.0], "nights": 1}, Encoding.JSON, None),
        ({"patterns": [[True]], "nights": 1}, Encoding.JSON, None),
        ({"patterns": [[1]], "nights": 1}, Encoding.JSON, None),
    ]
    for value, encoding, reset_at in steps:
        assert encoder.encode("t", value, encoding, reset_at) == encode_state(
            value, encoding, reset_at
        )
    first = encoder.encode("u", 5, Encoding.TEXT)
    assert encoder.encode("u", 5, Encoding.TEXT) is first  # not encoded again
    # A mapping changed in place after it was encoded is encoded again.
    encoder.encode("t", attributes, Encoding.JSON)
    attributes["nights"] = 2
    assert json.loads(encoder.encode("t", attributes, Encoding.JSON))["nights"] == 2
