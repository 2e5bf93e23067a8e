"""sleepenv's Home Assistant content (automations/) and HA API calls, on a real instance.

Every blueprint in automations/blueprints is instantiated in this module's configuration
(`HA_FILES` + `automation: use_blueprint`), checked with `hass --script check_config` and
in the running instance; the dashboard is loaded as a YAML dashboard and every entity id
it references must exist once sleepenv's discovery is in. The same instance has stand-ins
for the devices sleepenv drives through `homeassistant-api` (an MQTT light and thermostat,
a universal media player, the built-in persistent-notification notify service).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from homeassistant_api import Client
from paho.mqtt import publish
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.clock import RealClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess

from .harness import JSON, HomeAssistant
from .install import REPO_ROOT
from .sleepenv_service import RetainedDiscovery, ServiceThread, version_tuple, wait_registered

AUTOMATIONS = REPO_ROOT / "automations"
BLUEPRINTS = sorted((AUTOMATIONS / "blueprints").glob("*.yaml"))
DASHBOARD = AUTOMATIONS / "dashboards" / "sleepenv.yaml"
DASHBOARD_URL = "sleepenv-sleep"
# The documented bed id the dashboard and the example automations are written for.
BED = "bedroom"
WIND_DOWN_BUTTON = "button.sleepenv_guidance_bedroom_start_wind_down"
SENSOR_STATUS_TOPIC = "bedsensors/bedroom/status"
GUIDANCE_SWITCH = "switch.sleepenv_guidance_bedroom_guidance"

HA_FILES = {f"blueprints/automation/sleepenv/{p.name}": p.read_text() for p in BLUEPRINTS} | {
    "dashboards/sleepenv.yaml": DASHBOARD.read_text()
}

# One instance of each blueprint, with the inputs a user would pick.
BLUEPRINT_INPUTS: dict[str, dict[str, Any]] = {
    "sleepenv_twitches_above_usual.yaml": {
        "last_night": f"sensor.sleepenv_{BED}_twitches_last_night",
        "usual": "sensor.usual_movements_test",
        "factor": 1.5,
        "minimum": 10,
    },
    "sleepenv_wind_down_trigger.yaml": {
        "wind_down_button": WIND_DOWN_BUTTON,
        "triggers": ["input_button.good_night", "scene.good_night"],
    },
    "sleepenv_pause_for_guests.yaml": {
        "guests": "input_boolean.guests_here",
        "guidance": GUIDANCE_SWITCH,
        "resume_after": {"minutes": 10},
    },
}


def automation_yaml() -> list[dict[str, Any]]:
    """`automation:` entries: one per blueprint file (a blueprint without inputs here fails)."""
    entries = []
    for path in BLUEPRINTS:
        entries.append(
            {
                "id": f"test_{path.stem}",
                "alias": f"Test {path.stem}",
                "use_blueprint": {
                    "path": f"sleepenv/{path.name}",
                    "input": BLUEPRINT_INPUTS[path.name],
                },
            }
        )
    return entries


HA_EXTRA_YAML = """\
input_boolean:
  guests_here:
    name: Guests here
  bedroom_tv_power:
    name: Bedroom TV power
    initial: true

input_number:
  usual_movements:
    name: Usual movements
    min: 0
    max: 500
    initial: 20

template:
  - sensor:
      - name: Usual movements test
        unique_id: usual_movements_test
        state: "{{ states('input_number.usual_movements') }}"

input_button:
  good_night:
    name: Good night

scene:
  - id: good_night
    name: Good night
    entities:
      input_boolean.bedroom_tv_power: "off"

sensor:
  - platform: statistics
    name: Usual movements per night
    unique_id: usual_movements_per_night
    entity_id: sensor.sleepenv_bedroom_twitches_last_night
    state_characteristic: mean
    max_age:
      days: 7
    sampling_size: 7

lovelace:
  dashboards:
    sleepenv-sleep:
      mode: yaml
      title: Sleep
      icon: mdi:bed
      show_in_sidebar: true
      filename: dashboards/sleepenv.yaml

