"""Guidance in the real service against a real Mosquitto and a Zigbee2MQTT-shaped bedroom."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.sim.bedroom import LIGHT, PLUG, SENSOR, SETPOINT_KEY, TRV, SimBedroom, run_bedroom
from tests.helpers.mqtt import Watcher, publish_many, watch
from tests.service.test_service import running

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(hour: int, minute: int, second: int = 0) -> float:
    """Friday 20 November 2026 in Berlin."""
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=BERLIN).timestamp()


def guidance_settings(broker: MosquittoProcess, prefix: str, data_dir: Path, **g: Any) -> Settings:
    """One bed and one guidance bedroom whose devices live under the test's prefix."""
    room = SimBedroom(prefix=prefix)
    return Settings(
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "client_id": f"{prefix}svc",
            "base_topic": prefix,
            "discovery_prefix": f"{prefix}ha",
        },
        beds=[
            {
                "id": "main",
                "name": "Main",
                "sensors": [{"kind": "envelope", "topic": f"{prefix}/bed"}],
            }
        ],
        storage={"data_dir": data_dir},
        guidance={
            "caffeine_cutoff": None,
            **g,
            "bedrooms": [
                {
                    "id": "bedroom",
                    "timezone": "Europe/Berlin",
                    "devices": [
                        {"id": "lights", "role": "light", "topic": room.topic(LIGHT)},
                        {
                            "id": "radiator",
                            "role": "climate",
                            "topic": room.topic(TRV),
                            "setpoint_key": SETPOINT_KEY,
                        },
                        {"id": "tv", "role": "screen", "topic": room.topic(PLUG)},
                        {"id": "thermometer", "role": "temperature", "topic": room.topic(SENSOR)},
                    ],
                }
            ],
        },
    )


def room_state(w: Watcher, prefix: str, key: str) -> str | None:
    """Latest retained state of a bedroom entity."""
    return w.text(f"{prefix}/guidance/bedroom/{key}")


