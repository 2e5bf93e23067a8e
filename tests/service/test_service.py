"""The service against a real Mosquitto: discovery, counting, bad input, reconnects, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.service import Service
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import Watcher, publish_many, watch
from tests.helpers.service import service_running


def night_clock() -> ScaledClock:
    """A real-speed clock that reads 23:00 local time yesterday: inside the night window."""
    at = (datetime.now().astimezone() - timedelta(days=1)).replace(hour=23, minute=0, second=0)
    return ScaledClock(at.timestamp(), 1.0)


def make_settings(broker: MosquittoProcess, prefix: str, data_dir: Path) -> Settings:
    """One bed, one envelope sensor, topics under the test's own prefix."""
    return Settings(
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "client_id": f"{prefix}svc",
            "base_topic": prefix,
            "discovery_prefix": f"{prefix}ha",
        },
        beds=[
            {
                "id": "main",
                "name": "Main bed",
                "sensors": [
                    {
                        "kind": "envelope",
                        "topic": f"{prefix}/bed/env",
                        "status_topic": f"{prefix}/bed/status",
                    }
                ],
            }
        ],
        storage={"data_dir": data_dir},
    )


def running(
    settings: Settings, clock: ScaledClock
) -> contextlib.AbstractAsyncContextManager[Service]:
    """The service running in the background until the block ends (waits of 10 s)."""
    return service_running(settings, clock, seconds=10.0)


def state(w: Watcher, prefix: str, key: str) -> str | None:
    """Latest retained state of the bed's entity `key` (as Home Assistant reads it)."""
    return w.value(f"{prefix}/main/{key}")


async def test_discovery_online_and_ha_birth(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    topics = [f"{prefix}/#", f"{prefix}ha/#"]
    async with watch(mosquitto.host, mosquitto.port, topics) as w, running(settings, night_clock()):
        disc_topic = f"{prefix}ha/device/sleepenv_main/config"
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "online")
        await w.wait_for(lambda: disc_topic in w.latest)
        disc = w.json(disc_topic)
        assert disc["dev"]["ids"] == ["sleepenv_main"]
        assert disc["o"]["name"] == "sleepenv"
        cmps = disc["cmps"]
        assert cmps["movements_tonight"]["state_class"] == "total_increasing"
        assert cmps["movements_tonight"]["unique_id"] == "sleepenv_main_movements_tonight"
        assert cmps["movement_event"]["p"] == "event"
        assert "Rollover" in cmps["movement_event"]["event_types"]
        assert cmps["sensor_both_online"]["device_class"] == "connectivity"
        assert all("object_id" not in c for c in cmps.values())
        await w.wait_for(lambda: state(w, prefix, "movements_tonight") == "0")

        # Home Assistant restarts and announces itself: discovery is sent again.
        n_before = len(w.on(disc_topic))
        await publish_many(mosquitto.host, mosquitto.port, [(f"{prefix}ha/status", b"online")])
        await w.wait_for(lambda: len(w.on(disc_topic)) > n_before)
    # Clean shutdown leaves a retained offline.
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/status"]) as w2:
        await w2.wait_for(lambda: w2.text(f"{prefix}/status") == "offline")


async def test_known_movements_are_counted_and_fired(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    start = clock.now() - 200
    bursts = (Burst(start + 60, 0.3), Burst(start + 90, 2.0), Burst(start + 130, 20.0))
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(start, 180, bursts)]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        expected = {
            "movements_tonight": "3",
            "frames_received": "180",
            "twitches_tonight": "1",
            "limb_movements_tonight": "1",
            "rollovers_tonight": "1",
            "movements_last_hour": "3",
            "messages_rejected": "0",
            "movement": "OFF",
        }
        await w.expect({f"{prefix}/main/{k}": v for k, v in expected.items()})
        events = [json.loads(p) for p in w.on(f"{prefix}/main/event")]
        assert [e["event_type"] for e in events] == ["twitch", "limb_movement", "rollover"]
        last = datetime.fromisoformat(state(w, prefix, "last_movement") or "")
        assert abs(last.timestamp() - (start + 130)) < 1.0  # published at second precision


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json", "bad json"),
        (b'{"t": 1, "hz": 10, "rms": [NaN]}', "NaN"),
        (b'{"t": 1, "hz": 10, "rms": [' + b",".join([b"1"] * 100_000) + b"]}", "huge"),
        (b'{"t": 99999999999, "hz": 10, "rms": [1,2]}', "far future"),
        (b'{"t": "x", "hz": 10, "rms": [1]}', "wrong type"),
        (b"\xff\xfe\x00", "binary"),
    ],
)
async def test_bad_input_is_counted_and_the_service_carries_on(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path, bad: bytes, reason: str
) -> None:
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    start = clock.now() - 100
    good = list(frames(start, 60, (Burst(start + 40, 2.0),)))
    topic = f"{prefix}/bed/env"
    msgs = [(topic, payload(f)) for f in good[:30]]
    msgs += [(topic, bad), (topic, payload(good[10]))]  # the bad one, then a duplicate frame
    msgs += [(topic, payload(f)) for f in good[30:]]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        assert reason, "each case names what it sends"
        expected = {"movements_tonight": "1", "messages_rejected": "2", "frames_received": "60"}
        await w.expect({f"{prefix}/main/{k}": v for k, v in expected.items()})


