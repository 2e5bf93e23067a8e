"""Publishing against a real Mosquitto: prompt when idle, coalesced and fair while busy,
nothing lost across a broker restart (issue 12, item 2)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

import sleepenv.mqtt.broker as broker_module
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.publisher import Publisher
from sleepenv.tasks import cancel_and_wait
from tests.helpers.mqtt import Watcher, publish_many, watch
from tests.service.test_service import night_clock, running

BURST = 2000


@contextlib.asynccontextmanager
async def connected(broker: MosquittoProcess) -> AsyncIterator[aiomqtt.Client]:
    """A client as the service makes it: paho's own in-flight limit lifted."""
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"p{uuid.uuid4().hex[:8]}", max_inflight_messages=0
    ) as client:
        yield client


def topics_in_order(w: Watcher) -> list[tuple[str, str]]:
    """(last topic level, payload) of everything received, in order."""
    return [(t.rsplit("/", 1)[1], p.decode()) for t, p in w.log]


async def test_an_idle_link_sends_a_state_in_the_same_loop_turn(
    mosquitto: MosquittoProcess, prefix: str
) -> None:
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        connected(mosquitto) as client,
    ):
        publisher = Publisher()
        publisher.attach(client)
        publisher.state(f"{prefix}/count", b"1")
        # One turn of the event loop, far shorter than any timer: already on its way.
        await asyncio.sleep(0)
        assert publisher.in_flight == 1
        await asyncio.wait_for(publisher.drain(), 10)
        await w.wait_for(lambda: w.text(f"{prefix}/count") == "1")
        assert publisher.published == 1
        assert publisher.states_coalesced == 0


async def test_states_coalesce_while_busy_and_messages_never_do(
    mosquitto: MosquittoProcess, prefix: str
) -> None:
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        connected(mosquitto) as client,
    ):
        publisher = Publisher(max_in_flight=1)
        publisher.attach(client)
        # Queued in one turn: a state and a message in turn, the state with its last value.
        for i in range(1, 4):
            publisher.state(f"{prefix}/a", str(i).encode())
            publisher.message(f"{prefix}/m", str(i).encode())
        publisher.state(f"{prefix}/b", b"x")
        await asyncio.wait_for(publisher.drain(), 10)
        await w.wait_for(lambda: len(w.log) == 5)
        assert topics_in_order(w) == [("a", "3"), ("m", "1"), ("b", "x"), ("m", "2"), ("m", "3")]
        assert publisher.states_coalesced == 2
        # An unchanged value is not sent again; a changed one is, retained.
        publisher.state(f"{prefix}/a", b"3")
        publisher.state(f"{prefix}/b", b"y")
        await asyncio.wait_for(publisher.drain(), 10)
        await w.wait_for(lambda: len(w.log) == 6)
        assert topics_in_order(w)[-1] == ("b", "y")
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/a", f"{prefix}/b"]) as late:
        await late.wait_for(lambda: len(late.log) == 2)
        assert (late.text(f"{prefix}/a"), late.text(f"{prefix}/b")) == ("3", "y")


async def test_a_lost_connection_sends_what_was_in_flight_again_in_order(
    mosquitto: MosquittoProcess, prefix: str
) -> None:
    publisher = Publisher(max_in_flight=4)
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
        async with connected(mosquitto) as first:
            publisher.attach(first)
            for i in range(10):
                publisher.message(f"{prefix}/m", str(i).encode())
            await asyncio.sleep(0)
            assert publisher.in_flight == 4
            # The link drops before any PUBACK came back.
            publisher.detach()
            assert publisher.pending_messages == 10
        async with connected(mosquitto) as second:
            publisher.attach(second)
            await asyncio.wait_for(publisher.drain(), 10)
        assert publisher.pending_messages == 0
        await w.wait_for(lambda: {p for _, p in w.log} == {str(i).encode() for i in range(10)})
        # At least once: the first connection may have delivered some; order is kept.
        seen = list(dict.fromkeys(int(p) for _, p in w.log))
        assert seen == list(range(10))


def test_messages_beyond_the_bound_are_counted(prefix: str) -> None:
    publisher = Publisher(max_pending_messages=3)
    for i in range(5):
        publisher.message(f"{prefix}/m", str(i).encode())
    assert (publisher.pending_messages, publisher.messages_dropped) == (3, 2)


# -- the service ----------------------------------------------------------------------


def zigbee_settings(broker: MosquittoProcess, prefix: str, data_dir: Path) -> Settings:
    """One bed with a Zigbee vibration sensor: one report is one movement."""
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
                "sensors": [{"kind": "zigbee_vibration", "topic": f"zigbee2mqtt/{prefix}"}],
            }
        ],
        storage={"data_dir": data_dir},
    )


def reports(clock: ScaledClock, n: int) -> list[bytes]:
    """The `n` vibration reports a second apart by their `last_seen` (each one movement)."""
    first_ms = round((clock.now() - n - 60) * 1000)
    return [
        json.dumps(
            {"action": "vibration", "strength": i % 97, "last_seen": first_ms + 1000 * i}
        ).encode()
        for i in range(n)
    ]


def event_ids(payloads: list[bytes]) -> list[tuple[str, str]]:
    """(sensor, onset) of each event payload: what tells two events apart."""
    return [(e["sensor"], e["onset"]) for e in map(json.loads, payloads)]


def stored_ids(data_dir: Path) -> set[tuple[str, int]]:
    """(sensor, onset in ms) of every stored event."""
    with sqlite3.connect(data_dir / "sleepenv.db") as conn:
        return {(s, int(o)) for s, o in conn.execute("SELECT sensor, onset_ms FROM events")}