# Stand-ins for the devices sleepenv's guidance drives through homeassistant-api.
mqtt:
  light:
    - name: Bedside lamp
      unique_id: test_bedside_lamp
      schema: json
      command_topic: test/bedside_lamp/set
      brightness: true
      supported_color_modes:
        - color_temp
    - name: Reading lamp
      unique_id: test_reading_lamp
      schema: json
      command_topic: test/reading_lamp/set
      brightness: true
      supported_color_modes:
        - color_temp
  climate:
    - name: Bedroom thermostat
      unique_id: test_bedroom_thermostat
      modes:
        - "off"
        - heat
      mode_command_topic: test/thermostat/mode/set
      temperature_command_topic: test/thermostat/temperature/set
      temperature_unit: C
      precision: 0.5

# Loads notify (and its notify.persistent_notification service) on every release: 2025.4
# only sets it up when something asks for it.
notify:

media_player:
  - platform: universal
    name: Bedroom TV
    commands:
      turn_on:
        action: input_boolean.turn_on
        target:
          entity_id: input_boolean.bedroom_tv_power
      turn_off:
        action: input_boolean.turn_off
        target:
          entity_id: input_boolean.bedroom_tv_power
    attributes:
      state: input_boolean.bedroom_tv_power

""" + yaml.safe_dump({"automation": automation_yaml()}, sort_keys=False)


HAS_GUIDANCE = "guidance" in Settings.model_fields


def midday_zone() -> str:
    """A fixed-offset zone where it is about noon now: guidance is in its day phase."""
    offset = 12 - datetime.now(UTC).hour  # -11..12 hours east of UTC
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"  # Etc/GMT-5 is UTC+5


def guidance_config(ha: HomeAssistant) -> dict[str, Any]:
    """A bedroom whose devices are this Home Assistant's stand-ins, driven over its API."""
    devices = [
        ("lamp", "light", "light.bedside_lamp"),
        ("thermostat", "climate", "climate.bedroom_thermostat"),
        ("tv", "screen", "media_player.bedroom_tv"),
        ("phone", "notify", "notify.persistent_notification"),
    ]
    return {
        "caffeine_cutoff": None,
        "homeassistant": {"url": f"{ha.base_url}/api", "token": ha.token, "poll_seconds": 2},
        "bedrooms": [
            {
                "id": BED,
                "name": "Bedroom",
                "timezone": midday_zone(),
                "bed": BED,
                "devices": [
                    {"id": i, "role": role, "backend": "homeassistant", "entity_id": eid}
                    for i, role, eid in devices
                ],
            }
        ],
    }


def sleepenv_settings(ha: HomeAssistant, broker: MosquittoProcess, data_dir: Path) -> Settings:
    """The documented single bed `bedroom` (and, where sleepenv has it, its guidance)."""
    extra: dict[str, Any] = {"guidance": guidance_config(ha)} if HAS_GUIDANCE else {}
    return Settings(
        mqtt={"host": broker.host, "port": broker.port, "client_id": "sleepenv-ha-content"},
        beds=[
            {
                "id": BED,
                "name": "Bedroom",
                "timezone": "UTC",
                "sensors": [
                    {
                        "kind": "envelope",
                        "topic": "bedsensors/bedroom/envelope",
                        "status_topic": SENSOR_STATUS_TOPIC,
                    }
                ],
            }
        ],
        storage={"data_dir": data_dir},
        **extra,
    )


@pytest.fixture(scope="module")
def sleepenv(
    home_assistant: HomeAssistant,
    ha_broker: MosquittoProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceThread]:
    """The real sleepenv on the module's broker, its entities registered in Home Assistant."""
    # The bedside lamp is on at full brightness before guidance first looks: guidance only
    # ever dims a light, and treats a change it did not make as a manual override.
    home_assistant.call_service(
        "light", "turn_on", {"entity_id": "light.bedside_lamp", "brightness_pct": 100}
    )
    home_assistant.wait_for_state("light.bedside_lamp", "on")
    settings = sleepenv_settings(home_assistant, ha_broker, tmp_path_factory.mktemp("data"))
    thread = ServiceThread(settings, RealClock()).start()
    publish.single(
        SENSOR_STATUS_TOPIC,
        "online",
        qos=1,
        retain=True,
        hostname=ha_broker.host,
        port=ha_broker.port,
    )
    try:
        wait_registered(home_assistant, RetainedDiscovery(ha_broker).components())
        yield thread
    finally:
        thread.stop()


# ---------------------------------------------------------------- blueprints


