"""Home Assistant discovery for a guidance bedroom: pure functions to (topic, payload).

One device per bedroom, `sleepenv_guidance_<room>`, with switches (guidance, guests),
the phase, wind-down and no-screen flags, next bedtime, room temperature deviation,
screen minutes, the two buttons and a reminder event. Override state per device and
the last decision's reason are JSON attributes of the phase sensor.
"""

from __future__ import annotations

from typing import Any

from sleepenv import __version__
from sleepenv.bed.discovery import ORIGIN, encode_state, status_topic
from sleepenv.bed.entities import Entity
from sleepenv.config.settings import MqttSettings
from sleepenv.guidance.core.timeline import Phase
from sleepenv.guidance.settings import BedroomSettings
from sleepenv.mqtt import ha_labels

SWITCHES = ("guidance", "guests")
MAIN_FEATURE = "guidance"
BUTTONS = ("start_wind_down", "snooze")
PRESS = "PRESS"

ENTITIES: tuple[Entity, ...] = (
    Entity("guidance", "switch", "Guidance", kind="binary", icon="mdi:weather-night"),
    Entity("guests", "switch", "Guests or vacation", kind="binary", icon="mdi:account-multiple"),
    Entity("phase", "sensor", "Phase", kind="enum", device_class="enum", icon="mdi:timeline-clock"),
    Entity("wind_down", "binary_sensor", "Wind-down", kind="binary", icon="mdi:lamp"),
    Entity(
        "no_screen_window",
        "binary_sensor",
        "No-screen window",
        kind="binary",
        icon="mdi:monitor-off",
    ),
    Entity("next_bedtime", "sensor", "Next bedtime", kind="timestamp", device_class="timestamp"),
    Entity(
        "room_temperature_deviation",
        "sensor",
        "Room temperature vs target",
        kind="number",
        state_class="measurement",
        unit="°C",
        icon="mdi:thermometer-lines",
    ),
    Entity("room_too_warm", "binary_sensor", "Room too warm", kind="binary", device_class="heat"),
    Entity(
        "screen_minutes_in_window",
        "sensor",
        "Screen time before bed",
        kind="number",
        device_class="duration",
        state_class="total_increasing",
        unit="min",
        icon="mdi:television",
    ),
    Entity("start_wind_down", "button", "Start wind-down now", kind="button", icon="mdi:play"),
    Entity("snooze", "button", "Snooze", kind="button", icon="mdi:alarm-snooze"),
    # The answer to the last button press (what it did, or why it did nothing), beside
    # the buttons until the next phase starts.
    Entity("note", "sensor", "Note", kind="text", icon="mdi:message-text-outline"),
    Entity("reminder", "event", "Reminder", kind="event", icon="mdi:bell-ring-outline"),
)
KINDS = {e.key: e.kind for e in ENTITIES}


def room_topic(mqtt: MqttSettings, room: str, key: str) -> str:
    """A bedroom entity's state topic."""
    return f"{mqtt.base_topic}/guidance/{room}/{key}"


def command_topic(mqtt: MqttSettings, room: str, key: str) -> str:
    """Where Home Assistant sends a switch's ON/OFF or a button's PRESS."""
    return f"{room_topic(mqtt, room, key)}/set"


def command_topics(mqtt: MqttSettings, room: str) -> dict[str, str]:
    """Command topic → entity key, for routing."""
    return {command_topic(mqtt, room, key): key for key in (*SWITCHES, *BUTTONS)}


def _component(mqtt: MqttSettings, room: BedroomSettings, e: Entity) -> dict[str, Any]:
    unique_id = f"sleepenv_guidance_{room.id}_{e.key}"
    cfg: dict[str, Any] = {
        "p": e.platform,
        # The device's main feature is named like the device (Home Assistant's convention):
        # "Bedroom guidance", not "Bedroom guidance Guidance".
        "name": None if e.key == MAIN_FEATURE else e.name,
        "unique_id": unique_id,
        "default_entity_id": f"{e.platform}.{unique_id}",
    }
    if e.platform != "button":
        cfg["state_topic"] = room_topic(mqtt, room.id, e.key)
    if e.platform in ("switch", "button"):
        cfg["command_topic"] = command_topic(mqtt, room.id, e.key)
    if e.platform == "button":
        cfg["payload_press"] = PRESS
    # Readable states (MQTT entities have no translations); the topics keep machine values.
    if e.platform == "event":
        cfg["event_types"] = list(ha_labels.REMINDER_LABELS.values())
        cfg["value_template"] = ha_labels.event_template(ha_labels.REMINDER_LABELS, "reminder")
    if e.key == "phase":
        cfg["options"] = [ha_labels.PHASE_LABELS[p] for p in Phase]
        cfg["value_template"] = ha_labels.state_template(ha_labels.PHASE_LABELS)
        cfg["json_attributes_topic"] = room_topic(mqtt, room.id, "attributes")
    for field in ("device_class", "state_class", "icon"):
        value = getattr(e, field)
        if value is not None:
            cfg[field] = value
    if e.unit is not None:
        cfg["unit_of_measurement"] = e.unit
    return cfg


def bedroom_discovery(mqtt: MqttSettings, room: BedroomSettings) -> tuple[str, dict[str, Any]]:
    """The device-based discovery message for one guidance bedroom."""
    device_id = f"sleepenv_guidance_{room.id}"
    payload = {
        "dev": {
            "ids": [device_id],
            "name": f"{room.name} guidance",
            "mf": "sleepenv",
            "mdl": "Bedtime guidance",
            "sw": __version__,
            "sa": room.name,
        },
        "o": ORIGIN,
        "avty": [{"t": status_topic(mqtt)}],
        "qos": 1,
        "cmps": {e.key: _component(mqtt, room, e) for e in ENTITIES},
    }
    return f"{mqtt.discovery_prefix}/device/{device_id}/config", payload


def encode(key: str, value: Any) -> bytes:
    """A state as Home Assistant's MQTT platforms expect it."""
    return encode_state(value, KINDS.get(key, "number"))
