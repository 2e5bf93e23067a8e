"""A burst of Zigbee reports through the real service and a real Mosquitto (issue 12): the
reports waiting in the receive queue are handled together, every event goes out once and
in order, the count never goes back, and what was acknowledged is stored."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.mqtt import watch
from tests.service.test_service import make_settings, night_clock, running

REPORTS = 150


def zigbee_settings(broker: MosquittoProcess, prefix: str, data_dir: Path) -> Settings:
    """The test service's bed with one Zigbee vibration sensor instead."""
    settings = make_settings(broker, prefix, data_dir)
    bed = settings.beds[0].model_copy(
        update={
            "sensors": [
                settings.beds[0]
                .sensors[0]
                .model_copy(update={"kind": "zigbee_vibration", "topic": f"{prefix}/bed/zigbee"})
            ]
        }
    )
    return settings.model_copy(update={"beds": [bed]})


def send_burst(broker: MosquittoProcess, topic: str, t0: float, done: threading.Event) -> None:
    """Publish the reports at once from a thread of its own (QoS 1, as a sensor does)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [
        client.publish(
            topic,
            json.dumps(
                {"action": "vibration", "strength": i % 90, "last_seen": round((t0 + i) * 1000)}
            ),
            qos=1,
        )
        for i in range(REPORTS)
    ]
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()
    done.set()


async def test_a_burst_is_counted_once_in_order_and_stored(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = zigbee_settings(mosquitto, prefix, tmp_path)
    t0 = clock.now() - 2 * REPORTS
    count_topic, event_topic = f"{prefix}/main/movements_tonight", f"{prefix}/main/event"
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await w.wait_for(lambda: w.text(count_topic) == "0")
        done = threading.Event()
        sender = threading.Thread(
            target=send_burst, args=(mosquitto, f"{prefix}/bed/zigbee", t0, done)
        )
        sender.start()
        # The service's loop is held up (a blocking join) while the whole burst goes to
        # the broker: the service finds the reports waiting when it runs again.
        sender.join(10)
        assert done.is_set()
        await w.wait_for(lambda: w.text(count_topic) == str(REPORTS), 15)
        await w.wait_for(lambda: len(w.on(event_topic)) == REPORTS, 15)
        db = tmp_path / "sleepenv.db"

        def stored_frames() -> int:
            with sqlite3.connect(db) as conn:
                row = conn.execute(
                    "SELECT value FROM counters WHERE key='frames_received'"
                ).fetchone()
            return int(row[0]) if row else 0

        # Acknowledged once stored: the checkpoint before the acknowledgements has them.
        await w.wait_for(lambda: stored_frames() == REPORTS, 10)
    onsets = [json.loads(p)["onset"] for p in w.on(event_topic)]
    assert onsets == sorted(onsets)
    assert len(set(onsets)) == REPORTS
    counts = [int(p) for p in w.on(count_topic)]
    assert counts == sorted(counts)
    # The count's states were coalesced while the reports waited: far fewer than one each.
    assert len(counts) < REPORTS // 2
