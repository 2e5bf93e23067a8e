"""Home Assistant MQTT device discovery: pure functions from settings to (topic, payload)."""

from __future__ import annotations

import functools
import json
import math
from datetime import UTC, datetime
from typing import Any

from sleepenv.bed.core.model import CLASS_VALUES, MovementClass, MovementEvent
from sleepenv.bed.core.states import UNSET, BedStates
from sleepenv.bed.entities import (
    ADVISORY_ATTRIBUTES,
    ADVISORY_REASON,
    BED_ENTITIES,
    BINARY,
    CHART_CONTENT_TYPE,
    INSIGHT,
    SERVICE_ENTITIES,
    BedEntity,
    sensor_online,
)
from sleepenv.bed.labels import LIVE_NOTE, MOVEMENT_LABELS, advisory_reason_template
from sleepenv.config.settings import BedSettings, MqttSettings
from sleepenv.mqtt import discovery as shared
from sleepenv.mqtt import ha_labels
from sleepenv.mqtt.discovery import (
    Encoding,
    Entity,
    State,
    component,
    device_discovery,
    encode_state,
)
from sleepenv.mqtt.outbox import Outgoing
from sleepenv.mqtt.payload import json_object
from sleepenv.rejection import Rejection

EVENT_TYPES = [MOVEMENT_LABELS[c] for c in MovementClass]
PARTNER_NOTE = "One sensor under the bed: a partner's movements cannot be told apart from yours."
LOWER_BOUND_NOTE = (
    "Zigbee vibration sensor: at most one report a minute, so counts are lower bounds."
)
DEFAULT_AREA = "Bedroom"
# The service's availability topic, the same for every device it announces.
status_topic = shared.status_topic


def diagnostics_topic(mqtt: MqttSettings) -> str:
    """The service's retained diagnostics (dropped and rejected messages), as JSON."""
    return f"{mqtt.base_topic}/diagnostics"


def state_topic(mqtt: MqttSettings, bed_id: str, key: str) -> str:
    """Where one entity's state is published."""
    return f"{mqtt.base_topic}/{bed_id}/{key}"


def event_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Where movement events are published (not retained)."""
    return f"{mqtt.base_topic}/{bed_id}/event"


def chart_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Where the last closed night's chart is published (retained PNG bytes)."""
    return f"{mqtt.base_topic}/{bed_id}/last_night_chart"


def insight_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Where the bed's insights are published (retained JSON: headline and comparisons)."""
    return f"{mqtt.base_topic}/{bed_id}/insight"


def attributes_topic(mqtt: MqttSettings, bed_id: str) -> str:
    """Retained JSON attributes shared by the bed's count sensors."""
    return f"{mqtt.base_topic}/{bed_id}/attributes"


