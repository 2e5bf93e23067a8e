"""Black box: the running night's stored totals around a SIGKILL (issue 12: the totals are
stored with each checkpoint, not after every report), with `python -m sleepenv run` as a
subprocess against a real Mosquitto and a Zigbee vibration sensor."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from pathlib import Path

import yaml

from sleepenv.mqtt.broker import MosquittoProcess
from tests.e2e.test_run import Runner, start_at_ts
from tests.helpers.mqtt import Watcher, publish_many, watch


def zigbee_config(runner: Runner, prefix: str) -> str:
    """Turn the runner's bed into one with a Zigbee vibration sensor; its topic."""
    config = yaml.safe_load(runner.config.read_text())
    topic = f"{prefix}/bed/zigbee"
    config["beds"][0]["sensors"] = [{"kind": "zigbee_vibration", "topic": topic}]
    runner.config.write_text(yaml.safe_dump(config))
    return topic


def reports(t0: float, first: int, n: int) -> list[bytes]:
    """Vibration reports 5 s apart by `last_seen`: each one is one movement."""
    return [
        json.dumps(
            {
                "action": "vibration",
                "strength": 20 + i % 50,
                "last_seen": round((t0 + 5 * i) * 1000),
            }
        ).encode()
        for i in range(first, first + n)
    ]


def stored(db: Path) -> tuple[int, list[tuple[str, int]]]:
    """Events in the database, and each stored night with its total, read by a second
    connection as `sleepenv nights` would."""
    with sqlite3.connect(db) as conn:
        events = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        rows = conn.execute("SELECT night, counts FROM nights ORDER BY night").fetchall()
    return events, [(night, sum(json.loads(counts).values())) for night, counts in rows]


async def wait_total(db: Path, total: int, seconds: float) -> list[tuple[str, int]]:
    """The stored nights once one of them holds `total` movements (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    nights = (await asyncio.to_thread(stored, db))[1]
    while not any(t == total for _, t in nights) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        nights = (await asyncio.to_thread(stored, db))[1]
    return nights


def count(w: Watcher, prefix: str) -> str | None:
    """The latest movements_tonight, as Home Assistant reads it."""
    return w.value(f"{prefix}/main/movements_tonight")


async def test_sigkill_keeps_every_event_and_the_restart_stores_the_totals_again(
    runner: Runner, mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    topic = zigbee_config(runner, prefix)
    t0 = start_at_ts(runner) - 900  # 22:45, inside the night (from 18:00)
    db = tmp_path / "data" / "sleepenv.db"
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
        runner.start()
        # States go out once the service is subscribed (the sensor's reports are heard).
        await w.wait_for(lambda: count(w, prefix) == "0", 15)
        await publish_many(mosquitto.host, mosquitto.port, [(topic, r) for r in reports(t0, 0, 25)])
        await w.wait_for(lambda: count(w, prefix) == "25", 15)
        assert runner.proc is not None
        runner.proc.kill()  # at once: the last checkpoint may be behind the count
        runner.proc.wait()
        runner.proc = None
        # Every counted movement was stored before its count went out, and the night has
        # its row from its first movement on (its totals may lag by the last few).
        events, nights = stored(db)
        assert events == 25
        assert len(nights) == 1
        assert 1 <= nights[0][1] <= 25
        # Back: the broker redelivers what was not acknowledged, nothing counts twice, and
        # the first checkpoint (every 2 s) stores the totals again without a new report.
        runner.start()
        assert await wait_total(db, 25, 15) == [(nights[0][0], 25)]
        await w.wait_for(lambda: count(w, prefix) == "25", 15)
        # Running on: a checkpoint stores each change of the totals.
        await publish_many(mosquitto.host, mosquitto.port, [(topic, r) for r in reports(t0, 25, 5)])
        await w.wait_for(lambda: count(w, prefix) == "30", 15)
        assert await wait_total(db, 30, 15) == [(nights[0][0], 30)]
        code, out = runner.signal(signal.SIGTERM)
    assert code == 0, out
    assert "Traceback" not in out
    assert stored(db) == (30, [(nights[0][0], 30)])
