"""Issue 15 against a real Mosquitto: hostile JSON (1), retained commands (5), bounded
logs and memory (6) and client-id takeovers (7)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.intake import (
    MAX_MESSAGE_BYTES,
    Intake,
    TakeoverWatch,
    bounded_queue_type,
    default_client_id,
)
from sleepenv.service import Service
from sleepenv.sim.bedroom import LIGHT, PLUG, SENSOR, SETPOINT_KEY, TRV, SimBedroom
from tests.helpers.mqtt import Watcher, publish_many, watch
from tests.service.test_service import running

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(hour: int, minute: int) -> float:
    """Friday 20 November 2026 in Berlin."""
    return datetime(2026, 11, 20, hour, minute, tzinfo=BERLIN).timestamp()


def hostile_settings(
    broker: MosquittoProcess, prefix: str, data_dir: Path, client_id: str | None = None
) -> Settings:
    """A bed with status and presence topics and a Zigbee2MQTT guidance bedroom."""
    room = SimBedroom(prefix=prefix)
    return Settings(
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "client_id": client_id or f"{prefix}svc",
            "base_topic": prefix,
            "discovery_prefix": f"{prefix}ha",
        },
        beds=[
            {
                "id": "main",
                "name": "Main",
                "timezone": "Europe/Berlin",
                "presence_topic": f"{prefix}/presence",
                "sensors": [
                    {
                        "kind": "envelope",
                        "topic": f"{prefix}/bed",
                        "status_topic": f"{prefix}/bed/status",
                    },
                    {"kind": "zigbee_vibration", "topic": f"{prefix}/z2m/vibration"},
                ],
            }
        ],
        storage={"data_dir": data_dir},
        guidance={
            "caffeine_cutoff": None,
            "bedrooms": [
                {
                    "id": "bedroom",
                    "timezone": "Europe/Berlin",
                    "devices": [
                        {"id": "lights", "role": "light", "topic": room.topic(LIGHT)},
                        {
                            "id": "radiator",
                            "role": "climate",
                            "topic": room.topic(TRV),
                            "setpoint_key": SETPOINT_KEY,
                        },
                        {"id": "tv", "role": "screen", "topic": room.topic(PLUG)},
                        {"id": "thermometer", "role": "temperature", "topic": room.topic(SENSOR)},
                    ],
                }
            ],
        },
    )


def diagnostics(w: Watcher, prefix: str) -> dict[str, Any]:
    """The service's retained counters."""
    value: dict[str, Any] = w.json(f"{prefix}/diagnostics") or {}
    return value


def has_reported(service: Service, device: str) -> bool:
    """Whether a guidance device's state was decoded since the service started."""
    return service.guidance is not None and ("bedroom", device) in service.guidance._reported


# -- item 1: one retained message must not kill every restart ------------------------


