"""Zigbee2MQTT payloads, Home Assistant service calls and guidance discovery, without a broker.

The Home Assistant backend is tested here at its HTTP boundary (a small aiohttp server that
answers like Home Assistant's REST API, fast and without the real-HA build), and against a
real Home Assistant in tests/ha/test_guidance_ha.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import datetime, time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from hypothesis import example, given
from hypothesis import strategies as st

from sleepenv import __version__
from sleepenv.config.settings import MqttSettings
from sleepenv.guidance import discovery as gd
from sleepenv.guidance.core.actions import (
    DeviceState,
    MediaOff,
    Notify,
    Reminder,
    SetClimate,
    SetLight,
)
from sleepenv.guidance.core.buttons import HabitRule, HabitTrigger
from sleepenv.guidance.core.guidance import Guidance
from sleepenv.guidance.core.states import GuidanceStates
from sleepenv.guidance.core.timeline import Phase
from sleepenv.guidance.devices import zigbee2mqtt as z
from sleepenv.guidance.devices.homeassistant import (
    SUPERVISOR_API,
    HabitWatch,
    HomeAssistantBackend,
    api_access,
    decode_state,
    decode_time,
    service_call,
)
from sleepenv.guidance.runner import GuidanceRunner
from sleepenv.guidance.settings import (
    BedroomSettings,
    DeviceSettings,
    HomeAssistantApiSettings,
    example_guidance,
)
from sleepenv.mqtt.outbox import Outgoing
from sleepenv.rejection import Rejection
from tests.guidance.core.guidance_helpers import DEVICES, at, config
from tests.helpers.service import RecordingOutbox, StepClock, bedroom_settings

LIGHT = DeviceSettings(id="l", role="light", topic="zigbee2mqtt/Bedroom lights")
TRV = DeviceSettings(
    id="t", role="climate", topic="zigbee2mqtt/TRV", setpoint_key="occupied_heating_setpoint"
)
PLUG = DeviceSettings(id="p", role="screen", topic="zigbee2mqtt/TV plug")
SENSOR = DeviceSettings(id="s", role="temperature", topic="zigbee2mqtt/sensor")
HA_LIGHT = DeviceSettings(id="l", role="light", backend="homeassistant", entity_id="light.bedroom")
HA_TV = DeviceSettings(id="tv", role="screen", backend="homeassistant", entity_id="media_player.tv")


def test_z2m_light_commands() -> None:
    light = z.encode(SetLight("l", 20.0, 2200, 900.0), LIGHT)
    assert light is not None
    assert light.topic == "zigbee2mqtt/Bedroom lights/set"
    assert not light.retain  # a command, never retained
    assert json.loads(light.payload) == {"brightness": 51, "color_temp": 455, "transition": 900.0}
    off = z.encode(SetLight("l", is_off=True, transition_seconds=60), LIGHT)
    assert off is not None
    assert json.loads(off.payload) == {"state": "OFF", "transition": 60.0}
    assert z.kelvin_to_mired(2700) == 370
    assert z.pct_to_brightness(0.1) == 1


def test_z2m_trv_plug_and_reminder() -> None:
    trv = z.encode(SetClimate("t", 18.0), TRV)
    assert trv is not None
    assert json.loads(trv.payload) == {"occupied_heating_setpoint": 18.0}
    assert z.encode(MediaOff("p"), PLUG) == Outgoing("zigbee2mqtt/TV plug/set", b'{"state": "OFF"}')
    assert z.encode(Notify("x", Reminder.NO_SCREEN, "t", "m"), PLUG) is None
    assert z.get_request(LIGHT) == Outgoing("zigbee2mqtt/Bedroom lights/get", b'{"state": ""}')
    assert z.get_request(TRV) == Outgoing(
        "zigbee2mqtt/TRV/get", b'{"occupied_heating_setpoint": ""}'
    )
    assert z.get_request(SENSOR) is None


def test_z2m_state_decoding() -> None:
    light = z.decode(b'{"state":"ON","brightness":127,"color_temp":370,"linkquality":90}', LIGHT)
    assert light == DeviceState(is_on=True, brightness_pct=50.0, color_temp_kelvin=2703)
    trv = z.decode(b'{"occupied_heating_setpoint":19.5,"local_temperature":20.1}', TRV)
    assert trv == DeviceState(setpoint_celsius=19.5, temperature_celsius=20.1)
    assert z.decode(b'{"state":"OFF","power":0}', PLUG) == DeviceState(is_on=False)
    assert z.decode(b'{"temperature":19.6,"humidity":48.2}', SENSOR) == DeviceState(
        temperature_celsius=19.6
    )
    assert z.decode(b'{"temperature":"hot"}', SENSOR) == DeviceState()
    assert z.decode(b"not json", LIGHT) is None
    assert z.decode(b"[1,2]", LIGHT) is None


@given(st.binary(max_size=200))
@example(b'{"state":"ON","brightness":1e999,"color_temp":NaN,"temperature":-Infinity}')
@example(b'{"occupied_heating_setpoint":"19","local_temperature":[20]}')
def test_z2m_decoders_never_raise(payload: bytes) -> None:
    """Any bytes: None for every role, or a state for every role with finite numbers only."""
    states = [z.decode(payload, device) for device in (LIGHT, TRV, PLUG, SENSOR)]
    assert all(s is None for s in states) or all(isinstance(s, DeviceState) for s in states)
    for s in states:
        if s is not None:
            numbers = (
                s.brightness_pct,
                s.color_temp_kelvin,
                s.setpoint_celsius,
                s.temperature_celsius,
            )
            assert all(abs(n) < float("inf") for n in numbers if n is not None)


def test_ha_service_calls() -> None:
    call = service_call(SetLight("l", 20.0, 2200, 900.0), HA_LIGHT)
    assert call is not None
    assert (call.domain, call.service) == ("light", "turn_on")
    assert call.data == {
        "entity_id": "light.bedroom",
        "brightness_pct": 20.0,
        "color_temp_kelvin": 2200,
        "transition": 900.0,
    }
    off = service_call(SetLight("l", is_off=True, transition_seconds=60), HA_LIGHT)
    assert off is not None
    assert (off.domain, off.service) == ("light", "turn_off")
    climate = DeviceSettings(
        id="c", role="climate", backend="homeassistant", entity_id="climate.trv"
    )
    set_temp = service_call(SetClimate("c", 18.0), climate)
    assert set_temp is not None
    assert set_temp.data == {"entity_id": "climate.trv", "temperature": 18.0}
    media = service_call(MediaOff("tv"), HA_TV)
    assert media is not None
    assert (media.domain, media.service) == ("media_player", "turn_off")
    phone = DeviceSettings(
        id="n", role="notify", backend="homeassistant", entity_id="notify.mobile_app_phone"
    )
    reminder = Notify("n", Reminder.NO_SCREEN, "No screens", "Time to put screens away.")
    note = service_call(reminder, phone)
    assert note is not None
    assert (note.domain, note.service) == ("notify", "mobile_app_phone")


def test_ha_state_decoding() -> None:
    light = decode_state("on", {"brightness": 255, "color_temp_kelvin": 2700}, HA_LIGHT)
    assert light == DeviceState(is_on=True, brightness_pct=100.0, color_temp_kelvin=2700.0)
    assert decode_state("standby", {}, HA_TV).is_on is False
    assert decode_state("playing", {}, HA_TV).is_on is True


def test_ha_time_decoding() -> None:
    assert decode_time("22:30:00") == time(22, 30)
    assert decode_time("2026-11-20 06:45:00") == time(6, 45)
    assert decode_time("unknown") is None


async def test_ha_backend_reads_the_bedtime_helper(fake_ha: tuple[FakeHomeAssistant, str]) -> None:
    _fake, url = fake_ha
    seen: list[tuple[str, str, time]] = []
    backend = HomeAssistantBackend(
        (url, "secret"),
        {},
        lambda *_: None,
        poll_seconds=0.2,
        times={"input_datetime.bedtime": [("bedroom", "bedtime")]},
        on_time=lambda r, w, t: seen.append((r, w, t)),
    )
    task = asyncio.create_task(backend.run())
    try:
        async with asyncio.timeout(10):
            while not seen:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen[0] == ("bedroom", "bedtime", time(23, 15))


def test_ha_access_from_config_or_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    assert api_access(HomeAssistantApiSettings()) is None
    cfg = HomeAssistantApiSettings(url="http://ha:8123/api/", token="abc")
    assert api_access(cfg) == ("http://ha:8123/api", "abc")
    monkeypatch.setenv("SUPERVISOR_TOKEN", "sup")
    assert api_access(HomeAssistantApiSettings()) == (SUPERVISOR_API, "sup")


class FakeHomeAssistant:
    """Enough of Home Assistant's REST API: /api/, states, services; checks the token."""

    def __init__(self) -> None:
        """A bright bedroom light and a TV that is on."""
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.states = {
            "light.bedroom": {
                "state": "on",
                "attributes": {"brightness": 255, "color_temp_kelvin": 4000},
            },
            "media_player.tv": {"state": "playing", "attributes": {}},
            "input_datetime.bedtime": {"state": "23:15:00", "attributes": {"has_time": True}},
        }
        # Answers that are no state, by entity id: (content type, body).
        self.raw: dict[str, tuple[str, str]] = {}
        self.reads: dict[str, int] = {}

    async def read(self, entity_id: str, times: int = 2) -> None:
        """Wait until `entity_id` has been read `times` more times (a full poll after a
        change, whichever point of the poll the change landed at)."""
        target = self.reads.get(entity_id, 0) + times
        async with asyncio.timeout(10):
            while self.reads.get(entity_id, 0) < target:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    def app(self) -> web.Application:
        """The aiohttp application."""

        @web.middleware
        async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.headers.get("Authorization") != "Bearer secret":
                return web.json_response({"message": "unauthorized"}, status=401)
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[auth])
        app.router.add_get("/api/", self.root)
        app.router.add_get("/api/states/{entity_id}", self.state)
        app.router.add_post("/api/services/{domain}/{service}", self.service)
        return app

    async def root(self, _request: web.Request) -> web.Response:
        """API running."""
        return web.json_response({"message": "API running."})

    async def state(self, request: web.Request) -> web.Response:
        """One entity's state."""
        entity_id = request.match_info["entity_id"]
        self.reads[entity_id] = self.reads.get(entity_id, 0) + 1
        if entity_id in self.raw:
            content_type, body = self.raw[entity_id]
            return web.Response(text=body, content_type=content_type)
        if entity_id not in self.states:
            return web.json_response({"message": "Entity not found."}, status=404)
        entry = self.states[entity_id]
        return web.json_response(
            {
                "entity_id": entity_id,
                **entry,
                "last_changed": "2026-11-20T20:00:00+00:00",
                "last_updated": "2026-11-20T20:00:00+00:00",
                "context": {"id": "x", "parent_id": None, "user_id": None},
            }
        )

    async def service(self, request: web.Request) -> web.Response:
        """Record a service call; turning the TV off changes its state."""
        data = await request.json()
        domain, service = request.match_info["domain"], request.match_info["service"]
        if service == "nope":
            return web.json_response({"message": "Service not found."}, status=400)
        self.calls.append((domain, service, data))
        if (domain, service) == ("media_player", "turn_off"):
            self.states[data["entity_id"]]["state"] = "off"
        return web.json_response([])