def config_dir_inside(ha: HomeAssistant) -> str:
    """The config dir as hass sees it (inside the chroot for the current release)."""
    if ha.installation.root is None:
        return str(ha.config_dir)
    return "/" + str(ha.config_dir.relative_to(ha.installation.root))


def test_blueprints_are_all_instantiated() -> None:
    """Every shipped blueprint has an instance in this module's configuration."""
    assert len(BLUEPRINTS) >= 3
    assert {p.name for p in BLUEPRINTS} == set(BLUEPRINT_INPUTS)
    for path in BLUEPRINTS:
        text = path.read_text()
        assert "sleepenv" in text
        assert "!input" in text


def test_check_config_accepts_everything(home_assistant: HomeAssistant) -> None:
    """`hass --script check_config` on this configuration (blueprints, dashboard) is clean."""
    argv = home_assistant.installation.command(
        "--script", "check_config", "-c", config_dir_inside(home_assistant)
    )
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    # A blueprint instance that does not fit its blueprint is only logged (exit code 0).
    for word in ("ERROR", "Invalid config", "Failed", "Missing input"):
        assert word not in output, output
    assert "Testing configuration at" in output, output


def automation_states(ha: HomeAssistant) -> dict[str, JSON]:
    """The blueprint instances' automation entities, by the automation id."""
    states = {}
    for state in ha.states():
        if state["entity_id"].startswith("automation."):
            states[state["attributes"].get("id")] = state
    return states


def test_blueprint_automations_load(home_assistant: HomeAssistant) -> None:
    """Each blueprint instance is an automation that is on (not unavailable) in the instance."""
    states = automation_states(home_assistant)
    for entry in automation_yaml():
        state = states.get(entry["id"])
        assert state is not None, f"{entry['id']} not loaded"
        assert state["state"] == "on", state
    problems = [
        line for needle in ("automation", "blueprint") for line in home_assistant.log_lines(needle)
    ]
    assert not problems, "\n".join(problems)


def last_triggered(ha: HomeAssistant, automation_id: str) -> str | None:
    """When an automation last ran."""
    value = automation_states(ha)[automation_id]["attributes"].get("last_triggered")
    return None if value is None else str(value)


def test_wind_down_runs_on_button_and_scene(home_assistant: HomeAssistant) -> None:
    """Pressing the helper button, then activating the scene, runs the wind-down automation."""
    automation_id = "test_sleepenv_wind_down_trigger"
    before = last_triggered(home_assistant, automation_id)
    home_assistant.call_service("input_button", "press", {"entity_id": "input_button.good_night"})
    first = home_assistant.wait_for(
        lambda: (t := last_triggered(home_assistant, automation_id)) != before and t,
        message="wind-down automation ran on the button",
    )
    home_assistant.call_service("scene", "turn_on", {"entity_id": "scene.good_night"})
    home_assistant.wait_for(
        lambda: last_triggered(home_assistant, automation_id) not in (before, first),
        message="wind-down automation ran on the scene",
    )


def test_guests_pause_runs(home_assistant: HomeAssistant) -> None:
    """Guests arriving runs the pause-guidance automation."""
    automation_id = "test_sleepenv_pause_for_guests"
    before = last_triggered(home_assistant, automation_id)
    home_assistant.call_service(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.guests_here"}
    )
    home_assistant.wait_for(
        lambda: last_triggered(home_assistant, automation_id) != before,
        message="pause automation ran",
    )
    home_assistant.call_service(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.guests_here"}
    )


