"""The harness against a real Home Assistant: device discovery, states, events, statistics.

Independent of sleepenv's own code: the discovery message is written by hand here (as
docs/home-assistant.md describes it), so these tests prove what Home Assistant does with such a
message, and that the harness can observe it. Tests run in file order and share one
Home Assistant per module; the statistics test comes last so that its unavoidable wait
for the recorder's 5-minute compile overlaps the others.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import paho.mqtt.publish as mqtt_publish
import pytest
from homeassistant_api import Client
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.mqtt.broker import MosquittoProcess

from .harness import JSON, HomeAssistant
from .install import Installation
from .transport import HomeAssistantError

HA_EXTRA_YAML = """\
input_boolean:
  guests_here:
    name: Guests here
"""

EVENT_TYPES = ["hypnic_jerk", "plm", "twitch", "rollover"]
# The recorder compiles short-term statistics at minute % 5 == 0, second 10 (UTC).
COMPILE_PERIOD_SECONDS = 300
COMPILE_OFFSET_SECONDS = 10


def version_tuple(version: str) -> tuple[int, ...]:
    """2026.11.0 -> (2026, 11, 0), ignoring suffixes such as dev/beta."""
    return tuple(
        int("".join(ch for ch in part if ch.isdigit()) or 0) for part in version.split(".")
    )


@dataclass(frozen=True, slots=True)
class HarnessDevice:
    """The topics and ids of the hand-written device used by this module."""

    device_id: str
    base: str
    broker: MosquittoProcess

    @property
    def discovery_topic(self) -> str:
        """Device-based discovery topic."""
        return f"homeassistant/device/{self.device_id}/config"

    @property
    def availability_topic(self) -> str:
        """Shared availability topic of all components."""
        return f"{self.base}/availability"

    def topic(self, name: str) -> str:
        """State topic of one component."""
        return f"{self.base}/{name}"

    def unique_id(self, name: str) -> str:
        """unique_id of one component."""
        return f"{self.device_id}_{name}"

    def publish(self, topic: str, payload: str | dict[str, Any], *, retain: bool = False) -> None:
        """Publish one message (QoS 1) to the module's broker and return once it is sent."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        mqtt_publish.single(
            topic, text, qos=1, retain=retain, hostname=self.broker.host, port=self.broker.port
        )

    def discovery_payload(self) -> dict[str, Any]:
        """A device-based discovery message: one device, a counter, an event, a statistic."""
        return {
            "dev": {
                "ids": [self.device_id],
                "name": "Harness bed",
                "mf": "sleepenv",
                "mdl": "harness test device",
                "sw": "0.0.0",
            },
            "o": {"name": "sleepenv-tests", "sw": "0.0.0"},
            "availability_topic": self.availability_topic,
            "qos": 1,
            "cmps": {
                "twitches": {
                    "p": "sensor",
                    "unique_id": self.unique_id("twitches"),
                    "default_entity_id": f"sensor.{self.device_id}_twitches",
                    "name": "Twitches tonight",
                    "state_topic": self.topic("twitches"),
                    "state_class": "total_increasing",
                    "unit_of_measurement": "twitches",
                    "icon": "mdi:bed",
                },
                "counted": {
                    "p": "sensor",
                    "unique_id": self.unique_id("counted"),
                    "default_entity_id": f"sensor.{self.device_id}_counted",
                    "name": "Movements counted",
                    "state_topic": self.topic("counted"),
                    "state_class": "total_increasing",
                    "unit_of_measurement": "movements",
                },
                "movement": {
                    "p": "event",
                    "unique_id": self.unique_id("movement"),
                    "default_entity_id": f"event.{self.device_id}_movement",
                    "name": "Movement",
                    "state_topic": self.topic("movement"),
                    "device_class": "motion",
                    "event_types": EVENT_TYPES,
                },
                "guidance": {
                    "p": "switch",
                    "unique_id": self.unique_id("guidance"),
                    "default_entity_id": f"switch.{self.device_id}_guidance",
                    "name": "Guidance",
                    "command_topic": self.topic("guidance/set"),
                    "state_topic": self.topic("guidance"),
                    "entity_category": "config",
                },
                "wind_down": {
                    "p": "button",
                    "unique_id": self.unique_id("wind_down"),
                    "default_entity_id": f"button.{self.device_id}_wind_down",
                    "name": "Start wind-down",
                    "command_topic": self.topic("wind_down/press"),
                },
            },
        }