async def test_reconnects_after_a_broker_restart(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    topic = f"{prefix}/bed/env"
    async with running(settings, clock) as service:
        start = clock.now() - 100
        await publish_many(
            mosquitto.host, mosquitto.port, [(topic, payload(f)) for f in frames(start, 30)]
        )
        mosquitto.stop()
        await asyncio.sleep(1.0)
        mosquitto.start()
        await asyncio.wait_for(service.is_connected.wait(), 30)
        later = list(frames(start + 30, 40, (Burst(start + 50, 2.0),)))
        async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
            await publish_many(mosquitto.host, mosquitto.port, [(topic, payload(f)) for f in later])
            await w.wait_for(lambda: state(w, prefix, "movements_tonight") == "1", 20)
            assert w.text(f"{prefix}/status") == "online"


async def test_sensor_status_and_restart_keeps_counts(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    topic = f"{prefix}/bed/env"
    start = clock.now() - 200
    first = list(frames(start, 100, (Burst(start + 40, 2.0), Burst(start + 70, 0.3))))
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
        async with running(settings, clock):
            await publish_many(
                mosquitto.host,
                mosquitto.port,
                [(topic, payload(f)) for f in first] + [(f"{prefix}/bed/status", b"online")],
            )
            await w.wait_for(lambda: state(w, prefix, "movements_tonight") == "2")
            await w.wait_for(lambda: state(w, prefix, "sensor_both_online") == "ON")
        # A new process on the same data dir: replayed frames are not counted twice.
        async with running(settings, clock):
            await publish_many(mosquitto.host, mosquitto.port, [(topic, payload(f)) for f in first])
            await w.wait_for(lambda: state(w, prefix, "messages_rejected") == "100")
            assert state(w, prefix, "movements_tonight") == "2"


async def test_zigbee_vibration_sensor_counts_lower_bounds(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = Settings(
        mqtt={
            "host": mosquitto.host,
            "port": mosquitto.port,
            "client_id": f"{prefix}z",
            "base_topic": prefix,
            "discovery_prefix": f"{prefix}ha",
        },
        beds=[
            {
                "id": "main",
                "name": "Main bed",
                "sensors": [{"kind": "zigbee_vibration", "topic": f"zigbee2mqtt/{prefix}"}],
            }
        ],
        storage={"data_dir": tmp_path},
    )
    reports = [
        b'{"action":"vibration","vibration":true,"strength":14,"angle_x":2,"angle_y":-1,'
        b'"angle_z":88,"battery":100,"linkquality":96}',
        b'{"action":"","strength":14,"angle_x":2,"angle_y":-1,"angle_z":88}',
        b'{"action":"tilt","angle":35,"angle_x":40,"angle_y":-1,"angle_z":50}',
        b'{"temperature": "not this sensor"}',
    ]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        for report in reports:
            await publish_many(mosquitto.host, mosquitto.port, [(f"zigbee2mqtt/{prefix}", report)])
            await asyncio.sleep(0.3)  # the receive time stamps Zigbee reports: keep them apart
        await w.expect(
            {
                f"{prefix}/main/movements_tonight": "2",
                f"{prefix}/main/rollovers_tonight": "1",
                f"{prefix}/main/messages_rejected": "1",
            }
        )
        attrs = w.json(f"{prefix}/main/attributes")
        assert attrs["counts_are_lower_bounds"] is True
        events = [json.loads(p) for p in w.on(f"{prefix}/main/event")]
        assert [e["event_type"] for e in events] == ["movement", "rollover"]
        assert all(e["is_lower_bound"] for e in events)
