"""Black box: `sleepenv run --start-at ... --speed N` with guidance, a Zigbee2MQTT-shaped
bedroom on the broker, and SIGTERM at the end."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml

from sleepenv.clock import ScaledClock
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.sim.bedroom import LIGHT, PLUG, SETPOINT_KEY, TRV, SimBedroom, run_bedroom
from tests.e2e.test_run import write_config
from tests.helpers.mqtt import watch

START = "2026-11-20T21:29:00+01:00"
SPEED = 60.0


async def test_run_with_guidance_on_a_scaled_clock(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    room = SimBedroom(prefix=prefix)
    config = write_config(tmp_path / "sleepenv.yaml", mosquitto, prefix, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["guidance"] = {
        "enforce": True,
        "screen_grace_minutes": 2,
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
                ],
            }
        ],
    }
    config.write_text(yaml.safe_dump(data))
    # The bedroom's own clock only drives its thermometer; guidance timing is the service's.
    clock = ScaledClock(0, 1.0)
    argv = [sys.executable, "-m", "sleepenv", "run", "--config", str(config)]
    argv += ["--start-at", START, "--speed", str(SPEED)]
    host, port = mosquitto.host, mosquitto.port
    base = f"{prefix}/guidance/bedroom"
    async with (
        watch(host, port, [f"{prefix}/#"]) as w,
        run_bedroom(host, port, clock, room),
    ):
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            await w.expect({f"{base}/phase": "no_screen", f"{base}/no_screen_window": "ON"}, 20)
            await w.wait_for(lambda: room.states[room.topic(PLUG)]["state"] == "OFF", 20)
            assert room.states[room.topic(TRV)][SETPOINT_KEY] == 18.0
            assert room.states[room.topic(LIGHT)]["brightness"] <= 51
            assert room.states[room.topic(LIGHT)]["state"] == "ON"
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode == 0, out.decode()
        await w.expect({f"{prefix}/status": "offline"})
