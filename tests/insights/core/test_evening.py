"""An evening's factors from hand-built reports: known means, late presses, unknowns."""

from __future__ import annotations

import math

import pytest

from sleepenv.insights.core.bedroom import GuidanceLog, Phases
from sleepenv.insights.core.evening import (
    EveningLog,
    EveningPlan,
    Habit,
    SleepSpan,
    running_from_json,
    running_to_json,
)

H = 3600.0
BEDTIME = 100 * H
PLAN = EveningPlan(bedtime_at=BEDTIME, caffeine_cutoff_at=BEDTIME - 8 * H, exercise_hours=3.0)
SLEEP_START = BEDTIME + 1800
SLEEP = SleepSpan(in_bed_at=BEDTIME + 600, asleep_at=SLEEP_START, wake_at=BEDTIME + 8 * H)


def test_room_mean_is_weighted_by_how_long_each_reading_held() -> None:
    log = EveningLog()
    log.add_temperature(BEDTIME - 600, 20.0)  # holds from before sleep until 1.5 h in
    for hours in (1.5, 3.0, 4.5, 6.0):
        log.add_temperature(SLEEP_START + hours * H, 18.0)
    f = log.factors(PLAN, SLEEP)
    asleep = 7.5 * H  # from 30 min after bedtime to 8 h after it
    expected = (20.0 * 1.5 * H + 18.0 * (asleep - 1.5 * H)) / asleep
    assert f.room_celsius == pytest.approx(expected, abs=0.01)
    assert f.room_celsius_at_lights_out == 20.0


def test_a_thermometer_repeating_itself_keeps_few_readings_and_the_same_mean() -> None:
    chatty = EveningLog()
    for i in range(round(9 * H / 10)):  # every 10 s from bedtime on: 20.0, then 18.5
        at = BEDTIME + i * 10.0
        chatty.add_temperature(at, 20.0 if at < SLEEP_START + 2 * H else 18.5)
    assert len(chatty.temperatures) <= 9 * 6 + 2  # one per 10 minutes, and the change
    assert (SLEEP_START + 2 * H, 18.5) in chatty.temperatures
    mean = chatty.factors(PLAN, SLEEP).room_celsius
    assert mean == pytest.approx((20.0 * 2 * H + 18.5 * 5.5 * H) / (7.5 * H), abs=1e-9)


def test_a_quiet_thermometer_leaves_the_room_unknown() -> None:
    log = EveningLog()
    log.add_temperature(BEDTIME - 3 * H, 19.0)  # stale by bedtime and the whole night
    log.add_temperature(SLEEP_START + H, 19.0)  # then silent for the rest of the night
    f = log.factors(PLAN, SLEEP)
    assert f.room_celsius is None
    assert f.room_celsius_at_lights_out is None


def test_impossible_readings_are_refused() -> None:
    log = EveningLog()
    assert not log.add_temperature(BEDTIME, math.nan)
    assert not log.add_temperature(BEDTIME, 400.0)
    assert not log.add_temperature(math.inf, 19.0)
    assert log.add_temperature(BEDTIME, 19.0)
    assert log.temperatures == [(BEDTIME, 19.0)]


def test_presses_count_as_late_by_the_cutoff_and_the_hours_before_bed() -> None:
    log = EveningLog(sources=frozenset(Habit))
    log.add_press(Habit.CAFFEINE, BEDTIME - 9 * H)  # before the 14:00-style cutoff: not late
    log.add_press(Habit.EXERCISE, BEDTIME - 4 * H)  # four hours before bed: not late
    f = log.factors(PLAN, SLEEP)
    assert (f.caffeine_late, f.exercise_late) == (False, False)
    log.add_press(Habit.CAFFEINE, BEDTIME - 7 * H)
    log.add_press(Habit.EXERCISE, BEDTIME - 2 * H)
    f = log.factors(PLAN, SLEEP)
    assert (f.caffeine_late, f.exercise_late) == (True, True)


def test_a_habit_without_a_source_is_unknown_never_false() -> None:
    log = EveningLog(sources=frozenset({Habit.EXERCISE}))
    log.add_press(Habit.CAFFEINE, BEDTIME - H)
    f = log.factors(PLAN, SLEEP)
    assert f.caffeine_late is None
    assert f.exercise_late is False
    no_cutoff = EveningPlan(bedtime_at=BEDTIME)
    assert EveningLog(sources=frozenset(Habit)).factors(no_cutoff, SLEEP).caffeine_late is None


def test_bedtime_offset_is_signed_minutes_from_the_schedule() -> None:
    assert EveningLog().factors(PLAN, SLEEP).bedtime_offset_minutes == 10.0
    early = SleepSpan(in_bed_at=BEDTIME - 50 * 60, asleep_at=None, wake_at=None)
    f = EveningLog().factors(PLAN, early)
    assert f.bedtime_offset_minutes == -50.0
    assert f.room_celsius is None  # no sleep span, no room mean
    nobody = SleepSpan(in_bed_at=None, asleep_at=None, wake_at=None)
    assert EveningLog().factors(PLAN, nobody).bedtime_offset_minutes is None


def test_a_running_evening_stored_and_read_back_gives_the_same_factors() -> None:

    log = EveningLog()
    for minutes in range(-120, 8 * 60, 7):
        log.add_temperature(BEDTIME + minutes * 60, 19.0 + minutes / 600)
    log.add_screen("tv", BEDTIME - 50 * 60, is_on=True)
    log.add_screen("tv", BEDTIME - 40 * 60, is_on=False)
    log.add_screen("tablet", BEDTIME - 10 * 60, is_on=True)
    log.screen_minutes = 20.0
    phases = Phases(BEDTIME - 90 * 60, BEDTIME - 60 * 60, BEDTIME)
    entry = log.guidance.setdefault("2026-11-01", GuidanceLog(phases))
    for minutes in range(-100, 0):
        entry.observe(BEDTIME + minutes * 60, phases, is_enabled=True, is_paused=False,
                      is_held=-30 <= minutes < -20)  # fmt: skip
    again = running_from_json(running_to_json(log, BEDTIME))
    assert again.factors(PLAN, SLEEP) == log.factors(PLAN, SLEEP)
    assert again.screens_until(BEDTIME) == log.screens_until(BEDTIME)
    resumed = again.guidance["2026-11-01"]
    assert resumed.state == entry.state
    assert (resumed.ran_minutes, resumed.overridden_minutes) == (89.0, 10.0)
    assert resumed.overridden == entry.overridden


def test_room_readings_are_kept_for_a_day_and_a_half_and_ten_thousand_at_most() -> None:
    log = EveningLog()
    for minutes in range(0, 3 * 24 * 60, 10):
        log.add_temperature(minutes * 60.0, 20.0)
    log.trim_readings(3 * 24 * H)
    assert log.temperatures[0][0] == 36 * H
    assert len(log.temperatures) == 36 * 6
    for seconds in range(0, 12_000 * 5, 5):  # a changing value: every reading is kept
        log.add_temperature(3 * 24 * H + seconds, 21.0 + (seconds % 10) / 50)
    log.trim_readings(3 * 24 * H + 12_000 * 5)
    assert len(log.temperatures) == 10_000
    assert log.temperatures[-1][0] == 3 * 24 * H + 11_999 * 5
