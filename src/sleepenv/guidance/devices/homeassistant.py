"""Home Assistant entities as guidance devices, through its REST API (`homeassistant-api`).

Service calls: `light.turn_on` (brightness_pct, color_temp_kelvin, transition),
`light.turn_off`, `climate.set_temperature`, `media_player.turn_off` (or
`switch.turn_off`), `notify.<service>`. Entity states are polled for override
detection and screen use, and a bedroom's habit entities (`habits:`) for presses of its
habit buttons. Inside the add-on the Supervisor's proxy is the API.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from sleepenv.guidance.core.actions import (
    Action,
    DeviceState,
    MediaOff,
    Notify,
    SetClimate,
    SetLight,
)
from sleepenv.guidance.core.buttons import HabitRule, habit_rule, habit_step
from sleepenv.guidance.settings import DeviceSettings, GuidanceSettings, HomeAssistantApiSettings
from sleepenv.mqtt.backoff import Backoff
from sleepenv.rejection import Rejection

log = logging.getLogger(__name__)

SUPERVISOR_API = "http://supervisor/core/api"
SCREEN_OFF_STATES = frozenset({"off", "standby", "unavailable", "unknown"})
CALL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One Home Assistant service call."""

    domain: str
    service: str
    data: dict[str, Any]


def api_access(api: HomeAssistantApiSettings) -> tuple[str, str] | None:
    """URL and token from the config, else the Supervisor's inside the add-on."""
    if api.url and api.token:
        return api.url.rstrip("/"), api.token.get_secret_value()
    token = os.environ.get("SUPERVISOR_TOKEN")
    if token:
        return api.url or SUPERVISOR_API, token
    return None


def service_call(action: Action, device: DeviceSettings) -> ServiceCall | None:
    """The service call for an action on an entity (pure)."""
    entity = device.entity_id or ""
    domain = entity.split(".", 1)[0]
    target = {"entity_id": entity}
    if isinstance(action, SetLight):
        transition = {"transition": round(action.transition_seconds, 1)}
        if action.is_off:
            return ServiceCall("light", "turn_off", target | transition)
        data: dict[str, Any] = target | transition
        if action.brightness_pct is not None:
            data["brightness_pct"] = action.brightness_pct
        if action.color_temp_kelvin is not None:
            data["color_temp_kelvin"] = action.color_temp_kelvin
        return ServiceCall("light", "turn_on", data)
    if isinstance(action, SetClimate):
        return ServiceCall(
            "climate", "set_temperature", target | {"temperature": action.setpoint_celsius}
        )
    if isinstance(action, MediaOff):
        service_domain = "switch" if domain == "switch" else "media_player"
        return ServiceCall(service_domain, "turn_off", target)
    if isinstance(action, Notify) and domain == "notify":
        service = entity.split(".", 1)[1]
        return ServiceCall("notify", service, {"title": action.title, "message": action.message})
    return None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond a float
        return None
    return number if math.isfinite(number) else None


def decode_state(state: str, attributes: dict[str, Any], device: DeviceSettings) -> DeviceState:
    """An entity's state and attributes → DeviceState (pure)."""
    if device.role == "light":
        brightness = _float(attributes.get("brightness"))
        kelvin = _float(attributes.get("color_temp_kelvin"))
        return DeviceState(
            is_on=state == "on" if state in ("on", "off") else None,
            brightness_pct=None if brightness is None else round(brightness * 100 / 255, 1),
            color_temp_kelvin=kelvin,
        )
    if device.role == "climate":
        return DeviceState(
            setpoint_celsius=_float(attributes.get("temperature")),
            temperature_celsius=_float(attributes.get("current_temperature")),
        )
    if device.role == "screen":
        return DeviceState(is_on=state not in SCREEN_OFF_STATES)
    if device.role == "temperature":
        return DeviceState(temperature_celsius=_float(state))
    return DeviceState()


