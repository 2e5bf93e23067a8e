"""The guidance part of `sleepenv demo`: a simulated bedroom and the timeline of commands.

The bedroom (light group, TRV, TV plug, thermometer) speaks Zigbee2MQTT over the demo
broker; a scripted person turns the light up during the wind-down and the TV back on
after lights-out, so the demo shows overrides being respected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from rich.console import Console

from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.guidance.core.actions import Action, Skipped, kind_of
from sleepenv.guidance.plan import describe
from sleepenv.guidance.runner import GuidanceHooks
from sleepenv.guidance.settings import (
    BedroomSettings,
    DeviceSettings,
    GuidanceSettings,
    ScheduleSettings,
)
from sleepenv.service import Service
from sleepenv.sim.bedroom import LIGHT, PLUG, SENSOR, SETPOINT_KEY, TRV, SimBedroom, run_bedroom
from sleepenv.tasks import cancel_and_wait

# The ids the README's dashboard and blueprints are written for, so that `sleepenv demo`
# next to Home Assistant fills them: bed `bedroom` (in demo.py) and its guidance room.
ROOM = "bedroom"
# The clock starts this long before bedtime so the whole wind-down plays.
LEAD_SECONDS = 95 * 60.0
WAKE_BEFORE_END_SECONDS = 15 * 60.0


def guidance_for(start: float, hours: float, bed: str) -> GuidanceSettings:
    """Bedtime at the night's start, wake 15 min before its end, screens enforced; the
    room follows `bed`, so the bed's sleep onset moves it from lights-out to asleep."""
    bedtime = _local(start).time().replace(second=0, microsecond=0)
    end = start + hours * 3600 - WAKE_BEFORE_END_SECONDS
    wake = _local(max(end, start + 60)).time().replace(second=0, microsecond=0)
    room = BedroomSettings(
        id=ROOM,
        # Suggested as the device's area: the same area the demo's bed lands in.
        name="Bedroom",
        bed=bed,
        schedule=ScheduleSettings(bedtime=bedtime, wake=wake),
        devices=[
            DeviceSettings(id="lights", role="light", topic=LIGHT),
            DeviceSettings(id="radiator", role="climate", topic=TRV, setpoint_key=SETPOINT_KEY),
            DeviceSettings(id="tv", role="screen", topic=PLUG),
            DeviceSettings(id="thermometer", role="temperature", topic=SENSOR),
        ],
    )
    return GuidanceSettings(enforce=True, caffeine_cutoff=None, bedrooms=[room])


def with_guidance(settings: Settings, start: float, hours: float) -> Settings:
    """The demo settings plus the simulated bedroom's guidance, following the demo's bed."""
    bed = settings.beds[0].id
    return settings.model_copy(update={"guidance": guidance_for(start, hours, bed)})


def _local(when: float) -> datetime:
    """The local time at `when` (the demo's bedroom keeps the machine's time zone)."""
    return datetime.fromtimestamp(when, UTC).astimezone()


def _at(when: float) -> str:
    return _local(when).strftime("%H:%M")


def console_hooks(console: Console) -> GuidanceHooks:
    """Print guidance's commands, holds and notable notes as they happen."""

    def on_action(_room: str, now: float, action: Action) -> None:
        console.print(
            f"[cyan]{_at(now)}[/]  {kind_of(action):<7} {action.device:<9} "
            f"{describe(action)}  [dim]({action.reason})[/]"
        )

    def on_skipped(_room: str, now: float, skipped: Skipped) -> None:
        console.print(
            f"[cyan]{_at(now)}[/]  [yellow]held[/]    {skipped.device:<9} [dim]{skipped.reason}[/]"
        )

    def on_note(_room: str, now: float, note: str) -> None:
        if "override" in note or "released" in note or "phase" in note:
            console.print(f"[cyan]{_at(now)}[/]  [dim]{note}[/]")

    return GuidanceHooks(on_action=on_action, on_skipped=on_skipped, on_note=on_note)


@contextlib.asynccontextmanager
async def demo_bedroom(
    console: Console, host: str, port: int, clock: ScaledClock, service: Service, start: float
) -> AsyncIterator[SimBedroom]:
    """Run the simulated bedroom (the service was built with `console_hooks`)."""
    runner = service.guidance
    if runner is None:
        raise ValueError("the demo bedroom needs a service built with guidance")
    async with run_bedroom(host, port, clock) as (room, change):
        console.print(
            "bedroom: simulated Zigbee2MQTT light group, TRV, TV plug and thermometer; "
            f"bedtime {_at(start)}"
        )

        def person_says(what: str) -> None:
            console.print(f"[cyan]{_at(clock.now())}[/]  [magenta]person[/]  {what}")

        async def person() -> None:
            await clock.sleep_until(start - 40 * 60)
            person_says("turns the light up to 70 %")
            await change(room.topic(LIGHT), {"state": "ON", "brightness": 178})
            await clock.sleep_until(start + 20 * 60)
            person_says("turns the TV back on")
            await change(room.topic(PLUG), {"state": "ON", "power": 85})

        task = asyncio.create_task(person(), name="demo-person")
        try:
            yield room
        finally:
            await cancel_and_wait((task,), reraise=True)
    engine = runner.engines[ROOM]
    minutes = engine.states(clock.now()).screen_minutes_in_window
    if engine.last_night_screen_minutes is not None:  # the clock may be past the wake phase
        minutes = engine.last_night_screen_minutes
    console.print(
        f"bedroom: {len(room.commands)} device commands; room {room.room_celsius:g} °C; "
        f"screen minutes in the no-screen window: {minutes:g}"
    )


def clock_start(start: float) -> float:
    """Where the demo clock starts when guidance plays too."""
    return start - LEAD_SECONDS
