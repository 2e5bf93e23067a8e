"""Guidance against a real Home Assistant: its HA-entity backend and its MQTT entities.

The bedroom's devices here are Home Assistant entities (a template light, a template switch
for the TV, a generic thermostat), driven by the real sleepenv Service through the REST API
with `homeassistant-api`; the guidance entities are checked through Home Assistant's own
registry and states, and pressed through its services.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.insights.publisher import NO_BEDROOM
from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.service import service_running

from .harness import JSON, HomeAssistant

HA_EXTRA_YAML = """\
input_boolean:
  bedroom_light_on:
    name: Bedroom light on
    initial: true
  tv_power:
    name: TV power
    initial: true
  heater:
    name: Heater
  had_coffee:
    name: Had coffee
input_datetime:
  bedtime:
    name: Bedtime
    has_date: false
    has_time: true
    initial: "23:00"
input_number:
  bedroom_light_level:
    name: Bedroom light level
    min: 0
    max: 255
    step: 1
    initial: 255
template:
  - light:
      - name: Bedroom light
        unique_id: test_bedroom_light
        state: "{{ is_state('input_boolean.bedroom_light_on', 'on') }}"
        level: "{{ states('input_number.bedroom_light_level') | int(0) }}"
        turn_on:
          - action: input_boolean.turn_on
            target: {entity_id: input_boolean.bedroom_light_on}
        turn_off:
          - action: input_boolean.turn_off
            target: {entity_id: input_boolean.bedroom_light_on}
        set_level:
          - action: input_number.set_value
            target: {entity_id: input_number.bedroom_light_level}
            data: {value: "{{ brightness }}"}
    switch:
      - name: TV
        unique_id: test_tv
        state: "{{ is_state('input_boolean.tv_power', 'on') }}"
        turn_on:
          - action: input_boolean.turn_on
            target: {entity_id: input_boolean.tv_power}
        turn_off:
          - action: input_boolean.turn_off
            target: {entity_id: input_boolean.tv_power}
    sensor:
      - name: Room temperature
        unique_id: test_room_temperature
        unit_of_measurement: "°C"
        device_class: temperature
        state: "20.5"
climate:
  - platform: generic_thermostat
    name: Bedroom TRV
    unique_id: test_trv
    heater: input_boolean.heater
    target_sensor: sensor.room_temperature
    min_temp: 5
    max_temp: 30
    target_temp: 21
# A habit from another entity: an automation presses sleepenv's button (found by what its
# unique id holds, so that the same YAML works whatever the entity ids are).
automation:
  - alias: Coffee feeds sleepenv
    triggers:
      - trigger: state
        entity_id: input_boolean.had_coffee
        to: "on"
    actions:
      - action: button.press
        target:
          entity_id: "{{ integration_entities('mqtt') | select('search', 'had_caffeine') | first }}"