StateCallback = Callable[[str, str, DeviceState], None]
TimeCallback = Callable[[str, str, time], None]
HabitCallback = Callable[[str, str, str], None]  # (bedroom, habit, entity id)
RejectCallback = Callable[[str, Rejection], None]  # (entity id, why)


@dataclass(frozen=True, slots=True)
class HabitWatch:
    """A habit of a bedroom ("caffeine" or "exercise") fed by a Home Assistant entity."""

    room: str
    habit: str
    entity_id: str
    rule: HabitRule


def habit_watches(guidance: GuidanceSettings) -> list[HabitWatch]:
    """Every bedroom's habit entities (`habits:`), with the rule that makes a press."""
    found = []
    for room in guidance.bedrooms:
        for habit in ("caffeine", "exercise"):
            source = getattr(room.habits, habit)
            if source is None:
                continue
            rule = habit_rule(source.entity, source.states)
            if rule is not None:  # the settings refuse an entity without a rule
                found.append(HabitWatch(room.id, habit, source.entity, rule))
    return found


def decode_time(state: str) -> time | None:
    """An input_datetime's state ("22:30:00" or "2026-11-20 22:30:00") → its time of day."""
    text = state.strip().rsplit(" ", 1)[-1]
    try:
        return time.fromisoformat(text).replace(microsecond=0)
    except ValueError:
        return None