@pytest.fixture
async def fake_ha() -> AsyncIterator[tuple[FakeHomeAssistant, str]]:
    """The fake API on a free loopback port."""
    fake = FakeHomeAssistant()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield fake, f"http://127.0.0.1:{port}/api"
    finally:
        await runner.cleanup()


async def test_ha_backend_calls_services_and_polls_states(
    fake_ha: tuple[FakeHomeAssistant, str],
) -> None:
    fake, url = fake_ha
    seen: list[tuple[str, str, DeviceState]] = []
    devices = {("bedroom", "l"): HA_LIGHT, ("bedroom", "tv"): HA_TV}
    backend = HomeAssistantBackend(
        (url, "secret"), devices, lambda r, d, s: seen.append((r, d, s)), poll_seconds=0.2
    )
    task = asyncio.create_task(backend.run())
    try:
        await asyncio.wait_for(backend.is_connected.wait(), 10)
        backend.submit(SetLight("l", 20.0, 2700, 900.0, reason="wind-down"), HA_LIGHT)
        backend.submit(MediaOff("tv", reason="enforce"), HA_TV)
        async with asyncio.timeout(10):
            while not any(d == "tv" and s.is_on is False for _, d, s in seen):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (
        "bedroom",
        "l",
        DeviceState(is_on=True, brightness_pct=100.0, color_temp_kelvin=4000.0),
    ) in seen
    assert fake.calls[0] == (
        "light",
        "turn_on",
        {
            "entity_id": "light.bedroom",
            "transition": 900.0,
            "brightness_pct": 20.0,
            "color_temp_kelvin": 2700,
        },
    )
    assert fake.calls[1] == ("media_player", "turn_off", {"entity_id": "media_player.tv"})