"""

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(hour: int, minute: int) -> float:
    """Friday 20 November 2026 in Berlin."""
    return datetime(2026, 11, 20, hour, minute, tzinfo=BERLIN).timestamp()


def settings_for(
    ha: HomeAssistant, broker: MosquittoProcess, data_dir: Path, **schedule: str
) -> Settings:
    """A bed (required) and a bedroom whose devices are the Home Assistant entities above."""
    return Settings(
        mqtt={"host": broker.host, "port": broker.port, "client_id": "guidance-ha"},
        beds=[{"id": "main", "name": "Main", "sensors": [{"kind": "envelope", "topic": "bed/e"}]}],
        storage={"data_dir": data_dir},
        guidance={
            "enforce": True,
            "caffeine_cutoff": None,
            "homeassistant": {
                "url": f"{ha.base_url}/api",
                "token": ha.token,
                "poll_seconds": 1,
            },
            "bedrooms": [
                {
                    "id": "bedroom",
                    "timezone": "Europe/Berlin",
                    "schedule": schedule,
                    "devices": [
                        _ha("lights", "light", "light.bedroom_light"),
                        _ha("radiator", "climate", "climate.bedroom_trv"),
                        _ha("tv", "screen", "switch.tv"),
                        _ha("thermometer", "temperature", "sensor.room_temperature"),
                        _ha("phone", "notify", "notify.persistent_notification"),
                    ],
                }
            ],
        },
    )


def _ha(device_id: str, role: str, entity_id: str) -> dict[str, Any]:
    return {"id": device_id, "role": role, "backend": "homeassistant", "entity_id": entity_id}


async def test_the_wind_down_drives_home_assistant_entities(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess, tmp_path: Path
) -> None:
    """At 21:30 (no-screen window) the light dims, the TRV cools, the TV goes off after the
    grace, and the reminder arrives as a persistent notification."""
    ha = home_assistant
    await asyncio.to_thread(ha.wait_for_state, "light.bedroom_light", "on")
    settings = settings_for(ha, ha_broker, tmp_path)
    clock = ScaledClock(berlin(21, 29), 30.0)  # the grace (10 min) passes in 20 s
    async with service_running(settings, clock):
        light = await asyncio.to_thread(
            ha.wait_for_state,
            "light.bedroom_light",
            lambda s: (
                s["attributes"].get("brightness") is not None
                and s["attributes"]["brightness"] <= 52
            ),
            40,
        )
        assert light["state"] == "on"  # dimmed, never switched
        trv = await asyncio.to_thread(
            ha.wait_for_state,
            "climate.bedroom_trv",
            lambda s: s["attributes"].get("temperature") == 18.0,
            40,
        )
        assert trv["attributes"]["temperature"] == 18.0
        await asyncio.to_thread(ha.wait_for_state, "switch.tv", "off", 60)
        services = await asyncio.to_thread(ha.rest, "GET", "/api/services")
        notify: dict[str, Any] = next(
            (d["services"] for d in services or [] if d["domain"] == "notify"), {}
        )
        if "persistent_notification" not in notify:
            return  # 2025.4 (the floor) has no notify.persistent_notification here
        notes = await asyncio.to_thread(
            ha.wait_for,
            lambda: [
                n
                for n in ha.ws({"type": "persistent_notification/get"}) or []
                if n.get("title") == "No screens"
            ],
            20,
        )
        assert notes


async def test_guidance_entities_in_home_assistant(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess, tmp_path: Path
) -> None:
    """Discovery creates the bedroom's entities; the switch and buttons work from HA."""
    ha = home_assistant
    settings = settings_for(ha, ha_broker, tmp_path)
    clock = ScaledClock(berlin(19, 0), 1.0)
    async with service_running(settings, clock):

        def entity(key: str, platform: str = "mqtt") -> str:
            entry = ha.wait_for(
                lambda: ha.entity_by_unique_id(f"sleepenv_guidance_bedroom_{key}", platform),
                30,
                message=f"{key} in the entity registry",
            )
            assert entry is not None
            result: str = entry["entity_id"]
            return result

        phase = await asyncio.to_thread(entity, "phase")
        bedtime = await asyncio.to_thread(entity, "next_bedtime")
        switch = await asyncio.to_thread(entity, "guidance")
        snooze = await asyncio.to_thread(entity, "snooze")
        start = await asyncio.to_thread(entity, "start_wind_down")
        for key in ("wind_down", "no_screen_window", "room_too_warm", "screen_minutes_in_window"):
            await asyncio.to_thread(entity, key)
        # Readable states (MQTT entities have no translations), from a fixed list of options.
        await asyncio.to_thread(ha.wait_for_state, phase, "Day")  # no caffeine cutoff set
        registry = await asyncio.to_thread(ha.entity_registry_entry, phase)
        assert "Wind-down" in registry["capabilities"]["options"]
        assert not [o for o in registry["capabilities"]["options"] if "_" in o]
        await asyncio.to_thread(ha.wait_for_state, bedtime, "2026-11-20T21:30:00+00:00")

        await asyncio.to_thread(ha.call_service, "button", "press", {"entity_id": snooze})
        await asyncio.to_thread(ha.wait_for_state, bedtime, "2026-11-20T21:45:00+00:00")

        await asyncio.to_thread(ha.call_service, "switch", "turn_off", {"entity_id": switch})
        await asyncio.to_thread(ha.wait_for_state, switch, "off")
        await asyncio.to_thread(ha.call_service, "switch", "turn_on", {"entity_id": switch})
        await asyncio.to_thread(ha.wait_for_state, switch, "on")

        await asyncio.to_thread(ha.call_service, "button", "press", {"entity_id": start})
        state = await asyncio.to_thread(ha.wait_for_state, phase, "Wind-down")
        assert "overrides" in state["attributes"]
        assert "last_reason" in state["attributes"]

        # A habit button: kept for the insights and answered in the Note sensor.
        caffeine = await asyncio.to_thread(entity, "had_caffeine")
        await asyncio.to_thread(entity, "exercised")
        note = await asyncio.to_thread(entity, "note")
        await asyncio.to_thread(ha.call_service, "button", "press", {"entity_id": caffeine})

        def noted() -> JSON | None:
            found = ha.state(note)
            text = str((found or {}).get("state", ""))
            return found if text.startswith("Caffeine noted at 19:0") else None

        answer = await asyncio.to_thread(ha.wait_for, noted, 15, message="the caffeine note")
        assert answer is not None
        assert str(answer["state"]).endswith("(no cut-off is set)")

        # The same habit from another Home Assistant entity, through an automation.
        store = Store(tmp_path / "sleepenv.db")
        assert len(store.presses("bedroom", since=0.0)) == 1
        await asyncio.to_thread(
            ha.call_service, "input_boolean", "turn_on", {"entity_id": "input_boolean.had_coffee"}
        )
        for _ in range(75):  # the store is read on this thread, where it was opened
            if len(store.presses("bedroom", since=0.0)) == 2:
                break
            await asyncio.sleep(0.2)
        assert len(store.presses("bedroom", since=0.0)) == 2
        store.close()

        # The bed's insight sensor: its bedroom follows no bed here, so it says where the
        # habits come from (a sentence as the state, the comparisons as attributes).
        entry = await asyncio.to_thread(
            ha.wait_for, lambda: ha.entity_by_unique_id("sleepenv_main_insight"), 30
        )
        assert entry is not None
        state = await asyncio.to_thread(ha.wait_for_state, str(entry["entity_id"]), NO_BEDROOM)
        assert state["attributes"]["comparisons"] == []