@pytest.mark.usefixtures("sleepenv")
def test_restless_night_notifies(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess
) -> None:
    """A last-night count well above the usual (20) makes a notification; a usual one not.

    The count is published on sleepenv's state topic as sleepenv does when a night closes
    (sleepenv itself only closes a night at 12:00): this checks the blueprint's logic.
    """
    automation_id = "test_sleepenv_twitches_above_usual"
    topic = f"sleepenv/{BED}/twitches_last_night"
    entry = home_assistant.entity_by_unique_id(f"sleepenv_{BED}_twitches_last_night")
    assert entry is not None
    wanted = f"sensor.sleepenv_{BED}_twitches_last_night"
    if entry["entity_id"] != wanted:
        # Before 2025.10 the id comes from the name; the README tells users to rename it.
        home_assistant.ws(
            {
                "type": "config/entity_registry/update",
                "entity_id": entry["entity_id"],
                "new_entity_id": wanted,
            }
        )
        entry = {**entry, "entity_id": wanted}
    # Start from a quiet night and no notifications.
    publish.single(topic, "0", qos=1, retain=True, hostname=ha_broker.host, port=ha_broker.port)
    home_assistant.wait_for_state(wanted, "0")
    home_assistant.call_service("persistent_notification", "dismiss_all")
    notifications: list[JSON] = []
    home_assistant.client.subscribe(
        {"type": "persistent_notification/subscribe"}, notifications.append
    )
    for count in ("25", "45"):  # usual 20: 25 is not 1.5x above it, 45 is
        publish.single(
            topic, count, qos=1, retain=True, hostname=ha_broker.host, port=ha_broker.port
        )
        home_assistant.wait_for_state(entry["entity_id"], count)
        if count == "25":
            time.sleep(2)  # what the automation would do, it does right after the change
            assert "Restless night" not in json.dumps(notifications)
    home_assistant.wait_for(
        lambda: "Restless night" in json.dumps(notifications), message="a notification"
    )
    assert "45, well above your usual 20" in json.dumps(notifications)
    assert last_triggered(home_assistant, automation_id) is not None


# ---------------------------------------------------------------- dashboard


def referenced_entities(node: Any) -> set[str]:
    """Every entity id a Lovelace config references (entity, entities, target.entity_id)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("entity", "entity_id") and isinstance(value, str):
                found.add(value)
            elif key in ("entities", "entity_id") and isinstance(value, list):
                found |= {v for v in value if isinstance(v, str)}
                found |= referenced_entities([v for v in value if not isinstance(v, str)])
            else:
                found |= referenced_entities(value)
    elif isinstance(node, list):
        for item in node:
            found |= referenced_entities(item)
    return found


@pytest.mark.usefixtures("sleepenv")
def test_dashboard_references_only_existing_entities(home_assistant: HomeAssistant) -> None:
    """Every entity on the dashboard exists once sleepenv's discovery is in."""
    config = yaml.safe_load(DASHBOARD.read_text())
    referenced = referenced_entities(config)
    assert len(referenced) >= 10
    registry = {e["entity_id"]: e for e in home_assistant.entity_registry()}
    by_unique_id = {e["unique_id"]: e for e in registry.values() if e["platform"] == "mqtt"}
    missing = []
    for entity_id in sorted(referenced):
        if version_tuple(home_assistant.version) >= (2025, 10):
            entry = registry.get(entity_id)
        else:
            # The floor ignores default_entity_id: the id comes from the name instead.
            entry = by_unique_id.get(entity_id.split(".", 1)[1])
        if entry is None:
            missing.append(entity_id)
            continue
        assert not entry["disabled_by"], f"{entity_id} is shipped disabled"
        state = home_assistant.state(entry["entity_id"])
        assert state is not None, entity_id
        assert state["state"] != "unavailable", entity_id
    assert not missing, f"the dashboard references entities that do not exist: {missing}"


# The statistics Home Assistant keeps per state class: a card asking for another type of an
# entity stays blank for good (the trend once asked for `max` of summing counters).
STAT_TYPES = {
    "measurement": {"mean", "min", "max"},
    "total": {"state", "sum", "change"},
    "total_increasing": {"state", "sum", "change"},
}


def dashboard_entry(ha: HomeAssistant, entity_id: str) -> JSON:
    """The registry entry of a dashboard entity (on the floor, by unique_id)."""
    for entry in ha.entity_registry():
        if entry["entity_id"] == entity_id and version_tuple(ha.version) >= (2025, 10):
            return entry
        if entry["unique_id"] == entity_id.split(".", 1)[1] and entry["platform"] == "mqtt":
            return entry
    raise AssertionError(f"{entity_id} not in the registry")


