"""`sleepenv record`: write messages from a live broker as JSON lines for `analyze`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable

import aiomqtt

from sleepenv.bed.recording import write_message
from sleepenv.cli.common import on_stop_signal
from sleepenv.config.settings import MqttSettings, Settings
from sleepenv.mqtt.client import make_client


async def record_async(
    mqtt: MqttSettings,
    topics: list[str],
    out: str,
    duration: float | None = None,
    count: int | None = None,
    stop: asyncio.Event | None = None,
    on_subscribed: Callable[[], None] | None = None,
) -> int:
    """Subscribe to `topics` and append every message to `out`; returns how many were written.
    `on_subscribed` runs once the broker has confirmed the subscription."""
    stop = stop or asyncio.Event()
    written = 0
    deadline = time.monotonic() + duration if duration else None
    will_topic = f"{mqtt.base_topic}/recorder/status"
    with open(out, "a", encoding="utf-8") as fh:  # noqa: PTH123, ASYNC230 - small sync appends
        suffix = f"-rec-{time.time_ns() % 10**6}"
        async with make_client(mqtt, will_topic, client_suffix=suffix) as c:
            await c.subscribe([(t, 1) for t in topics])
            if on_subscribed is not None:
                on_subscribed()
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                left = 0.5 if deadline is None else deadline - time.monotonic()
                timeout = max(0.0, min(0.5, left))
                try:
                    message = await asyncio.wait_for(anext(c.messages), timeout)
                except TimeoutError:
                    continue
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                write_message(fh, time.time(), str(message.topic), data)
                written += 1
                if count is not None and written >= count:
                    break
            fh.flush()
    return written


def record(args: argparse.Namespace, settings: Settings | None) -> int:
    """Run the recorder until Ctrl-C, --duration or --count."""
    mqtt = settings.mqtt if settings else MqttSettings()
    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    mqtt = mqtt.model_copy(update=updates)

    async def main() -> int:
        stop = asyncio.Event()
        on_stop_signal(stop.set)

        def subscribed() -> None:  # said once messages can arrive, not before
            print(
                f"recording {', '.join(args.topic)} from {mqtt.host}:{mqtt.port} to {args.out}"
                " (Ctrl-C to stop)",
                file=sys.stderr,
                flush=True,
            )

        return await record_async(
            mqtt, args.topic, args.out, args.duration, args.count, stop, subscribed
        )

    try:
        written = asyncio.run(main())
    except aiomqtt.MqttError as exc:
        print(
            f"sleepenv record: cannot reach the broker {mqtt.host}:{mqtt.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    with contextlib.suppress(Exception):
        print(f"wrote {written} messages to {args.out}", file=sys.stderr)
    return 0