async def test_bedtime_from_an_input_datetime(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess, tmp_path: Path
) -> None:
    """The bedtime follows a Home Assistant helper, also when it is changed in HA."""
    ha = home_assistant
    settings = settings_for(ha, ha_broker, tmp_path, bedtime_entity="input_datetime.bedtime")
    clock = ScaledClock(berlin(19, 0), 1.0)
    async with service_running(settings, clock):
        entry = await asyncio.to_thread(
            ha.wait_for,
            lambda: ha.entity_by_unique_id("sleepenv_guidance_bedroom_next_bedtime"),
            30,
        )
        assert entry is not None
        bedtime = entry["entity_id"]
        await asyncio.to_thread(ha.wait_for_state, bedtime, "2026-11-20T22:00:00+00:00")
        await asyncio.to_thread(
            ha.call_service,
            "input_datetime",
            "set_datetime",
            {"entity_id": "input_datetime.bedtime", "time": "23:45:00"},
        )
        await asyncio.to_thread(ha.wait_for_state, bedtime, "2026-11-20T22:45:00+00:00")


def test_home_assistant_logged_no_problem_with_guidance(home_assistant: HomeAssistant) -> None:
    """Neither the discovery payloads nor the service calls made Home Assistant complain."""
    problems = home_assistant.log_lines()
    assert [line for line in problems if "sleepenv" in line.lower() or "mqtt" in line.lower()] == []
