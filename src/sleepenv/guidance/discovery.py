"""Home Assistant discovery for a guidance bedroom: pure functions to (topic, payload).

One device per bedroom, `sleepenv_guidance_<room>`, with switches (guidance, guests),
the phase, wind-down and no-screen flags, next bedtime, room temperature deviation,
screen minutes, the two buttons and a reminder event. Override state per device and
the last decision's reason are JSON attributes of the phase sensor.
"""

from __future__ import annotations

from typing import Any

from sleepenv.config.settings import MqttSettings
from sleepenv.guidance.core.states import GuidanceStates
from sleepenv.guidance.core.timeline import Phase
from sleepenv.guidance.labels import PHASE_LABELS, REMINDER_LABELS
from sleepenv.guidance.settings import BedroomSettings
from sleepenv.mqtt import ha_labels
from sleepenv.mqtt.discovery import (
    Encoding,
    Entity,
    Published,
    State,
    component,
    device_discovery,
    encode_state,
)
from sleepenv.mqtt.outbox import Outgoing

SWITCHES = ("guidance", "guests")
MAIN_FEATURE = "guidance"
# The habits a person reports with a press, for the insights (sleepenv insights).
HABIT_BUTTONS = {"had_caffeine": "caffeine", "exercised": "exercise"}
BUTTONS = ("start_wind_down", "snooze", *HABIT_BUTTONS)
PRESS = "PRESS"

RoomEntity = Entity[GuidanceStates, Published]
BINARY = Encoding.BINARY
TEXT = Encoding.TEXT

# Every entity of a bedroom and the field of GuidanceStates it publishes.
ENTITIES: tuple[RoomEntity, ...] = (
    Entity(
        "guidance",
        "switch",
        "Guidance",
        State(lambda s: s.is_enabled, BINARY),
        icon="mdi:weather-night",
    ),
    Entity(
        "guests",
        "switch",
        "Guests or vacation",
        State(lambda s: s.is_paused, BINARY),
        icon="mdi:account-multiple",
    ),
    Entity(
        "phase",
        "sensor",
        "Phase",
        State(lambda s: s.phase.value, TEXT),
        device_class="enum",
        icon="mdi:timeline-clock",
    ),
    Entity(
        "wind_down",
        "binary_sensor",
        "Wind-down",
        State(lambda s: s.is_wind_down, BINARY),
        icon="mdi:lamp",
    ),
    Entity(
        "no_screen_window",
        "binary_sensor",
        "No-screen window",
        State(lambda s: s.is_no_screen_window, BINARY),
        icon="mdi:monitor-off",
    ),
    Entity(
        "next_bedtime",
        "sensor",
        "Next bedtime",
        State(lambda s: s.next_bedtime, Encoding.TIMESTAMP),
        device_class="timestamp",
    ),
    Entity(
        "room_temperature_deviation",
        "sensor",
        "Room temperature vs target",
        State(lambda s: s.room_temperature_deviation_celsius, TEXT),
        state_class="measurement",
        unit="°C",
        icon="mdi:thermometer-lines",
    ),
    Entity(
        "room_too_warm",
        "binary_sensor",
        "Room too warm",
        State(lambda s: s.is_room_too_warm, BINARY),
        device_class="heat",
    ),
    Entity(
        "screen_minutes_in_window",
        "sensor",
        "Screen time before bed",
        State(lambda s: s.screen_minutes_in_window, TEXT),
        device_class="duration",
        state_class="total_increasing",
        unit="min",
        icon="mdi:television",
    ),
    Entity("start_wind_down", "button", "Start wind-down now", icon="mdi:play"),
    Entity("snooze", "button", "Snooze", icon="mdi:alarm-snooze"),
    Entity("had_caffeine", "button", "Had caffeine", icon="mdi:coffee"),
    Entity("exercised", "button", "Exercised", icon="mdi:run"),
    # The answer to the last button press (what it did, or why it did nothing), beside
    # the buttons until the next phase starts.
    Entity(
        "note",
        "sensor",
        "Note",
        State(lambda s: s.note, TEXT),
        icon="mdi:message-text-outline",
    ),
    # Reminders are events on this topic (guidance/runner.py), not a state.
    Entity("reminder", "event", "Reminder", icon="mdi:bell-ring-outline"),
)


def room_topic(mqtt: MqttSettings, room: str, key: str) -> str:
    """A bedroom entity's state topic."""
    return f"{mqtt.base_topic}/guidance/{room}/{key}"


def command_topic(mqtt: MqttSettings, room: str, key: str) -> str:
    """Where Home Assistant sends a switch's ON/OFF or a button's PRESS."""
    return f"{room_topic(mqtt, room, key)}/set"


def command_topics(mqtt: MqttSettings, room: str) -> dict[str, str]:
    """Command topic → entity key, for routing."""
    return {command_topic(mqtt, room, key): key for key in (*SWITCHES, *BUTTONS)}


def _layout(mqtt: MqttSettings, room: BedroomSettings, e: RoomEntity) -> dict[str, Any]:
    """A component's topics and templates."""
    cfg: dict[str, Any] = {}
    if e.platform != "button":
        cfg["state_topic"] = room_topic(mqtt, room.id, e.key)
    if e.platform in ("switch", "button"):
        cfg["command_topic"] = command_topic(mqtt, room.id, e.key)
    if e.platform == "button":
        cfg["payload_press"] = PRESS
    # Readable states (MQTT entities have no translations); the topics keep machine values.
    if e.platform == "event":
        cfg["event_types"] = list(REMINDER_LABELS.values())
        cfg["value_template"] = ha_labels.event_template(REMINDER_LABELS, "reminder")
    if e.key == "phase":
        cfg["options"] = [PHASE_LABELS[p] for p in Phase]
        cfg["value_template"] = ha_labels.state_template(PHASE_LABELS)
        cfg["json_attributes_topic"] = room_topic(mqtt, room.id, "attributes")
    return cfg


def bedroom_discovery(mqtt: MqttSettings, room: BedroomSettings) -> tuple[str, dict[str, Any]]:
    """The device-based discovery message for one guidance bedroom."""
    device_id = f"sleepenv_guidance_{room.id}"
    components = {
        e.key: component(
            e,
            f"{device_id}_{e.key}",
            _layout(mqtt, room, e),
            is_main_feature=e.key == MAIN_FEATURE,
        )
        for e in ENTITIES
    }
    return device_discovery(
        mqtt,
        device_id,
        name=f"{room.name} guidance",
        model="Bedtime guidance",
        area=room.name,
        components=components,
    )


def state_messages(mqtt: MqttSettings, room: str, states: GuidanceStates) -> list[Outgoing]:
    """The retained state of every entity of a bedroom, in the table's order."""
    return [
        Outgoing(
            room_topic(mqtt, room, e.key),
            encode_state(e.state.read(states), e.state.encoding),
            retain=True,
        )
        for e in ENTITIES
        if e.state is not None
    ]
