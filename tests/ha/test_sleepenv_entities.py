"""sleepenv itself against a real Home Assistant: entities, a night, availability, statistics.

The real `Service` runs next to Home Assistant on the module's broker with two beds. The
checks iterate over the discovery configs sleepenv actually left on the broker
(`RetainedDiscovery`), so entities added later (classification, guidance) are covered
without edits; a few explicit expectations pin down the entities that exist today. Tests
run in file order and share one Home Assistant: the night is played early so that the
statistics test (last) waits for the recorder's 5-minute compile only once.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import paho.mqtt.client as mqtt
import paho.mqtt.publish as mqtt_publish
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.bed import discovery
from sleepenv.bed.core.states import UNSET
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.discovery import Encoding, Published, encode_state
from sleepenv.sim.night import generate_night

from .harness import JSON, HomeAssistant
from .sleepenv_service import (
    Component,
    RetainedDiscovery,
    ServiceThread,
    play_frames,
    registry_by_unique_id,
    version_tuple,
    wait_admitted,
    wait_registered,
)

BED, GUEST = "bedroom", "guest_room"
ENVELOPE_TOPIC = "bedsensors/bedroom/envelope"
SENSOR_STATUS_TOPIC = "bedsensors/bedroom/status"
SPEED = 240.0  # one simulated hour in 15 s
NIGHT_HOURS = 1.0
PROFILE, SEED = "restless_onset", 2
COMPILE_PERIOD_SECONDS = 300
MAX_NAME_CHARS = 30
# The logbook (Settings → Activity) is part of default_config; this instance loads it alone.
HA_EXTRA_YAML = "logbook:\n"
LOGBOOK_BOUND = 20  # logbook entries of the entities enabled by default, for one night
COMPILE_OFFSET_SECONDS = 10
RECORD_MARGIN_SECONDS = 5

# An older layout's leftovers: a per-entity config of a removed key, and a removed bed.
LEGACY_TOPIC = "homeassistant/sensor/sleepenv_bedroom/movements_total/config"
LEGACY_CONFIG = {
    "name": "Movements total",
    "unique_id": "sleepenv_bedroom_movements_total",
    "state_topic": "sleepenv/bedroom/movements_total",
    "availability_topic": "sleepenv/status",
    "state_class": "total_increasing",
}
OLD_BED_TOPIC = "homeassistant/device/sleepenv_attic/config"
OLD_BED_IDS = ["sleepenv_attic"]
OLD_BED_CONFIG = {
    "dev": {"ids": OLD_BED_IDS, "name": "Attic", "mf": "sleepenv"},
    "o": {"name": "sleepenv", "sw": "0.0.1"},
    "avty": [{"t": "sleepenv/status"}],
    "cmps": {
        "movements_tonight": {
            "p": "sensor",
            "name": "Movements tonight",
            "unique_id": "sleepenv_attic_movements_tonight",
            "state_topic": "sleepenv/attic/movements_tonight",
        }
    },
}
# Counters whose long-term statistics keep a sum: the total and the diagnostics only grow
# (total_increasing); the per-class counts follow the provisional classification and may
# fall, so they are `total` with the night's start as last_reset.
SUM_STATE_CLASSES = ("total_increasing", "total")
LEGACY_UNIQUE_IDS = ("sleepenv_bedroom_movements_total", "sleepenv_attic_movements_tonight")

# What the entities that exist today must look like (unique_id suffix -> expectations).
EXPECTED: dict[str, dict[str, str | None]] = {
    "movements_tonight": {"p": "sensor", "state_class": "total_increasing", "category": None},
    "twitches_tonight": {"p": "sensor", "state_class": "total", "category": None},
    "movements_last_night": {"p": "sensor", "state_class": "measurement", "category": None},
    "movements_last_hour": {"p": "sensor", "state_class": "measurement", "category": None},
    "last_movement": {"p": "sensor", "device_class": "timestamp", "disabled_by": "integration"},
    "movement": {"p": "binary_sensor", "device_class": "motion", "disabled_by": "integration"},
    "movement_event": {"p": "event", "device_class": None},
    "frames_received": {"p": "sensor", "category": "diagnostic"},
    "sensor_both_online": {"p": "binary_sensor", "device_class": "connectivity"},
}


def night_start() -> float:
    """Yesterday 22:30 UTC: inside the default night window of a bed on UTC."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return yesterday.replace(hour=22, minute=30, second=0, microsecond=0).timestamp()


