"""sleepenv's runners and service set up for a test: a clock the test moves, an outbox that
keeps what is published, the settings of one bed and one bedroom, and the real service
running in the background."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from sleepenv.bootstrap import build_service
from sleepenv.clock import Clock
from sleepenv.config.settings import Settings
from sleepenv.service import Service


class StepClock:
    """A clock that reads what the test set; it moves only when the test sets `at`."""

    speed = 1.0

    def __init__(self, at: float) -> None:
        """Read `at` until set again."""
        self.at = at

    def now(self) -> float:
        """The time set."""
        return self.at

    async def sleep_until(self, at: float) -> None:
        """Jump to `at` (never back) and return at once."""
        self.at = max(self.at, at)


class RecordingOutbox:
    """An outbox that keeps every state and message it is handed, in order."""

    def __init__(self) -> None:
        """Nothing yet."""
        self.states: list[tuple[str, bytes]] = []
        self.messages: list[tuple[str, bytes]] = []

    def state(self, topic: str, payload: bytes) -> None:
        """Keep a state."""
        self.states.append((topic, payload))

    def message(self, topic: str, payload: bytes) -> None:
        """Keep a message."""
        self.messages.append((topic, payload))


def bedroom_settings(
    data_dir: Path,
    room: Mapping[str, object] | None = None,
    *,
    homeassistant: Mapping[str, object] | None = None,
    mqtt: Mapping[str, object] | None = None,
) -> Settings:
    """One bed `main` (an envelope sensor on `bed/e`) and one bedroom `bedroom` in
    Europe/Berlin, stored under `data_dir`.

    `room` adds to (or replaces) the bedroom's keys (`schedule`, `devices`, `habits`, ...);
    `homeassistant` is the guidance's Home Assistant access (none when not given) and `mqtt`
    the broker's settings (the defaults when not given).
    """
    guidance: dict[str, object] = {
        "bedrooms": [{"id": "bedroom", "timezone": "Europe/Berlin", **(room or {})}]
    }
    if homeassistant is not None:
        guidance["homeassistant"] = dict(homeassistant)
    return Settings(
        beds=[{"id": "main", "name": "Main", "sensors": [{"kind": "envelope", "topic": "bed/e"}]}],
        storage={"data_dir": data_dir},
        guidance=guidance,
        mqtt=dict(mqtt or {}),
    )


@contextlib.asynccontextmanager
async def service_running(
    settings: Settings, clock: Clock, seconds: float = 20.0
) -> AsyncIterator[Service]:
    """The real service (`build_service`) running in the background for the duration of the
    block, entered once it is connected to its broker; each wait is bounded by `seconds`."""
    service = build_service(settings, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.is_connected.wait(), seconds)
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, seconds)
