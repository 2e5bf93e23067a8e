"""The demo's player keeps the clock with the data: slowed down while the clock is ahead,
never left slow once it has caught up (a sparse sensor's next report may be an hour away)."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from pathlib import Path

from rich.console import Console

from sleepenv.demo.morning import DemoClock
from sleepenv.demo.run import demo_settings, play, sensor_messages
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.sim.night import generate_night

START = 1_796_500_000.0


class RecordingClock(DemoClock):
    """The demo's clock, keeping every speed it was set to."""

    def __init__(self, start_at: float, speed: float) -> None:
        super().__init__(start_at, speed)
        self.speeds: list[float] = []

    def set_speed(self, speed: float) -> None:
        self.speeds.append(speed)
        super().set_speed(speed)


async def test_a_clock_ahead_of_a_sparse_sensor_slows_down_then_plays_on_at_full_speed(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    """As on a busy machine: the clock is hours ahead of the sensor's first reports, so the
    player slows it down (to 1x, over a burst of late reports); once caught up it must not
    wait the quiet hours of a Zigbee night at that speed."""
    night = generate_night(1, "zigbee", start=START, hours=8)
    messages = list(sensor_messages(night))
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(messages)]
    assert max(gaps) > 1800  # quiet half-hours between reports
    settings = demo_settings(mosquitto.host, mosquitto.port, tmp_path, night.source)
    clock = RecordingClock(messages[0][0] + 4 * 3600, 20_000.0)
    started = time.monotonic()
    async with asyncio.timeout(60):
        last = await play(settings, night, clock, Console(file=io.StringIO()))
    assert last == messages[-1][0]
    assert min(clock.speeds) < 100  # it did slow down while ahead
    assert 20_000.0 in clock.speeds[clock.speeds.index(min(clock.speeds)) :]  # and sped up
    # 8 simulated hours at 20,000x is 1.4 s; at 1x the next quiet half-hour alone is 30 min.
    assert time.monotonic() - started < 30
