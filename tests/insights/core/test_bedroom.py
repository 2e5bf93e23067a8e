"""The bedroom's evening record: the wind-down's minutes from the guidance's samples, the
bounded temperature series and the stored form read back whatever it holds."""

from __future__ import annotations

import math

from sleepenv.insights.core.bedroom import (
    MAX_PRESSES,
    MAX_SPANS,
    MAX_TEMPERATURE_POINTS,
    BedroomNight,
    GuidanceLog,
    Phases,
    bedroom_night,
    from_json,
    thin_temperatures,
    to_json,
)

M = 60.0
BED = 1_000_000.0
PHASES = Phases(
    wind_down_at=BED - 90 * M,
    no_screen_at=BED - 60 * M,
    lights_out_at=BED,
    caffeine_cutoff_at=BED - 8 * 3600,
)


def _sampled(states: dict[int, tuple[bool, bool, bool]], every: float = M) -> GuidanceLog:
    """Samples from 2 h before bedtime to 1 h after; `states` changes (enabled, paused,
    held) from a minute on (relative to bedtime)."""
    log = GuidanceLog(PHASES)
    state = (True, False, False)
    t = BED - 120 * M
    while t <= BED + 60 * M:
        minute = int((t - BED) // M)
        state = states.get(minute, state)
        enabled, paused, held = state
        log.observe(t, PHASES, is_enabled=enabled, is_paused=paused, is_held=held)
        t += every
    return log


def test_a_wind_down_that_ran_counts_from_its_start_to_lights_out() -> None:
    log = _sampled({})
    assert log.ran_minutes == 90.0
    assert log.overridden_minutes == 0.0
    assert log.overridden == []


def test_a_hand_on_a_device_counts_as_overridden_only_inside_the_wind_down() -> None:
    # Held from 100 min before bedtime (before the wind-down) to 30 min before it.
    log = _sampled({-100: (True, False, True), -30: (True, False, False)})
    assert log.ran_minutes == 90.0
    assert log.overridden_minutes == 60.0
    assert log.overridden == [(BED - 90 * M, BED - 30 * M)]


def test_guests_mode_is_neither_ran_nor_overridden_and_switching_off_midway_is() -> None:
    paused = _sampled({-120: (True, True, False)})
    assert (paused.ran_minutes, paused.overridden_minutes) == (0.0, 0.0)
    off = _sampled({-45: (False, False, False)})
    assert off.ran_minutes == 45.0
    assert off.overridden_minutes == 45.0  # switched off after it had begun
    never = _sampled({-120: (False, False, False)})
    assert (never.ran_minutes, never.overridden_minutes) == (0.0, 0.0)  # off all evening


def test_a_silence_between_samples_counts_for_nothing() -> None:
    log = GuidanceLog(PHASES)
    for at in (BED - 90 * M, BED - 89 * M, BED - 10 * M, BED - 9 * M):  # 79 min unheard
        log.observe(at, PHASES, is_enabled=True, is_paused=False, is_held=False)
    assert log.ran_minutes == 2.0
    log.observe(BED - 20 * M, PHASES, is_enabled=True, is_paused=False, is_held=False)
    log.observe(math.nan, PHASES, is_enabled=True, is_paused=False, is_held=True)
    assert log.ran_minutes == 2.0  # out of order and NaN: ignored


def test_a_very_long_night_stays_bounded_and_bad_readings_are_left_out() -> None:
    # A thermometer every 10 s for 30 hours, with NaN, inf and an absurd value mixed in.
    readings = [(BED - 4 * 3600 + 10 * i, 19.0 + (i % 7) * 0.1) for i in range(30 * 360)]
    readings += [(BED, math.nan), (BED + 60, math.inf), (BED + 120, 85.0), (math.nan, 19.0)]
    series = thin_temperatures(readings, BED - 2 * 3600, BED + 24 * 3600)
    assert len(series) <= MAX_TEMPERATURE_POINTS
    assert all(math.isfinite(c) and 18.9 < c < 19.7 for _, c in series)
    assert [t for t, _ in series] == sorted(t for t, _ in series)
    assert series[0][0] == BED - 2 * 3600  # the reading in force at the start
    assert series[-1][0] >= BED + 23 * 3600
    # An ordinary night keeps a reading a minute.
    minute = thin_temperatures(readings, BED - 3600, BED + 3600)
    assert 110 <= len(minute) <= 122


def test_the_record_takes_the_evening_and_clips_to_it() -> None:
    log = _sampled({-40: (True, False, True), -20: (True, False, False)})
    log.target_celsius = 18.0
    record = bedroom_night(
        log,
        [(BED - 200 * M, 21.0), (BED - 60 * M, 20.0), (BED + 60 * M, math.nan)],
        [(BED - 300 * M, BED - 280 * M), (BED - 50 * M, BED - 35 * M)],
        [BED - 10 * 3600, BED - 3 * 3600],
        BED + 8 * 3600,
    )
    assert record is not None
    assert record.temperatures == ((BED - 120 * M, 21.0), (BED - 60 * M, 20.0))
    assert record.screen_on == ((BED - 50 * M, BED - 35 * M),)  # the afternoon's is not drawn
    assert record.screen_minutes_in_window() == 15.0  # all inside the no-screen window
    assert record.late_caffeine == (BED - 3 * 3600,)
    assert (record.wind_down_minutes, record.overridden_minutes) == (90.0, 20.0)
    assert bedroom_night(None, [], [], [], BED) is None


def test_the_stored_form_round_trips_and_bad_values_are_dropped() -> None:
    record = BedroomNight(
        target_celsius=18.0,
        temperatures=((BED, 19.5), (BED + 60, 19.25)),
        wind_down_at=PHASES.wind_down_at,
        no_screen_at=PHASES.no_screen_at,
        lights_out_at=PHASES.lights_out_at,
        screen_on=((BED - 50 * M, BED - 35 * M),),
        overridden=((BED - 40 * M, BED - 20 * M),),
        caffeine_cutoff_at=PHASES.caffeine_cutoff_at,
        caffeine=(BED - 3 * 3600,),
        wind_down_minutes=90.0,
        overridden_minutes=20.0,
    )
    assert from_json(to_json(record)) == record
    damaged = {
        "target_celsius": "cold",
        "temperatures": [[BED, math.nan], [BED + 60, 19.0], [BED + 120], "x", [BED, 99.0]],
        "wind_down_at": math.inf,
        "screen_on": [[BED, BED - 10], [BED, BED + 60], [True, 3]],
        "caffeine": [BED, "noon", None, *range(100)],
        "overridden": {"not": "a list"},
        "wind_down_minutes": True,
    }
    back = from_json(damaged)
    assert back.target_celsius is None
    assert back.temperatures == ((BED + 60, 19.0),)
    assert back.wind_down_at is None
    assert back.screen_on == ((BED, BED + 60),)
    assert len(back.caffeine) == MAX_PRESSES
    assert back.overridden == ()
    assert back.wind_down_minutes is None
    assert from_json({}) == BedroomNight()
    many = from_json({"screen_on": [[i * 100.0, i * 100.0 + 1 + i] for i in range(500)]})
    assert len(many.screen_on) == MAX_SPANS
