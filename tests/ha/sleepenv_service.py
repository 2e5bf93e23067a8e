"""The real sleepenv Service next to a real Home Assistant: run it, play a night, read MQTT.

`ServiceThread` runs `sleepenv.service.Service` in a thread with its own event loop, so the
synchronous `HomeAssistant` helpers and sleepenv can be used side by side from plain tests.
`RetainedDiscovery` reads back every discovery config sleepenv left on the broker: the
tests iterate over that, so entities added to sleepenv later are covered without edits.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.bed.core.model import EnvelopeFrame, MovementEvent
from sleepenv.bed.core.states import BedStates
from sleepenv.bootstrap import Hooks, build_service
from sleepenv.clock import Clock, ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.client import make_client
from sleepenv.service import Service
from sleepenv.sim.recording import frame_to_payload

from .harness import JSON, HomeAssistant

T = TypeVar("T")
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 20.0


class ServiceThread:
    """One sleepenv Service on its own event loop in a background thread."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        """Remember what to run; `start()` runs it."""
        self.settings = settings
        self.clock = clock
        self.events: list[tuple[str, MovementEvent]] = []
        self.service: Service | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ServiceThread:
        """Start the service and return once it is connected to the broker."""
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="sleepenv-service", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS) or self._error is not None:
            raise RuntimeError(f"sleepenv did not connect: {self._error!r}")
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # noqa: BLE001 - the thread's end, whatever it is, is reported by start() or stop()
            self._error = exc
            self._ready.set()

    async def _run(self) -> None:
        # The Service (and its SQLite store) must live on this thread.
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        hooks = Hooks(on_event=lambda bed, event: self.events.append((bed, event)))
        self.service = build_service(self.settings, self.clock, hooks)
        task = asyncio.create_task(self.service.run(self._stop), name="service")
        waiter = asyncio.create_task(self.service.is_connected.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            await task  # raises why the service ended
        self._ready.set()
        await task

    def call(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 120.0) -> T:
        """Run a coroutine on the service's loop and return its result."""
        assert self._loop is not None, "not started"
        future: Future[T] = asyncio.run_coroutine_threadsafe(factory(), self._loop)
        return future.result(timeout)

    def summary(self) -> dict[str, Any]:
        """The service's own per-bed night summaries, read on its loop."""
        assert self.service is not None

        async def read() -> dict[str, Any]:
            assert self.service is not None
            return self.service.summary()

        return self.call(read)

    def states(self) -> dict[str, BedStates]:
        """Every state the service publishes per bed, read on its loop."""

        async def read() -> dict[str, BedStates]:
            assert self.service is not None
            now = self.clock.now()
            return {b: t.states(now) for b, t in self.service.pipeline.trackers.items()}

        return self.call(read)

    def stop(self) -> None:
        """Stop the service (it publishes `offline`) and wait for its thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            assert not self._thread.is_alive(), "sleepenv did not stop"
        self._thread = None
        if self._error is not None:
            raise RuntimeError("sleepenv ended with an error") from self._error


async def play_frames(
    settings: Settings, topic: str, frames: Iterable[EnvelopeFrame], clock: ScaledClock
) -> float:
    """Publish frames in step with the scaled clock; return the end of the last frame."""
    last_end = clock.now()
    async with make_client(settings.mqtt, f"{settings.mqtt.base_topic}/player/status", "-p") as c:
        for frame in frames:
            if frame.end > clock.now():
                await clock.sleep_until(frame.end)
            await c.publish(topic, json.dumps(frame_to_payload(frame)).encode(), qos=1)
            last_end = frame.end
    return last_end


async def wait_admitted(service: Service, bed_id: str, until: float) -> None:
    """Wait (at most 30 s) until the bed's tracker has admitted every frame up to `until`."""
    tracker = service.pipeline.trackers[bed_id]
    async with asyncio.timeout(30):
        while max(tracker.cursors().values(), default=0.0) < until - 0.01:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a discovered sleepenv device, as published on the broker."""

    device_topic: str
    device: dict[str, Any]
    key: str
    config: dict[str, Any]

    @property
    def platform(self) -> str:
        """The entity platform (`p`)."""
        return str(self.config["p"])

    @property
    def unique_id(self) -> str:
        """The component's unique_id."""
        return str(self.config["unique_id"])


class RetainedDiscovery:
    """The retained discovery configs on a broker (paho in a thread), read once."""

    FILTERS = ("homeassistant/+/+/config", "homeassistant/+/+/+/config")

    def __init__(self, broker: MosquittoProcess, settle_seconds: float = 1.0) -> None:
        """Subscribe, collect what the broker hands out as retained, disconnect."""
        self.configs: dict[str, dict[str, Any]] = {}
        subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2)

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            if msg.retain and msg.payload:
                self.configs[msg.topic] = json.loads(msg.payload)

        client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in self.FILTERS])
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = on_message
        client.connect(broker.host, broker.port)
        client.loop_start()
        try:
            assert subscribed.wait(10), "could not subscribe"
            threading.Event().wait(settle_seconds)  # retained messages follow the SUBACK
        finally:
            client.disconnect()
            client.loop_stop()

    def sleepenv_devices(self) -> dict[str, dict[str, Any]]:
        """Device-based configs of sleepenv devices, by topic."""
        return {
            topic: cfg
            for topic, cfg in self.configs.items()
            if topic.split("/")[1] == "device"
            and any(str(i).startswith("sleepenv_") for i in cfg["dev"]["ids"])
        }

    def components(self) -> list[Component]:
        """Every component of every sleepenv device."""
        return [
            Component(topic, cfg["dev"], key, comp)
            for topic, cfg in sorted(self.sleepenv_devices().items())
            for key, comp in sorted(cfg["cmps"].items())
        ]


def version_tuple(version: str) -> tuple[int, ...]:
    """2026.11.0 -> (2026, 11, 0)."""
    return tuple(int(re.sub(r"\D.*", "", p) or 0) for p in version.split(".")[:3])


def registry_by_unique_id(ha: HomeAssistant) -> dict[str, JSON]:
    """MQTT entity registry entries by unique_id."""
    return {e["unique_id"]: e for e in ha.entity_registry() if e.get("platform") == "mqtt"}


def wait_registered(ha: HomeAssistant, components: list[Component]) -> dict[str, JSON]:
    """Wait until every component has a registry entry; return the entries."""

    def all_there() -> dict[str, JSON]:
        entries = registry_by_unique_id(ha)
        return entries if all(c.unique_id in entries for c in components) else {}

    # Generous: four Home Assistants side by side on two cores take a while to register a
    # few dozen entities; the wait ends as soon as they are there.
    result: dict[str, JSON] = ha.wait_for(all_there, 60, message="every sleepenv entity registered")
    return result