def sleepenv_settings(broker: MosquittoProcess, data_dir: Path) -> Settings:
    """Two beds (one device each): a fine sensor with a status topic, and a Zigbee one."""
    return Settings(
        mqtt={"host": broker.host, "port": broker.port, "client_id": "sleepenv-ha-test"},
        beds=[
            {
                "id": BED,
                "name": "Bedroom",
                "timezone": "UTC",
                "sensors": [
                    {
                        "kind": "envelope",
                        "topic": ENVELOPE_TOPIC,
                        "status_topic": SENSOR_STATUS_TOPIC,
                    }
                ],
            },
            {
                "id": GUEST,
                "name": "Guest room",
                "timezone": "UTC",
                "sensors": [{"kind": "zigbee_vibration", "topic": "zigbee2mqtt/guest_bed"}],
            },
        ],
        storage={"data_dir": data_dir},
        **guidance_config(),
    )


HAS_GUIDANCE = "guidance" in Settings.model_fields


def guidance_config() -> dict[str, Any]:
    """Guidance for the bedroom, where this sleepenv has it (no devices: only its entities)."""
    if not HAS_GUIDANCE:
        return {}
    return {"guidance": {"bedrooms": [{"id": BED, "name": "Bedroom", "timezone": "UTC"}]}}


def publish(broker: MosquittoProcess, topic: str, payload: Any, *, retain: bool = True) -> None:
    """One QoS 1 message on the module's broker."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    mqtt_publish.single(topic, text, qos=1, retain=retain, hostname=broker.host, port=broker.port)


@dataclass
class Sleepenv:
    """The running sleepenv of this module, restartable, plus what the tests recorded."""

    settings: Settings
    clock: ScaledClock
    broker: MosquittoProcess
    thread: ServiceThread
    night_published_at: list[datetime] = field(default_factory=list)
    night_started_at: list[datetime] = field(default_factory=list)
    event_changes: list[JSON] = field(default_factory=list)

    def restart(self) -> None:
        """A new Service on the same data dir and clock (it restores from its store)."""
        self.thread = ServiceThread(self.settings, self.clock).start()

    def components(self) -> list[Component]:
        """Every component sleepenv's devices have on the broker now; not the removed
        bed's leftover config (`OLD_BED_TOPIC`), which start-up clears a moment later and
        which would never register (test_older_layout_is_removed checks that it goes)."""
        return [
            c for c in RetainedDiscovery(self.broker).components() if c.device["ids"] != OLD_BED_IDS
        ]


@pytest.fixture(scope="module")
def sleepenv(
    home_assistant: HomeAssistant,
    ha_broker: MosquittoProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sleepenv]:
    """Legacy discovery in Home Assistant first, then the real sleepenv on the same broker."""
    publish(ha_broker, "sleepenv/status", "online")
    publish(ha_broker, LEGACY_TOPIC, LEGACY_CONFIG)
    publish(ha_broker, OLD_BED_TOPIC, OLD_BED_CONFIG)
    home_assistant.wait_for(
        lambda: all(home_assistant.entity_by_unique_id(u) for u in LEGACY_UNIQUE_IDS),
        message="the legacy entities exist before sleepenv starts",
    )
    settings = sleepenv_settings(ha_broker, tmp_path_factory.mktemp("sleepenv-data"))
    clock = ScaledClock(night_start(), SPEED)
    clock.set_speed(1.0)  # real time until the night is played
    thread = ServiceThread(settings, clock).start()
    running = Sleepenv(settings, clock, ha_broker, thread)
    publish(ha_broker, SENSOR_STATUS_TOPIC, "online")
    try:
        yield running
    finally:
        running.thread.stop()


def ha_state_of(value: Published, encoding: Encoding) -> str:
    """How Home Assistant shows a state sleepenv publishes with `encoding`."""
    if value is None:
        return "unknown"
    if encoding is Encoding.BINARY:
        return "on" if value else "off"
    if encoding is Encoding.NIGHTLY_COUNT:
        return str(value)  # the JSON's `count`, through the value_template
    return encode_state(value, encoding).decode()


def expected_states(ha: HomeAssistant, running: Sleepenv) -> dict[str, str]:
    """entity_id -> the state sleepenv publishes now, for every bed entity with a state."""
    entries = registry_by_unique_id(ha)
    expected: dict[str, str] = {}
    for bed in running.settings.beds:
        states = running.thread.states()[bed.id]
        for entity in discovery.entities(bed):
            # Not one with a state topic of its own (the advisory's reason reads JSON).
            if entity.state is None or entity.topic_key != entity.key:
                continue
            value = entity.state.read(states)
            if value is UNSET:  # not known yet: nothing published
                continue
            entry = entries[f"sleepenv_{bed.id}_{entity.key}"]
            if entry.get("disabled_by"):  # shipped disabled: no state in Home Assistant
                continue
            expected[entry["entity_id"]] = ha_state_of(value, entity.state.encoding)
    return expected


def wait_states_match(ha: HomeAssistant, running: Sleepenv, timeout: float = 30.0) -> None:
    """Wait until Home Assistant shows exactly what sleepenv publishes; show the diff."""
    last: dict[str, tuple[str, str | None]] = {}

    def matches() -> bool:
        last.clear()
        for entity_id, want in expected_states(ha, running).items():
            state = ha.state(entity_id)
            got = None if state is None else state["state"]
            if got != want:
                last[entity_id] = (want, got)
        return not last

    try:
        ha.wait_for(matches, timeout=timeout, interval=0.5, message="states match sleepenv")
    except TimeoutError:
        pytest.fail(f"Home Assistant differs from sleepenv (entity: (sleepenv, HA)): {last}")


# ---------------------------------------------------------------- start-up and layout


def test_older_layout_is_removed(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """Retained discovery of an older layout and of a removed bed is cleared at start-up."""
    home_assistant.wait_for(
        lambda: not any(home_assistant.entity_by_unique_id(u) for u in LEGACY_UNIQUE_IDS),
        message="legacy entities removed",
    )
    retained = RetainedDiscovery(sleepenv.broker).configs
    assert LEGACY_TOPIC not in retained
    assert OLD_BED_TOPIC not in retained
    devices = home_assistant.device_registry()
    assert not [d for d in devices if ["mqtt", "sleepenv_attic"] in d["identifiers"]]


def test_night_is_played(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """A simulated hour of sleep goes through sleepenv at 240x (states checked below)."""
    running = sleepenv
    night = generate_night(SEED, PROFILE, start=running.clock.now(), hours=NIGHT_HOURS)
    entry = home_assistant.entity_by_unique_id(f"sleepenv_{BED}_movement_event")
    assert entry is not None
    # Shipped disabled (one change per movement); a user who wants it enables it.
    assert entry["disabled_by"] == "integration"
    home_assistant.ws(
        {
            "type": "config/entity_registry/update",
            "entity_id": entry["entity_id"],
            "disabled_by": None,
        }
    )
    home_assistant.wait_for(  # Home Assistant reloads the MQTT entry ~30 s later
        lambda: (
            (state := home_assistant.state(entry["entity_id"])) is not None
            and not state["attributes"].get("restored")
        ),  # the registry's placeholder
        timeout=90,
        interval=1,
        message="the enabled event entity has a state",
    )
    wait_states_match(home_assistant, running)
    running.night_started_at.append(datetime.now(UTC))
    changes = home_assistant.subscribe_events("state_changed")
    running.event_changes = changes

    async def play() -> float:
        service = running.thread.service
        assert service is not None
        running.clock.set_speed(SPEED)
        try:
            end = await play_frames(running.settings, ENVELOPE_TOPIC, night.frames(), running.clock)
            await wait_admitted(service, BED, end)
        finally:
            # Back to real time, so the night does not run into its 12:00 end meanwhile.
            running.clock.set_speed(1.0)
        return end

    running.thread.call(play)
    running.night_published_at.append(datetime.now(UTC))
    assert running.thread.events, "sleepenv detected no movement in a restless hour"


def test_every_entity_under_its_bed(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """Each bed is one device holding exactly sleepenv's components, as configured."""
    components = sleepenv.components()
    device_ids = {str(c.device["ids"][0]) for c in components}
    expected = {f"sleepenv_{b.id}" for b in sleepenv.settings.beds}
    if HAS_GUIDANCE:  # the clean-up of older layouts must leave every current device alone
        expected.add(f"sleepenv_guidance_{BED}")
    assert expected <= device_ids
    entries = wait_registered(home_assistant, components)
    devices = {d["id"]: d for d in home_assistant.device_registry()}
    by_device: dict[str, set[str]] = {}
    for c in components:
        entry = entries[c.unique_id]
        device = devices[entry["device_id"]]
        assert ["mqtt", c.device["ids"][0]] in device["identifiers"], c.unique_id
        assert device["name"] == c.device["name"]
        assert device["manufacturer"] == "sleepenv"
        by_device.setdefault(entry["device_id"], set()).add(c.unique_id)
        check_entity(home_assistant, entry, c)
    assert len(by_device) == len(device_ids), "one Home Assistant device per sleepenv device"
    for device_id, unique_ids in by_device.items():
        in_ha = {e["unique_id"] for e in entries.values() if e["device_id"] == device_id}
        assert in_ha == unique_ids, f"left over or missing on {devices[device_id]['name']}"


