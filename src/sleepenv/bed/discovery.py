"""Home Assistant MQTT device discovery: pure functions from settings to (topic, payload)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sleepenv import __version__
from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.entities import (
    ADVISORY_ATTRIBUTES,
    ADVISORY_REASON,
    BED_ENTITIES,
    CHART,
    CHART_CONTENT_TYPE,
    NIGHTLY_COUNT,
    SERVICE,
    SERVICE_ENTITIES,
    Entity,
)
from sleepenv.config.settings import BedSettings, MqttSettings
from sleepenv.mqtt import ha_labels
from sleepenv.mqtt.payload import json_object
from sleepenv.rejection import Rejection

ORIGIN = {"name": "sleepenv", "sw": __version__}
EVENT_TYPES = [ha_labels.MOVEMENT_LABELS[c] for c in MovementClass]
PARTNER_NOTE = "One sensor under the bed: a partner's movements cannot be told apart from yours."
LOWER_BOUND_NOTE = (
    "Zigbee vibration sensor: at most one report a minute, so counts are lower bounds."
)
DEFAULT_AREA = "Bedroom"


def diagnostics_topic(mqtt: MqttSettings) -> str:
    """The service's retained diagnostics (dropped and rejected messages), as JSON."""
    return f"{mqtt.base_topic}/diagnostics"


def status_topic(mqtt: MqttSettings) -> str:
    """The service's availability topic (retained online/offline)."""
    return f"{mqtt.base_topic}/status"


def state_topic(mqtt: MqttSettings, bed_id: str, key: str) -> str:
    """Where one entity's state is published."""
    return f"{mqtt.base_topic}/{bed_id}/{key}"


def event_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Where movement events are published (not retained)."""
    return f"{mqtt.base_topic}/{bed_id}/event"


def chart_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Where the last closed night's chart is published (retained PNG bytes)."""
    return f"{mqtt.base_topic}/{bed_id}/last_night_chart"


def attributes_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Retained JSON attributes shared by the bed's count sensors."""
    return f"{mqtt.base_topic}/{bed_id}/attributes"


def sensor_entities(bed: BedSettings) -> tuple[Entity, ...]:
    """Connectivity entities for sensors that report their own status."""
    return tuple(
        Entity(
            f"sensor_{sensor_key(bed, i)}_online",
            "binary_sensor",
            f"Sensor {i + 1} online" if len(bed.sensors) > 1 else "Sensor online",
            kind="binary",
            device_class="connectivity",
            entity_category="diagnostic",
        )
        for i, s in enumerate(bed.sensors)
        if s.status_topic is not None
    )


def sensor_key(bed: BedSettings, index: int) -> str:
    """A stable key for a bed's sensor: its side when unique, else its position."""
    sensor = bed.sensors[index]
    sides = [s.side for s in bed.sensors]
    return sensor.side if sides.count(sensor.side) == 1 else f"{sensor.side}{index + 1}"


def entities(bed: BedSettings) -> tuple[Entity, ...]:
    """All entities of one bed device."""
    return BED_ENTITIES + sensor_entities(bed) + SERVICE_ENTITIES


def component(mqtt: MqttSettings, bed: BedSettings, entity: Entity) -> dict[str, Any]:
    """The discovery config of one component."""
    unique_id = f"sleepenv_{bed.id}_{entity.key}"
    cfg: dict[str, Any] = {
        "p": entity.platform,
        "name": entity.name,
        "unique_id": unique_id,
        "default_entity_id": f"{entity.platform}.{unique_id}",
    }
    if entity.kind == "event":
        cfg["state_topic"] = event_topic(mqtt, bed.id)
        cfg["event_types"] = EVENT_TYPES
        # Readable types; the class stays as `movement_class`, and the label is marked live.
        cfg["value_template"] = ha_labels.event_template(
            ha_labels.MOVEMENT_LABELS, "movement_class", ha_labels.LIVE_NOTE
        )
    elif entity.kind == ADVISORY_REASON:
        cfg["state_topic"] = state_topic(mqtt, bed.id, ADVISORY_ATTRIBUTES)
        cfg["value_template"] = ha_labels.advisory_reason_template()
        cfg["json_attributes_topic"] = cfg["state_topic"]
    elif entity.kind == CHART:
        # Raw PNG bytes on a retained topic: Home Assistant keeps the latest as the image.
        cfg["image_topic"] = chart_topic(mqtt, bed.id)
        cfg["content_type"] = CHART_CONTENT_TYPE
    elif entity.kind == SERVICE:
        cfg["state_topic"] = diagnostics_topic(mqtt)
        cfg["value_template"] = f"{{{{ value_json.{entity.key} }}}}"
    else:
        cfg["state_topic"] = state_topic(mqtt, bed.id, entity.key)
    for field in ("device_class", "state_class", "entity_category", "icon"):
        value = getattr(entity, field)
        if value is not None:
            cfg[field] = value
    if entity.unit is not None:
        cfg["unit_of_measurement"] = entity.unit
    if entity.kind == NIGHTLY_COUNT:
        cfg["value_template"] = "{{ value_json.count }}"
        cfg["last_reset_value_template"] = "{{ value_json.last_reset }}"
    if entity.state_class is not None and entity.entity_category is None:
        cfg["json_attributes_topic"] = attributes_topic(mqtt, bed.id)
    if entity.key == "worth_discussing":
        # The triggering pattern and the informational wording, as attributes.
        cfg["json_attributes_topic"] = state_topic(mqtt, bed.id, ADVISORY_ATTRIBUTES)
    if not entity.enabled_by_default:
        cfg["enabled_by_default"] = False
    return cfg


