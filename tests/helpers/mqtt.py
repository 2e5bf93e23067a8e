"""Small MQTT helpers for tests: watch topics on the real broker and wait for conditions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from sleepenv.tasks import cancel_and_wait


@dataclass
class Watcher:
    """Keeps the latest payload per topic and every payload in order."""

    latest: dict[str, bytes] = field(default_factory=dict)
    log: list[tuple[str, bytes]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def text(self, topic: str) -> str | None:
        """Latest payload on `topic` as text."""
        value = self.latest.get(topic)
        return value.decode() if value is not None else None

    def value(self, topic: str) -> str | None:
        """Latest state on `topic` as Home Assistant reads it: a nightly count's `count`
        from its JSON (`{"count": n, "last_reset": ...}`), else the text."""
        text = self.text(topic)
        if text is not None and text.startswith("{"):
            data = json.loads(text)
            if isinstance(data, dict) and "count" in data and "last_reset" in data:
                return str(data["count"])
        return text

    def json(self, topic: str) -> Any:
        """Latest payload on `topic` parsed as JSON."""
        value = self.latest.get(topic)
        return json.loads(value) if value is not None else None

    def on(self, topic: str) -> list[bytes]:
        """Every payload seen on `topic`."""
        return [p for t, p in self.log if t == topic]

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait until `predicate()` holds, or raise TimeoutError after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {seconds} s")
            self.changed.clear()
            # A plain deadline loop: nesting asyncio.timeout around wait_for can swallow
            # the outer cancellation on Python 3.11.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(0.2, remaining))

    async def expect(self, expected: dict[str, str], seconds: float = 10.0) -> None:
        """Wait until every topic's latest state (see `value`) equals its expected text;
        show the diff."""
        try:
            await self.wait_for(
                lambda: all(self.value(t) == v for t, v in expected.items()), seconds
            )
        except TimeoutError:
            assert {t: self.value(t) for t in expected} == expected


@contextlib.asynccontextmanager
async def watch(host: str, port: int, topics: list[str]) -> AsyncIterator[Watcher]:
    """Subscribe to `topics` in the background for the duration of the block."""
    watcher = Watcher()
    ready = asyncio.Event()

    async def loop() -> None:
        async with aiomqtt.Client(host, port, identifier=f"w{uuid.uuid4().hex[:8]}") as client:
            await client.subscribe([(t, 1) for t in topics])
            ready.set()
            async for message in client.messages:
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                watcher.latest[str(message.topic)] = data
                watcher.log.append((str(message.topic), data))
                watcher.changed.set()

    task = asyncio.create_task(loop())
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield watcher
    finally:
        await cancel_and_wait([task], reraise=True, ignore=(aiomqtt.MqttError,))


async def publish_many(
    host: str, port: int, messages: list[tuple[str, bytes]], *, retain: bool = False
) -> None:
    """Publish messages in order with QoS 1."""
    async with aiomqtt.Client(host, port, identifier=f"p{uuid.uuid4().hex[:8]}") as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1, retain=retain)
