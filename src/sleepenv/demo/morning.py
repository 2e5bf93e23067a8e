"""The demo's morning: the service closes the played night itself, and its chart is saved.

The played night stops with the sensor's data, hours before the service's night window
ends, so nothing would close it. The morning lets the demo's clock run on (or jump, where
nothing happens for hours) to where the service closes a night in real life: 20 minutes
after the sleeper got up, from the window's `morning` on, else at the window's end. The
service's own ticker closes it, stores it and draws its chart; the chart is taken from
the broker, as Home Assistant's image entity gets it, and written to a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import aiomqtt
from rich.console import Console

from sleepenv.bed import discovery
from sleepenv.bed.core.model import NightSummary
from sleepenv.bed.core.occupancy import UP_SECONDS
from sleepenv.bed.core.tracker import BedTracker
from sleepenv.cli.demo import CHART_FILE
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.demo.guidance import ROOM
from sleepenv.report.entity import RENDER_TIMEOUT_SECONDS
from sleepenv.service import Service
from sleepenv.tasks import cancel_and_wait

# Past the 20 minutes up, the tracker re-classifies the night every few simulated minutes:
# this much more of the morning plays before the demo stops waiting for it.
MORNING_SLACK_SECONDS = 10 * 60.0
# Real seconds the service has to close the night once its clock is past the window's end
# (its ticker looks at least every 5 simulated seconds).
CLOSE_TIMEOUT_SECONDS = 15.0
# A chart is drawn in a child process that is killed after RENDER_TIMEOUT_SECONDS.
CHART_TIMEOUT_SECONDS = RENDER_TIMEOUT_SECONDS + 15.0
POLL_SECONDS = 0.05
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class DemoStepError(RuntimeError):
    """A step of the demo did not happen in time; the message says which and why."""


class DemoClock(ScaledClock):
    """The demo's scaled clock, which can also jump ahead over hours where nothing happens."""

    def jump_to(self, at: float) -> None:
        """Read `at` from now on (never backwards), at the same speed."""
        if at > self.now():
            self.start_at, self._t0 = at, time.monotonic()


def local_hm(at: float) -> str:
    """`at` as HH:MM on the machine's clock (the demo's bed and bedroom keep its zone)."""
    return datetime.fromtimestamp(at, UTC).astimezone().strftime("%H:%M")


async def wait_until(
    condition: Callable[[], bool], *, timeout_seconds: float, failure: str
) -> None:
    """Poll `condition` until it holds; DemoStepError(`failure`) after `timeout_seconds`."""
    try:
        async with asyncio.timeout(timeout_seconds):
            while not condition():  # noqa: ASYNC110 - the service has no event to await
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        raise DemoStepError(f"{failure} (waited {timeout_seconds:g} s)") from None


async def close_night(
    service: Service, clock: DemoClock, console: Console, bed_id: str, speed: float
) -> NightSummary:
    """Play the morning until the service closes the bed's night; the closed night."""
    tracker = service.bed.trackers[bed_id]
    clock.set_speed(speed)  # the player may have slowed it down
    # None when the service closed the night while it played (a sleeper up long before
    # the data ends, a night longer than the window).
    if tracker.night is not None:
        await play_morning(tracker, tracker.night, clock, console, speed)
    # Nothing more to play: the next evening must not start while the chart is drawn.
    clock.set_speed(1.0)
    closed = tracker.last_night
    if closed is None:
        raise DemoStepError(f"the service closed no night of bed {bed_id}")
    at = tracker.counts_reset_at  # where the closed night's counts ended
    console.print(
        f"morning: the service closed the night of {closed.night}"
        + (f" at {local_hm(at)}" if at is not None else "")
        + f" and stored it ({closed.total_movements} movements); drawing its chart"
    )
    return closed