async def test_wind_down_dims_the_simulated_lights_and_publishes_the_phase(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = guidance_settings(mosquitto, prefix, tmp_path, enforce=True)
    clock = ScaledClock(berlin(20, 59, 30), 60.0)  # one simulated minute per second
    host, port = mosquitto.host, mosquitto.port
    async with (
        watch(host, port, [f"{prefix}/#", f"{prefix}ha/#"]) as w,
        run_bedroom(host, port, clock, SimBedroom(prefix=prefix)) as (room, _change),
        running(settings, clock),
    ):
        config = await _discovery(w, prefix)
        assert {"guidance", "phase", "wind_down", "no_screen_window", "next_bedtime"} <= set(config)
        assert {"room_temperature_deviation", "screen_minutes_in_window", "snooze"} <= set(config)
        assert config["start_wind_down"]["command_topic"].endswith("/start_wind_down/set")
        base = f"{prefix}/guidance/bedroom"
        await w.expect({f"{base}/phase": "wind_down", f"{base}/wind_down": "ON"}, 20)
        light = room.topic(LIGHT)
        await w.wait_for(lambda: any(t == light for _, t, _ in room.commands), 10)
        first = next(c for _, t, c in room.commands if t == light)
        assert first == {"transition": 900.0, "brightness": 51, "color_temp": 370}
        assert "state" not in first  # never switches a light on
        await w.wait_for(lambda: room_state(w, prefix, "room_too_warm") == "ON", 10)
        assert float(room_state(w, prefix, "room_temperature_deviation") or 0) > 1


async def test_buttons_and_switches_over_mqtt(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = guidance_settings(mosquitto, prefix, tmp_path, snooze_minutes=20)
    clock = ScaledClock(berlin(20, 0), 1.0)
    host, port = mosquitto.host, mosquitto.port
    base = f"{prefix}/guidance/bedroom"
    async with (
        watch(host, port, [f"{prefix}/#"]) as w,
        run_bedroom(host, port, clock, SimBedroom(prefix=prefix)) as (room, _change),
        running(settings, clock),
    ):
        await w.expect({f"{base}/next_bedtime": "2026-11-20T21:30:00+00:00"})
        await publish_many(host, port, [(f"{base}/snooze/set", b"PRESS")])
        await w.expect({f"{base}/next_bedtime": "2026-11-20T21:50:00+00:00"})
        await publish_many(host, port, [(f"{base}/guests/set", b"ON")])
        await w.expect({f"{base}/guests": "ON"})
        await publish_many(host, port, [(f"{base}/guidance/set", b"OFF")])
        await w.expect({f"{base}/guidance": "OFF"})
        await publish_many(
            host, port, [(f"{base}/guidance/set", b"ON"), (f"{base}/guests/set", b"OFF")]
        )
        await w.expect({f"{base}/guidance": "ON", f"{base}/guests": "OFF"})
        await publish_many(host, port, [(f"{base}/start_wind_down/set", b"PRESS")])
        await w.expect({f"{base}/phase": "wind_down", f"{base}/wind_down": "ON"})
        light = room.topic(LIGHT)
        await w.wait_for(lambda: any(t == light for _, t, _ in room.commands), 10)
        await w.wait_for(lambda: "wind-down" in w.json(f"{base}/attributes")["last_reason"], 10)


async def test_a_light_turned_up_by_hand_is_held_and_shown(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = guidance_settings(mosquitto, prefix, tmp_path)
    clock = ScaledClock(berlin(21, 10), 1.0)
    host, port = mosquitto.host, mosquitto.port
    base = f"{prefix}/guidance/bedroom"
    async with (
        watch(host, port, [f"{prefix}/#"]) as w,
        run_bedroom(host, port, clock, SimBedroom(prefix=prefix)) as (room, change),
        running(settings, clock),
    ):
        light = room.topic(LIGHT)
        await w.wait_for(lambda: room.states[light]["brightness"] < 60, 10)  # caught up
        await change(light, {"brightness": 230})
        await w.wait_for(
            lambda: "lights" in (w.json(f"{base}/attributes") or {}).get("overrides", {}), 10
        )
        hold = w.json(f"{base}/attributes")["overrides"]["lights"]["brightness_pct"]
        assert "manual override" in w.json(f"{base}/attributes")["last_reason"]
        assert hold["until"].startswith("2026-11-20T21:10") or hold["until"].startswith(
            "2026-11-20T21:11"
        )
        await change(light, {"state": "OFF"})
        await change(light, {"state": "ON"})
        await w.wait_for(lambda: not w.json(f"{base}/attributes")["overrides"], 10)
        assert json.loads(w.latest[f"{base}/attributes"])["last_reason"].startswith(
            "lights: switched off"
        )


async def _discovery(w: Watcher, prefix: str) -> dict[str, Any]:
    topic = f"{prefix}ha/device/sleepenv_guidance_bedroom/config"
    await w.wait_for(lambda: w.json(topic) is not None, 10)
    cmps: dict[str, Any] = w.json(topic)["cmps"]
    return cmps


def test_sleep_onset_from_the_bed_moves_lights_out_to_asleep(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    from sleepenv.bed.core.states import BedStates  # noqa: PLC0415
    from sleepenv.bed.core.tracker import Update  # noqa: PLC0415
    from sleepenv.bootstrap import build_service  # noqa: PLC0415
    from sleepenv.guidance.core.timeline import Phase  # noqa: PLC0415

    settings = guidance_settings(mosquitto, prefix, tmp_path)
    assert settings.guidance is not None
    room = settings.guidance.bedrooms[0].model_copy(update={"bed": "main"})
    settings = settings.model_copy(
        update={"guidance": settings.guidance.model_copy(update={"bedrooms": [room]})}
    )
    clock = ScaledClock(berlin(23, 10), 1.0)  # after the 22:30 bedtime: lights-out
    service = build_service(settings, clock)
    assert service.guidance is not None
    engine = service.guidance.engines["bedroom"]
    now = clock.now()
    assert engine.plan(now).phase_at(now) is Phase.LIGHTS_OUT
    service.bed.apply("main", Update(states=BedStates(sleep_onset=now - 120)))
    now = clock.now()
    assert engine.plan(now).phase_at(now) is Phase.ASLEEP


def test_screen_minutes_per_evening_are_stored(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    from sleepenv.bootstrap import build_service  # noqa: PLC0415

    settings = guidance_settings(mosquitto, prefix, tmp_path)
    clock = ScaledClock(berlin(21, 45), 1.0)  # inside the no-screen window
    service = build_service(settings, clock)
    assert service.guidance is not None
    assert service.store.screen_minutes("bedroom") == {}
    service.guidance.publish_states("bedroom")
    assert service.store.screen_minutes("bedroom") == {"2026-11-20": 0.0}


async def test_the_bed_lands_in_its_bedroom_and_the_phase_value_is_an_attribute(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    """A bed followed by a guidance bedroom is suggested for that bedroom's area, and the
    phase's machine value rides along as an attribute (the entity shows a readable one)."""
    settings = guidance_settings(mosquitto, prefix, tmp_path)
    assert settings.guidance is not None
    room = settings.guidance.bedrooms[0].model_copy(update={"bed": "main", "name": "Loft"})
    guidance = settings.guidance.model_copy(update={"bedrooms": [room]})
    settings = settings.model_copy(update={"guidance": guidance})
    clock = ScaledClock(berlin(21, 10), 1.0)
    host, port = mosquitto.host, mosquitto.port
    async with (
        watch(host, port, [f"{prefix}/#", f"{prefix}ha/#"]) as w,
        run_bedroom(host, port, clock, SimBedroom(prefix=prefix)),
        running(settings, clock),
    ):
        bed_topic = f"{prefix}ha/device/sleepenv_main/config"
        await w.wait_for(lambda: w.json(bed_topic) is not None, 10)
        assert w.json(bed_topic)["dev"]["sa"] == "Loft"
        base = f"{prefix}/guidance/bedroom"
        await w.wait_for(lambda: (w.json(f"{base}/attributes") or {}).get("phase") is not None, 10)
        assert w.json(f"{base}/attributes")["phase"] == "wind_down"
