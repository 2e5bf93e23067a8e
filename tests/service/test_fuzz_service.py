"""Fuzz the running service: every subscribed topic gets generated hostile payloads,
retained and not, across a restart. The service stays up, counts what it rejects or
drops, and its memory and log stay bounded (issue 15, "Done when")."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import random
import resource
from pathlib import Path

import pytest

from sleepenv.bootstrap import build_service
from sleepenv.clock import ScaledClock
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.intake import MAX_MESSAGE_BYTES
from sleepenv.service import Service
from tests.helpers.mqtt import publish_many, watch
from tests.service.test_hostile_service import berlin, diagnostics, hostile_settings
from tests.service.test_service import running

MESSAGES_PER_TOPIC = 40
SENTINEL = b"fuzz-sentinel"


def _deep(rng: random.Random, _prefix: str) -> bytes:
    depth = rng.choice([33, 900, 5_000, 60_000])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    tail = closer * depth if rng.random() < 0.5 else b""
    return opener * depth + b"1" + tail


def _number(rng: random.Random, _prefix: str) -> bytes:
    value = rng.choice(
        ["1e-320", "1e999", "-1e999", "NaN", "Infinity", "-0", "9" * 5_000, "1" + "0" * 400]
    )
    key = rng.choice(["t", "hz", "color_temp", "brightness", "state", "occupancy", "strength"])
    return f'{{"{key}": {value}, "rms": [{value}], "hz": {value}, "t": {value}}}'.encode()


def _shaped(rng: random.Random, prefix: str) -> bytes:
    """Plausible JSON with wrong types and values: the decoders' harder cases."""
    junk: list[object] = [None, True, "ON", [], {}, -1, 10**30, "x" * 300, [1] * 500]
    obj = {
        k: rng.choice(junk)
        for k in ("t", "hz", "rms", "peak", "gravity", "action", "state", "brightness")
    }
    if rng.random() < 0.3:  # looks like a stale sleepenv discovery config
        obj |= {"unique_id": "sleepenv_fuzz", "state_topic": f"{prefix}/fuzz"}
    return json.dumps(obj).encode()


def _random_bytes(rng: random.Random, _prefix: str) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))


def _not_utf8(rng: random.Random, _prefix: str) -> bytes:
    return b"\xff\xfe" + b"{" * rng.randrange(10)


def _tiny(rng: random.Random, _prefix: str) -> bytes:
    return rng.choice([b"", b" ", b"null", b"[]", b'""', b"0", b"nan", b"-inf"])


def _words(rng: random.Random, _prefix: str) -> bytes:
    return rng.choice([b"PRESS", b"ON", b"OFF", b"online", b"offline", b"press\x00"])


def _big(rng: random.Random, _prefix: str) -> bytes:
    size = rng.choice([70_000, MAX_MESSAGE_BYTES + 1, 1_000_000])
    return b'{"a": "' + b"A" * size + b'"}'


def _repeated(rng: random.Random, _prefix: str) -> bytes:
    return rng.choice([b"P", b"\n", b"\xe2\x80\xae"]) * rng.randrange(1, 100_000)


# Ways a message can be bad; plausible-but-wrong JSON twice as often as the rest.
GENERATORS = [
    _deep,
    _number,
    _random_bytes,
    _not_utf8,
    _tiny,
    _words,
    _big,
    _repeated,
    _shaped,
    _shaped,
]


def hostile_payload(rng: random.Random, prefix: str) -> bytes:
    """One payload from a mix of the ways a message can be bad."""
    return rng.choice(GENERATORS)(rng, prefix)


def rss_bytes() -> int:
    """This process's resident memory now (Linux), else its peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return pages * resource.getpagesize()


def subscribed_topics(service: Service, prefix: str) -> list[str]:
    """Every topic the service listens on, with concrete discovery topics for its filters."""
    topics = [*service.pipeline.topics(), f"{prefix}ha/status"]
    if service.guidance is not None:
        topics += service.guidance.topics()
    topics += [f"{prefix}ha/sensor/fuzz{i}/config" for i in range(5)]
    topics += [f"{prefix}ha/light/node/fuzz{i}/config" for i in range(5)]
    return topics


def is_bad_status(topic: str, payload: bytes) -> bool:
    """Whether the service counts this HA-status message as bad_status (not dropped first)."""
    fits = len(payload) + len(topic) <= MAX_MESSAGE_BYTES
    return fits and payload not in (b"online", b"offline")


async def _settle(service: Service, bad_statuses: int) -> None:
    """Wait until the service has read the bad HA-status messages (the last is a sentinel).

    Drops of a full receive queue count too (any message may be the one dropped), then
    a quiet second lets the rest through.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    intake = service.intake
    while intake.rejected.get("status:bad_status", 0) + intake.dropped_queue_full < bad_statuses:
        assert loop.time() < deadline, "the service did not get through the fuzz messages"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)


async def test_fuzz_every_subscribed_topic(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(15)
    settings = hostile_settings(mosquitto, prefix, tmp_path)
    host, port = mosquitto.host, mosquitto.port
    clock = ScaledClock(berlin(21, 20), 1.0)  # inside the wind-down: guidance is active
    topics = subscribed_topics(build_service(settings, clock), prefix)
    assert len(topics) >= 20
    status = f"{prefix}ha/status"
    # Retained hostile payloads wait on every topic before the first start.
    retained = [(t, hostile_payload(rng, prefix)) for t in topics if t != status]
    await publish_many(host, port, [*retained, (status, SENTINEL)], retain=True)
    rss_before: int | None = None
    sent_bytes = 0
    async with watch(host, port, [f"{prefix}/diagnostics", f"{prefix}/main/#"]) as w:
        for restart in range(2):
            async with running(settings, clock) as service:
                bad_status_sent = 1  # the retained sentinel, replayed at each start
                await _settle(service, bad_status_sent)
                if rss_before is None:  # the service is up and has read the retained ones
                    gc.collect()
                    rss_before = rss_bytes()
                for _ in range(MESSAGES_PER_TOPIC):  # in chunks: the test's own memory stays flat
                    live = [
                        (t, hostile_payload(rng, prefix)) for t in rng.sample(topics, len(topics))
                    ]
                    bad_status_sent += sum(
                        1 for t, p in live if t == status and is_bad_status(t, p)
                    )
                    sent_bytes += sum(len(p) for _, p in live)
                    await publish_many(host, port, live)
                    del live
                await publish_many(host, port, [(status, SENTINEL)])
                bad_status_sent += 1
                await _settle(service, bad_status_sent)
                assert service.is_connected.is_set(), f"disconnected after round {restart}"
                assert service.publisher.pending_messages <= 10_000
                await w.wait_for(lambda: w.value(f"{prefix}/main/messages_rejected") != "0", 10)
                await w.wait_for(lambda: diagnostics(w, prefix).get("messages_dropped", 0) > 0)
                counters = diagnostics(w, prefix)
                assert counters["other_messages_rejected"] > 0
                assert counters["dropped_oversize"] > 0
        gc.collect()
        rss_growth = rss_bytes() - (rss_before or 0)
    assert sent_bytes > 50 * 1024 * 1024
    # Tens of megabytes went through; none of it may stay.
    assert rss_growth < 64 * 1024 * 1024, f"RSS grew by {rss_growth / 2**20:.0f} MiB"
    lines = caplog.text.splitlines()
    assert len(caplog.text) < 64_000, f"{len(caplog.text)} bytes of log"
    assert max(len(line) for line in lines) < 1_500
    assert not any("Traceback" in line for line in lines)
