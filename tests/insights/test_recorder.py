"""The factor recorder over a real store: an evening's reports become the night's factors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

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


def _phases(day: int = 0) -> dict[str, float]:
    bedtime = BED + day * DAY
    return {
        "caffeine_cutoff": bedtime - 8 * H,
        "wind_down": bedtime - 90 * 60,
        "no_screen": bedtime - 60 * 60,
        "lights_out": bedtime,
        "wake": bedtime + 8 * H,
    }


def _wind_down(
    rec: FactorRecorder,
    evening: str,
    held: tuple[float, float] = (0.0, 0.0),
    *,
    is_enabled: bool = True,
    is_paused: bool = False,
) -> None:
    """The guidance runner's samples, once a minute from 2 h before bedtime to 1 h after."""
    for minute in range(-120, 61):
        at = BED + minute * 60
        rec.on_guidance(
            "main", evening, at, _phases(), target_celsius=18.0, is_enabled=is_enabled,
            is_paused=is_paused, is_held=held[0] <= at < held[1],
        )  # fmt: skip


def test_an_evening_becomes_stored_factors(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    rec = FactorRecorder(store)
    rec.on_temperature("main", BED - 600, 20.5)
    for hour in range(1, 9):  # a thermometer reporting hourly through the night
        rec.on_temperature("main", BED + hour * H, 20.0)
    rec.on_temperature("main", BED + 6 * H, float("nan"))  # refused, nothing breaks
    rec.on_screen_minutes("main", 12.0)
    _wind_down(rec, "2026-11-01", held=(BED - 40 * 60, BED - 20 * 60))
    rec.on_press("main", Habit.CAFFEINE, BED - 3 * H)  # after the cut-off: late
    factors = rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert factors.caffeine_late is True
    assert factors.exercise_late is None  # never used: unknown, not "no"
    assert factors.screen_minutes == 12.0
    assert factors.wind_down_minutes == 90.0
    assert factors.wind_down_overridden_minutes == 20.0
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


def test_the_bedroom_record_of_the_evening_is_stored_for_the_chart(tmp_path: Path) -> None:
    from sleepenv.insights.core.bedroom import from_json  # noqa: PLC0415 - this test only

    store = Store(tmp_path / "s.db")
    rec = FactorRecorder(store)
    for minute in range(-150, 8 * 60, 5):
        rec.on_temperature("main", BED + minute * 60, 20.0 - minute / 300)
    rec.on_temperature("main", BED + 60, float("nan"))
    rec.on_screen("main", "tv", BED - 50 * 60, is_on=True)
    rec.on_screen("main", "tv", BED - 35 * 60, is_on=False)
    rec.on_screen("main", "tablet", BED + 30 * 60, is_on=True)  # still on at the night's end
    rec.on_press("main", Habit.CAFFEINE, BED - 3 * H)
    rec.on_press("main", Habit.CAFFEINE, BED - 10 * H)  # before the cut-off: not late
    _wind_down(rec, "2026-11-01", held=(BED - 40 * 60, BED - 20 * 60))
    _wind_down(rec, "2026-11-02")  # the next evening's samples already: kept for it
    rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    doc = store.bedroom("main", "2026-11-01")
    assert doc is not None
    record = from_json(doc)
    assert record.target_celsius == 18.0
    assert (record.wind_down_at, record.lights_out_at) == (BED - 90 * 60, BED)
    assert record.caffeine_cutoff_at == BED - 8 * H
    assert record.late_caffeine == (BED - 3 * H,)
    assert record.screen_on == ((BED - 50 * 60, BED - 35 * 60), (BED + 30 * 60, BED + 8 * H))
    assert record.overridden == ((BED - 40 * 60, BED - 20 * 60),)
    temps = [c for _, c in record.temperatures]
    assert temps
    assert all(math.isfinite(c) for c in temps)  # the NaN reading is not stored
    assert record.temperatures[0][0] == BED - 120 * 60  # from 30 min before the wind-down
    assert store.bedroom("main", "2026-11-02") is None
    rec.close("main", "2026-11-02", _plan(1), _sleep(1))
    assert store.bedroom("main", "2026-11-02") is not None  # its samples were kept


def test_an_evening_without_guidance_stores_no_bedroom_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    rec = FactorRecorder(store)
    rec.on_temperature("main", BED, 19.0)
    factors = rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert factors.wind_down_minutes is None
    assert store.bedroom("main", "2026-11-01") is None
    assert store.factors("main")["2026-11-01"] is not None


def test_a_guidance_sample_without_its_phases_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    rec = FactorRecorder(store)
    for phases in ({}, {"wind_down": "late", "no_screen": 1.0, "lights_out": 2.0}):
        rec.on_guidance(
            "main", "2026-11-01", BED, phases, target_celsius=18.0,  # type: ignore[arg-type]
            is_enabled=True, is_paused=False, is_held=False,
        )  # fmt: skip
    rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert store.bedroom("main", "2026-11-01") is None


def _evening(rec: FactorRecorder, minutes: range, skip: range = range(0)) -> None:
    """One evening's reports minute by minute: the thermometer every 10 minutes, the TV on
    by hand from 50 to 30 minutes before bedtime, a hold from 40 to 20 minutes before, and
    the guidance's samples; nothing in `skip` (the service was down)."""
    for minute in minutes:
        if minute in skip:
            continue
        at = BED + minute * 60
        if minute % 10 == 0:
            rec.on_temperature("main", at, 21.0 - minute / 100)
        if minute == -50:
            rec.on_screen("main", "tv", at, is_on=True)
        if minute == -30:
            rec.on_screen("main", "tv", at, is_on=False)
        if minute > -60:
            rec.on_screen_minutes("main", float(min(minute, -30) + 50 if minute > -50 else 0))
        rec.on_guidance(
            "main", "2026-11-01", at, _phases(), target_celsius=18.0, is_enabled=True,
            is_paused=False, is_held=-40 <= minute < -20,
        )  # fmt: skip
    if minutes.stop > 8 * 60:
        rec.on_press("main", Habit.CAFFEINE, BED - 3 * H)


EVENING = range(-150, 8 * 60 + 1)


@pytest.mark.parametrize(
    ("stop", "down"),
    [
        (-45, range(0)),  # stopped in the no-screen window with the TV on, back a minute later
        (-28, range(-27, -22)),  # 5 minutes down during a hold: counts as the state before
        (-80, range(-79, -60)),  # 20 minutes down in the wind-down: counted as neither
    ],
)
def test_a_restart_mid_evening_keeps_the_evening_so_far(
    tmp_path: Path, stop: int, down: range
) -> None:
    from sleepenv.insights.core.bedroom import from_json  # noqa: PLC0415 - these tests only

    whole_store = Store(tmp_path / "whole.db")
    whole = FactorRecorder(whole_store)
    _evening(whole, EVENING, skip=down)
    expected = whole.close("main", "2026-11-01", _plan(0), _sleep(0))

    store = Store(tmp_path / "s.db")
    _evening(FactorRecorder(store), range(EVENING.start, stop + 1))
    store.close()  # the service stops; a new one opens the same file
    store = Store(tmp_path / "s.db")
    again = FactorRecorder(store)
    _evening(again, range(stop + 1, EVENING.stop), skip=down)
    factors = again.close("main", "2026-11-01", _plan(0), _sleep(0))

    assert factors == expected
    assert store.factors("main") == whole_store.factors("main")
    assert store.bedroom("main", "2026-11-01") == whole_store.bedroom("main", "2026-11-01")
    assert factors.room_celsius is not None
    assert factors.screen_minutes == 20.0
    assert factors.wind_down_overridden_minutes == 20.0
    # The wind-down's 90 minutes, less a stretch over ten minutes while nothing ran.
    assert factors.wind_down_minutes == (70.0 if len(down) > 10 else 90.0)
    record = from_json(whole_store.bedroom("main", "2026-11-01") or {})
    assert record.screen_on == ((BED - 50 * 60, BED - 30 * 60),)
    assert record.overridden == ((BED - 40 * 60, BED - 20 * 60),)


def test_without_the_saved_evening_a_restart_loses_it(tmp_path: Path) -> None:
    """The counter-check of the test above: what the new recorder resumes is what was
    saved, not something it would have seen anyway."""
    store = Store(tmp_path / "s.db")
    _evening(FactorRecorder(store), range(EVENING.start, -45))
    store.save_running_evening("main", {})  # as if nothing had been saved
    again = FactorRecorder(store)
    _evening(again, range(-44, EVENING.stop))
    factors = again.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert factors.wind_down_minutes == 44.0  # only from the restart on
    assert factors.room_celsius is not None


@pytest.mark.parametrize(
    "state",
    [
        {"saved_at": "x", "temperatures": [[1, "warm"], [2], "x"], "screens_on_since": []},
        {"guidance": {"2026-11-01": {"phases": [1, 2]}}, "screen_spans": [[5, 1], [1, None]]},
        {"guidance": {"2026-11-01": {"phases": [1, 2, 3, None], "last": [1, "yes", 0]}}},
        {"screen_minutes": -3, "screens_on_since": {"tv": "on"}, "guidance": []},
    ],
)
def test_a_damaged_saved_evening_is_left_out(tmp_path: Path, state: dict[str, object]) -> None:
    from sleepenv.insights.core.bedroom import from_json  # noqa: PLC0415 - these tests only

    store = Store(tmp_path / "s.db")
    store.save_running_evening("main", state)
    rec = FactorRecorder(store)
    _evening(rec, range(-30, 61))
    factors = rec.close("main", "2026-11-01", _plan(0), _sleep(0))
    assert factors.wind_down_minutes == 30.0
    assert factors.screen_minutes == 20.0  # as the guidance reported it since
    doc = store.bedroom("main", "2026-11-01")
    assert doc is not None
    assert from_json(doc).screen_on == ()  # no screen was seen turning on


def test_an_unreadable_saved_evening_starts_the_evening_afresh(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415 - this test only

    store = Store(tmp_path / "s.db")
    store.save_running_evening("main", {"screen_minutes": 5.0})
    assert store.running_evening("main") == {"screen_minutes": 5.0}
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE evening_running SET state='{not json' WHERE room='main'")
        db.execute("INSERT INTO evening_running VALUES ('nursery', '[1, 2]')")
    db.close()
    store = Store(tmp_path / "s.db")
    assert store.running_evening("main") is None
    assert store.running_evening("nursery") is None
    rec = FactorRecorder(store)
    _evening(rec, range(-30, 61))
    assert rec.close("main", "2026-11-01", _plan(0), _sleep(0)).wind_down_minutes == 30.0