async def test_retained_hostile_json_on_every_json_topic_is_counted_not_fatal(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = hostile_settings(mosquitto, prefix, tmp_path)
    room = SimBedroom(prefix=prefix)
    host, port = mosquitto.host, mosquitto.port
    hostile = [
        (f"{prefix}ha/sensor/x/config", b'{"unique_id":"sleepenv_x","a":' + b"[" * 100_000),
        (f"{prefix}ha/sensor/y/config", b'{"unique_id":"sleepenv_y","a":' + b"[" * 60_000),
        (
            f"{prefix}ha/sensor/z/config",
            b'{"unique_id":"sleepenv_z","a":' + b"[" * 900 + b"]" * 900 + b"}",
        ),
        (f"{prefix}/presence", b"[" * 4_000),
        (room.topic(PLUG), b"[" * 60_000),
        (room.topic(LIGHT), b'{"state":"ON","brightness":100,"color_temp":1e-320}'),
        (room.topic(TRV), b'{"current_heating_setpoint": 1' + b"0" * 400 + b"}"),
    ]
    await publish_many(host, port, hostile, retain=True)
    clock = ScaledClock(berlin(20, 0), 1.0)
    async with watch(host, port, [f"{prefix}/#"]) as w:
        for _restart in range(2):  # the retained messages come back at every connect
            async with running(settings, clock) as service:
                await w.wait_for(
                    lambda: diagnostics(w, prefix).get("other_messages_rejected", 0) >= 4, 15
                )
                await w.wait_for(lambda: w.value(f"{prefix}/main/messages_rejected") != "0", 10)
                assert service.is_connected.is_set()
                reasons = diagnostics(w, prefix)["rejected_by_reason"]
                assert reasons.get("discovery:too_large") == 1
                assert reasons.get("discovery:bad_json") == 1
                assert reasons.get("discovery:too_deep") == 1
                assert reasons.get("device state:bad_json") == 1
                # The light's and the radiator's states decoded, with the nonsense as unknown.
                await w.wait_for(partial(has_reported, service, "radiator"), 10)
                await w.wait_for(partial(has_reported, service, "lights"), 10)


# -- item 5: buttons never act on retained messages; switches restore their own state --


async def test_retained_commands_never_act_and_are_cleared(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = hostile_settings(mosquitto, prefix, tmp_path)
    host, port = mosquitto.host, mosquitto.port
    base = f"{prefix}/guidance/bedroom"
    clock = ScaledClock(berlin(20, 0), 1.0)
    # The user set Guests on through Home Assistant; the service stored it.
    async with watch(host, port, [f"{prefix}/#"]) as w:
        async with running(settings, clock):
            await publish_many(host, port, [(f"{base}/guests/set", b"ON")])
            await w.expect({f"{base}/guests": "ON"})
        stale = {
            "start_wind_down": b"PRESS",
            "snooze": b"PRESS",
            "guidance": b"OFF",
            "guests": b"OFF",
        }
        await publish_many(
            host, port, [(f"{base}/{k}/set", v) for k, v in stale.items()], retain=True
        )
        async with running(settings, clock):
            # Each retained command is deleted (an empty retained payload) ...
            await w.wait_for(lambda: all(w.latest.get(f"{base}/{k}/set") == b"" for k in stale))
            await w.wait_for(lambda: diagnostics(w, prefix).get("other_messages_rejected") == 4)
            # ... and none acted: no wind-down, no snooze, switches as stored.
            await w.expect(
                {
                    f"{base}/guidance": "ON",
                    f"{base}/guests": "ON",
                    f"{base}/next_bedtime": "2026-11-20T21:30:00+00:00",
                }
            )
            assert w.text(f"{base}/phase") != "wind_down"
            assert b"wind_down" not in b"".join(w.on(f"{base}/phase"))
            # A live press still acts.
            await publish_many(host, port, [(f"{base}/start_wind_down/set", b"PRESS")])
            await w.expect({f"{base}/phase": "wind_down"})


# -- item 6: bounded logs and memory ------------------------------------------------


async def test_big_and_repeated_messages_give_few_short_log_lines(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = hostile_settings(mosquitto, prefix, tmp_path)
    host, port = mosquitto.host, mosquitto.port
    base = f"{prefix}/guidance/bedroom"
    clock = ScaledClock(berlin(20, 0), 1.0)
    async with watch(host, port, [f"{prefix}/diagnostics"]) as w, running(settings, clock):
        caplog.clear()
        await publish_many(
            host,
            port,
            [
                (f"{base}/start_wind_down/set", b"P" * 5_000_000),
                (f"{base}/snooze/set", b"Q" * 100_000),
                *[(f"{prefix}ha/status", b"online")] * 2_000,
                *[(f"{prefix}ha/status", b"garbage" * 100)] * 2_000,
                *[(f"{prefix}/bed", b"x" * 1_000_000)] * 50,
            ],
        )
        await w.wait_for(
            lambda: (
                diagnostics(w, prefix).get("dropped_oversize") == 51
                and diagnostics(w, prefix).get("other_messages_rejected") == 2_001
            ),
            30,
        )
        text = caplog.text
        assert len(text) < 4_000, text[:4_000]
        assert text.count("Home Assistant came online") == 1
        assert text.count("dropped a") == 1
        assert "QQQQ" in text  # the payload is recognisable, just not in full


def test_receive_queue_is_bounded_by_bytes_and_counts_drops() -> None:
    intake = Intake()
    queue = bounded_queue_type(intake, max_queued_bytes=10_000_000)(maxsize=1_000)

    def message(size: int) -> aiomqtt.Message:
        return aiomqtt.Message("t", b"x" * size, 0, retain=False, mid=1, properties=None)

    queue.put_nowait(message(MAX_MESSAGE_BYTES + 1))
    for _ in range(100):
        queue.put_nowait(message(200_000))
    assert queue.qsize() == 49  # 49 × 200 kB ≤ 10 MB
    assert intake.dropped_oversize == 1
    assert intake.dropped_queue_full == 51
    queue.get_nowait()
    queue.put_nowait(message(200_000))
    assert queue.qsize() == 49
    for _ in range(2_000):
        queue.put_nowait(message(1))
    assert queue.qsize() == 1_000  # still bounded by count
    assert intake.snapshot()["messages_dropped"] == 1 + 51 + (2_000 - 951)


# -- item 7: a unique default client id; takeovers are named --------------------------


def test_default_client_id_is_unique_per_installation_and_stable() -> None:
    a = default_client_id("raspberrypi", Path("/var/lib/sleepenv"))
    assert a == default_client_id("raspberrypi", Path("/var/lib/sleepenv"))
    assert a != default_client_id("raspberrypi", Path("/var/lib/sleepenv2"))
    assert a != default_client_id("nas", Path("/var/lib/sleepenv"))
    assert a.startswith("sleepenv-raspbe")
    assert len(a) <= 23


def test_takeover_watch_warns_once_per_loop() -> None:
    watch_ = TakeoverWatch("sleepenv")
    assert [watch_.on_disconnect(0.5, t) for t in (0, 1, 2, 3, 4)] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert watch_.on_disconnect(3600, 10) is False  # a connection that held ends it
    assert watch_.on_disconnect(0.5, 100) is False
    assert watch_.on_disconnect(0.5, 200) is False  # too far apart to be a loop


async def test_two_instances_with_one_client_id_get_one_clear_warning(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = hostile_settings(mosquitto, prefix, tmp_path / "a", client_id="shared")
    second = hostile_settings(mosquitto, f"{prefix}b", tmp_path / "b", client_id="shared")
    clock = ScaledClock(berlin(20, 0), 1.0)
    async with running(first, clock) as one, running(second, clock) as two:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while "same client id 'shared'" not in caplog.text and loop.time() < deadline:  # noqa: ASYNC110 - polling the log
            await asyncio.sleep(0.2)
        assert one.intake.takeovers + two.intake.takeovers >= 1
    warnings = [r for r in caplog.records if "same client id" in r.getMessage()]
    assert 1 <= len(warnings) <= 2  # at most one per instance
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) <= 4


def test_default_client_id_is_used_unless_configured(tmp_path: Path) -> None:
    from sleepenv.bootstrap import client_id  # noqa: PLC0415

    beds: Any = [{"id": "b", "name": "B", "sensors": [{"kind": "envelope", "topic": "x"}]}]
    assert client_id(Settings(beds=beds), tmp_path).startswith("sleepenv-")
    configured = Settings(beds=beds, mqtt={"client_id": "bedroom-pi"})
    assert client_id(configured, tmp_path) == "bedroom-pi"
    # The old default, copied into many configs, is what collided: it counts as unset.
    old_default = Settings(beds=beds, mqtt={"client_id": "sleepenv"})
    assert client_id(old_default, tmp_path) == client_id(Settings(beds=beds), tmp_path)
