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

    def json(self, topic: str) -> Any:
        """Latest payload on `topic` parsed as JSON."""
        value = self.latest.get(topic)
        return json.loads(value) if value is not None else None

    def on(self, topic: str) -> list[bytes]:
        """Every payload seen on `topic`."""
        return [p for t, p in self.log if t == topic]

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait until `predicate()` holds; TimeoutError with no fuss otherwise."""
        async with asyncio.timeout(seconds):
            while not predicate():
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.2)


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
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await task


async def publish_many(
    host: str, port: int, messages: list[tuple[str, bytes]], retain: bool = False
) -> None:
    """Publish messages in order with QoS 1."""
    async with aiomqtt.Client(host, port, identifier=f"p{uuid.uuid4().hex[:8]}") as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1, retain=retain)