@pytest.fixture(scope="module")
def device(home_assistant: HomeAssistant, ha_broker: MosquittoProcess) -> Iterator[HarnessDevice]:
    """The hand-written device, discovered (retained) and online in Home Assistant."""
    dev_id = f"harness{uuid.uuid4().hex[:8]}"
    dev = HarnessDevice(device_id=dev_id, base=f"sleepenv-test/{dev_id}", broker=ha_broker)
    dev.publish(dev.availability_topic, "online", retain=True)
    dev.publish(dev.discovery_topic, dev.discovery_payload(), retain=True)
    names = ("twitches", "counted", "movement", "guidance", "wind_down")

    def registered() -> bool:
        return all(home_assistant.entity_by_unique_id(dev.unique_id(n)) for n in names)

    home_assistant.wait_for(registered, message="all components registered")
    yield dev
    dev.publish(dev.discovery_topic, "", retain=True)  # removes the device from Home Assistant


def entity_id(ha: HomeAssistant, dev: HarnessDevice, name: str) -> str:
    """The entity_id Home Assistant gave one component, found by its unique_id."""
    entry = ha.entity_by_unique_id(dev.unique_id(name))
    assert entry is not None, f"{name} is not in the entity registry"
    result: str = entry["entity_id"]
    return result


def next_compile_after(moment: datetime) -> datetime:
    """When the recorder compiles the 5-minute period that contains `moment`."""
    seconds = moment.timestamp()
    period_end = (int(seconds) // COMPILE_PERIOD_SECONDS + 1) * COMPILE_PERIOD_SECONDS
    return datetime.fromtimestamp(period_end + COMPILE_OFFSET_SECONDS, tz=UTC)


def test_http_config_is_confirmed_so_no_revert_restarts_home_assistant(
    home_assistant: HomeAssistant, ha_installation: Installation
) -> None:
    """2026.x restarts after five minutes unless the YAML `http:` config was promoted."""
    if ha_installation.version.startswith("2025."):
        # The floor has no HTTP config trial at all, so nothing can revert there.
        with pytest.raises(HomeAssistantError, match=r"unknown_command|Unknown command"):
            home_assistant.ws({"type": "http/config"})
        return
    config = home_assistant.ws({"type": "http/config"})
    assert config["revert_at"] is None
    assert config["pending"] is None


# Published first so that the wait for the compile overlaps the other tests.
COUNTED_VALUES = ["1", "3", "7"]
RECORD_MARGIN_SECONDS = 5
# Per Home Assistant instance: with both releases in one run, each waits for its own.
_counted_published_at: dict[str, datetime] = {}


def test_counter_values_published_for_statistics(
    home_assistant: HomeAssistant, device: HarnessDevice
) -> None:
    """Counter values reach Home Assistant (their statistics are checked by the last test)."""
    eid = entity_id(home_assistant, device, "counted")
    for value in COUNTED_VALUES:
        device.publish(device.topic("counted"), value, retain=True)
        home_assistant.wait_for_state(eid, value)
        time.sleep(1.2)  # the recorder commits every second: keep every value as its own row
    _counted_published_at[home_assistant.base_url] = datetime.now(UTC)


def test_entities_under_one_device(home_assistant: HomeAssistant, device: HarnessDevice) -> None:
    """Both components exist under one device with the intended platform and classes."""
    entries = {
        name: home_assistant.entity_by_unique_id(device.unique_id(name))
        for name in ("twitches", "counted", "movement")
    }
    assert all(entries.values()), entries
    device_ids = {entry["device_id"] for entry in entries.values() if entry}
    assert len(device_ids) == 1, device_ids
    (device_id,) = device_ids
    devices = [d for d in home_assistant.device_registry() if d["id"] == device_id]
    assert len(devices) == 1
    assert devices[0]["name"] == "Harness bed"
    assert devices[0]["manufacturer"] == "sleepenv"
    assert ["mqtt", device.device_id] in devices[0]["identifiers"]

    twitches = home_assistant.entity_registry_entry(entity_id(home_assistant, device, "twitches"))
    assert twitches["platform"] == "mqtt"
    assert twitches["entity_id"].startswith("sensor.")
    assert twitches["original_device_class"] is None
    assert twitches["capabilities"] == {"state_class": "total_increasing"}
    assert twitches["entity_category"] is None

    movement = home_assistant.entity_registry_entry(entity_id(home_assistant, device, "movement"))
    assert movement["platform"] == "mqtt"
    assert movement["entity_id"].startswith("event.")
    assert movement["original_device_class"] == "motion"
    assert movement["capabilities"] == {"event_types": EVENT_TYPES}

    if version_tuple(home_assistant.version) >= (2025, 10):
        # default_entity_id is honoured from 2025.10 on (object_id is ignored in 2026.x).
        assert twitches["entity_id"] == f"sensor.{device.device_id}_twitches"
        assert movement["entity_id"] == f"event.{device.device_id}_movement"


def test_state_reaches_home_assistant(home_assistant: HomeAssistant, device: HarnessDevice) -> None:
    """A published counter value becomes the sensor's state with its unit and state class."""
    eid = entity_id(home_assistant, device, "twitches")
    device.publish(device.topic("twitches"), "3", retain=True)
    state = home_assistant.wait_for_state(eid, "3")
    assert state["attributes"]["state_class"] == "total_increasing"
    assert state["attributes"]["unit_of_measurement"] == "twitches"
    assert state["attributes"]["friendly_name"] == "Harness bed Twitches tonight"


def test_event_fires(home_assistant: HomeAssistant, device: HarnessDevice) -> None:
    """A published event becomes a state change of the event entity with its type."""
    eid = entity_id(home_assistant, device, "movement")
    changes = home_assistant.subscribe_events("state_changed")
    device.publish(device.topic("movement"), {"event_type": "plm", "leg": "left"})

    def fired() -> JSON:
        return [
            change
            for change in changes
            if change["data"]["entity_id"] == eid
            and change["data"]["new_state"]["attributes"].get("event_type") == "plm"
        ]

    (change,) = home_assistant.wait_for(fired, message="plm event")
    new_state = change["data"]["new_state"]
    assert new_state["attributes"]["leg"] == "left"
    datetime.fromisoformat(new_state["state"])  # an event entity's state is its timestamp


def test_availability(home_assistant: HomeAssistant, device: HarnessDevice) -> None:
    """`offline` on the availability topic makes entities unavailable; `online` brings them back."""
    eid = entity_id(home_assistant, device, "twitches")
    device.publish(device.availability_topic, "offline", retain=True)
    home_assistant.wait_for_state(eid, "unavailable")
    home_assistant.wait_for_state(entity_id(home_assistant, device, "movement"), "unavailable")
    device.publish(device.availability_topic, "online", retain=True)
    home_assistant.wait_for_state(eid, "3")


def test_restart_keeps_entities(home_assistant: HomeAssistant, device: HarnessDevice) -> None:
    """After a Home Assistant restart the retained discovery and state are back."""
    eid = entity_id(home_assistant, device, "twitches")
    device.publish(device.topic("twitches"), "5", retain=True)
    home_assistant.wait_for_state(eid, "5")
    home_assistant.restart()
    assert home_assistant.entity_by_unique_id(device.unique_id("twitches")) is not None
    home_assistant.wait_for_state(eid, "5", timeout=30)
    assert entity_id(home_assistant, device, "twitches") == eid
    problems = home_assistant.log_lines("mqtt") + home_assistant.log_lines(levels=("ERROR",))
    assert not problems, "\n".join(problems)


class TopicRecorder:
    """Collects the payloads published under one topic filter (paho in a thread)."""

    def __init__(self, broker: MosquittoProcess, topic_filter: str) -> None:
        """Connect and subscribe; messages start arriving immediately."""
        self.messages: list[tuple[str, str]] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda client, *_: client.subscribe(topic_filter, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = lambda _c, _u, msg: self.messages.append(
            (msg.topic, msg.payload.decode())
        )
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "could not subscribe"

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


def test_controls_publish_commands(home_assistant: HomeAssistant, device: HarnessDevice) -> None:
    """A switch and a button pressed through Home Assistant's API publish their commands."""
    switch = entity_id(home_assistant, device, "guidance")
    button = entity_id(home_assistant, device, "wind_down")
    entry = home_assistant.entity_registry_entry(switch)
    assert entry["entity_category"] == "config"
    recorder = TopicRecorder(device.broker, f"{device.base}/+/+")
    try:
        home_assistant.call_service("switch", "turn_on", {"entity_id": switch})
        home_assistant.call_service("button", "press", {"entity_id": button})
        home_assistant.wait_for(
            lambda: len(recorder.messages) >= 2, message="commands on the broker"
        )
    finally:
        recorder.close()
    assert sorted(recorder.messages) == [
        (device.topic("guidance/set"), "ON"),
        (device.topic("wind_down/press"), "PRESS"),
    ]
    device.publish(device.topic("guidance"), "ON", retain=True)
    home_assistant.wait_for_state(switch, "on")


def test_homeassistant_api_client(home_assistant: HomeAssistant) -> None:
    """The homeassistant-api client calls services and reads states on this Home Assistant."""
    assert home_assistant.token is not None
    with Client(f"{home_assistant.base_url}/api", home_assistant.token) as client:
        assert client.get_state(entity_id="input_boolean.guests_here").state == "off"
        client.trigger_service("input_boolean", "turn_on", entity_id="input_boolean.guests_here")
        assert client.get_state(entity_id="input_boolean.guests_here").state == "on"
        client.trigger_service("input_boolean", "toggle", entity_id="input_boolean.guests_here")
    home_assistant.wait_for_state("input_boolean.guests_here", "off")


@pytest.mark.timeout(COMPILE_PERIOD_SECONDS + 240)
def test_counter_has_long_term_statistics(
    home_assistant: HomeAssistant, device: HarnessDevice
) -> None:
    """A total_increasing counter gets recorder statistics with the summed increase.

    The recorder only compiles a 5-minute period after it has ended (at hh:m5:10 UTC) and
    offers no supported way to trigger that earlier (`recorder/import_statistics` would
    only prove an import), so this test waits for the next compile after the values were
    published: at most about five minutes, less the time the other tests took.
    """
    assert home_assistant.base_url in _counted_published_at, (
        "test_counter_values_published_for_statistics must run first"
    )
    eid = entity_id(home_assistant, device, "counted")
    published_at = _counted_published_at[home_assistant.base_url]
    # A state published just before a period ends may be recorded just after it: aim at
    # the compile of the period that surely holds it.
    compile_at = next_compile_after(published_at + timedelta(seconds=RECORD_MARGIN_SECONDS))
    delay = (compile_at - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)

    start = published_at - timedelta(minutes=15)

    def compiled() -> list[JSON]:
        rows = home_assistant.statistics_during_period([eid], start).get(eid, [])
        return [row for row in rows if row.get("sum") is not None]

    rows = home_assistant.wait_for(compiled, timeout=90, interval=2, message="statistics")
    last = rows[-1]
    increase = float(COUNTED_VALUES[-1]) - float(COUNTED_VALUES[0])
    assert last["state"] == float(COUNTED_VALUES[-1])
    assert last["sum"] == increase
    ids = home_assistant.ws({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})
    assert any(item["statistic_id"] == eid for item in ids)
