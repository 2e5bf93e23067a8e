"""The chart entity against a real Mosquitto: each closed night's PNG, retained, re-sent."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.report import entity as chart_entity
from sleepenv.report.chart import DPI, HEIGHT_IN, WIDTH_IN
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import Watcher, publish_many, watch
from tests.service.test_faults_service import local
from tests.service.test_service import make_settings, running, state

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))  # 800 × 550
# The first chart imports matplotlib and draws on a shared, loaded machine: generous.
CHART_SECONDS = 90.0
ROOT = Path(__file__).resolve().parents[2]

# The service in a process of its own, started at 15:00 after a stored night: once the
# chart is on the broker it prints the chart's size, the failures and whether matplotlib
# is imported in the service's process. (The test process cannot tell: other tests of
# the same run draw charts in it.)
SERVICE_DRAWS_A_CHART = """
import asyncio, sys, types
from pathlib import Path
from sleepenv.clock import ScaledClock
from tests.report.test_chart_publish import CHART_SECONDS, chart_topic
from tests.service.test_faults_service import local
from tests.service.test_service import make_settings, running
from tests.helpers.mqtt import watch

async def main(host: str, port: str, prefix: str, data_dir: str) -> None:
    broker = types.SimpleNamespace(host=host, port=int(port))
    settings = make_settings(broker, prefix, Path(data_dir))
    topic = chart_topic(prefix)
    async with (
        watch(host, int(port), [topic]) as w,
        running(settings, ScaledClock(local(0, 15), 1.0)) as service,
    ):
        await w.wait_for(lambda: bool(w.on(topic)), CHART_SECONDS)
        print(len(w.on(topic)[-1]), service.chart_failures, "matplotlib" in sys.modules)

asyncio.run(main(*sys.argv[1:]))
"""


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
        first = await close_night(settings, prefix, 1, w)
    assert_chart(first)
    # Retained: a client that subscribes later gets it.
    async with watch(mosquitto.host, mosquitto.port, [topic]) as late:
        await late.wait_for(lambda: late.latest.get(topic) == first)

    # The next night closes with three movements: a new chart replaces the first.
    await play_night(mosquitto, settings, prefix, 1, 3)
    async with watch(mosquitto.host, mosquitto.port, [topic]) as w:
        second = await close_night(settings, prefix, 0, w, retained=first)
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
        closed = await close_night(settings, prefix, 0, w)
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


def chart_children() -> list[int]:
    """Chart processes among this process's children (from /proc)."""
    me = str(os.getpid())
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except (FileNotFoundError, PermissionError, ProcessLookupError):  # ended meanwhile
            continue
        ppid = stat.rsplit(")", 1)[-1].split()[1]
        if ppid == me and chart_entity.__name__.encode() in cmdline:
            found.append(int(proc.name))
    return found


def corrupt_events(data_dir: Path) -> None:
    """Move every stored movement to a time no chart can show (year 146 million): a
    stored row the renderer rejects, as a damaged or hand-edited database would hold."""
    db = sqlite3.connect(data_dir / "sleepenv.db")
    try:
        with db:
            n = db.execute("UPDATE events SET onset_ms = ?, offset_ms = ?", (2**62, 2**62 + 1))
            assert n.rowcount > 0
    finally:
        db.close()


async def test_a_chart_the_child_cannot_draw_is_logged_and_counted(
    mosquitto: MosquittoProcess,
    prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    topic = chart_topic(prefix)
    await play_night(mosquitto, settings, prefix, 1, 1)
    async with watch(mosquitto.host, mosquitto.port, [topic]) as w:
        await close_night(settings, prefix, 0, w)
    corrupt_events(tmp_path)
    await publish_many(mosquitto.host, mosquitto.port, [(topic, b"")], retain=True)
    # Restarted, the service draws the stored night again: the child fails on it.
    clock = ScaledClock(local(0, 16), 1.0)
    t0 = clock.now() - 100
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(t0, 60, (Burst(t0 + 20, 2.0),))]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock) as service,
    ):
        await w.wait_for(lambda: service.chart_failures == 1, CHART_SECONDS)
        # The service carries on: the closed night's figures are out, new frames count.
        await w.wait_for(lambda: state(w, prefix, "movements_last_night") == "1")
        await w.wait_for(lambda: state(w, prefix, "frames_received") is not None)
        before = int(state(w, prefix, "frames_received") or 0)
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: int(state(w, prefix, "frames_received") or 0) > before)
        assert not w.on(topic)
        assert service.chart_failures == 1
        assert not chart_children()  # the child ended
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cannot draw the chart of night" in r.getMessage() for r in warnings)


async def test_a_child_that_takes_too_long_is_killed_and_counted(
    mosquitto: MosquittoProcess,
    prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    await play_night(mosquitto, settings, prefix, 1, 1)
    # Shorter than a fresh interpreter takes to start: the child is always too late.
    monkeypatch.setattr(chart_entity, "RENDER_TIMEOUT_SECONDS", 0.001)
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, ScaledClock(local(0, 15), 1.0)) as service,
    ):
        await w.wait_for(lambda: service.chart_failures == 1, CHART_SECONDS)
        assert not chart_children()  # killed, not left drawing
        await w.wait_for(lambda: state(w, prefix, "movements_last_night") == "1")
        assert not w.on(chart_topic(prefix))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("was not drawn within 0.001 s (child killed)" in m for m in warnings)


async def test_a_child_still_drawing_when_the_service_stops_is_ended(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    await play_night(mosquitto, settings, prefix, 1, 1)
    async with (
        watch(mosquitto.host, mosquitto.port, [chart_topic(prefix)]) as w,
        running(settings, ScaledClock(local(0, 15), 1.0)),
    ):
        await w.wait_for(lambda: bool(chart_children()), CHART_SECONDS)  # drawing now
    assert not chart_children()


async def test_a_running_service_never_imports_matplotlib(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    topic = chart_topic(prefix)
    await play_night(mosquitto, settings, prefix, 1, 2)
    args = [mosquitto.host, str(mosquitto.port), prefix, str(tmp_path)]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVICE_DRAWS_A_CHART, *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(CHART_SECONDS + 30):
        out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    size, failures, imported = out.decode().split()
    assert (failures, imported) == ("0", "False")
    async with watch(mosquitto.host, mosquitto.port, [topic]) as w:
        await w.wait_for(lambda: len(w.latest.get(topic, b"")) == int(size))
        assert_chart(w.latest[topic])  # drawn, and not in the service's process


async def test_the_gathered_night_crosses_to_the_child_unchanged(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    await play_night(mosquitto, settings, prefix, 1, 3)
    async with watch(mosquitto.host, mosquitto.port, [chart_topic(prefix)]) as w:
        await close_night(settings, prefix, 0, w)
    store = Store(tmp_path / "sleepenv.db")
    try:
        summary = store.nights("main", 1)[0]
        tz = ZoneInfo("Europe/Berlin")
        night = chart_entity.gather(store, settings.beds[0], summary, tz, None)
    finally:
        store.close()
    assert len(night.events) == 3
    assert pickle.loads(pickle.dumps(night)) == night  # noqa: S301 - our own bytes


def test_the_service_starts_without_importing_matplotlib() -> None:
    code = "import sys, sleepenv.service; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
