"""`record` of a replayed night, then `analyze`; the demo's Zigbee night (issue 15, item 16)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import publish_many


async def test_analyze_finds_the_events_of_a_recorded_replay(
    tmp_path: Path, mosquitto: MosquittoProcess, prefix: str
) -> None:
    out = tmp_path / "rec.jsonl"
    topic = f"{prefix}/bed/env"
    # Frames stamped yesterday evening, as the demo plays them: they arrive now.
    t0 = time.time() - 86_400
    bursts = (Burst(t0 + 100, 0.3), Burst(t0 + 200, 2.0), Burst(t0 + 300, 20.0))
    night = [(topic, payload(f)) for f in frames(t0, 400, bursts)]
    rec = subprocess.Popen(  # noqa: ASYNC220 - returns at once
        [
            sys.executable, "-m", "sleepenv", "record", "--topic", topic, "--out", str(out),
            "--host", mosquitto.host, "--port", str(mosquitto.port), "--count", "400",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert rec.stderr is not None
    # Said once the broker has confirmed the subscription: nothing published after is lost.
    assert "recording" in await asyncio.to_thread(rec.stderr.readline)
    await publish_many(mosquitto.host, mosquitto.port, night)
    _, err = rec.communicate(timeout=30)
    assert rec.returncode == 0, err
    analyzed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sleepenv", "analyze", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(analyzed.stdout)
    assert result["rejected"] == 0
    assert [e["class"] for e in result["events"]] == ["twitch", "limb_movement", "rollover"]
    assert abs(result["start"] - t0) < 1.0


def test_demo_zigbee_plays_a_zigbee_night(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "sleepenv", "demo", "--profile", "zigbee", "--no-guidance",
            "--hours", "2", "--speed", "3000", "--out", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "zigbee_vibration sensor" in proc.stdout
    # The coarse sensor's class: what the envelope night never yields.
    assert "│ movement " in proc.stdout
