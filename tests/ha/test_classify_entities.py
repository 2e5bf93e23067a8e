"""sleepenv's own discovery (classification entities) in a real Home Assistant.

The discovery message, states and event are the ones the service publishes (the pure
functions of bed/discovery.py), so this proves Home Assistant accepts every component
with the device class, unit and attributes we intend.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.publish as mqtt_publish
import pytest
import yaml

from sleepenv.bed import discovery
from sleepenv.bed import entities as bed_entities
from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.discovery import Published, encode_state

from .harness import HomeAssistant
from .install import REPO_ROOT

ONSET = datetime(2026, 1, 5, 22, 47, tzinfo=UTC).timestamp()
NIGHT_START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC).timestamp()
DASHBOARD = REPO_ROOT / "automations" / "dashboards" / "sleepenv.yaml"
DASHBOARD_BED = "sensor.sleepenv_bedroom_"
LAST_NIGHT = {
    "movements_last_night": 140,
    "twitches_last_night": 31,
    "hypnic_jerks_last_night": 4,
    "waking_jerks_last_night": 1,
    "limb_movements_last_night": 52,
    "plm_last_night": 40,
    "rollovers_last_night": 13,
    "plm_index_last_night": 6.2,
}
COMPILE_PERIOD_SECONDS = 300
COMPILE_OFFSET_SECONDS = 10
RECORD_MARGIN_SECONDS = 5


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
        self.encodings = {
            e.topic_key: e.state.encoding
            for e in discovery.entities(self.bed)
            if e.state is not None and e.topic_key is not None
        }
        self.published_at = datetime.now(UTC)

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = True) -> None:
        """Publish one message (QoS 1)."""
        mqtt_publish.single(
            topic, payload, qos=1, retain=retain, hostname=self.broker.host, port=self.broker.port
        )

    def state(self, key: str, value: Published) -> None:
        """Publish one entity state as the service would."""
        mqtt = self.settings.mqtt
        payload = encode_state(value, self.encodings[key], NIGHT_START)
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
    # First thing: last night's figures, so that the last test finds them compiled.
    for key, value in LAST_NIGHT.items():
        b.state(key, value)
    b.published_at = datetime.now(UTC)
    enable_disabled_by_default(home_assistant, payload)
    yield b
    b.publish(topic, "")


def is_live(state: dict[str, Any] | None) -> bool:
    """A state the entity itself wrote (not the registry's placeholder until the reload)."""
    return state is not None and not state["attributes"].get("restored")


def enable_disabled_by_default(ha: HomeAssistant, payload: dict[str, Any]) -> None:
    """Enable the entities sleepenv ships disabled (as a user would), to test them too.

    Home Assistant reloads the MQTT entry about 30 s after such a change.
    """
    off = [c["unique_id"] for c in payload["cmps"].values() if c.get("enabled_by_default") is False]
    assert off, "nothing ships disabled any more: drop this step"
    entity_ids = []
    for unique_id in off:
        entry = ha.entity_by_unique_id(unique_id)
        assert entry is not None
        assert entry["disabled_by"] == "integration", unique_id
        ha.ws(
            {
                "type": "config/entity_registry/update",
                "entity_id": entry["entity_id"],
                "disabled_by": None,
            }
        )
        entity_ids.append(entry["entity_id"])
    ha.wait_for(
        lambda: all(is_live(ha.state(e)) for e in entity_ids),
        timeout=90,
        interval=1,
        message="enabled entities have a state after the reload",
    )


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
    bed.state("in_bed", value=True)
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
    assert last["attributes"]["state_class"] == "measurement"


def test_advisory_carries_its_pattern(home_assistant: HomeAssistant, bed: Bed) -> None:
    ha = home_assistant
    pattern = "PLM-like leg movements above 15/h on 5 of the last 7 nights"
    attrs: dict[str, Any] = {
        "patterns": [pattern],
        "nights_considered": 7,
        "note": "Informational only, not a diagnosis: worth discussing with a doctor.",
    }
    bed.state("worth_discussing_attributes", attrs)
    bed.state("worth_discussing", value=True)
    state = ha.wait_for_state(
        entity(ha, "worth_discussing"),
        lambda s: s["state"] == "on" and "patterns" in s["attributes"],
    )
    assert state["attributes"]["patterns"] == attrs["patterns"]
    assert "not a diagnosis" in state["attributes"]["note"]
    # The reason is a state of its own, so the device page shows it without ⋮ → Details.
    # Short, so the name beside it is not cut off on a phone; the sentences are attributes.
    reason = ha.wait_for_state(entity(ha, bed_entities.ADVISORY_REASON), "PLM-like movements")
    assert "not a diagnosis" in reason["attributes"]["note"]
    assert reason["attributes"]["patterns"] == [pattern]
    rising = "twitches and jerks rising: 40 a night lately, 12 before"
    bed.state("worth_discussing_attributes", {**attrs, "patterns": [rising, pattern]})
    ha.wait_for_state(entity(ha, bed_entities.ADVISORY_REASON), "Twitches rising +1")
    bed.state("worth_discussing_attributes", {**attrs, "patterns": []})
    ha.wait_for_state(entity(ha, bed_entities.ADVISORY_REASON), "No pattern")
    bed.state("worth_discussing_attributes", {**attrs, "patterns": [], "nights_considered": 2})
    ha.wait_for_state(entity(ha, bed_entities.ADVISORY_REASON), "Too few nights yet")


def test_event_entity_fires_the_class_with_peak_and_side(
    home_assistant: HomeAssistant, bed: Bed
) -> None:
    ha = home_assistant
    jerk = MovementEvent(ONSET + 60, ONSET + 61.2, 3.5, MovementClass.HYPNIC_JERK, strength=8.0)
    bed.publish(
        discovery.event_topic(bed.settings.mqtt, "main"), discovery.encode_event(jerk), retain=False
    )
    # A readable type; the machine value for automations; marked as a live label.
    state = ha.wait_for_state(
        entity(ha, "movement_event"), lambda s: s["attributes"].get("event_type") == "Hypnic jerk"
    )
    assert state["attributes"]["movement_class"] == "hypnic_jerk"
    assert state["attributes"]["is_provisional"] is True
    assert "final" in state["attributes"]["note"]
    assert state["attributes"]["peak"] == 3.5
    assert state["attributes"]["side"] == "both"
    assert "PLM-like movement" in state["attributes"]["event_types"]
    assert not ha.log_lines("sleepenv_main"), "Home Assistant complained about our discovery"


def trend_cards() -> list[dict[str, Any]]:
    """The shipped dashboard's statistics graphs over several nights."""
    config = yaml.safe_load(DASHBOARD.read_text())
    cards = [card for view in config["views"] for card in view["cards"]]
    return [c for c in cards if c["type"] == "statistics-graph" and c["days_to_show"] > 1]


def next_compile_after(moment: datetime) -> datetime:
    """When the recorder compiles the 5-minute period that contains `moment`."""
    period_end = (int(moment.timestamp()) // COMPILE_PERIOD_SECONDS + 1) * COMPILE_PERIOD_SECONDS
    return datetime.fromtimestamp(period_end + COMPILE_OFFSET_SECONDS, tz=UTC)


@pytest.mark.timeout(COMPILE_PERIOD_SECONDS + 240)
def test_trend_cards_have_statistics(home_assistant: HomeAssistant, bed: Bed) -> None:
    """Each entity of the dashboard's multi-night trend gets statistics of the type the card
    asks for (its `stat_types`), non-null after the recorder's compile: the card draws.

    The card reads hourly rows; the hourly compile runs from the same per-entity
    statistics as the 5-minute one checked here (see tests/ha/README.md for why no test
    waits for an hour boundary). Last in the module: it waits for the next compile.
    """
    ha = home_assistant
    cards = trend_cards()
    assert cards, "the dashboard has no multi-night trend"
    wanted: dict[str, set[str]] = {}  # entity_id here -> stat types its cards ask for
    for card in cards:
        for row in card["entities"]:
            dashboard_id = row["entity"] if isinstance(row, dict) else row
            assert dashboard_id.startswith(DASHBOARD_BED), dashboard_id
            key = dashboard_id.removeprefix(DASHBOARD_BED)
            assert key in LAST_NIGHT, f"{key}: publish a value for it above"
            wanted.setdefault(entity(ha, key), set()).update(card["stat_types"])
    compile_at = next_compile_after(bed.published_at + timedelta(seconds=RECORD_MARGIN_SECONDS))
    delay = (compile_at - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)
    types = tuple(sorted(set().union(*wanted.values())))
    start = bed.published_at - timedelta(minutes=10)

    def compiled() -> dict[str, list[Any]]:
        rows = ha.statistics_during_period(list(wanted), start, types=types)
        return rows if all(rows.get(e) for e in wanted) else {}

    rows = ha.wait_for(compiled, timeout=90, interval=2, message="statistics compiled")
    for entity_id, stat_types in wanted.items():
        state = ha.state(entity_id)
        assert state is not None
        for stat in stat_types:
            value = rows[entity_id][-1].get(stat)
            assert value is not None, f"{entity_id}: no {stat} (the card would stay blank)"
            assert value > 0, (entity_id, stat, value)
    listed = ha.ws({"type": "recorder/list_statistic_ids", "statistic_type": "mean"})
    assert set(wanted) <= {item["statistic_id"] for item in listed}
