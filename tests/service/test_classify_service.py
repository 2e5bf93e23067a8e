"""Classification entities through the real service and a real Mosquitto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sleepenv.bed.core.model import NightSummary
from sleepenv.bed.store import Store
from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import publish_many, watch
from tests.service.test_service import make_settings, night_clock, running, state

NEW_COUNTS = (
    "twitches_tonight",
    "hypnic_jerks_tonight",
    "plm_tonight",
    "rollovers_tonight",
)


async def test_discovery_has_the_classification_entities(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    disc_topic = f"{prefix}ha/device/sleepenv_main/config"
    clock = night_clock()
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}ha/#", f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await w.wait_for(lambda: disc_topic in w.latest)
        cmps = w.json(disc_topic)["cmps"]
        for key in NEW_COUNTS:
            assert cmps[key]["state_class"] == "total"
            assert "last_reset" in cmps[key]["last_reset_value_template"]
            assert cmps[key]["unique_id"] == f"sleepenv_main_{key}"
        # The counts carry the night's start (the clock's 18:00 window) as last_reset.
        await w.wait_for(lambda: f"{prefix}/main/plm_tonight" in w.latest)
        doc = w.json(f"{prefix}/main/plm_tonight")
        assert doc["count"] == 0
        local = datetime.fromtimestamp(clock.now()).astimezone()
        night_start = local.replace(hour=18, minute=0, second=0, microsecond=0)
        assert datetime.fromisoformat(doc["last_reset"]) == night_start
        assert "state_class" not in cmps["plm_index_tonight"]
        assert cmps["plm_index_tonight"]["unit_of_measurement"] == "/h"
        assert cmps["sleep_onset"]["device_class"] == "timestamp"
        assert cmps["time_to_fall_asleep"]["device_class"] == "duration"
        assert cmps["time_to_fall_asleep"]["unit_of_measurement"] == "min"
        assert cmps["in_bed"]["p"] == "binary_sensor"
        assert cmps["in_bed"]["device_class"] == "occupancy"
        for key in ("twitches", "hypnic_jerks", "plm", "rollovers", "plm_index"):
            assert cmps[f"{key}_last_night"]["state_class"] == "measurement"  # the trend
        assert cmps["worth_discussing"]["p"] == "binary_sensor"
        assert cmps["worth_discussing"]["json_attributes_topic"] == (
            f"{prefix}/main/worth_discussing_attributes"
        )
        assert {"Hypnic jerk", "PLM-like movement", "Twitch", "Rollover"} <= set(
            cmps["movement_event"]["event_types"]
        )
        assert cmps["movements_tonight"]["state_class"] != "measurement"
        # A single-sensor bed says that a partner's movements cannot be separated.
        await w.wait_for(lambda: f"{prefix}/main/attributes" in w.latest)
        assert "partner" in w.json(f"{prefix}/main/attributes")["partner_movement"]
        await w.wait_for(lambda: state(w, prefix, "worth_discussing") == "OFF")


async def test_a_plm_series_and_a_hypnic_jerk_after_sleep_onset(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    start = clock.now() - 900
    lying_down = Burst(start + 30, 2.0, 2.0)
    onset = lying_down.onset + lying_down.duration
    # Six still minutes, then four leg movements 25 s apart, then a jerk.
    series = tuple(Burst(onset + 360 + 25 * i, 1.5, 2.0) for i in range(4))
    jerk = Burst(onset + 540, 0.6, 12.0)
    bursts = (lying_down, *series, jerk)
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(start, 840, bursts)]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        # Every topic asserted below is waited for: the states go out one topic at a time.
        expected = {
            "plm_tonight": "4",
            "hypnic_jerks_tonight": "1",
            "movements_tonight": "6",
            "in_bed": "ON",
            "time_to_fall_asleep": "0",
        }
        await w.expect({f"{prefix}/main/{k}": v for k, v in expected.items()})
        await w.wait_for(lambda: state(w, prefix, "sleep_onset") not in (None, "None"))
        published = datetime.fromisoformat(state(w, prefix, "sleep_onset") or "")
        assert abs(published.timestamp() - onset) < 1.5

        def events() -> list[dict[str, object]]:
            return [json.loads(p) for p in w.on(f"{prefix}/main/event")]

        await w.wait_for(lambda: any(e["event_type"] == "hypnic_jerk" for e in events()))
        events_seen = events()
        assert events_seen[-1]["event_type"] == "hypnic_jerk"
        assert {"peak", "side", "is_provisional"} <= set(events_seen[-1])
        # The live label of the first three members was limb_movement; the fourth made it
        # a series and the count says so.
        assert [e["event_type"] for e in events_seen[1:5]][-1] == "plm"


async def test_worth_discussing_from_stored_history(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    store = Store(tmp_path / "sleepenv.db")
    today = datetime.fromtimestamp(clock.now(), UTC).astimezone().date()
    for back in range(2, 8):
        day = (today - timedelta(days=back)).isoformat()
        store.save_night(NightSummary("main", day, 0.0, 1.0, {"plm": 150}, None, 21.0))
    store.close()
    settings = make_settings(mosquitto, prefix, tmp_path)
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        expected = {
            "worth_discussing": "ON",
            "plm_last_night": "150",
            "plm_index_last_night": "21.0",
        }
        await w.expect({f"{prefix}/main/{k}": v for k, v in expected.items()})
        attrs_topic = f"{prefix}/main/worth_discussing_attributes"
        await w.wait_for(lambda: attrs_topic in w.latest)
        attrs = w.json(attrs_topic)
        assert "15/h" in attrs["patterns"][0]
        assert "worth discussing with a doctor" in attrs["note"]
        assert "not a diagnosis" in attrs["note"]


async def test_presence_topic_drives_in_bed(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    clock = night_clock()
    base = make_settings(mosquitto, prefix, tmp_path)
    bed = base.beds[0].model_copy(update={"presence_topic": f"{prefix}/bed/presence"})
    settings = base.model_copy(update={"beds": [bed]})
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        topic = f"{prefix}/bed/presence"
        await publish_many(mosquitto.host, mosquitto.port, [(topic, b'{"occupancy": true}')])
        await w.wait_for(lambda: state(w, prefix, "in_bed") == "ON")
        await publish_many(mosquitto.host, mosquitto.port, [(topic, b"OFF")])
        await w.wait_for(lambda: state(w, prefix, "in_bed") == "OFF")
        await publish_many(mosquitto.host, mosquitto.port, [(topic, b"garbage")])
        await w.wait_for(lambda: state(w, prefix, "messages_rejected") == "1")


async def test_occupancy_levels_survive_a_restart(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    """The per-minute resting levels are stored: a restarted service still tells an
    occupied bed from the empty one without waiting for new minutes of contrast."""
    clock = night_clock()
    settings = make_settings(mosquitto, prefix, tmp_path)
    start = clock.now() - 1500
    empty = frames(start, 600, baseline=0.1)
    occupied = frames(start + 600, 900, (Burst(start + 610, 2.0, 2.0),), seed=1)
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in (*empty, *occupied)]
    async with running(settings, clock) as service:
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        tracker = service.pipeline.trackers["main"]
        async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
            await w.wait_for(lambda: tracker.frames_received == len(msgs), 20)
            await w.wait_for(lambda: state(w, prefix, "in_bed") == "ON")
        levels = list(tracker.levels)
    assert len(levels) >= 20
    async with running(settings, clock) as again:
        restored = again.pipeline.trackers["main"]
        assert restored.levels == levels
        assert restored.states(clock.now()).in_bed is True