@pytest.mark.usefixtures("sleepenv")
def test_dashboard_cards_read_well(home_assistant: HomeAssistant) -> None:
    """Statistics cards ask for what Home Assistant stores, spans match the titles, rows
    have short names, and the bedtime and sensor-health cards hold what a person needs."""
    config = yaml.safe_load(DASHBOARD.read_text())
    cards = {str(c.get("title", "")): c for view in config["views"] for c in view["cards"]}
    for title, card in cards.items():
        rows = [r for r in card.get("entities", []) if isinstance(r, dict)]
        for row in rows:
            named = row.get("row", row)
            assert "name" in named, f"{title}: {named} repeats the device name"
            assert len(named["name"]) <= 24, named["name"]
        if card["type"] == "history-graph":
            assert f"last {card['hours_to_show']} hours" in title
        if card["type"] != "statistics-graph":
            continue
        span = "last 24 hours" if card["days_to_show"] == 1 else f"{card['days_to_show']} nights"
        assert span in title, title
        for row in rows:
            entry = home_assistant.entity_registry_entry(
                dashboard_entry(home_assistant, row["entity"])["entity_id"]
            )
            state_class = str((entry.get("capabilities") or {}).get("state_class"))
            assert set(card["stat_types"]) <= STAT_TYPES.get(state_class, set()), (
                f"{title}: {row['entity']} ({state_class}) has no {card['stat_types']}"
            )
    bedtime = referenced_entities(cards["Bedtime"])
    for key in ("phase", "next_bedtime", "room_temperature_deviation", "start_wind_down"):
        assert any(e.endswith(f"guidance_{BED}_{key}") for e in bedtime), key
    health = referenced_entities(cards["Sensor health"])
    assert any(e.startswith("binary_sensor.") and e.endswith("_online") for e in health)


@pytest.mark.usefixtures("sleepenv")
def test_dashboard_shows_the_advisory_reason(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess
) -> None:
    """The Last-night view's markdown card spells out the pattern behind "worth discussing
    with a doctor" and that it is not a diagnosis (rendered by Home Assistant itself).

    The advisory is published on sleepenv's topics as sleepenv does after a few nights
    (this instance has none): this checks the card, not the advisory.
    """
    wanted = f"binary_sensor.sleepenv_{BED}_worth_discussing"
    entry = dashboard_entry(home_assistant, wanted)
    if entry["entity_id"] != wanted:  # before 2025.10 the id comes from the name
        home_assistant.ws(
            {
                "type": "config/entity_registry/update",
                "entity_id": entry["entity_id"],
                "new_entity_id": wanted,
            }
        )
    config = yaml.safe_load(DASHBOARD.read_text())
    card = next(c for view in config["views"] for c in view["cards"] if c["type"] == "markdown")
    pattern = "PLM-like leg movements above 15/h on 5 of the last 7 nights"
    attrs = {"patterns": [pattern], "nights_considered": 7, "note": "Not a diagnosis."}
    for key, payload in (
        ("worth_discussing_attributes", json.dumps(attrs)),
        ("worth_discussing", "ON"),
    ):
        publish.single(
            f"sleepenv/{BED}/{key}",
            payload,
            qos=1,
            retain=True,
            hostname=ha_broker.host,
            port=ha_broker.port,
        )
    home_assistant.wait_for_state(
        wanted, lambda s: s["state"] == "on" and "patterns" in s["attributes"]
    )
    text = home_assistant.rest("POST", "/api/template", {"template": card["content"]})
    assert "Worth discussing with a doctor" in str(text)
    assert pattern in str(text)
    assert "Not a diagnosis." in str(text)


def test_dashboard_loads(home_assistant: HomeAssistant) -> None:
    """Home Assistant serves the YAML dashboard as written."""
    config = home_assistant.ws({"type": "lovelace/config", "url_path": DASHBOARD_URL})
    assert config == yaml.safe_load(DASHBOARD.read_text())
    trend = next(v for v in config["views"] if v["path"] == "trend")
    graph = next(c for c in trend["cards"] if c["type"] == "statistics-graph")
    assert graph["days_to_show"] == 14


# ---------------------------------------------------------------- homeassistant-api


class CommandRecorder:
    """Collects MQTT commands Home Assistant sends to the stand-in devices."""

    def __init__(self, broker: MosquittoProcess) -> None:
        """Subscribe to test/#."""
        self.messages: list[tuple[str, str]] = []
        subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe("test/#", qos=1)
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, m.payload.decode())
        )
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        assert subscribed.wait(10)

    def on(self, topic: str) -> list[str]:
        """Payloads seen on one topic."""
        return [p for t, p in self.messages if t == topic]

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