async def test_ha_backend_with_a_wrong_token_keeps_retrying(
    fake_ha: tuple[FakeHomeAssistant, str], caplog: pytest.LogCaptureFixture
) -> None:
    _fake, url = fake_ha
    backend = HomeAssistantBackend((url, "wrong"), {("b", "l"): HA_LIGHT}, lambda *_: None)
    task = asyncio.create_task(backend.run())
    await asyncio.sleep(1.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not backend.is_connected.is_set()
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # one line per outage, not per attempt
    assert "wrong" not in caplog.text


PINNED = Path(__file__).with_name("pinned_discovery.json")


def pinned(section: str) -> dict[str, Any]:
    """What the service published before discovery had a shared builder (version aside)."""
    text = PINNED.read_text(encoding="utf-8").replace('"<version>"', json.dumps(__version__))
    found: dict[str, Any] = json.loads(text)[section]
    return found


def test_guidance_discovery_is_byte_for_byte_what_it_was() -> None:
    expected = pinned("discovery")
    made = {}
    for name, mqtt in (
        ("default", MqttSettings()),
        ("custom", MqttSettings(base_topic="house_sleep", discovery_prefix="ha")),
    ):
        for room in example_guidance().bedrooms:
            made[f"{name}_{room.id}"] = gd.bedroom_discovery(mqtt, room)
    assert set(made) == set(expected)
    for name, (topic, payload) in made.items():
        assert topic == expected[name]["topic"]
        assert json.dumps(payload) == json.dumps(expected[name]["payload"]), name


def test_guidance_discovery_is_device_based_with_unique_ids() -> None:
    mqtt = MqttSettings()
    room: BedroomSettings = example_guidance().bedrooms[0]
    topic, payload = gd.bedroom_discovery(mqtt, room)
    assert topic == "homeassistant/device/sleepenv_guidance_bedroom/config"
    cmps = payload["cmps"]
    ids = [c["unique_id"] for c in cmps.values()]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("sleepenv_guidance_bedroom_") for i in ids)
    assert all("object_id" not in c for c in cmps.values())
    assert cmps["guidance"]["p"] == "switch"
    assert cmps["snooze"] == {
        "p": "button",
        "name": "Snooze",
        "unique_id": "sleepenv_guidance_bedroom_snooze",
        "default_entity_id": "button.sleepenv_guidance_bedroom_snooze",
        "command_topic": "sleepenv/guidance/bedroom/snooze/set",
        "payload_press": "PRESS",
        "icon": "mdi:alarm-snooze",
    }
    assert cmps["next_bedtime"]["device_class"] == "timestamp"
    assert cmps["phase"]["json_attributes_topic"] == "sleepenv/guidance/bedroom/attributes"
    assert "Lights out" in cmps["phase"]["options"]
    assert cmps["screen_minutes_in_window"]["state_class"] == "total_increasing"
    assert payload["avty"] == [{"t": "sleepenv/status"}]


