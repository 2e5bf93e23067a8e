"""sleepenv's own discovery (classification entities) in a real Home Assistant.

The discovery message, states and event are the ones the service publishes (the pure
functions of adapters/discovery.py), so this proves Home Assistant accepts every component
with the device class, unit and attributes we intend.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import paho.mqtt.publish as mqtt_publish
import pytest

from sleepenv.adapters import discovery
from sleepenv.adapters.broker import MosquittoProcess
from sleepenv.core.model import MovementClass, MovementEvent
from sleepenv.settings import Settings

from .harness import HomeAssistant

ONSET = datetime(2026, 1, 5, 22, 47, tzinfo=UTC).timestamp()
NIGHT_START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC).timestamp()


class Bed:
    """A sleepenv bed published by hand through the service's encoders."""

    def __init__(self, broker: MosquittoProcess) -> None:
        self.broker = broker
        base = f"sleepenvha{uuid.uuid4().hex[:8]}"
        self.settings = Settings(
            mqtt={"host": broker.host, "port": broker.port, "base_topic": base},
            beds=[
                {"id": "main", "name": "HA bed", "sensors": [{"kind": "envelope", "topic": "x/y"}]}
            ],
        )
        self.bed = self.settings.beds[0]
        self.kinds = discovery.entity_kinds(self.bed)

    def publish(self, topic: str, payload: bytes | str, retain: bool = True) -> None:
        """Publish one message (QoS 1)."""
        mqtt_publish.single(
            topic, payload, qos=1, retain=retain, hostname=self.broker.host, port=self.broker.port
        )

    def state(self, key: str, value: object) -> None:
        """Publish one entity state as the service would."""
        mqtt = self.settings.mqtt
        payload = discovery.encode_state(value, self.kinds.get(key, "count"), NIGHT_START)
        self.publish(discovery.state_topic(mqtt, "main", key), payload)


@pytest.fixture(scope="module")
def bed(home_assistant: HomeAssistant, ha_broker: MosquittoProcess) -> Iterator[Bed]:
    """The bed device discovered and online."""
    b = Bed(ha_broker)
    mqtt = b.settings.mqtt
    b.publish(discovery.status_topic(mqtt), "online")
    topic, payload = discovery.bed_discovery(mqtt, b.bed)
    b.publish(topic, json.dumps(payload))
    keys = [e.key for e in discovery.entities(b.bed)]

    def registered() -> bool:
        return all(home_assistant.entity_by_unique_id(f"sleepenv_main_{k}") for k in keys)

    home_assistant.wait_for(registered, timeout=30, message="every component registered")
    yield b
    b.publish(topic, "")


def entity(ha: HomeAssistant, key: str) -> str:
    """entity_id of one of the bed's components."""
    entry = ha.entity_by_unique_id(f"sleepenv_main_{key}")
    assert entry is not None
    result: str = entry["entity_id"]
    return result


def test_sleep_entities_show_their_values(home_assistant: HomeAssistant, bed: Bed) -> None:
    ha = home_assistant
    bed.state("sleep_onset", ONSET)
    bed.state("time_to_fall_asleep", 12)
    bed.state("in_bed", True)
    bed.state("plm_index_tonight", 17.4)
    bed.state("plm_tonight", 64)
    bed.state("hypnic_jerks_last_night", 2)
    onset = ha.wait_for_state(entity(ha, "sleep_onset"), "2026-01-05T22:47:00+00:00")
    assert onset["attributes"]["device_class"] == "timestamp"
    latency = ha.wait_for_state(entity(ha, "time_to_fall_asleep"), "12")
    assert latency["attributes"]["device_class"] == "duration"
    assert latency["attributes"]["unit_of_measurement"] == "min"
    in_bed = ha.wait_for_state(entity(ha, "in_bed"), "on")
    assert in_bed["attributes"]["device_class"] == "occupancy"
    plmi = ha.wait_for_state(entity(ha, "plm_index_tonight"), "17.4")
    assert plmi["attributes"]["unit_of_measurement"] == "/h"
    assert "state_class" not in plmi["attributes"]
    plm = ha.wait_for_state(entity(ha, "plm_tonight"), "64")
    assert plm["attributes"]["state_class"] == "total"
    last_reset = datetime.fromisoformat(plm["attributes"]["last_reset"])
    assert last_reset.timestamp() == NIGHT_START
    last = ha.wait_for_state(entity(ha, "hypnic_jerks_last_night"), "2")
    assert "state_class" not in last["attributes"]


def test_advisory_carries_its_pattern(home_assistant: HomeAssistant, bed: Bed) -> None:
    ha = home_assistant
    attrs = {
        "patterns": ["PLM-like leg movements above 15/h on 5 of the last 7 nights"],
        "nights_considered": 7,
        "note": "Informational only, not a diagnosis: worth discussing with a doctor.",
    }
    bed.state("worth_discussing_attributes", attrs)
    bed.state("worth_discussing", True)
    state = ha.wait_for_state(
        entity(ha, "worth_discussing"),
        lambda s: s["state"] == "on" and "patterns" in s["attributes"],
    )
    assert state["attributes"]["patterns"] == attrs["patterns"]
    assert "not a diagnosis" in state["attributes"]["note"]


def test_event_entity_fires_the_class_with_peak_and_side(
    home_assistant: HomeAssistant, bed: Bed
) -> None:
    ha = home_assistant
    jerk = MovementEvent(ONSET + 60, ONSET + 61.2, 3.5, MovementClass.HYPNIC_JERK, strength=8.0)
    bed.publish(
        discovery.event_topic(bed.settings.mqtt, "main"), discovery.encode_event(jerk), False
    )
    state = ha.wait_for_state(
        entity(ha, "movement_event"), lambda s: s["attributes"].get("event_type") == "hypnic_jerk"
    )
    assert state["attributes"]["peak"] == 3.5
    assert state["attributes"]["side"] == "both"
    assert "plm" in state["attributes"]["event_types"]
    assert not ha.log_lines("sleepenv_main"), "Home Assistant complained about our discovery"