def check_entity(ha: HomeAssistant, entry: JSON, c: Component) -> None:
    """Platform, device class, state class, unit, category and entity id of one entity."""
    eid = entry["entity_id"]
    assert eid.split(".")[0] == c.platform, c.unique_id
    full = ha.entity_registry_entry(eid)
    if full["disabled_by"] is not None:
        assert full["disabled_by"] == "integration", eid
        assert c.config.get("enabled_by_default") is False, eid
        return  # no state to look at
    assert full["original_device_class"] == c.config.get("device_class"), eid
    assert full["entity_category"] == c.config.get("entity_category"), eid
    capabilities = full.get("capabilities") or {}
    assert capabilities.get("state_class") == c.config.get("state_class"), eid
    if c.platform == "event":
        assert capabilities["event_types"] == c.config["event_types"], eid
    state = ha.state(eid)
    assert state is not None, eid
    assert state["attributes"].get("unit_of_measurement") == c.config.get("unit_of_measurement"), (
        eid
    )
    # `measurement` only for the rolling rate (with a unit, so it draws a line) and for last
    # night's figures (snapshots: the trend draws their hourly mean).
    if c.config.get("state_class") == "measurement":
        assert "unit_of_measurement" in c.config or c.key.endswith("_last_night"), eid
    if version_tuple(ha.version) >= (2025, 10):
        assert eid == c.config["default_entity_id"]