def sensor_entities(bed: BedSettings) -> tuple[BedEntity, ...]:
    """Connectivity entities for sensors that report their own status."""
    return tuple(
        Entity(
            f"sensor_{sensor_key(bed, i)}_online",
            "binary_sensor",
            f"Sensor {i + 1} online" if len(bed.sensors) > 1 else "Sensor online",
            State(sensor_online(sensor_key(bed, i)), BINARY),
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


def entities(bed: BedSettings) -> tuple[BedEntity, ...]:
    """All entities of one bed device."""
    return BED_ENTITIES + sensor_entities(bed) + SERVICE_ENTITIES


def _layout(mqtt: MqttSettings, bed_id: str, entity: BedEntity) -> dict[str, Any]:
    """A component's topics and templates."""
    if entity.platform == "event":
        # Readable types; the class stays as `movement_class`, and the label is marked live.
        return {
            "state_topic": event_topic(mqtt, bed_id),
            "event_types": EVENT_TYPES,
            "value_template": ha_labels.event_template(
                MOVEMENT_LABELS, "movement_class", LIVE_NOTE
            ),
        }
    if entity.platform == "image":
        # Raw PNG bytes on a retained topic: Home Assistant keeps the latest as the image.
        return {"image_topic": chart_topic(mqtt, bed_id), "content_type": CHART_CONTENT_TYPE}
    if entity.key == INSIGHT:
        # The headline as the state (a sentence, under Home Assistant's 255 characters),
        # every comparison with its numbers as attributes.
        topic = insight_topic(mqtt, bed_id)
        return {
            "state_topic": topic,
            "value_template": "{{ value_json.headline }}",
            "json_attributes_topic": topic,
        }
    if entity in SERVICE_ENTITIES:
        return {
            "state_topic": diagnostics_topic(mqtt),
            "value_template": f"{{{{ value_json.{entity.key} }}}}",
        }
    if entity.topic_key is None:
        raise ValueError(f"{entity.key}: an entity with neither a state nor a topic of its own")
    cfg = {"state_topic": state_topic(mqtt, bed_id, entity.topic_key)}
    if entity.key == ADVISORY_REASON:
        cfg["value_template"] = advisory_reason_template()
        cfg["json_attributes_topic"] = cfg["state_topic"]
    return cfg


def _trailing(mqtt: MqttSettings, bed_id: str, entity: BedEntity) -> dict[str, Any]:
    """What a component declares after its unit: templates of a nightly count, attributes."""
    cfg: dict[str, Any] = {}
    if entity.state is not None and entity.state.encoding is Encoding.NIGHTLY_COUNT:
        cfg["value_template"] = "{{ value_json.count }}"
        cfg["last_reset_value_template"] = "{{ value_json.last_reset }}"
    if entity.state_class is not None and entity.entity_category is None:
        cfg["json_attributes_topic"] = attributes_topic(mqtt, bed_id)
    if entity.key == "worth_discussing":
        # The triggering pattern and the informational wording, as attributes.
        cfg["json_attributes_topic"] = state_topic(mqtt, bed_id, ADVISORY_ATTRIBUTES)
    return cfg


def component_config(mqtt: MqttSettings, bed: BedSettings, entity: BedEntity) -> dict[str, Any]:
    """The discovery config of one component."""
    return component(
        entity,
        f"sleepenv_{bed.id}_{entity.key}",
        _layout(mqtt, bed.id, entity),
        _trailing(mqtt, bed.id, entity),
    )


def bed_discovery(
    mqtt: MqttSettings, bed: BedSettings, area: str = DEFAULT_AREA
) -> tuple[str, dict[str, Any]]:
    """The device-based discovery message for one bed (`area`: where Home Assistant puts
    the device when it first sees it; the user can move it)."""
    return device_discovery(
        mqtt,
        f"sleepenv_{bed.id}",
        name=bed.name,
        model="Bed movement sensor",
        area=area,
        components={e.key: component_config(mqtt, bed, e) for e in entities(bed)},
    )


def state_messages(
    mqtt: MqttSettings,
    bed_id: str,
    table: tuple[BedEntity, ...],
    states: BedStates,
    reset_at: float | None,
) -> list[Outgoing]:
    """The retained state of every entity `states` sets, by the bed's table of entities
    (`reset_at`: when the nightly counts last started from 0)."""
    out = []
    for entity in table:
        if entity.state is None or entity.topic_key is None:
            continue
        value = entity.state.read(states)
        if value is not UNSET:
            payload = encode_state(value, entity.state.encoding, reset_at)
            topic = state_topic(mqtt, bed_id, entity.topic_key)
            out.append(Outgoing(topic, payload, retain=True))
    return out


def bed_attributes(bed: BedSettings, *, is_lower_bound: bool) -> dict[str, Any]:
    """What the count sensors say about their own limits."""
    attrs: dict[str, Any] = {"counts_are_lower_bounds": is_lower_bound}
    if len(bed.sensors) == 1:
        attrs["partner_movement"] = PARTNER_NOTE
    if is_lower_bound:
        attrs["note"] = LOWER_BOUND_NOTE
    return attrs


def encode_event(event: MovementEvent) -> bytes:
    """The event entity's payload: the class as event type, details as attributes.

    Written out as `event_json` would have json.dumps write it (every event of a burst
    comes here, and building the dict for json.dumps cost twice this); an event with a
    value of another type than usual, or a number json.dumps writes otherwise than
    repr (NaN, infinity), goes through `event_json` itself.
    """
    duration = round(event.duration_seconds, 2)
    peak = round(event.peak, 3)
    strength = round(event.strength, 2)
    lower, truncated, hypnagogic = event.is_lower_bound, event.is_truncated, event.is_hypnagogic
    if not (
        type(duration) is float
        and type(peak) is float
        and type(strength) is float
        and math.isfinite(duration)
        and math.isfinite(peak)
        and math.isfinite(strength)
        and type(lower) is bool
        and type(truncated) is bool
        and type(hypnagogic) is bool
        and type(event.side) is str
        and type(event.sensor) is str
    ):
        return event_json(event)
    onset = datetime.fromtimestamp(event.onset, UTC).isoformat(timespec="milliseconds")
    return (
        f'{{"event_type": {_json_string(CLASS_VALUES[event.cls])}, "onset": "{onset}", '
        f'"duration_seconds": {duration!r}, "peak": {peak!r}, '
        f'"side": {_json_string(event.side)}, "sensor": {_json_string(event.sensor)}, '
        f'"is_lower_bound": {_JSON_BOOL[lower]}, "is_truncated": {_JSON_BOOL[truncated]}, '
        f'"strength": {strength!r}, "is_hypnagogic": {_JSON_BOOL[hypnagogic]}, '
        '"is_provisional": true}'
    ).encode()


_JSON_BOOL = {True: "true", False: "false"}


@functools.lru_cache(maxsize=256)
def _json_string(text: str) -> str:
    """A string as json.dumps writes it (classes, sides and sensor keys: a handful)."""
    return json.dumps(text)


def event_json(event: MovementEvent) -> bytes:
    """The event entity's payload by json.dumps (what `encode_event` writes)."""
    return json.dumps(
        {
            "event_type": CLASS_VALUES[event.cls],
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
