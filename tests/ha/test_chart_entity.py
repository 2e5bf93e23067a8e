"""The nightly chart as an image entity in a real Home Assistant, published by the real
service (issue 14): it belongs to the bed's device, shows a PNG of the chart's size, and
shows the new night's chart once that night has closed."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import yaml
from PIL import Image

from sleepenv.bed import discovery
from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary
from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.report.chart import DPI, HEIGHT_IN, WIDTH_IN

from .harness import HomeAssistant
from .install import REPO_ROOT
from .sleepenv_service import ServiceThread, version_tuple

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))  # 800 × 550
TODAY = datetime.now(UTC).date()
DASHBOARD = REPO_ROOT / "automations" / "dashboards" / "sleepenv.yaml"


def at(day: date, hour: int) -> float:
    """Unix time of `hour`:00 UTC on `day` (the bed's time zone is UTC)."""
    return datetime.combine(day, time(hour), UTC).timestamp()


def events(day: date, n: int) -> list[MovementEvent]:
    """`n` rollovers and twitches from 23:00 of `day`, ten minutes apart."""
    start = at(day, 23)
    return [
        MovementEvent(
            start + 600 * i,
            start + 600 * i + 3,
            5.0,
            MovementClass.ROLLOVER if i % 2 else MovementClass.TWITCH,
            strength=5.0,
        )
        for i in range(n)
    ]


def store_night(data_dir: Path, day: date, n: int, *, is_closed: bool) -> None:
    """A night of `day` with `n` movements: closed (ended at 12:00 the next day), or as a
    service that stopped at 03:00 left it (the next start closes it)."""
    night = day.isoformat()
    store = Store(data_dir / "sleepenv.db")
    try:
        stored = events(day, n)
        for event in stored:
            store.add_event("main", night, event)
        counts: dict[str, int] = {}
        for event in stored:
            counts[event.cls.value] = counts.get(event.cls.value, 0) + 1
        end = at(day + timedelta(days=1), 12) if is_closed else at(day + timedelta(days=1), 3)
        store.save_night(NightSummary("main", night, at(day, 18), end, counts))
    finally:
        store.close()


@pytest.fixture
def settings(ha_broker: MosquittoProcess, tmp_path: Path) -> Settings:
    """One bed in UTC, its own base topic, Home Assistant's discovery prefix."""
    return Settings(
        mqtt={
            "host": ha_broker.host,
            "port": ha_broker.port,
            "base_topic": f"chart{uuid.uuid4().hex[:8]}",
        },
        beds=[
            {
                "id": "main",
                "name": "Chart bed",
                "timezone": "UTC",
                "sensors": [{"kind": "envelope", "topic": "chart/bed/env"}],
            }
        ],
        storage={"data_dir": tmp_path},
    )


@pytest.fixture
def service_at() -> Iterator[list[ServiceThread]]:
    """Services started by a test, stopped at its end."""
    started: list[ServiceThread] = []
    yield started
    for running in started:
        running.stop()


def start(settings: Settings, now: float, started: list[ServiceThread]) -> ServiceThread:
    """The real service, its clock at `now` (real speed)."""
    running = ServiceThread(settings, ScaledClock(now, 1.0)).start()
    started.append(running)
    return running


def image_bytes(ha: HomeAssistant, entity_id: str) -> bytes | None:
    """The image as the frontend fetches it: the proxy URL with the entity's access token."""
    state = ha.state(entity_id)
    if state is None or "entity_picture" not in state["attributes"]:
        return None
    url = ha.base_url + state["attributes"]["entity_picture"]
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - local HA
            if response.headers["Content-Type"] != "image/png":
                return None
            data: bytes = response.read()
            return data
    except urllib.error.HTTPError:  # no image yet (or being replaced)
        return None


def assert_chart(data: bytes) -> None:
    """A PNG of the chart's size."""
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == SIZE


def test_the_chart_is_an_image_of_the_bed_device_and_follows_the_closed_night(
    home_assistant: HomeAssistant,
    settings: Settings,
    tmp_path: Path,
    service_at: list[ServiceThread],
) -> None:
    ha = home_assistant
    first_day, second_day = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
    store_night(tmp_path, first_day, 3, is_closed=True)
    # The afternoon after the night: the service draws the latest stored night at start.
    running = start(settings, at(second_day, 15), service_at)
    unique_id = "sleepenv_main_last_night_chart"
    entry = ha.wait_for(
        lambda: ha.entity_by_unique_id(unique_id), timeout=60, message="the chart entity"
    )
    assert entry is not None
    entity_id = entry["entity_id"]
    assert entity_id.startswith("image.")
    if version_tuple(ha.version) >= (2025, 10):  # the floor makes the id from the name
        assert entity_id == "image.sleepenv_main_last_night_chart"
    device = next(d for d in ha.device_registry() if d["id"] == entry["device_id"])
    assert ["mqtt", "sleepenv_main"] in device["identifiers"]
    assert device["name"] == "Chart bed"
    state = ha.wait_for_state(entity_id, lambda s: s["state"] not in ("unknown", "unavailable"))
    assert state["attributes"]["friendly_name"] == "Chart bed Last night chart"
    first = ha.wait_for(lambda: image_bytes(ha, entity_id), timeout=60, message="the PNG")
    assert first is not None
    assert_chart(first)
    assert running.service is not None
    assert running.service.chart_failures == 0
    running.stop()
    service_at.clear()

    # The next night: five movements stored by a service that stopped during it. Started
    # the afternoon after, the service closes that night and publishes its chart.
    store_night(tmp_path, second_day, 5, is_closed=False)
    start(settings, at(TODAY, 15), service_at)
    movements = ha.entity_by_unique_id("sleepenv_main_movements_last_night")
    assert movements is not None
    ha.wait_for_state(movements["entity_id"], "5")

    def new_image() -> bytes | None:
        data = image_bytes(ha, entity_id)
        return data if data != first else None

    second = ha.wait_for(new_image, timeout=90, message="the new night's PNG")
    assert second is not None
    assert_chart(second)
    assert not ha.log_lines("image"), "Home Assistant complained about the image entity"
    assert not ha.log_lines("sleepenv_main"), "Home Assistant complained about our discovery"


def test_the_image_topic_in_discovery_is_where_the_service_publishes(settings: Settings) -> None:
    _, payload = discovery.bed_discovery(settings.mqtt, settings.beds[0])
    chart = payload["cmps"]["last_night_chart"]
    assert chart["image_topic"] == discovery.chart_topic(settings.mqtt, "main")
    assert chart["content_type"] == "image/png"


def test_the_dashboards_last_night_view_shows_the_chart() -> None:
    config = yaml.safe_load(DASHBOARD.read_text())
    view = next(v for v in config["views"] if v["path"] == "last-night")
    pictures = [c for c in view["cards"] if c["type"] == "picture-entity"]
    # The dashboard is written for the bed `bedroom`; the id is discovery's own.
    sensors = [{"kind": "envelope", "topic": "t"}]
    bed = Settings(beds=[{"id": "bedroom", "name": "Bedroom", "sensors": sensors}])
    chart = discovery.bed_discovery(bed.mqtt, bed.beds[0])[1]["cmps"]["last_night_chart"]
    assert [c["entity"] for c in pictures] == [chart["default_entity_id"]]
