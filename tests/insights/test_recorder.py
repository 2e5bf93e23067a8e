"""The factor recorder over a real store: an evening's reports become the night's factors."""

from __future__ import annotations

from pathlib import Path

from sleepenv.bed.store import Store
from sleepenv.insights.core.evening import EveningPlan, Habit, SleepSpan
from sleepenv.insights.recorder import FactorRecorder
from sleepenv.insights.records import factors_from_json

H = 3600.0
DAY = 24 * H
BED = 1000 * H  # the first evening's bedtime


def _plan(day: int) -> EveningPlan:
    bedtime = BED + day * DAY
    return EveningPlan(bedtime_at=bedtime, caffeine_cutoff_at=bedtime - 8 * H)


def _sleep(day: int) -> SleepSpan:
    bedtime = BED + day * DAY
    return SleepSpan(in_bed_at=bedtime + 300, asleep_at=bedtime + 1200, wake_at=bedtime + 8 * H)


def test_an_evening_becomes_stored_factors(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    rec = FactorRecorder(store)
    rec.on_temperature("main", BED - 600, 20.5)
    for hour in range(1, 9):  # a thermometer reporting hourly through the night
        rec.on_temperature("main", BED + hour * H, 20.0)
    rec.on_temperature("main", BED + 6 * H, float("nan"))  # refused, nothing breaks
    rec.on_screen_minutes("main", 12.0)
    rec.on_wind_down("main", 45.0)
    rec.on_press("main", Habit.CAFFEINE, BED - 3 * H)  # after the cut-off: late
    factors = rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert factors.caffeine_late is True
    assert factors.exercise_late is None  # never used: unknown, not "no"
    assert factors.screen_minutes == 12.0
    assert factors.wind_down_minutes == 45.0
    assert factors.room_celsius is not None
    assert 20.0 <= factors.room_celsius <= 20.5
    assert factors.bedtime_offset_minutes == 5.0
    assert factors_from_json(store.factors("main")["2026-11-01"]) == factors


def test_a_used_habit_stays_tracked_and_the_next_evening_starts_afresh(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    rec = FactorRecorder(store)
    rec.on_press("main", Habit.EXERCISE, BED - 2 * H)
    rec.on_screen_minutes("main", 30.0)
    first = rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert first.exercise_late is True
    second = rec.close("main", "2026-11-02", _plan(1), _sleep(1))
    assert second.exercise_late is False  # tracked since yesterday, not pressed tonight
    assert second.caffeine_late is None
    assert second.screen_minutes is None  # yesterday's minutes are not tonight's


def test_presses_survive_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    FactorRecorder(store).on_press("main", Habit.CAFFEINE, BED - H)
    store.close()
    again = FactorRecorder(Store(tmp_path / "s.db"))
    assert again.close("main", "2026-11-01", _plan(0), _sleep(0)).caffeine_late is True


def test_a_closed_bed_night_closes_every_bedroom_that_follows_the_bed(tmp_path: Path) -> None:
    from sleepenv.bed.core.model import NightSummary  # noqa: PLC0415 - this test only

    store = Store(tmp_path / "s.db")
    asked: list[tuple[str, str]] = []

    def plan_of(room: str, evening: str) -> EveningPlan:
        asked.append((room, evening))
        return _plan(0)

    rec = FactorRecorder(store, {"main": ["bedroom", "nursery"]}, plan_of)
    rec.on_habit("bedroom", "caffeine", BED - H)
    rec.on_habit("bedroom", "tea", BED - H)  # a habit this version does not know: dropped
    night = NightSummary(
        "main",
        "2026-11-01",
        BED,
        BED + 8 * H,
        {},
        sleep_onset=BED + 1200,
        in_bed_spans=((BED + 300, BED + 8 * H),),
        wake=BED + 8 * H,
    )
    rec.on_bed_night_closed("guest_bed", night)  # no bedroom follows it: nothing
    assert asked == []
    rec.on_bed_night_closed("main", night)
    assert asked == [("bedroom", "2026-11-01"), ("nursery", "2026-11-01")]
    stored = store.factors("bedroom")["2026-11-01"]
    assert factors_from_json(stored).caffeine_late is True
    assert factors_from_json(stored).bedtime_offset_minutes == 5.0
    assert factors_from_json(store.factors("nursery")["2026-11-01"]).caffeine_late is None