class _Reads:
    """Stands in for GuidanceStates and notes which fields an entity's state reads."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.names.append(name)
        return Phase.DAY if name == "phase" else None


def test_every_state_is_published_by_exactly_one_entity() -> None:
    readers: dict[str, list[str]] = {f.name: [] for f in fields(GuidanceStates)}
    for entity in gd.ENTITIES:
        if entity.state is None:  # buttons and the reminder event
            assert entity.platform in ("button", "event")
            continue
        reads = _Reads()
        entity.state.read(cast(GuidanceStates, reads))
        (name,) = reads.names
        readers[name].append(entity.key)
    assert {name: len(keys) for name, keys in readers.items()} == dict.fromkeys(readers, 1)


def test_states_are_published_as_they_were() -> None:
    """A bedroom in the afternoon, in its no-screen window (room warm, a snooze noted),
    and after lights-out, as the service published it before the states had a type."""
    expected = pinned("states")
    engine = Guidance("bedroom", config(), DEVICES)
    published = {}
    for label, now in (
        ("afternoon", at(2026, 11, 20, 15)),
        ("no_screen", at(2026, 11, 20, 22)),
        ("night", at(2026, 11, 21, 1)),
    ):
        engine.tick(now)
        if label == "no_screen":
            engine.on_state("temp", DeviceState(temperature_celsius=20.26), now)
            engine.on_state("tv", DeviceState(is_on=True), now)
            engine.snooze(now)
        messages = gd.state_messages(MqttSettings(), "bedroom", engine.states(now))
        published[label] = {m.topic: m.payload.decode() for m in messages}
        assert all(m.retain for m in messages)
    assert published == expected


async def test_ha_backend_goes_on_after_a_refused_call(
    fake_ha: tuple[FakeHomeAssistant, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = fake_ha
    nope = DeviceSettings(id="n", role="notify", backend="homeassistant", entity_id="notify.nope")
    backend = HomeAssistantBackend((url, "secret"), {("b", "tv"): HA_TV}, lambda *_: None)
    task = asyncio.create_task(backend.run())
    try:
        await asyncio.wait_for(backend.is_connected.wait(), 10)
        backend.submit(Notify("n", Reminder.NO_SCREEN, "No screens", "Put screens away."), nope)
        backend.submit(MediaOff("tv"), HA_TV)
        async with asyncio.timeout(10):
            while not fake.calls:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert fake.calls == [("media_player", "turn_off", {"entity_id": "media_player.tv"})]
    assert "refused notify.nope" in caplog.text
    assert "unreachable" not in caplog.text


# -- habits from Home Assistant entities ---------------------------------------------------

COFFEE = HabitWatch(
    "bedroom", "caffeine", "counter.coffees_today", HabitRule(HabitTrigger.INCREASED)
)
ACTIVITY = HabitWatch(
    "bedroom",
    "exercise",
    "sensor.phone_activity",
    HabitRule(HabitTrigger.ENTERED, frozenset({"running", "cycling"})),
)


class HabitLog:
    """What a backend reports about its habit entities."""

    def __init__(self) -> None:
        """Nothing yet."""
        self.presses: list[tuple[str, str, str]] = []
        self.rejections: list[tuple[str, Rejection]] = []

    def on_habit(self, room: str, habit: str, entity_id: str) -> None:
        """A press."""
        self.presses.append((room, habit, entity_id))

    def on_reject(self, entity_id: str, rejection: Rejection) -> None:
        """An unusable answer."""
        self.rejections.append((entity_id, rejection))


@contextlib.asynccontextmanager
async def habit_backend(
    url: str, watches: list[HabitWatch], seen: HabitLog
) -> AsyncIterator[HomeAssistantBackend]:
    """A backend polling only `watches` every 50 ms, stopped afterwards."""
    backend = HomeAssistantBackend(
        (url, "secret"),
        {},
        lambda *_: None,
        poll_seconds=0.05,
        habits=watches,
        on_habit=seen.on_habit,
        on_reject=seen.on_reject,
    )
    task = asyncio.create_task(backend.run())
    try:
        yield backend
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_ha_backend_turns_habit_entities_into_presses(
    fake_ha: tuple[FakeHomeAssistant, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = fake_ha
    fake.states["counter.coffees_today"] = {"state": "2", "attributes": {}}
    fake.states["sensor.phone_activity"] = {"state": "Running", "attributes": {}}
    seen = HabitLog()

    def set_state(entity_id: str, state: str) -> None:
        fake.states[entity_id]["state"] = state

    async with habit_backend(url, [COFFEE, ACTIVITY], seen) as backend:
        # What the entities show when sleepenv starts is a baseline, never a press.
        await fake.read(COFFEE.entity_id)
        await fake.read(ACTIVITY.entity_id)
        assert backend.habit_baselines == {COFFEE: "2.0", ACTIVITY: "running"}
        assert seen.presses == []

        set_state(COFFEE.entity_id, "3")
        await fake.read(COFFEE.entity_id)
        assert seen.presses == [("bedroom", "caffeine", "counter.coffees_today")]

        # Unavailable and back at the same count: nothing; the next coffee: a press.
        set_state(COFFEE.entity_id, "unavailable")
        await fake.read(COFFEE.entity_id)
        set_state(COFFEE.entity_id, "3")
        await fake.read(COFFEE.entity_id)
        assert len(seen.presses) == 1
        set_state(COFFEE.entity_id, "4")
        await fake.read(COFFEE.entity_id)
        assert len(seen.presses) == 2

        set_state(ACTIVITY.entity_id, "still")
        await fake.read(ACTIVITY.entity_id)
        set_state(ACTIVITY.entity_id, "cycling")
        await fake.read(ACTIVITY.entity_id)
        assert seen.presses[2:] == [("bedroom", "exercise", "sensor.phone_activity")]

    # sleepenv restarts: the states it saw before are seen again, and are no press.
    again = HabitLog()
    async with habit_backend(url, [COFFEE, ACTIVITY], again):
        await fake.read(COFFEE.entity_id, 3)
        await fake.read(ACTIVITY.entity_id, 3)
    assert again.presses == []
    assert seen.rejections == again.rejections == []
    assert "unreachable" not in caplog.text


async def test_ha_backend_counts_unusable_habit_answers_and_goes_on(
    fake_ha: tuple[FakeHomeAssistant, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = fake_ha
    fake.states["counter.coffees_today"] = {"state": "0", "attributes": {}}
    rule = HabitRule(HabitTrigger.INCREASED)
    broken = {
        "counter.not_json": ("application/json", "{not json"),
        "counter.a_list": ("application/json", "[1, 2]"),
        "counter.no_state": ("application/json", '{"entity_id": "counter.no_state"}'),
        "counter.text": ("text/plain", "hello"),
        "counter.odd_type": ("text/html", "<p>hi</p>"),
    }
    fake.raw.update(broken)
    fake.states["counter.words"] = {"state": "two", "attributes": {}}
    watches = [
        HabitWatch("bedroom", "caffeine", entity, rule)
        for entity in [*broken, "counter.words", "counter.missing"]
    ]
    seen = HabitLog()
    async with habit_backend(url, [*watches, COFFEE], seen) as backend:
        await fake.read(COFFEE.entity_id)
        fake.states[COFFEE.entity_id]["state"] = "1"
        await fake.read(COFFEE.entity_id)
        assert backend.is_connected.is_set()
    # Every poll of every unusable entity is one counted rejection; the good one still
    # presses, and the connection never counted as lost.
    assert seen.presses[0] == ("bedroom", "caffeine", "counter.coffees_today")
    reasons = {entity: rejection.reason for entity, rejection in seen.rejections}
    assert reasons == {
        **dict.fromkeys(broken, "habit_entity_unreadable"),
        "counter.missing": "habit_entity_unreadable",
        "counter.words": "habit_entity_state",
    }
    words = next(r for e, r in seen.rejections if e == "counter.words")
    assert words.detail == "expected a number, got 'two'"
    missing = next(r for e, r in seen.rejections if e == "counter.missing")
    assert missing.detail.startswith("EndpointNotFoundError")
    assert "unreachable" not in caplog.text


async def test_a_habit_entity_presses_the_bedroom_button_through_the_runner(
    fake_ha: tuple[FakeHomeAssistant, str], tmp_path: Path
) -> None:
    """The same path as the button: the insights hear the press with its time, the Note
    answers it, and unusable answers are counted among the rejected messages."""
    fake, url = fake_ha
    fake.states["input_boolean.had_coffee"] = {"state": "off", "attributes": {}}
    fake.raw["counter.broken"] = ("application/json", "[]")
    settings = bedroom_settings(
        tmp_path,
        {
            "habits": {
                "caffeine": {"entity": "input_boolean.had_coffee"},
                "exercise": {"entity": "counter.broken"},
            }
        },
        homeassistant={"url": url, "token": "secret", "poll_seconds": 1},
    )
    evening = datetime(2026, 11, 20, 20, 15, tzinfo=BERLIN).timestamp()
    clock = StepClock(evening)
    evenings = Evenings()
    runner = GuidanceRunner(
        settings,
        {"bedroom": BERLIN},
        clock,
        RecordingOutbox(),
        ha_access=(url, "secret"),
        evenings=evenings,
    )
    assert runner.ha is not None
    task = asyncio.create_task(runner.ha.run())
    try:
        await fake.read("input_boolean.had_coffee")
        assert evenings.habits == []
        fake.states["input_boolean.had_coffee"]["state"] = "on"
        await fake.read("input_boolean.had_coffee")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert evenings.habits == [("bedroom", "caffeine", evening)]
    engine = runner.engines["bedroom"]
    assert engine.note == "Caffeine noted at 20:15 (after the caffeine cut-off)"
    assert engine.states(evening).note == engine.note
    assert runner.intake.rejected["habit entity:habit_entity_unreadable"] >= 2


BERLIN = ZoneInfo("Europe/Berlin")


class Evenings:
    """The insights' side of the runner: what it hears of the habits."""

    def __init__(self) -> None:
        """Nothing yet."""
        self.habits: list[tuple[str, str, float]] = []

    def on_temperature(self, room: str, at: float, celsius: float) -> None:
        """Not needed here."""

    def on_screen_minutes(self, room: str, minutes: float) -> None:
        """Not needed here."""

    def on_habit(self, room: str, habit: str, at: float) -> None:
        """A habit press, with its time."""
        self.habits.append((room, habit, at))

    def on_screen(self, *args: Any, **kwargs: Any) -> None:
        """Not needed here."""

    def on_guidance(self, *args: Any, **kwargs: Any) -> None:
        """Not needed here."""
