"""Issue 15, item 2 against a real Mosquitto: one frame must not poison a sensor's cursor.

A frame at `"hz": 1e-300` claimed 1e301 s of data, and a well-formed frame an hour ahead
of the stream moved the cursor an hour on: every later frame was then a "duplicate", and
the stored cursor carried that across restarts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sleepenv.bed.store import Store
from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import Watcher, publish_many, watch
from tests.service.test_service import make_settings, night_clock, running, state


def counts(w: Watcher, prefix: str) -> dict[str, str | None]:
    """The bed's counters that tell whether frames were used."""
    keys = ("frames_received", "movements_tonight", "messages_rejected")
    return {k: state(w, prefix, k) for k in keys}


def stored_cursor(data_dir: Path) -> float:
    """The sensor's cursor as stored (read once the service has stopped)."""
    store = Store(data_dir / "sleepenv.db")
    try:
        (cursor,) = store.cursors("main").values()
    finally:
        store.close()
    return cursor


async def test_a_tiny_rate_or_a_far_future_frame_never_blocks_later_frames(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    host, port, topic = mosquitto.host, mosquitto.port, f"{prefix}/bed/env"
    t0 = clock.now() - 400
    first = list(frames(t0, 180, (Burst(t0 + 60, 2.0), Burst(t0 + 110, 2.0))))
    # Ten samples at 1e-300 Hz would claim 1e301 s; the second is well formed but stamped
    # an hour after the stream (and ~3,400 s after the service's clock).
    tiny_rate = json.dumps({"t": t0 + 30, "hz": 1e-300, "rms": [1.0] * 10}).encode()
    ahead = json.dumps({"t": t0 + 90 + 3600, "hz": 10, "rms": [1.0] * 10}).encode()
    msgs = [(topic, payload(f)) for f in first[:30]] + [(topic, tiny_rate)]
    msgs += [(topic, payload(f)) for f in first[30:90]] + [(topic, ahead)]
    msgs += [(topic, payload(f)) for f in first[90:]]
    async with watch(host, port, [f"{prefix}/#"]) as w:
        async with running(settings, clock) as service:
            await publish_many(host, port, msgs)
            await w.expect(
                {
                    f"{prefix}/main/frames_received": "180",
                    f"{prefix}/main/movements_tonight": "2",
                    f"{prefix}/main/messages_rejected": "2",
                },
                20,
            )
            assert service.is_connected.is_set()
        assert "out_of_range" in caplog.text  # the rate
        assert "time_in_future" in caplog.text  # the hour-ahead frame
        assert "duplicate" not in caplog.text
        # The stored cursor is the end of the last good frame, nowhere near 1e300.
        assert stored_cursor(tmp_path) == pytest.approx(t0 + 180, abs=0.01)

        # A new process on the same data dir continues from the stored cursor.
        later = frames(t0 + 180, 120, (Burst(t0 + 230, 2.0), Burst(t0 + 270, 2.0)), seed=1)
        async with running(settings, clock):
            await publish_many(host, port, [(topic, payload(f)) for f in later])
            await w.expect(
                {
                    f"{prefix}/main/frames_received": "300",
                    f"{prefix}/main/movements_tonight": "4",
                    f"{prefix}/main/messages_rejected": "2",
                },
                20,
            )
        assert "duplicate" not in caplog.text


async def test_a_frame_ahead_within_the_future_window_costs_two_frames_not_minutes(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    """A frame up to `max_future_seconds` (300 s) after the receive time passes the
    decoder and moves the cursor there. The live frames behind it are refused only until
    three in a row show that the cursor lies in the future of the clock: then the stream
    is taken again, and the stored cursor is healed."""
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    host, port, topic = mosquitto.host, mosquitto.port, f"{prefix}/bed/env"
    t0 = clock.now() - 150
    stream = list(frames(t0, 150, (Burst(t0 + 60, 2.0), Burst(t0 + 100, 2.0)), seed=3))
    # Well formed, 200 s ahead of the stream and ~80 s after the service's clock.
    ahead = json.dumps({"t": t0 + 230, "hz": 10, "rms": [1.0] * 10}).encode()
    async with watch(host, port, [f"{prefix}/#"]) as w:
        async with running(settings, clock):
            msgs = [(topic, payload(f)) for f in stream[:30]] + [(topic, ahead)]
            msgs += [(topic, payload(f)) for f in stream[30:]]
            await publish_many(host, port, msgs)
            await w.wait_for(lambda: state(w, prefix, "frames_received") == "149", 20)
            await w.wait_for(lambda: state(w, prefix, "movements_tonight") == "2", 20)
            assert state(w, prefix, "messages_rejected") == "2"
        # The cursor as stored: the end of the last live frame, not of the frame ahead.
        assert stored_cursor(tmp_path) == pytest.approx(stream[-1].end, abs=0.01)