async def play_morning(
    tracker: BedTracker, night: date, clock: DemoClock, console: Console, speed: float
) -> None:
    """Run the clock on until the tracker closes `night`: through the morning at `speed`
    (fast-forwarded to the window's morning first), else to the window's end."""
    before = tracker.last_night
    end_at = tracker.window.bounds(night)[1]
    morning_at = tracker.window.morning_of(night)

    def is_closed() -> bool:
        return tracker.last_night is not before

    if morning_at is not None:
        if clock.now() < morning_at:
            console.print(
                f"morning: fast-forward to {local_hm(morning_at)}, from when a night closes "
                "once its sleeper has been up for 20 minutes"
            )
            clock.jump_to(morning_at)
        console.print("morning: the sleeper is up; waiting for the service to close the night")
        until = clock.now() + UP_SECONDS + MORNING_SLACK_SECONDS
        await wait_until(
            lambda: is_closed() or clock.now() >= until,
            timeout_seconds=(until - clock.now()) / speed + CLOSE_TIMEOUT_SECONDS,
            failure="the morning did not pass on the demo's clock",
        )
    if not is_closed():
        console.print(
            f"morning: fast-forward to {local_hm(end_at)}, the end of the night window, "
            "where every night closes"
        )
        clock.jump_to(end_at + 1.0)
        await wait_until(
            is_closed,
            timeout_seconds=CLOSE_TIMEOUT_SECONDS,
            failure=f"the service did not close the night at the end of its window "
            f"({local_hm(end_at)})",
        )


@dataclass
class ChartWatch:
    """The bed's chart as the broker delivers it to a subscriber (Home Assistant)."""

    received: asyncio.Future[bytes]
    failures_before: int

    async def chart(self, service: Service) -> bytes:
        """The first chart published after the watch began; DemoStepError when the service
        could not draw it or nothing came within CHART_TIMEOUT_SECONDS."""
        await wait_until(
            lambda: self.received.done() or service.chart_failures > self.failures_before,
            timeout_seconds=CHART_TIMEOUT_SECONDS,
            failure="the night's chart was not published",
        )
        if not self.received.done():
            raise DemoStepError("the service could not draw the night's chart (see its warning)")
        return self.received.result()


@contextlib.asynccontextmanager
async def watch_chart(
    settings: Settings, bed_id: str, service: Service
) -> AsyncIterator[ChartWatch]:
    """Subscribe to the bed's chart topic for as long as the context lasts."""
    topic = discovery.chart_topic(settings.mqtt, bed_id)
    mqtt = settings.mqtt
    received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    client = aiomqtt.Client(mqtt.host, mqtt.port, identifier=f"{mqtt.client_id}-viewer")
    async with client:
        await client.subscribe(topic, qos=1)

        async def read() -> None:
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, bytes | bytearray) and payload and not received.done():
                    received.set_result(bytes(payload))

        reader = asyncio.create_task(read(), name="demo-chart-watch")
        try:
            yield ChartWatch(received, service.chart_failures)
        finally:
            await cancel_and_wait((reader,), reraise=True)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG image; ValueError when `data` is not one."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def prepare_out(out: Path) -> str | None:
    """Make the directory the chart goes to; what is wrong with it, or None."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot make the directory {out}: {exc.strerror or exc}"
    if (out / CHART_FILE).is_dir():
        return f"{out / CHART_FILE} is a directory"
    return None


def has_room(service: Service, night: NightSummary | None) -> bool:
    """Whether the bedroom's evening was stored with the closed night (the chart shows it)."""
    return night is not None and service.store.bedroom(ROOM, night.night) is not None


@dataclass(frozen=True, slots=True)
class ChartFile:
    """The night's chart as the demo wrote it."""

    path: Path
    width: int
    height: int
    has_room: bool
    replaced: bool

    def show(self, console: Console) -> None:
        """Say where the chart is and what it shows."""
        what = "the night, and the bedroom's evening under it" if self.has_room else "the night"
        # On a line of its own, never wrapped or styled: a path to copy.
        console.print(
            f"\nnight chart: {self.path.resolve()}", soft_wrap=True, markup=False, highlight=False
        )
        replaced = "; it replaced the chart an earlier demo had written there"
        console.print(
            f"  {self.width} × {self.height} px: {what}, as Home Assistant shows it on the "
            f"bed's last-night chart{replaced if self.replaced else ''}",
            markup=False,
            highlight=False,
        )


def save_night_chart(out: Path, png: bytes, *, has_room: bool) -> ChartFile:
    """Write the chart the service published into `out`, replacing an earlier demo's."""
    try:
        width, height = png_size(png)
    except ValueError as exc:
        raise DemoStepError(f"the published chart is not a PNG image ({len(png)} bytes)") from exc
    path = out / CHART_FILE
    replaced = path.exists()
    try:
        path.write_bytes(png)
    except OSError as exc:
        raise DemoStepError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return ChartFile(path, width, height, has_room=has_room, replaced=replaced)
