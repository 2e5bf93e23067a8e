"""Shared fixtures (a real Mosquitto per test on a free port, unique topic prefixes) and
the markers that say what a test needs: `mqtt`, `ha`, `container`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

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


HA_TESTS = Path(__file__).parent / "ha"
# Fixtures that start a real Mosquitto; a test that starts one itself says so with
# @pytest.mark.mqtt.
BROKER_FIXTURES = frozenset({"mosquitto", "ha_broker"})
# Fixtures that build the images with podman (tests/docker/conftest.py).
IMAGE_FIXTURES = frozenset({"image", "addon_image"})
# A load test that the coverage tracer slows thirtyfold (a burst of 2,000 events: about
# 5 s, 150 s traced); coverage pauses for it (pytest-cov's no_cover), the smaller
# publisher tests trace the same code.
UNTRACED = frozenset({"test_counts_keep_flowing_during_a_burst_of_events_and_each_arrives_once"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by what it talks to, so `-m "not ha and not container"` selects."""
    is_traced = config.pluginmanager.hasplugin("_cov")  # pytest-cov, when --cov is given
    for item in items:
        if is_traced and getattr(item, "originalname", item.name) in UNTRACED:
            item.add_marker(pytest.mark.no_cover)
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & BROKER_FIXTURES:
            item.add_marker(pytest.mark.mqtt)
        if fixtures & IMAGE_FIXTURES:
            item.add_marker(pytest.mark.container)
        if item.path.is_relative_to(HA_TESTS):
            item.add_marker(pytest.mark.ha)
