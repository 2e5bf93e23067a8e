"""A simulated bedroom that behaves like Zigbee2MQTT devices over MQTT (for tests and the demo).

A light group, a TRV, a TV smart plug and a temperature sensor. Commands on `<topic>/set`
change the state and are echoed as full JSON on `<topic>` like Zigbee2MQTT does; `/get`
re-publishes it. The room temperature drifts towards the TRV's setpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from sleepenv.clock import Clock
from sleepenv.mqtt.payload import json_object
from sleepenv.tasks import cancel_and_wait

LIGHT = "zigbee2mqtt/Bedroom lights"
TRV = "zigbee2mqtt/Bedroom TRV"
PLUG = "zigbee2mqtt/TV plug"
SENSOR = "zigbee2mqtt/Bedroom sensor"
SETPOINT_KEY = "occupied_heating_setpoint"
DRIFT_EVERY_SECONDS = 600.0
DRIFT_CELSIUS = 0.3

CommandHook = Callable[[float, str, dict[str, Any]], None]


@dataclass
class SimBedroom:
    """Device states, the commands received, and a hook for printing them."""

    prefix: str = ""
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    on_command: CommandHook | None = None
    room_celsius: float = 21.0

    def __post_init__(self) -> None:
        """Evening defaults: lights on and bright, radiator at 21 °C, TV on."""
        self.states = {
            self.topic(LIGHT): {"state": "ON", "brightness": 254, "color_temp": 250},
            self.topic(TRV): {SETPOINT_KEY: 21.0, "local_temperature": self.room_celsius},
            self.topic(PLUG): {"state": "ON", "power": 85},
        }

    def topic(self, base: str) -> str:
        """A device topic under this bedroom's prefix (tests use a unique one)."""
        return f"{self.prefix}{base}"

    def received(self, topic: str, payload: bytes, now: float) -> None:
        """A `/set` message: record it, tell the hook, apply it."""
        command = json_object(payload)
        if isinstance(command, dict):
            self.commands.append((now, topic, command))
            if self.on_command is not None:
                self.on_command(now, topic, command)
            self.apply(topic, command)

    def apply(self, topic: str, command: dict[str, Any]) -> None:
        """Apply a `/set` payload like the device would."""
        state = self.states[topic]
        for key, value in command.items():
            if key == "transition":
                continue
            state[key] = value
        if "brightness" in command and "state" not in command:
            state["state"] = "ON"  # as a real bulb does: brightness switches it on


@contextlib.asynccontextmanager
async def run_bedroom(
    host: str, port: int, clock: Clock, room: SimBedroom | None = None
) -> AsyncIterator[tuple[SimBedroom, Callable[[str, dict[str, Any]], Any]]]:
    """Run the bedroom in the background; yields it and `change(topic, fields)` for people."""
    room = room or SimBedroom()
    ready = asyncio.Event()
    client_box: list[aiomqtt.Client] = []

    async def publish_state(client: aiomqtt.Client, topic: str) -> None:
        await client.publish(topic, json.dumps(room.states[topic]).encode(), qos=1)

    async def devices() -> None:
        ident = f"simroom-{uuid.uuid4().hex[:6]}"
        async with aiomqtt.Client(host, port, identifier=ident) as client:
            client_box.append(client)
            subs = [(f"{t}/set", 1) for t in room.states] + [(f"{t}/get", 1) for t in room.states]
            await client.subscribe(subs)
            for topic in room.states:
                await publish_state(client, topic)
            ready.set()
            async for message in client.messages:
                topic = str(message.topic)
                base, _, verb = topic.rpartition("/")
                if base not in room.states:
                    continue
                if verb == "set" and isinstance(message.payload, bytes | bytearray):
                    room.received(base, bytes(message.payload), clock.now())
                await publish_state(client, base)

    async def thermometer() -> None:
        await ready.wait()
        client = client_box[0]
        while True:
            setpoint = float(room.states[room.topic(TRV)][SETPOINT_KEY])
            step = max(-DRIFT_CELSIUS, min(DRIFT_CELSIUS, setpoint - room.room_celsius))
            room.room_celsius = round(room.room_celsius + step, 1)
            room.states[room.topic(TRV)]["local_temperature"] = room.room_celsius
            payload = {"temperature": room.room_celsius, "humidity": 48.2, "battery": 100}
            await client.publish(room.topic(SENSOR), json.dumps(payload).encode(), qos=1)
            await clock.sleep_until(clock.now() + DRIFT_EVERY_SECONDS)

    async def change(topic: str, fields: dict[str, Any]) -> None:
        """A person changes a device by hand (the device reports its new state)."""
        room.states[topic].update(fields)
        await publish_state(client_box[0], topic)

    tasks = [asyncio.create_task(devices()), asyncio.create_task(thermometer())]
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield room, change
    finally:
        await cancel_and_wait(tasks, reraise=True, ignore=(aiomqtt.MqttError,))
