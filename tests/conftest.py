"""Shared fixtures: a real Mosquitto per test on a free port, and unique topic prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sleepenv.mqtt.broker import MosquittoProcess, start_mosquitto


@pytest.fixture
def mosquitto() -> Iterator[MosquittoProcess]:
    """A real Mosquitto on a free loopback port; tests may stop() and start() it."""
    try:
        broker = start_mosquitto()
    except FileNotFoundError:
        pytest.fail("mosquitto is not installed: .ci/run installs it (apt-get install mosquitto)")
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
def prefix() -> str:
    """A topic prefix no other test uses, so tests never see each other's retained state."""
    return f"t{uuid.uuid4().hex[:10]}"