def bed_discovery(
    mqtt: MqttSettings, bed: BedSettings, area: str = DEFAULT_AREA
) -> tuple[str, dict[str, Any]]:
    """The device-based discovery message for one bed (`area`: where Home Assistant puts
    the device when it first sees it; the user can move it)."""
    device_id = f"sleepenv_{bed.id}"
    payload: dict[str, Any] = {
        "dev": {
            "ids": [device_id],
            "name": bed.name,
            "mf": "sleepenv",
            "mdl": "Bed movement sensor",
            "sw": __version__,
            "sa": area,
        },
        "o": ORIGIN,
        "avty": [{"t": status_topic(mqtt)}],
        "qos": 1,
        "cmps": {e.key: component(mqtt, bed, e) for e in entities(bed)},
    }
    return f"{mqtt.discovery_prefix}/device/{device_id}/config", payload


def bed_attributes(bed: BedSettings, is_lower_bound: bool) -> dict[str, Any]:
    """What the count sensors say about their own limits."""
    attrs: dict[str, Any] = {"counts_are_lower_bounds": is_lower_bound}
    if len(bed.sensors) == 1:
        attrs["partner_movement"] = PARTNER_NOTE
    if is_lower_bound:
        attrs["note"] = LOWER_BOUND_NOTE
    return attrs


def _iso(at: float) -> str:
    return datetime.fromtimestamp(float(at), UTC).isoformat(timespec="seconds")


def encode_state(value: Any, kind: str, reset_at: float | None = None) -> bytes:
    """An entity state as Home Assistant's MQTT platforms expect it.

    A nightly count carries `reset_at` (when the night's counters last started from 0).
    """
    if kind == NIGHTLY_COUNT:
        if reset_at is None:
            raise ValueError("a nightly count needs the moment it was reset")
        return json.dumps({"count": value or 0, "last_reset": _iso(reset_at)}).encode()
    if value is None:
        return b"None"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True).encode()
    if kind == "binary":
        return b"ON" if value else b"OFF"
    if kind == "timestamp":
        return _iso(value).encode()
    return str(value).encode()


def encode_event(event: MovementEvent) -> bytes:
    """The event entity's payload: the class as event type, details as attributes."""
    return json.dumps(
        {
            "event_type": event.cls.value,
            "onset": datetime.fromtimestamp(event.onset, UTC).isoformat(timespec="milliseconds"),
            "duration_seconds": round(event.duration_seconds, 2),
            "peak": round(event.peak, 3),
            "side": event.side,
            "sensor": event.sensor,
            "is_lower_bound": event.is_lower_bound,
            "is_truncated": event.is_truncated,
            "strength": round(event.strength, 2),
            "is_hypnagogic": event.is_hypnagogic,
            # Live labels may change (a later fourth limb movement makes a PLM series);
            # the night's final labels are in the store and the "last night" sensors.
            "is_provisional": True,
        }
    ).encode()


def entity_kinds(bed: BedSettings) -> dict[str, str]:
    """State key → how to encode it."""
    return {e.key: e.kind for e in entities(bed)}


def discovery_filters(mqtt: MqttSettings) -> list[str]:
    """Subscriptions that show every retained discovery config, of any layout, at connect."""
    prefix = mqtt.discovery_prefix
    return [f"{prefix}/+/+/config", f"{prefix}/+/+/+/config"]


def _mentions_base_topic(value: Any, base: str) -> bool:
    """True when a (nested) string value of a discovery payload is under `base`."""
    if isinstance(value, str):
        return value == base or value.startswith(base + "/")
    if isinstance(value, dict):
        return any(_mentions_base_topic(v, base) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_base_topic(v, base) for v in value)
    return False


def is_stale_discovery(
    mqtt: MqttSettings, current_topics: set[str], topic: str, payload: bytes
) -> bool:
    """True for a discovery config this instance once published but no longer does."""
    return check_discovery(mqtt, current_topics, topic, payload) is True


def check_discovery(
    mqtt: MqttSettings, current_topics: set[str], topic: str, payload: bytes
) -> bool | Rejection:
    """True for a discovery config this instance once published but no longer does.

    Ours means: a `sleepenv_` unique or device id and topics under our base topic (so a
    second sleepenv on the same broker with its own base topic is left alone). Clearing it
    (an empty retained payload) makes Home Assistant remove entities of an older layout,
    e.g. per-entity `<prefix>/sensor/.../config` topics or a removed bed's device. A config
    that mentions sleepenv but is not a sane JSON object is a Rejection (never raises).
    """
    if topic in current_topics or not payload or b"sleepenv_" not in payload:
        return False
    config = json_object(payload)
    if isinstance(config, Rejection):
        return config
    dev = config.get("dev", config.get("device", {}))
    ids: Any = dev.get("ids", dev.get("identifiers")) if isinstance(dev, dict) else None
    ids = [ids] if isinstance(ids, str) else ids if isinstance(ids, list) else []
    unique_id = config.get("unique_id", config.get("uniq_id", ""))
    is_sleepenv = str(unique_id).startswith("sleepenv_") or any(
        str(i).startswith("sleepenv_") for i in ids
    )
    return is_sleepenv and _mentions_base_topic(config, mqtt.base_topic)