def test_homeassistant_api_calls_sleepenv_makes(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess
) -> None:
    """light.turn_on (brightness_pct, color_temp_kelvin, transition), climate.set_temperature,
    media_player.turn_off and notify.<service> through the homeassistant-api client."""
    assert home_assistant.token is not None
    recorder = CommandRecorder(ha_broker)
    notifications: list[JSON] = []
    home_assistant.client.subscribe(
        {"type": "persistent_notification/subscribe"}, notifications.append
    )
    try:
        with Client(f"{home_assistant.base_url}/api", home_assistant.token) as client:
            client.trigger_service(
                "light",
                "turn_on",
                entity_id="light.reading_lamp",
                brightness_pct=40,
                color_temp_kelvin=2200,
                transition=30,
            )
            client.trigger_service(
                "climate",
                "set_temperature",
                entity_id="climate.bedroom_thermostat",
                temperature=17.5,
            )
            client.trigger_service("media_player", "turn_off", entity_id="media_player.bedroom_tv")
            client.trigger_service(
                "notify", "persistent_notification", title="Wind-down", message="Screens off"
            )
            lamp = client.get_state(entity_id="light.reading_lamp")
            assert lamp.state == "on"
        home_assistant.wait_for(
            lambda: recorder.on("test/reading_lamp/set"), message="light command on MQTT"
        )
        command = json.loads(recorder.on("test/reading_lamp/set")[-1])
        assert command["state"] == "ON"
        assert command["brightness"] == round(255 * 40 / 100)
        assert command["transition"] == 30
        # MQTT lights take mireds on the wire; Home Assistant converts (and truncates).
        assert abs(command["color_temp"] - 1_000_000 / 2200) <= 1
        home_assistant.wait_for(
            lambda: recorder.on("test/thermostat/temperature/set"), message="climate command"
        )
        assert float(recorder.on("test/thermostat/temperature/set")[-1]) == 17.5
        home_assistant.wait_for_state("media_player.bedroom_tv", "off")
        home_assistant.wait_for_state("input_boolean.bedroom_tv_power", "off")

        def notified() -> bool:
            text = json.dumps(notifications)
            return "Wind-down" in text and "Screens off" in text

        home_assistant.wait_for(notified, message="persistent notification")
    finally:
        recorder.close()


# ---------------------------------------------------------------- guidance controls


def guidance_entity(ha: HomeAssistant, key: str) -> str:
    """The entity id of one guidance entity of the bedroom, by unique_id."""
    entry = ha.entity_by_unique_id(f"sleepenv_guidance_{BED}_{key}")
    assert entry is not None, f"no guidance entity {key}"
    return str(entry["entity_id"])


@pytest.mark.usefixtures("sleepenv")
def test_guidance_controls_reach_sleepenv(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess
) -> None:
    """The guidance switch and buttons, pressed through Home Assistant, change what sleepenv
    does: the switch state comes back from sleepenv, "Start wind-down now" moves the phase
    and dims the lamp through the Home Assistant API, "Snooze" moves it back."""
    if not HAS_GUIDANCE:
        pytest.skip("this sleepenv has no guidance yet: no controls to press")
    switch = guidance_entity(home_assistant, "guidance")
    phase = guidance_entity(home_assistant, "phase")
    home_assistant.wait_for_state(switch, "on")
    home_assistant.call_service("switch", "turn_off", {"entity_id": switch})
    home_assistant.wait_for_state(switch, "off")  # sleepenv published it back
    home_assistant.call_service("switch", "turn_on", {"entity_id": switch})
    home_assistant.wait_for_state(switch, "on")
    home_assistant.wait_for_state(phase, "Day")

    recorder = CommandRecorder(ha_broker)
    try:
        home_assistant.call_service(
            "button", "press", {"entity_id": guidance_entity(home_assistant, "start_wind_down")}
        )
        home_assistant.wait_for_state(phase, "Wind-down")
        home_assistant.wait_for_state(guidance_entity(home_assistant, "wind_down"), "on")
        home_assistant.wait_for(
            lambda: recorder.on("test/bedside_lamp/set"),
            timeout=30,
            message="sleepenv dimmed the lamp through Home Assistant's API",
        )
        command = json.loads(recorder.on("test/bedside_lamp/set")[-1])
        assert command["state"] == "ON"
        assert 0 < command["brightness"] < 255
    finally:
        recorder.close()
    home_assistant.call_service(
        "button", "press", {"entity_id": guidance_entity(home_assistant, "snooze")}
    )
    home_assistant.wait_for_state(phase, "Day")
