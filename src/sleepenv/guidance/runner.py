"""The guidance runner: MQTT and Home Assistant in, the pure engines, commands out.

Built by `bootstrap.py` and run by the service: it routes our topics here, publishes what
we queue in the outbox, and runs `run()` as a named task. All timing uses the injected
clock and the engines' `wake_at`. What Home Assistant's switches and buttons ask is
handled by `commands.py` (a mixin of the runner).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from pathlib import Path
from typing import Any, Protocol

from sleepenv.clock import Clock
from sleepenv.config.settings import Settings
from sleepenv.guidance import discovery as gd
from sleepenv.guidance.build import build_guidance
from sleepenv.guidance.commands import CommandHandling
from sleepenv.guidance.core.actions import Action, DeviceState, Notify, Skipped
from sleepenv.guidance.core.guidance import Decision, Guidance
from sleepenv.guidance.core.timeline import evening_for
from sleepenv.guidance.devices import zigbee2mqtt as z2m_devices
from sleepenv.guidance.devices.homeassistant import HomeAssistantBackend, habit_watches
from sleepenv.guidance.settings import DeviceSettings, GuidanceSettings
from sleepenv.mqtt.intake import Intake
from sleepenv.mqtt.outbox import Outgoing
from sleepenv.rejection import Rejection
from sleepenv.tasks import cancel_and_wait

log = logging.getLogger(__name__)

MAX_IDLE_SECONDS = 60.0
# After connecting, devices get this long (real time) to report before the first tick:
# acting on an unknown state could mean turning a light off the person just turned on.
FIRST_REPORT_SECONDS = 3.0
FRESH_MOVEMENT_SECONDS = 120.0


class Outbox(Protocol):
    """Where the runner queues what to publish (`mqtt/outbox.py`)."""

    def message(self, topic: str, payload: bytes) -> None:
        """Publish once, in order (commands, reminders)."""

    def state(self, topic: str, payload: bytes) -> None:
        """Publish retained, coalesced (entity states)."""


ActionHook = Callable[[str, float, Action], None]
SkipHook = Callable[[str, float, Skipped], None]
NoteHook = Callable[[str, float, str], None]
ScreenMinutesHook = Callable[[str, str, float], None]


class EveningListener(Protocol):
    """Who keeps what the bedroom reports through the evening (the insights' factors)."""

    def on_temperature(self, room: str, at: float, celsius: float) -> None:
        """A room thermometer's or thermostat's reading."""

    def on_screen_minutes(self, room: str, minutes: float) -> None:
        """Tonight's screen minutes in the no-screen window so far."""

    def on_habit(self, room: str, habit: str, at: float) -> None:
        """A habit button pressed ("caffeine" or "exercise")."""

    def on_screen(self, room: str, device: str, at: float, *, is_on: bool) -> None:
        """A screen (its plug or media player) reported on or off."""

    def on_guidance(
        self,
        room: str,
        evening: str,
        at: float,
        phases: Mapping[str, float],
        *,
        target_celsius: float,
        is_enabled: bool,
        is_paused: bool,
        is_held: bool,
    ) -> None:
        """Tonight's phase starts by name, the target, and whether guidance runs and the
        person holds a device by hand (for the wind-down's minutes and the night chart)."""


@dataclass(frozen=True, slots=True)
class GuidanceHooks:
    """Who else hears of guidance's decisions (the demo's console)."""

    on_action: ActionHook | None = None
    on_skipped: SkipHook | None = None
    on_note: NoteHook | None = None


class GuidanceRunner(CommandHandling):
    """Every bedroom's engine, its device routes and its Home Assistant entities."""

    def __init__(
        self,
        settings: Settings,
        tzs: dict[str, tzinfo],
        clock: Clock,
        outbox: Outbox,
        switches_path: Path | None = None,
        intake: Intake | None = None,
        hooks: GuidanceHooks | None = None,
        on_screen_minutes: ScreenMinutesHook | None = None,
        ha_access: tuple[str, str] | None = None,
        evenings: EveningListener | None = None,
    ) -> None:
        """Build engines and routes; nothing is read and nothing runs until `run()`.

        `switches_path` keeps the Guidance and Guests switches across restarts (read by
        `load_switches`); `intake` counts the messages that are rejected;
        `on_screen_minutes` hears (room, evening, minutes) when tonight's screen minutes
        change; `ha_access` is Home Assistant's API URL and token (`api_access`), for the
        devices and times it holds; `evenings` hears room readings, screen minutes, screens
        on and off, habit presses and the guidance's own samples (phases, whether it runs
        or is overridden) for the insights and the night chart.
        """
        if settings.guidance is None:
            raise ValueError("GuidanceRunner needs settings with a guidance section")
        self.settings = settings
        self.guidance: GuidanceSettings = settings.guidance
        self.clock = clock
        self.outbox = outbox
        self.intake = intake or Intake()
        self.engines: dict[str, Guidance] = build_guidance(self.guidance, tzs)
        self.on_screen_minutes = on_screen_minutes
        self.evenings = evenings
        self._screen_saved: dict[str, tuple[str, float]] = {}
        self.rooms = {r.id: r for r in self.guidance.bedrooms}
        self.devices: dict[tuple[str, str], DeviceSettings] = {
            (r.id, d.id): d for r in self.guidance.bedrooms for d in r.devices
        }
        self.state_routes: dict[str, list[tuple[str, DeviceSettings]]] = {}
        for (room, _), d in self.devices.items():
            if d.backend == "zigbee2mqtt" and d.topic is not None:
                self.state_routes.setdefault(d.topic, []).append((room, d))
        self.command_routes: dict[str, tuple[str, str]] = {}
        for room in self.rooms:
            for topic, key in gd.command_topics(settings.mqtt, room).items():
                self.command_routes[topic] = (room, key)
        self.hooks = hooks or GuidanceHooks()
        self._published: dict[str, bytes] = {}
        self._wakeup = asyncio.Event()
        self.connected = asyncio.Event()
        self._reported: set[tuple[str, str]] = set()
        self.ha = self._ha_backend(ha_access)
        self.switches_path = switches_path

    def _ha_backend(self, access: tuple[str, str] | None) -> HomeAssistantBackend | None:
        ha_devices = {k: d for k, d in self.devices.items() if d.backend == "homeassistant"}
        times: dict[str, list[tuple[str, str]]] = {}
        for room in self.rooms.values():
            for which, entity in (
                ("bedtime", room.schedule.bedtime_entity),
                ("wake", room.schedule.wake_entity),
            ):
                if entity is not None:
                    times.setdefault(entity, []).append((room.id, which))
        habits = habit_watches(self.guidance)
        if not ha_devices and not times and not habits:
            return None
        if access is None:
            log.warning(
                "guidance devices use Home Assistant but no API URL and token are configured "
                "(guidance.homeassistant) and no SUPERVISOR_TOKEN is set: they are left alone"
            )
            return None
        return HomeAssistantBackend(
            access,
            ha_devices,
            self.on_ha_state,
            self.guidance.homeassistant.poll_seconds,
            times,
            self.on_ha_time,
            habits=habits,
            on_habit=self.on_ha_habit,
            on_reject=self.on_ha_rejection,
        )

    # -- MQTT in ---------------------------------------------------------------------

    def topics(self) -> list[str]:
        """Device state topics and our command topics."""
        return [*self.state_routes, *self.command_routes]

    # service.py (under another change now) passes `retain` by position: keyword-only with it.
    def handle(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Route one message; False when the topic is not guidance's.

        A retained command is never acted on: a button pressed once would press again
        at every connect, and a stale switch command would undo the user's later one.
        Switches come back from their own stored state instead.
        """
        now = self.clock.now()
        command = self.command_routes.get(topic)
        if command is not None:
            if retain:
                self._clear_retained_command(topic, payload)
            else:
                self._command(*command, payload, now)
            return True
        routes = self.state_routes.get(topic)
        if routes is None:
            return False
        for room, device in routes:
            state = z2m_devices.decode_or_reject(payload, device)
            if isinstance(state, Rejection):
                self.intake.reject("device state", topic, state)
                continue
            if state is None:
                log.debug("ignoring an unusable state message on %s", topic)
                continue
            self._reported.add((room, device.id))
            self._on_state(room, device.id, state, now)
        return True

    def on_ha_state(self, room: str, device_id: str, state: DeviceState) -> None:
        """A polled Home Assistant entity state."""
        self._reported.add((room, device_id))
        self._on_state(room, device_id, state, self.clock.now())

    def _on_state(self, room: str, device_id: str, state: DeviceState, now: float) -> None:
        if self.evenings is not None and state.temperature_celsius is not None:
            self.evenings.on_temperature(room, now, state.temperature_celsius)
        device = self.devices.get((room, device_id))
        is_screen = device is not None and device.role == "screen"
        if self.evenings is not None and is_screen and state.is_on is not None:
            self.evenings.on_screen(room, device_id, now, is_on=state.is_on)
        self.apply(room, self.engines[room].on_state(device_id, state, now))

    def on_bed_movement(self, bed_id: str, onset: float) -> None:
        """A fresh movement on a bedroom's bed: someone is in bed (for bedtime-follows-me)."""
        now = self.clock.now()
        if now - onset > FRESH_MOVEMENT_SECONDS:  # replayed frames say nothing about now
            return
        for room in self.rooms.values():
            if room.bed == bed_id:
                self.apply(
                    room.id, self.engines[room.id].on_presence(in_bed=True, asleep=None, now=now)
                )

    def on_bed_asleep(self, bed_id: str) -> None:
        """The bed tracker estimated sleep onset: lights-out becomes asleep in its bedroom."""
        now = self.clock.now()
        for room in self.rooms.values():
            if room.bed == bed_id:
                self.apply(
                    room.id, self.engines[room.id].on_presence(in_bed=None, asleep=True, now=now)
                )

    def on_bed_night_closed(self, bed_id: str, night: object) -> None:
        """A bed's night closed: guidance plans by the clock, so nothing changes."""

    def on_ha_time(self, room: str, which: str, at: time) -> None:
        """A bedtime or wake time read from a Home Assistant input_datetime."""
        engine = self.engines[room]
        now = self.clock.now()
        if which == "bedtime":
            self.apply(room, engine.set_times(at, None, now))
        else:
            self.apply(room, engine.set_times(None, at, now))

    # -- out -------------------------------------------------------------------------

    def apply(self, room: str, decision: Decision) -> None:
        """Send a decision's actions, log its reasons, publish changed states."""
        now = self.clock.now()
        if decision.message:  # the answer to a button press: also the bedroom's Note entity
            log.info("bedroom %s: %s", room, decision.message)
        for note in decision.notes:
            log.debug("%s: %s", room, note)
            if self.hooks.on_note is not None:
                self.hooks.on_note(room, now, note)
        for skipped in decision.skipped:
            log.debug("%s: not %s %s: %s", room, skipped.kind, skipped.device, skipped.reason)
            if self.hooks.on_skipped is not None:
                self.hooks.on_skipped(room, now, skipped)
        for action in decision.actions:
            log.debug("%s: %s", room, action)
            self._send(room, action, now)
            if self.hooks.on_action is not None:
                self.hooks.on_action(room, now, action)
        self.publish_states(room)
        self._wakeup.set()

    def _send(self, room: str, action: Action, now: float) -> None:
        device = self.devices.get((room, action.device))
        mqtt = self.settings.mqtt
        if device is None:  # reminders without a notify device become an MQTT event
            if isinstance(action, Notify):
                payload = {
                    "event_type": action.kind.value,
                    "title": action.title,
                    "message": action.message,
                }
                payload["at"] = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
                self.outbox.message(gd.room_topic(mqtt, room, "reminder"), _json(payload))
            return
        if device.backend == "homeassistant":
            if self.ha is not None:
                self.ha.submit(action, device)
            return
        message = z2m_devices.encode(action, device)
        if message is not None:
            self.outbox.message(message.topic, message.payload)

    def publish_states(self, room: str, *, force: bool = False) -> None:
        """Queue the bedroom's entity states and attributes that changed."""
        engine = self.engines[room]
        mqtt = self.settings.mqtt
        now = self.clock.now()
        states = engine.states(now)
        items = gd.state_messages(mqtt, room, states)
        minutes = states.screen_minutes_in_window
        evening = evening_for(engine.config, now).isoformat()
        if self._screen_saved.get(room) != (evening, minutes):
            self._screen_saved[room] = (evening, minutes)
            if self.on_screen_minutes is not None:
                self.on_screen_minutes(room, evening, float(minutes))
            if self.evenings is not None:
                self.evenings.on_screen_minutes(room, float(minutes))
        if self.evenings is not None:
            plan = engine.plan(now)
            self.evenings.on_guidance(
                room,
                evening,
                now,
                {phase.value: at for phase, at in plan.phases()},
                target_celsius=engine.config.target_celsius,
                is_enabled=engine.is_enabled,
                is_paused=engine.is_paused,
                is_held=bool(engine.overrides.holds()),
            )
        attributes = _json(self._attributes(engine))
        items.append(Outgoing(gd.room_topic(mqtt, room, "attributes"), attributes, retain=True))
        for m in items:
            if force or self._published.get(m.topic) != m.payload:
                self._published[m.topic] = m.payload
                self.outbox.state(m.topic, m.payload)

    def _attributes(self, engine: Guidance) -> dict[str, Any]:
        attrs = engine.attributes()
        for holds in attrs["overrides"].values():
            for hold in holds.values():
                for key in ("since", "until"):
                    hold[key] = datetime.fromtimestamp(hold[key], UTC).isoformat(timespec="seconds")
        return attrs

    def discovery(self) -> list[Outgoing]:
        """Discovery messages of every bedroom (retained); also re-queues every state."""
        out = []
        for room in self.rooms.values():
            topic, payload = gd.bedroom_discovery(self.settings.mqtt, room)
            out.append(Outgoing(topic, _json(payload), retain=True))
            self.publish_states(room.id, force=True)
        return out

    def state_requests(self) -> list[Outgoing]:
        """Ask Zigbee2MQTT lights and plugs for their state (after each connect)."""
        return [
            m
            for d in self.devices.values()
            if d.backend == "zigbee2mqtt"
            if (m := z2m_devices.get_request(d))
        ]

    # -- time ------------------------------------------------------------------------

    async def run(self) -> None:
        """Tick every engine at its `wake_at` on the injected clock; also run HA's backend."""
        async with asyncio.TaskGroup() as tg:
            if self.ha is not None:
                tg.create_task(self.ha.run(), name="guidance-homeassistant")
            tg.create_task(self._ticker(), name="guidance-ticker")

    async def _first_reports(self) -> None:
        """Wait for the connection, then for every device that can report (or a timeout)."""
        await self.connected.wait()
        # Battery sensors cannot be asked; they report when they report.
        expected = {k for k, d in self.devices.items() if d.role in ("light", "climate", "screen")}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_REPORT_SECONDS
        while not expected <= self._reported and loop.time() < deadline:  # noqa: ASYNC110 - a short bounded poll
            await asyncio.sleep(0.05)

    async def _ticker(self) -> None:
        await self._first_reports()
        while True:
            now = self.clock.now()
            for room, engine in self.engines.items():
                self.apply(room, engine.tick(now))
            now = self.clock.now()
            wake = min(engine.wake_at(now) for engine in self.engines.values())
            self._wakeup.clear()
            sleeper = asyncio.ensure_future(
                self.clock.sleep_until(min(wake, now + MAX_IDLE_SECONDS))
            )
            waker = asyncio.ensure_future(self._wakeup.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # Never `suppress(CancelledError)` around awaiting them: a stop that
                # arrived meanwhile would be swallowed and the ticker would run on.
                await cancel_and_wait((sleeper, waker))


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()