def as_stored(ids: list[tuple[str, str]]) -> set[tuple[str, int]]:
    """Event ids as the store keys them (onset in ms)."""
    from datetime import datetime  # noqa: PLC0415

    return {(s, round(datetime.fromisoformat(o).timestamp() * 1000)) for s, o in ids}


async def test_counts_keep_flowing_during_a_burst_of_events_and_each_arrives_once(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = zigbee_settings(mosquitto, prefix, tmp_path)
    count_topic, event_topic = f"{prefix}/main/movements_tonight", f"{prefix}/main/event"
    msgs = [(f"zigbee2mqtt/{prefix}", r) for r in reports(clock, BURST)]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock) as service,
    ):
        await w.wait_for(lambda: w.value(count_topic) == "0")
        start = len(w.log)
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: len(w.on(event_topic)) >= BURST, 120)
        await w.wait_for(lambda: w.value(count_topic) == str(BURST), 10)
        await asyncio.wait_for(service.publisher.drain(), 10)
        assert service.publisher.pending_messages == 0
        events = event_ids(w.on(event_topic))
        assert len(events) == len(set(events)) == BURST
        assert as_stored(events) == stored_ids(tmp_path)
        # While the events flowed, the count kept being updated (before: not once).
        log = w.log[start:]
        last_event = max(i for i, (t, _) in enumerate(log) if t == event_topic)
        updates = [i for i, (t, _) in enumerate(log[:last_event]) if t == count_topic]
        assert len(updates) >= 20, f"{len(updates)} count updates while events flowed"
        longest = run = 0
        for t, _ in log[:last_event]:
            if t == event_topic:
                run += 1
                longest = max(longest, run)
            elif t == count_topic:
                run = 0
        assert longest <= BURST // 4, f"{longest} events in a row without a count update"
        # Coalesced updates are counted on the diagnostics topic.
        await w.wait_for(
            lambda: (w.json(f"{prefix}/diagnostics") or {}).get("states_coalesced", 0) > 0, 10
        )
        assert w.json(f"{prefix}/diagnostics")["outgoing_dropped"] == 0


async def test_a_state_on_an_idle_service_goes_out_without_a_timer(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = zigbee_settings(mosquitto, prefix, tmp_path)
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock) as service,
    ):
        await asyncio.wait_for(service.publisher.drain(), 10)
        service.publisher.state(f"{prefix}/probe", b"now")
        assert service.publisher.is_waiting(f"{prefix}/probe")
        # One turn of the event loop later it is on the wire (other tasks may have
        # queued something meanwhile, so the probe is not necessarily alone).
        await asyncio.sleep(0)
        assert not service.publisher.is_waiting(f"{prefix}/probe")
        assert service.publisher.in_flight >= 1
        await w.wait_for(lambda: w.text(f"{prefix}/probe") == "now")
        # The connection to the broker has Nagle's algorithm off.
        sock = service._client._client.socket() if service._client else None
        assert isinstance(sock, socket.socket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@contextlib.asynccontextmanager
async def persistent_watch(broker: MosquittoProcess, topic: str) -> AsyncIterator[Watcher]:
    """A QoS 1 subscriber with a persistent session that reconnects after a broker restart."""
    watcher = Watcher()
    ready = asyncio.Event()
    identifier = f"w{uuid.uuid4().hex[:8]}"

    async def loop() -> None:
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    broker.host, broker.port, identifier=identifier, clean_session=False
                ) as client:
                    await client.subscribe(topic, qos=1)
                    ready.set()
                    async for message in client.messages:
                        watcher.log.append((str(message.topic), bytes(message.payload)))
                        watcher.changed.set()
            await asyncio.sleep(0.2)

    task = asyncio.create_task(loop())
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield watcher
    finally:
        await cancel_and_wait([task], reraise=True)


async def test_a_broker_restart_in_the_middle_of_a_burst_loses_no_event(
    mosquitto: MosquittoProcess,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The broker keeps its sessions and queues across its own restart, as a deployment's
    # Mosquitto does (`persistence true`): what it acknowledged is its to keep.
    store = tmp_path / "broker"
    store.mkdir()
    conf = broker_module.MOSQUITTO_CONF.replace(
        "persistence false", f"persistence true\npersistence_location {store}/"
    )
    monkeypatch.setattr(broker_module, "MOSQUITTO_CONF", conf)
    mosquitto.stop()
    mosquitto.start()
    n = 600
    clock = night_clock()
    data = tmp_path / "data"
    settings = zigbee_settings(mosquitto, prefix, data)
    event_topic = f"{prefix}/main/event"
    msgs = [(f"zigbee2mqtt/{prefix}", r) for r in reports(clock, n)]
    async with (
        persistent_watch(mosquitto, event_topic) as w,
        running(settings, clock) as service,
    ):
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: len(w.log) >= 50, 60)
        restarted_at = len(w.log)
        mosquitto.stop()
        # Its sessions were saved (a broker that cannot write there loses them, and with
        # them what it had acknowledged: the test would fail for that reason instead).
        assert (store / "mosquitto.db").is_file(), mosquitto.log_tail()
        await asyncio.sleep(0.5)
        mosquitto.start()
        await w.wait_for(lambda: len(set(w.on(event_topic))) >= n, 120)
        await asyncio.wait_for(service.publisher.drain(), 30)
        assert service.publisher.pending_messages == 0
    assert restarted_at < n, "the restart came after the burst: nothing was tested"
    events = event_ids(w.on(event_topic))
    assert len(set(events)) == n
    assert as_stored(events) == stored_ids(data)
