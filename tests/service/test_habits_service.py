"""Habit buttons and the night's factors in the real service, against a real Mosquitto."""

from __future__ import annotations

from pathlib import Path

from sleepenv.bed.core.model import NightSummary
from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.insights.publisher import NO_BEDROOM
from sleepenv.insights.recorder import FactorRecorder
from sleepenv.insights.records import factors_from_json
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.sim.bedroom import SimBedroom, run_bedroom
from tests.e2e.test_insights_cli import store_nights
from tests.helpers.mqtt import publish_many, watch
from tests.service.test_guidance_service import berlin, guidance_settings
from tests.service.test_service import running


def _following_the_bed(settings: Settings) -> Settings:
    doc = settings.model_dump()
    doc["guidance"]["bedrooms"][0]["bed"] = "main"
    return Settings.model_validate(doc)


async def test_a_habit_press_is_kept_answered_and_becomes_the_nights_factor(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = _following_the_bed(
        guidance_settings(mosquitto, prefix, tmp_path, caffeine_cutoff="14:00")
    )
    clock = ScaledClock(berlin(20, 0), 1.0)
    host, port = mosquitto.host, mosquitto.port
    base = f"{prefix}/guidance/bedroom"
    store = Store(tmp_path / "sleepenv.db")
    # A press left retained on the broker (by a misconfigured client) before the service
    # starts: it is cleared when the service connects, never acted on.
    await publish_many(host, port, [(f"{base}/had_caffeine/set", b"PRESS")], retain=True)
    async with (
        watch(host, port, [f"{prefix}/#"]) as w,
        run_bedroom(host, port, clock, SimBedroom(prefix=prefix)),
        running(settings, clock) as service,
    ):
        await w.expect({f"{base}/next_bedtime": "2026-11-20T21:30:00+00:00"})
        await w.wait_for(lambda: w.latest.get(f"{base}/had_caffeine/set") == b"", 10)
        assert store.presses("bedroom", since=0.0) == []
        await publish_many(host, port, [(f"{base}/had_caffeine/set", b"PRESS")])
        await w.wait_for(lambda: (w.text(f"{base}/note") or "").startswith("Caffeine noted"), 10)
        assert w.text(f"{base}/note") == "Caffeine noted at 20:00 (after the caffeine cut-off)"
        presses = store.presses("bedroom", since=0.0)
        assert [habit for habit, _ in presses] == ["caffeine"]
        await w.wait_for(lambda: w.text(f"{base}/room_temperature_deviation") is not None, 10)
        # The bed's night ends: the bedroom that follows the bed stores its factors.
        recorder = next(x for x in service.bed.listeners if isinstance(x, FactorRecorder))
        now = clock.now()
        night = NightSummary(
            "main",
            "2026-11-20",
            now - 3600,
            now + 60,
            {},
            sleep_onset=now - 1200,
            in_bed_spans=((now - 1800, now + 60),),
            wake=now + 60,
        )
        recorder.on_bed_night_closed("main", night)
    factors = factors_from_json(store.factors("bedroom")["2026-11-20"])
    assert factors.caffeine_late is True
    assert factors.exercise_late is None  # never pressed: unknown
    assert factors.room_celsius is not None
    assert 15.0 < factors.room_celsius < 25.0
    assert factors.screen_minutes is not None


async def test_each_bed_publishes_its_insights_from_the_stored_nights(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    store_nights(tmp_path, 16)  # late caffeine goes with three more hypnic jerks
    settings = _following_the_bed(guidance_settings(mosquitto, prefix, tmp_path))
    clock = ScaledClock(berlin(12, 0), 1.0)
    host, port = mosquitto.host, mosquitto.port
    async with (
        watch(host, port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await w.wait_for(lambda: w.json(f"{prefix}/main/insight") is not None, 30)
        doc = w.json(f"{prefix}/main/insight")
    assert doc["nights"] == 16
    assert doc["headline"].startswith("Nights after late caffeine had 3.0 more hypnic jerks")
    found = [c for c in doc["comparisons"] if c["finding"]]
    assert [(c["factor"], c["outcome"]) for c in found] == [("late_caffeine", "hypnic_jerks")]


async def test_a_bed_no_bedroom_follows_says_where_habits_come_from(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = guidance_settings(mosquitto, prefix, tmp_path)  # its bedroom follows no bed
    clock = ScaledClock(berlin(12, 0), 1.0)
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await w.wait_for(lambda: w.json(f"{prefix}/main/insight") is not None, 30)
        assert w.json(f"{prefix}/main/insight")["headline"] == NO_BEDROOM