def test_current_entities_as_intended(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """The entities that exist today, explicitly (two beds, their differences)."""
    entries = wait_registered(home_assistant, sleepenv.components())
    for key, want in EXPECTED.items():
        entry = entries[f"sleepenv_{BED}_{key}"]
        full = home_assistant.entity_registry_entry(entry["entity_id"])
        assert entry["entity_id"].split(".")[0] == want["p"], key
        if "device_class" in want:
            assert full["original_device_class"] == want["device_class"], key
        if "state_class" in want:
            state_class = (full.get("capabilities") or {}).get("state_class")
            assert state_class == want["state_class"], key
        if "category" in want:
            assert full["entity_category"] == want["category"], key
        if "disabled_by" in want:
            assert entry["disabled_by"] == want["disabled_by"], key
    assert f"sleepenv_{GUEST}_movements_tonight" in entries
    assert not [u for u in entries if u.startswith(f"sleepenv_{GUEST}_sensor_")]
    event = entries[f"sleepenv_{BED}_movement_event"]
    types = home_assistant.entity_registry_entry(event["entity_id"])["capabilities"]["event_types"]
    assert {"Twitch", "Rollover", "Hypnic jerk", "PLM-like movement"} <= set(types)
    # The registry entry comes with discovery; the attributes with their own topic, a
    # moment later on a loaded machine: wait for them (it fails if they never come).
    guest_id = entries[f"sleepenv_{GUEST}_movements_tonight"]["entity_id"]

    def guest_attributes() -> JSON:
        """The guest's attributes once they hold the flag, else nothing."""
        state = home_assistant.state(guest_id)
        attributes: JSON = state["attributes"] if state is not None else {}
        return attributes if "counts_are_lower_bounds" in attributes else {}

    attributes = home_assistant.wait_for(
        guest_attributes, 30, message=f"{guest_id} with its attributes"
    )
    assert attributes["counts_are_lower_bounds"] is True


def test_names_read_well(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """Friendly names are "<bed> <entity>", with no repetition, ids or odd spacing."""
    components = sleepenv.components()
    entries = wait_registered(home_assistant, components)
    seen: dict[tuple[str, str], str] = {}  # two entities of a device, one name
    for c in components:
        device_name = str(c.device["name"])
        eid = entries[c.unique_id]["entity_id"]
        state = home_assistant.state(eid)
        if state is None:  # shipped disabled: the name Home Assistant would show
            full = home_assistant.entity_registry_entry(eid)
            assert full["disabled_by"] == "integration", eid
            friendly = f"{device_name} {full['original_name']}"
        else:
            friendly = state["attributes"]["friendly_name"]
        if c.config["name"] is None:  # the device's main feature: named like the device
            assert friendly == device_name, c.unique_id
            continue
        name = str(c.config["name"])
        assert friendly == f"{device_name} {name}", c.unique_id
        assert not name.lower().startswith(device_name.lower()), f"repeats the device: {name}"
        assert re.fullmatch(r"[A-Z0-9][A-Za-z0-9\-']*( [A-Za-z0-9\-']+)*", name), f"odd: {name!r}"
        device_words, name_words = device_name.lower().split(), name.lower().split()
        assert device_words[-1] != name_words[0], f"repeats a word: {friendly!r}"
        assert "_" not in friendly
        assert "  " not in friendly
        # Fits an entity row of a phone (412 px wide) next to its state.
        assert len(name) <= MAX_NAME_CHARS, f"too long: {name!r}"
        # Across platforms too: a binary sensor and an event both named "Movement" could not
        # be told apart in pickers, lists and the logbook.
        seen_key = (c.device_topic, friendly.lower())
        assert seen_key not in seen, f"two entities named {friendly!r}: {seen.get(seen_key)}"
        seen[seen_key] = c.key
    problems = home_assistant.log_lines("mqtt")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the night in Home Assistant


def test_states_match_sleepenv_summary(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """After the night, every state in Home Assistant equals what sleepenv reports."""
    wait_states_match(home_assistant, sleepenv)
    summary = sleepenv.thread.summary()[BED]
    entries = registry_by_unique_id(home_assistant)

    def ha_value(key: str) -> str:
        state = home_assistant.state(entries[f"sleepenv_{BED}_{key}"]["entity_id"])
        assert state is not None
        return str(state["state"])

    assert summary.total_movements > 0
    assert ha_value("movements_tonight") == str(summary.total_movements)
    assert ha_value("twitches_tonight") == str(summary.counts.get("twitch", 0))
    assert ha_value("rollovers_tonight") == str(summary.counts.get("rollover", 0))
    assert ha_value("sensor_both_online") == "on"
    assert int(ha_value("frames_received")) >= NIGHT_HOURS * 3600 * 0.99


def test_event_entity_fired_each_movement(
    home_assistant: HomeAssistant, sleepenv: Sleepenv
) -> None:
    """The event entity fired once per detected movement, with its class as event type."""
    entry = home_assistant.entity_by_unique_id(f"sleepenv_{BED}_movement_event")
    assert entry is not None
    eid = entry["entity_id"]
    detected = Counter(e.cls.value for bed, e in sleepenv.thread.events if bed == BED)

    def fired() -> Counter[str]:
        return Counter(
            change["data"]["new_state"]["attributes"]["movement_class"]
            for change in sleepenv.event_changes
            if change["data"]["entity_id"] == eid
            and change["data"]["new_state"]["state"] != "unavailable"
        )

    try:
        home_assistant.wait_for(lambda: fired() == detected, message="every event fired")
    except TimeoutError:
        assert fired() == detected
    last = next(
        c["data"]["new_state"]
        for c in reversed(sleepenv.event_changes)
        if c["data"]["entity_id"] == eid
    )
    assert last["attributes"]["duration_seconds"] >= 0
    assert last["attributes"]["sensor"]
    assert last["attributes"]["event_type"] in last["attributes"]["event_types"]
    assert "_" not in last["attributes"]["event_type"]  # readable, e.g. "Limb movement"
    datetime.fromisoformat(last["state"])


def test_logbook_stays_readable(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """The night leaves a few logbook entries, not one or more per movement: the rolling
    count has a state class and unit, the per-movement entities ship disabled."""
    entries = registry_by_unique_id(home_assistant)
    bed_entities = {
        e["entity_id"]: unique_id.removeprefix(f"sleepenv_{BED}_")
        for unique_id, e in entries.items()
        if unique_id.startswith(f"sleepenv_{BED}_")
    }
    start = sleepenv.night_started_at[0].isoformat()
    end = datetime.now(UTC).isoformat()
    logbook = home_assistant.rest("GET", f"/api/logbook/{quote(start)}?end_time={quote(end)}")
    per_key = Counter(
        bed_entities[e["entity_id"]] for e in logbook if e.get("entity_id") in bed_entities
    )
    movements = sum(1 for bed, _ in sleepenv.thread.events if bed == BED)
    assert per_key["movement_event"] > 0, "the enabled event entity logs: the query works"
    for key in ("movements_last_hour", "last_movement", "movement", "movements_tonight"):
        assert per_key[key] == 0, (key, per_key)
    shipped = sum(n for key, n in per_key.items() if key != "movement_event")
    assert shipped <= LOGBOOK_BOUND < movements, (per_key, movements)


def test_availability_follows_sleepenv(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """Stopping sleepenv makes every entity unavailable; a restart brings them all back."""
    components = sleepenv.components()
    entries = wait_registered(home_assistant, components)
    entity_ids = [
        entries[c.unique_id]["entity_id"]
        for c in components
        if not entries[c.unique_id]["disabled_by"]  # shipped disabled: no state
    ]
    assert len(entity_ids) > len(components) / 2
    sleepenv.thread.stop()
    for eid in entity_ids:
        home_assistant.wait_for_state(eid, "unavailable")
    sleepenv.restart()
    wait_states_match(home_assistant, sleepenv)
    for eid in entity_ids:
        home_assistant.wait_for_state(eid, lambda s: s["state"] != "unavailable")


def test_home_assistant_restart(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """After a Home Assistant restart everything is back, sleepenv untouched (it saw the
    birth message and sent discovery and states again)."""
    components = sleepenv.components()
    entries = wait_registered(home_assistant, components)
    before = {c.unique_id: entries[c.unique_id]["entity_id"] for c in components}
    service = sleepenv.thread.service
    assert service is not None
    answered = service.rediscoveries
    home_assistant.restart()
    after = wait_registered(home_assistant, components)
    assert {u: after[u]["entity_id"] for u in before} == before
    wait_states_match(home_assistant, sleepenv)
    for unique_id, eid in before.items():
        if not after[unique_id]["disabled_by"]:
            home_assistant.wait_for_state(eid, lambda s: s["state"] != "unavailable")
    problems = home_assistant.log_lines("mqtt") + home_assistant.log_lines(levels=("ERROR",))
    assert not problems, "\n".join(problems)
    # It saw the birth message and sent discovery and states again (its log line about
    # that is rate-limited, so the count is checked rather than the log).
    home_assistant.wait_for(lambda: service.rediscoveries > answered)


# ---------------------------------------------------------------- controls


def test_controls_reach_sleepenv(home_assistant: HomeAssistant, sleepenv: Sleepenv) -> None:
    """Every switch sleepenv offers round-trips through sleepenv (its state only changes when
    sleepenv publishes it back); every button press reaches sleepenv's command topic. What
    the guidance buttons do is checked in test_automations.py."""
    components = sleepenv.components()
    controls = [c for c in components if "command_topic" in c.config]
    if not controls:
        pytest.skip("this sleepenv offers no controls (switch, button, number, select)")
    entries = wait_registered(home_assistant, components)
    for c in controls:
        eid = entries[c.unique_id]["entity_id"]
        if c.platform == "switch":
            assert "state_topic" in c.config, f"{eid} would be optimistic"
            current = home_assistant.wait_for_state(eid, lambda s: s["state"] in ("on", "off"))
            flipped = "off" if current["state"] == "on" else "on"
            for target in (flipped, current["state"]):
                home_assistant.call_service("switch", f"turn_{target}", {"entity_id": eid})
                home_assistant.wait_for_state(eid, target)
        elif c.platform == "button":
            with CommandWatch(sleepenv.broker, c.config["command_topic"]) as seen:
                home_assistant.call_service("button", "press", {"entity_id": eid})
                home_assistant.wait_for(lambda: seen, message=f"{eid} pressed")
            assert seen[-1] == c.config.get("payload_press", "PRESS")
        else:
            pytest.fail(f"no check yet for a {c.platform} control ({eid}): add one here")
    problems = home_assistant.log_lines("mqtt")
    assert not problems, "\n".join(problems)


class CommandWatch:
    """Payloads on one topic while the with-block runs (paho in a thread)."""

    def __init__(self, broker: MosquittoProcess, topic: str) -> None:
        """Remember where to listen."""
        self.broker, self.topic = broker, topic
        self.payloads: list[str] = []
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)

    def __enter__(self) -> list[str]:
        """Subscribe; return the list that fills up."""
        subscribed = threading.Event()
        self._client.on_connect = lambda c, *_: c.subscribe(self.topic, qos=1)
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.on_message = lambda _c, _u, m: self.payloads.append(m.payload.decode())
        self._client.connect(self.broker.host, self.broker.port)
        self._client.loop_start()
        assert subscribed.wait(10)
        return self.payloads

    def __exit__(self, *exc: object) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


# ---------------------------------------------------------------- long-term statistics


def next_compile_after(moment: datetime) -> datetime:
    """When the recorder compiles the 5-minute period that contains `moment`."""
    period_end = (int(moment.timestamp()) // COMPILE_PERIOD_SECONDS + 1) * COMPILE_PERIOD_SECONDS
    return datetime.fromtimestamp(period_end + COMPILE_OFFSET_SECONDS, tz=UTC)


def has_fallen(changes: list[JSON], entity_id: str) -> bool:
    """True when a numeric state of `entity_id` in the recorded changes went down."""
    values = [
        float(c["data"]["new_state"]["state"])
        for c in changes
        if c["data"]["entity_id"] == entity_id
        and c["data"]["new_state"] is not None
        and c["data"]["new_state"]["state"] not in ("unknown", "unavailable")
    ]
    return any(b < a for a, b in itertools.pairwise(values))


@pytest.mark.timeout(COMPILE_PERIOD_SECONDS + 240)
def test_counters_have_long_term_statistics(
    home_assistant: HomeAssistant, sleepenv: Sleepenv
) -> None:
    """Every counter of the bed gets statistics whose sum is its count: the total and the
    diagnostics, and the per-class counts, whose relabelled falls (limb movements becoming
    a PLM series) are booked as corrections thanks to last_reset, not as meter resets.

    Waits for the recorder's next 5-minute compile after the night (see tests/ha/README.md).
    """
    assert sleepenv.night_published_at, "test_night_is_played must run first"
    published_at = sleepenv.night_published_at[0]
    entries = registry_by_unique_id(home_assistant)
    counters = {
        entries[c.unique_id]["entity_id"]: c
        for c in sleepenv.components()
        if c.config.get("state_class") in SUM_STATE_CLASSES
        and c.device["ids"][0] == f"sleepenv_{BED}"
    }
    keys = {c.key for c in counters.values()}
    assert {"movements_tonight", "plm_tonight", "limb_movements_tonight"} <= keys
    finals = {}
    for eid in counters:
        state = home_assistant.state(eid)
        assert state is not None
        finals[eid] = float(state["state"])
    # A state published just before a period ends may be recorded just after it: aim at
    # the compile of the period that surely holds it.
    compile_at = next_compile_after(published_at + timedelta(seconds=RECORD_MARGIN_SECONDS))
    delay = (compile_at - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)
    start = published_at - timedelta(minutes=15)

    def compiled() -> dict[str, list[JSON]]:
        rows = home_assistant.statistics_during_period(list(counters), start)
        done = all(rows.get(e) and rows[e][-1].get("state") == finals[e] for e in counters)
        return rows if done else {}

    rows = home_assistant.wait_for(compiled, timeout=90, interval=2, message="statistics")
    fell = [counters[e].key for e in counters if has_fallen(sleepenv.event_changes, e)]
    assert fell, "no count fell during this night: the test no longer shows a correction"
    night_began = datetime.fromtimestamp(night_start(), UTC).replace(hour=18, minute=0)
    for eid, c in counters.items():
        if c.config.get("state_class") == "total":
            reset = home_assistant.state(eid)["attributes"]["last_reset"]  # type: ignore[index]
            assert datetime.fromisoformat(reset) == night_began, eid
    # Each started at 0 on this fresh instance (the night's start is its last_reset), so
    # the sum is the count.
    sums = {counters[e].key: (rows[e][-1]["sum"], finals[e]) for e in counters}
    drifted = {k: v for k, v in sums.items() if v[0] != v[1]}
    assert not drifted, f"(sum, count) of counters whose sum drifted: {drifted}"
    ids = home_assistant.ws({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})
    assert set(counters) <= {item["statistic_id"] for item in ids}
