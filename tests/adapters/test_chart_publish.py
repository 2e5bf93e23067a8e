"""The chart entity against a real Mosquitto: each closed night's PNG, retained, re-sent."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sleepenv.adapters.broker import MosquittoProcess
from sleepenv.clock import ScaledClock
from sleepenv.report import entity as chart_entity
from sleepenv.report.chart import DPI, HEIGHT_IN, WIDTH_IN
from sleepenv.settings import Settings
from tests.adapters.test_faults_service import local
from tests.adapters.test_service import make_settings, running, state
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import Watcher, publish_many, watch

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))  # 800 × 550
# The first chart imports matplotlib and draws on a shared, loaded machine: generous.
CHART_SECONDS = 90.0


def chart_topic(prefix: str) -> str:
    """The bed's image topic (as its discovery config names it)."""
    return f"{prefix}/main/last_night_chart"


def assert_chart(data: bytes) -> None:
    """A PNG that decodes to the chart's size."""
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == SIZE


async def play_night(
    mosquitto: MosquittoProcess, settings: Settings, prefix: str, days_back: int, n: int
) -> None:
    """A night `days_back` days ago at 23:00 with `n` movements, seen by the service."""
    clock = ScaledClock(local(days_back, 23), 1.0)
    t0 = clock.now() - 60 - 40 * n
    bursts = tuple(Burst(t0 + 40 + 40 * i, 2.0) for i in range(n))
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(t0, 60 + 40 * n, bursts)]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: state(w, prefix, "movements_tonight") == str(n), 30)


async def close_night(
    mosquitto: MosquittoProcess,
    settings: Settings,
    prefix: str,
    days_back: int,
    w: Watcher,
    retained: bytes | None = None,
) -> bytes:
    """Start the service at 15:00, after the night's end: it closes the night and publishes
    the chart; its bytes once the service stopped (`retained`: the chart already there)."""
    if retained is not None:
        await w.wait_for(lambda: w.latest.get(chart_topic(prefix)) == retained)
    seen = len(w.on(chart_topic(prefix)))
    async with running(settings, ScaledClock(local(days_back, 15), 1.0)) as service:
        await w.wait_for(lambda: len(w.on(chart_topic(prefix))) > seen, CHART_SECONDS)
        assert service.chart_failures == 0
    return w.on(chart_topic(prefix))[-1]


async def test_each_closed_nights_chart_is_published_retained(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    topic = chart_topic(prefix)
    await play_night(mosquitto, settings, prefix, 2, 1)
    async with watch(mosquitto.host, mosquitto.port, [topic]) as w:
        assert w.on(topic) == []  # no night closed yet: no chart
        first = await close_night(mosquitto, settings, prefix, 1, w)
    assert_chart(first)
    # Retained: a client that subscribes later gets it.
    async with watch(mosquitto.host, mosquitto.port, [topic]) as late:
        await late.wait_for(lambda: late.latest.get(topic) == first)

    # The next night closes with three movements: a new chart replaces the first.
    await play_night(mosquitto, settings, prefix, 1, 3)
    async with watch(mosquitto.host, mosquitto.port, [topic]) as w:
        second = await close_night(mosquitto, settings, prefix, 0, w, retained=first)
    assert_chart(second)
    assert second != first
    async with watch(mosquitto.host, mosquitto.port, [topic]) as late:
        await late.wait_for(lambda: late.latest.get(topic) == second)


async def test_a_restart_and_home_assistants_birth_send_the_chart_again(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    topic = chart_topic(prefix)
    await play_night(mosquitto, settings, prefix, 1, 2)
    async with watch(mosquitto.host, mosquitto.port, [topic]) as w:
        closed = await close_night(mosquitto, settings, prefix, 0, w)
    # The broker loses its retained copy; a restarted service draws the latest stored night
    # again and publishes it.
    await publish_many(mosquitto.host, mosquitto.port, [(topic, b"")], retain=True)
    async with (
        watch(mosquitto.host, mosquitto.port, [topic]) as w,
        running(settings, ScaledClock(local(0, 16), 1.0)) as service,
    ):
        await w.wait_for(lambda: bool(w.latest.get(topic)), CHART_SECONDS)
        assert_chart(w.latest[topic])
        sent = len(w.on(topic))
        # Home Assistant restarts: the chart goes out again with discovery.
        await publish_many(mosquitto.host, mosquitto.port, [(f"{prefix}ha/status", b"online")])
        await w.wait_for(lambda: len(w.on(topic)) > sent, 30)
        assert w.on(topic)[-1] == w.on(topic)[sent - 1]  # the bytes kept, not drawn again
        assert service.chart_failures == 0
    assert_chart(closed)


async def test_a_chart_that_cannot_be_drawn_is_logged_and_counted(
    mosquitto: MosquittoProcess,
    prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(night: object) -> bytes:
        raise MemoryError("no memory left for the figure")

    monkeypatch.setattr(chart_entity, "render", broken)
    settings = make_settings(mosquitto, prefix, tmp_path)
    await play_night(mosquitto, settings, prefix, 1, 1)
    clock = ScaledClock(local(0, 15), 1.0)
    t0 = clock.now() - 100
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(t0, 60, (Burst(t0 + 20, 2.0),))]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock) as service,
    ):
        await w.wait_for(lambda: service.chart_failures == 1, 30)
        # The service carries on: the closed night's figures are out, new frames count.
        await w.wait_for(lambda: state(w, prefix, "movements_last_night") == "1")
        await w.wait_for(lambda: state(w, prefix, "frames_received") is not None)
        before = int(state(w, prefix, "frames_received") or 0)
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: int(state(w, prefix, "frames_received") or 0) > before)
        assert not w.on(chart_topic(prefix))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cannot draw the chart of night" in r.getMessage() for r in warnings)


def test_the_service_starts_without_importing_matplotlib() -> None:
    code = "import sys, sleepenv.app; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
