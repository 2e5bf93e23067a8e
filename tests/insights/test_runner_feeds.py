"""The guidance runner feeds the factor recorder: the wind-down's minutes (ran, and held by
hand) and the bedroom's evening for the chart, over a real store and the real engine."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sleepenv.bed.store import Store
from sleepenv.bootstrap import bedroom_timezones, evening_plans
from sleepenv.config.settings import Settings
from sleepenv.guidance.runner import GuidanceRunner
from sleepenv.insights.core.bedroom import from_json
from sleepenv.insights.core.evening import EveningPlan, SleepSpan
from sleepenv.insights.recorder import FactorRecorder
from tests.helpers.service import RecordingOutbox, StepClock, bedroom_settings

BERLIN = ZoneInfo("Europe/Berlin")
M = 60.0
SCHEDULE = {"bedtime": "22:30", "wake": "06:30"}


def recorded_runner(
    settings: Settings, clock: StepClock, tmp_path: Path
) -> tuple[GuidanceRunner, Store, FactorRecorder]:
    """A guidance runner whose evenings go to a factor recorder on a real store."""
    store = Store(tmp_path / "s.db")
    recorder = FactorRecorder(store)
    runner = GuidanceRunner(
        settings, bedroom_timezones(settings), clock, RecordingOutbox(), evenings=recorder
    )
    return runner, store, recorder


def test_the_runner_feeds_the_wind_down_and_the_bedroom_record(tmp_path: Path) -> None:
    settings = bedroom_settings(
        tmp_path,
        {
            "schedule": SCHEDULE,
            "devices": [
                {"id": "lights", "role": "light", "topic": "z2m/lights"},
                {"id": "tv", "role": "screen", "topic": "z2m/tv"},
                {"id": "thermo", "role": "temperature", "topic": "z2m/thermo"},
            ],
        },
    )
    start = datetime(2026, 11, 20, 20, 0, tzinfo=BERLIN).timestamp()
    clock = StepClock(start)
    runner, store, recorder = recorded_runner(settings, clock, tmp_path)
    bedtime = datetime(2026, 11, 20, 22, 30, tzinfo=BERLIN).timestamp()

    def say(topic: str, payload: dict[str, object]) -> None:
        runner.handle(topic, json.dumps(payload).encode())

    say("z2m/lights", {"state": "ON", "brightness": 254, "color_temp": 370})
    say("z2m/tv", {"state": "OFF"})
    engine = runner.engines["bedroom"]
    while clock.at < bedtime + 30 * M:
        clock.at += M
        minutes = (clock.at - start) / M
        if minutes % 10 == 0:
            say("z2m/thermo", {"temperature": 20.0 - minutes / 100})
        if clock.at == bedtime - 45 * M:  # in the no-screen window, by hand
            say("z2m/tv", {"state": "ON"})
        if clock.at == bedtime - 30 * M:
            say("z2m/tv", {"state": "OFF"})
        runner.apply("bedroom", engine.tick(clock.at))
    plan = EveningPlan(bedtime_at=bedtime)
    sleep = SleepSpan(bedtime, bedtime + 20 * M, bedtime + 8 * 3600)
    factors = recorder.close("bedroom", date(2026, 11, 20).isoformat(), plan, sleep)
    assert factors.wind_down_minutes == 90.0
    # The TV turned on by hand is held from then until the next phase (lights-out).
    assert factors.wind_down_overridden_minutes == 45.0
    doc = store.bedroom("bedroom", "2026-11-20")
    assert doc is not None
    record = from_json(doc)
    assert record.wind_down_at == bedtime - 90 * M
    assert record.no_screen_at == bedtime - 60 * M
    assert record.lights_out_at == bedtime
    assert record.target_celsius == 18.0
    assert record.screen_on == ((bedtime - 45 * M, bedtime - 30 * M),)
    assert record.overridden == ((bedtime - 45 * M, bedtime),)
    assert len(record.temperatures) >= 10
    assert record.temperatures[-1][1] < record.temperatures[0][1]


def test_the_late_exercise_hours_are_the_bedrooms_for_the_note_and_the_factor(
    tmp_path: Path,
) -> None:
    settings = bedroom_settings(
        tmp_path, {"schedule": SCHEDULE, "habits": {"late_exercise_hours": 1.5}}
    )
    bedtime = datetime(2026, 11, 20, 22, 30, tzinfo=BERLIN).timestamp()
    clock = StepClock(bedtime - 2 * 3600)  # 20:30: late by the default 3 h, not by 1.5 h
    runner, _, recorder = recorded_runner(settings, clock, tmp_path)
    runner.handle("sleepenv/guidance/bedroom/exercised/set", b"PRESS")
    assert runner.engines["bedroom"].note == "Exercise noted at 20:30 (well before bed)"
    plan_of = evening_plans(settings)
    factors = recorder.close(
        "bedroom", "2026-11-20", plan_of("bedroom", "2026-11-20"), SleepSpan(None, None, None)
    )
    assert factors.exercise_late is False
    clock.at = bedtime - 3600  # 21:30: late by 1.5 h
    runner.handle("sleepenv/guidance/bedroom/exercised/set", b"PRESS")
    assert runner.engines["bedroom"].note == "Exercise noted at 21:30 (within 1.5 h of bedtime)"
    factors = recorder.close(
        "bedroom", "2026-11-20", plan_of("bedroom", "2026-11-20"), SleepSpan(None, None, None)
    )
    assert factors.exercise_late is True