class HomeAssistantBackend:
    """Sends queued actions as service calls and polls entity states, reconnecting on errors."""

    def __init__(
        self,
        access: tuple[str, str],
        devices: dict[tuple[str, str], DeviceSettings],
        on_state: StateCallback,
        poll_seconds: float = 10.0,
        times: dict[str, list[tuple[str, str]]] | None = None,
        on_time: TimeCallback | None = None,
        *,
        habits: Sequence[HabitWatch] = (),
        on_habit: HabitCallback | None = None,
        on_reject: RejectCallback | None = None,
    ) -> None:
        """`devices` maps (bedroom, device id) to settings of homeassistant-backed devices;
        `times` maps input_datetime entities to (bedroom, "bedtime" | "wake"); `habits`
        are polled too, and `on_habit` hears each press they make, `on_reject` each answer
        about them that could not be used."""
        self.url, self._token = access
        self.devices = devices
        self.on_state = on_state
        self.poll_seconds = poll_seconds
        self.times = times or {}
        self.on_time = on_time
        self.habits = tuple(habits)
        self.on_habit = on_habit
        self.on_reject = on_reject
        # The last usable state of each habit entity: kept across reconnects (a change
        # while Home Assistant was unreachable is still one press), not across restarts.
        self.habit_baselines: dict[HabitWatch, str | None] = dict.fromkeys(self.habits)
        self.queue: asyncio.Queue[tuple[Action, DeviceSettings]] = asyncio.Queue(maxsize=1000)
        self.is_connected = asyncio.Event()

    def submit(self, action: Action, device: DeviceSettings) -> None:
        """Queue an action (dropped with a warning if Home Assistant is far behind)."""
        try:
            self.queue.put_nowait((action, device))
        except asyncio.QueueFull:
            log.warning("Home Assistant is not keeping up; dropped %s for %s", action, device.id)

    async def run(self) -> None:
        """Forever: connect, then send calls and poll states; one log line per outage."""
        from homeassistant_api import AsyncClient  # noqa: PLC0415 - heavy, only when used

        backoff = Backoff()
        is_down = False
        while True:
            try:
                async with AsyncClient(self.url, self._token) as client:
                    if is_down:
                        log.info("Home Assistant API reachable again")
                    is_down = False
                    backoff.reset()
                    self.is_connected.set()
                    await self._serve(client)
            except asyncio.CancelledError:
                raise
            # The last-resort guard of the backend's loop: the client raises many kinds
            # (HTTP, auth, JSON, its own); any of them is an outage, logged once, retried.
            except Exception as exc:  # noqa: BLE001
                self.is_connected.clear()
                if not is_down:
                    log.warning(
                        "Home Assistant API at %s unreachable (%s); retrying", self.url, exc
                    )
                is_down = True
                await asyncio.sleep(backoff.next_delay())

    async def _serve(self, client: Any) -> None:
        while True:
            await self._poll(client)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.poll_seconds
            while (remaining := deadline - loop.time()) > 0:
                try:
                    action, device = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
                await self._call(client, action, device)

    async def _call(self, client: Any, action: Action, device: DeviceSettings) -> None:
        call = service_call(action, device)
        if call is None:
            return
        log.debug("HA %s.%s %s (%s)", call.domain, call.service, call.data, action.reason)
        try:
            async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                await client.trigger_service(call.domain, call.service, **call.data)
        except Exception as exc:
            if not _is_refusal(exc):
                raise
            # One refused call (unknown service, bad data) is not an outage: say so, go on.
            log.warning(
                "Home Assistant refused %s.%s for %s: %s", call.domain, call.service, device.id, exc
            )

    async def _poll(self, client: Any) -> None:
        for (room, device_id), device in self.devices.items():
            if device.role == "notify" or device.entity_id is None:
                continue
            try:
                async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                    state = await client.get_state(entity_id=device.entity_id)
            except Exception as exc:
                if not _is_refusal(exc):
                    raise
                log.debug("no state for %s: %s", device.entity_id, exc)
                continue
            self.on_state(room, device_id, decode_state(state.state, state.attributes, device))
        for entity_id, targets in self.times.items():
            try:
                async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                    state = await client.get_state(entity_id=entity_id)
            except Exception as exc:
                if not _is_refusal(exc):
                    raise
                log.debug("no state for %s: %s", entity_id, exc)
                continue
            at = decode_time(state.state)
            if at is not None and self.on_time is not None:
                for room, which in targets:
                    self.on_time(room, which, at)
        for watch in self.habits:
            await self._poll_habit(client, watch)

    async def _poll_habit(self, client: Any, watch: HabitWatch) -> None:
        """Read one habit entity; a press goes to `on_habit`, an unusable answer to
        `on_reject` (a missing entity, a malformed answer or state), and nothing stops."""
        try:
            async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                state = await client.get_state(entity_id=watch.entity_id)
            text = state.state
            if not isinstance(text, str):
                raise TypeError(f"state is a {type(text).__name__}, not text")
        except Exception as exc:
            if not _is_refusal(exc) and not _is_malformed(exc):
                raise
            self._reject(
                watch, Rejection("habit_entity_unreadable", f"{type(exc).__name__}: {exc}")
            )
            return
        step = habit_step(watch.rule, self.habit_baselines[watch], text)
        self.habit_baselines[watch] = step.baseline
        if step.problem is not None:
            self._reject(watch, Rejection("habit_entity_state", step.problem))
        elif step.is_press and self.on_habit is not None:
            self.on_habit(watch.room, watch.habit, watch.entity_id)

    def _reject(self, watch: HabitWatch, rejection: Rejection) -> None:
        if self.on_reject is not None:
            self.on_reject(watch.entity_id, rejection)
        else:
            log.debug("%s: %s (%s)", watch.entity_id, rejection.reason, rejection.detail)


def _is_malformed(exc: Exception) -> bool:
    """True for an answer that is not a state: not JSON, not an object, no usable fields."""
    from homeassistant_api import errors  # noqa: PLC0415 - heavy, only when used
    from pydantic import ValidationError  # noqa: PLC0415 - with the client

    return isinstance(
        exc, errors.ProcessorNotFoundError | errors.MalformedDataError | TypeError | ValidationError
    )


def _is_refusal(exc: Exception) -> bool:
    """True for errors about one request (400, 404, 405, 500); timeouts and auth are outages."""
    from homeassistant_api import errors  # noqa: PLC0415 - heavy, only when used

    if isinstance(exc, errors.RequestTimeoutError | errors.UnauthorizedError):
        return False
    return isinstance(
        exc,
        errors.RequestError
        | errors.EndpointNotFoundError
        | errors.MethodNotAllowedError
        | errors.InternalServerError
        | errors.MalformedDataError,
    )
