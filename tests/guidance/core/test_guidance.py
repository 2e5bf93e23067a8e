"""Guidance engine and timeline with a fake clock: phases, midnight, DST, overrides, buttons."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from sleepenv.guidance.core.actions import (
    DeviceState,
    MediaOff,
    Notify,
    Reminder,
    SetClimate,
    SetLight,
)
from sleepenv.guidance.core.guidance import Guidance
from sleepenv.guidance.core.timeline import Phase, base_plan, evening_for
from tests.guidance.core.guidance_helpers import BERLIN, DEVICES, at, config, room, schedule

MIN = 60.0
FRIDAY = date(2026, 11, 20)


def lights(r: object, device: str = "lamp") -> list[tuple[float, SetLight]]:
    """The SetLight actions of one light."""
    return [(t, a) for t, a in r.actions(device) if isinstance(a, SetLight)]  # type: ignore[attr-defined]


# -- timeline ------------------------------------------------------------------------


def test_every_phase_boundary_of_a_plain_night() -> None:
    cfg = config()
    plan = base_plan(cfg, FRIDAY)
    bounds = [
        (Phase.CAFFEINE_CUTOFF, at(2026, 11, 20, 14, 0)),
        (Phase.WIND_DOWN, at(2026, 11, 20, 21, 0)),
        (Phase.NO_SCREEN, at(2026, 11, 20, 21, 30)),
        (Phase.LIGHTS_OUT, at(2026, 11, 20, 22, 30)),
        (Phase.WAKE, at(2026, 11, 21, 6, 30)),
        (Phase.DAY, at(2026, 11, 21, 7, 0)),
    ]
    assert plan.phases() == bounds
    previous = Phase.DAY
    for phase, start in bounds:
        assert plan.phase_at(start - 1) is previous
        assert plan.phase_at(start) is phase
        previous = phase
    assert plan.climate_at == at(2026, 11, 20, 21, 30)


def test_a_bedtime_after_midnight_belongs_to_the_evening_before() -> None:
    cfg = config(**schedule(time(0, 30), time(8, 0)))
    plan = base_plan(cfg, FRIDAY)
    assert plan.bedtime_at == at(2026, 11, 21, 0, 30)
    assert plan.wind_down_at == at(2026, 11, 20, 23, 0)
    assert plan.wake_at == at(2026, 11, 21, 8, 0)
    assert plan.phase_at(at(2026, 11, 20, 23, 59)) is Phase.NO_SCREEN
    assert plan.phase_at(at(2026, 11, 21, 0, 0)) is Phase.NO_SCREEN
    assert evening_for(cfg, at(2026, 11, 21, 0, 15)) == FRIDAY
    assert evening_for(cfg, at(2026, 11, 21, 9, 0)) == date(2026, 11, 21)


def test_weekday_schedules_pick_the_evening_and_the_morning() -> None:
    bed = (time(22, 30),) * 4 + (time(23, 30),) * 2 + (time(22, 30),)
    wake = (time(6, 30),) * 5 + (time(9, 0),) * 2
    cfg = config(bedtimes=bed, wake_times=wake)
    plan = base_plan(cfg, FRIDAY)
    assert plan.bedtime_at == at(2026, 11, 20, 23, 30)
    assert plan.wake_at == at(2026, 11, 21, 9, 0)


def test_spring_forward_bedtime_in_the_gap_moves_forward_and_offsets_stay_real() -> None:
    cfg = config(**schedule(time(2, 30), time(9, 0)))
    plan = base_plan(cfg, date(2026, 3, 28))
    # 02:30 does not exist on 29 March in Berlin: bedtime is 03:30 CEST (01:30 UTC).
    assert plan.bedtime_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(plan.bedtime_at, BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    assert plan.bedtime_at - plan.wind_down_at == 90 * MIN
    assert plan.bedtime_at - plan.no_screen_at == 60 * MIN
    assert datetime.fromtimestamp(plan.wind_down_at, BERLIN).strftime("%H:%M %Z") == "01:00 CET"
    assert datetime.fromtimestamp(plan.wake_at, BERLIN).strftime("%H:%M %Z") == "09:00 CEST"


def test_spring_forward_night_is_an_hour_shorter_in_real_time() -> None:
    plan = base_plan(config(), date(2026, 3, 28))
    assert plan.wake_at - plan.bedtime_at == 7 * 3600


def test_autumn_wake_in_the_repeated_hour_is_the_first_occurrence() -> None:
    cfg = config(**schedule(time(22, 30), time(2, 30)))
    plan = base_plan(cfg, date(2026, 10, 24))
    assert datetime.fromtimestamp(plan.wake_at, BERLIN).strftime("%H:%M %Z") == "02:30 CEST"
    assert plan.wake_at - plan.bedtime_at == 4 * 3600


def test_autumn_wake_happens_once_through_the_repeated_hour() -> None:
    cfg = config(**schedule(time(23, 0), time(2, 30)))
    start = at(2026, 10, 24, 20, 0)
    r = room(cfg, start)
    r.run_until(at(2026, 10, 25, 12, 0))
    day_setpoints = [
        a for _, a in r.actions("trv") if isinstance(a, SetClimate) and a.setpoint_celsius == 20.0
    ]
    assert len(day_setpoints) == 1
    wake_times = [t for t, a in r.actions("trv") if a in day_setpoints]
    assert datetime.fromtimestamp(wake_times[0], BERLIN).strftime("%H:%M %Z") == "02:30 CEST"


def test_autumn_night_is_an_hour_longer_in_real_time() -> None:
    plan = base_plan(config(), date(2026, 10, 24))
    assert plan.wake_at - plan.bedtime_at == 9 * 3600


# -- the engine through a night ------------------------------------------------------


def test_a_whole_night_of_commands() -> None:
    r = room(config(is_enforcing=True), at(2026, 11, 20, 13, 0))
    r.run_until(at(2026, 11, 21, 12, 0))
    steps = lights(r)
    assert steps[0][0] == at(2026, 11, 20, 21, 0)
    dims = [a for _, a in steps if not a.is_off]
    assert all(a.brightness_pct is not None and a.brightness_pct <= 20 for a in dims)
    assert [a.brightness_pct or 0.0 for a in dims] == sorted(
        (a.brightness_pct or 0.0 for a in dims), reverse=True
    )
    assert dims[-1].color_temp_kelvin == 2200
    assert all(a.transition_seconds > 0 for a in dims)
    off = [t for t, a in steps if a.is_off]
    assert off == [at(2026, 11, 20, 22, 30)]
    climate = [(t, a.setpoint_celsius) for t, a in r.actions("trv") if isinstance(a, SetClimate)]
    assert climate == [(at(2026, 11, 20, 21, 30), 18.0), (at(2026, 11, 21, 6, 30), 20.0)]
    media = [t for t, a in r.actions("tv") if isinstance(a, MediaOff)]
    assert media == [at(2026, 11, 20, 21, 40)]
    notes = [(t, a.kind, a.title) for t, a in r.actions("phone") if isinstance(a, Notify)]
    # The kind, not the wording, says which reminder it is (the MQTT event's type).
    assert notes == [
        (at(2026, 11, 20, 14, 0), Reminder.CAFFEINE_CUTOFF, "Caffeine cutoff"),
        (at(2026, 11, 20, 21, 30), Reminder.NO_SCREEN, "No screens"),
    ]
    assert all(a.reason for _, a in r.log)


def test_without_enforce_screens_only_get_a_reminder() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 23, 0))
    assert not r.actions("tv")
    assert any(isinstance(a, Notify) and a.title == "No screens" for _, a in r.log)


def test_screen_minutes_in_the_window_are_counted() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 21, 50))
    r.report("tv", DeviceState(is_on=False), at(2026, 11, 20, 21, 50))
    r.run_until(at(2026, 11, 20, 23, 0))
    assert r.guidance.states(r.now).screen_minutes_in_window == 20.0


def screen_minutes(*switches: tuple[float, bool], until: float) -> float:
    """Tonight's screen minutes after a TV (off at 20:00) is switched at the given times.

    Bedtime 22:30, so the no-screen window is 21:30-22:30; nothing enforces it.
    """
    r = room(config(), at(2026, 11, 20, 20, 0), tv=DeviceState(is_on=False))
    for t, is_on in switches:
        r.run_until(t)
        r.report("tv", DeviceState(is_on=is_on), t)
    r.run_until(until)
    minutes: float = r.guidance.states(r.now).screen_minutes_in_window
    return minutes


def test_screen_on_ten_minutes_inside_the_window_counts_ten() -> None:
    on, off = at(2026, 11, 20, 21, 50), at(2026, 11, 20, 22, 0)
    assert screen_minutes((on, True), (off, False), until=at(2026, 11, 21, 6, 45)) == 10.0


def test_screen_off_when_the_window_opens_counts_nothing() -> None:
    on, off = at(2026, 11, 20, 20, 15), at(2026, 11, 20, 21, 30)
    assert screen_minutes((on, True), (off, False), until=at(2026, 11, 20, 23, 0)) == 0.0


def test_screen_still_on_at_lights_out_counts_to_lights_out_only() -> None:
    # On through the night until the morning: the window ends at lights-out (22:30).
    on, off = at(2026, 11, 20, 22, 10), at(2026, 11, 21, 6, 0)
    assert screen_minutes((on, True), (off, False), until=at(2026, 11, 21, 6, 45)) == 20.0
    assert screen_minutes((on, True), until=at(2026, 11, 21, 6, 45)) == 20.0


def test_screen_never_on_counts_nothing() -> None:
    assert screen_minutes(until=at(2026, 11, 21, 6, 45)) == 0.0


def test_screen_on_after_lights_out_is_not_in_the_window() -> None:
    on = at(2026, 11, 20, 22, 50)
    assert screen_minutes((on, True), until=at(2026, 11, 21, 6, 45)) == 0.0


def test_last_nights_screen_minutes_survive_the_next_day() -> None:
    r = room(config(), at(2026, 11, 20, 21, 0))  # the TV is on from 21:00 and stays on
    r.run_until(at(2026, 11, 21, 8, 0))  # past wake + 30 min: the next evening's plan
    assert r.guidance.last_night_screen_minutes == 60.0
    assert r.guidance.states(r.now).screen_minutes_in_window == 0.0


def test_a_lamp_that_is_off_is_never_turned_on() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0), lamp=DeviceState(is_on=False))
    r.run_until(at(2026, 11, 21, 12, 0))
    assert not r.actions("lamp")
    assert any("leave it off" in s for _, s in r.skipped)


def test_restart_mid_phase_catches_up_only_the_current_phase() -> None:
    r = room(config(), at(2026, 11, 20, 21, 50))
    r.run_until(at(2026, 11, 20, 21, 51))
    assert len(lights(r)) == 1  # the newest wind-down step, not the whole ramp
    assert [a.setpoint_celsius for _, a in r.actions("trv") if isinstance(a, SetClimate)] == [18.0]
    assert r.guidance.phase is Phase.NO_SCREEN


def test_states_through_the_evening() -> None:
    r = room(config(), at(2026, 11, 20, 21, 45))
    r.run_until(at(2026, 11, 20, 21, 46))
    s = r.guidance.states(r.now)
    assert s.phase == "no_screen"
    assert s.is_wind_down is True
    assert s.is_no_screen_window is True
    assert s.next_bedtime == at(2026, 11, 20, 22, 30)
    assert s.room_temperature_deviation_celsius == 2.5
    assert s.is_room_too_warm is True
    r.run_until(at(2026, 11, 20, 23, 0))
    assert r.guidance.states(r.now).next_bedtime == at(2026, 11, 21, 22, 30)


def test_the_phase_machine_value_is_an_attribute() -> None:
    """Home Assistant shows the readable phase; automations and other clients can still
    read the machine value."""
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 21, 20))
    assert r.guidance.attributes()["phase"] == "wind_down"
    r.run_until(at(2026, 11, 20, 21, 40))
    assert r.guidance.attributes()["phase"] == "no_screen"


# -- overrides -----------------------------------------------------------------------


def test_light_turned_up_is_left_alone_until_the_next_phase() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 21, 20))
    r.report("lamp", DeviceState(is_on=True, brightness_pct=80.0, color_temp_kelvin=2600), r.now)
    assert "lamp" in r.guidance.attributes()["overrides"]
    before = len(lights(r))
    r.run_until(at(2026, 11, 20, 21, 29))
    later = [a for _, a in lights(r)[before:]]
    assert all(a.brightness_pct is None for a in later)  # only the colour keeps warming
    r.run_until(at(2026, 11, 20, 21, 31))  # next phase (no-screen) releases the hold
    assert not r.guidance.attributes()["overrides"]
    r.run_until(at(2026, 11, 20, 21, 46))
    after = [a for t, a in lights(r) if t > at(2026, 11, 20, 21, 30)]
    assert after
    assert all(a.brightness_pct is not None and a.brightness_pct <= 80 for a in after)


def test_light_turned_off_by_hand_stays_off() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 21, 10))
    r.report("lamp", DeviceState(is_on=False), r.now)
    n = len(lights(r))
    r.run_until(at(2026, 11, 21, 12, 0))
    assert len(lights(r)) == n


def test_light_turned_on_after_lights_out_is_not_turned_off_again() -> None:
    r = room(config(), at(2026, 11, 20, 22, 0))
    r.run_until(at(2026, 11, 20, 22, 31))
    r.report("lamp", DeviceState(is_on=True, brightness_pct=60.0, color_temp_kelvin=2700), r.now)
    n = len(lights(r))
    r.run_until(at(2026, 11, 21, 12, 0))
    assert len(lights(r)) == n
    assert r.guidance.states(r.now).phase == "day"


def test_off_and_on_again_releases_the_hold() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 21, 5))
    r.report("lamp", DeviceState(is_on=True, brightness_pct=90.0, color_temp_kelvin=3000), r.now)
    assert r.guidance.attributes()["overrides"]
    r.report("lamp", DeviceState(is_on=False), r.now + 10)
    r.report(
        "lamp", DeviceState(is_on=True, brightness_pct=90.0, color_temp_kelvin=3000), r.now + 10
    )
    assert not r.guidance.attributes()["overrides"]
    r.run_until(at(2026, 11, 20, 21, 16))
    assert lights(r)[-1][1].brightness_pct is not None


def test_thermostat_moved_holds_until_timeout() -> None:
    r = room(config(climate_lead_minutes=120), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 20, 20, 31))
    assert [a.setpoint_celsius for _, a in r.actions("trv") if isinstance(a, SetClimate)] == [18.0]
    r.report("trv", DeviceState(setpoint_celsius=21.5), at(2026, 11, 20, 20, 40))
    hold = r.guidance.attributes()["overrides"]["trv"]["setpoint_celsius"]
    assert hold["until"] == at(2026, 11, 20, 21, 40)
    assert "setpoint_celsius 21.5" in hold["reason"]
    assert "manual override" in r.guidance.attributes()["last_reason"]


def test_setpoints_are_clamped_to_the_safe_range_and_device_limits() -> None:
    r = room(config(target_celsius=12.0, day_celsius=30.0), at(2026, 11, 20, 20, 0))
    r.run_until(at(2026, 11, 21, 12, 0))
    climate = [a for _, a in r.actions("trv") if isinstance(a, SetClimate)]
    assert [a.setpoint_celsius for a in climate] == [16.0, 22.0]
    assert "safe range" in climate[0].reason


def test_guests_mode_pauses_every_action() -> None:
    r = room(config(is_enforcing=True), at(2026, 11, 20, 13, 0))
    r.guidance.set_paused(is_paused=True, now=r.now)
    r.run_until(at(2026, 11, 21, 12, 0))
    assert not r.log
    assert any("guests" in s for _, s in r.skipped)


def test_guidance_switched_off_does_nothing() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.guidance.set_enabled(is_enabled=False, now=r.now)
    r.run_until(at(2026, 11, 21, 12, 0))
    assert not r.log


# -- buttons and follow-me -----------------------------------------------------------


def test_snooze_delays_tonight_by_the_step() -> None:
    r = room(config(snooze_minutes=20), at(2026, 11, 20, 20, 0))
    r.apply(r.guidance.snooze(at(2026, 11, 20, 20, 50)))
    r.now = at(2026, 11, 20, 20, 50)
    plan = r.guidance.plan(r.now)
    assert plan.wind_down_at == at(2026, 11, 20, 21, 20)
    assert plan.bedtime_at == at(2026, 11, 20, 22, 50)
    r.run_until(at(2026, 11, 21, 1, 0))
    assert lights(r)[0][0] == at(2026, 11, 20, 21, 20)
    assert [t for t, a in lights(r) if a.is_off] == [at(2026, 11, 20, 22, 50)]
    r.guidance.snooze(r.now)
    assert r.guidance.last_reason == "snooze: only before lights-out"


def test_snooze_resets_the_next_night() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.guidance.snooze(r.now)
    assert r.guidance.plan(at(2026, 11, 21, 20, 0)).bedtime_at == at(2026, 11, 21, 22, 30)


def test_schedule_from_a_helper_moves_tonight() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    r.apply(r.guidance.set_times(time(23, 15), None, r.now))
    assert r.guidance.plan(r.now).bedtime_at == at(2026, 11, 20, 23, 15)
    assert "schedule changed" in r.guidance.last_reason
    r.guidance.last_reason = ""
    r.apply(r.guidance.set_times(time(23, 15), None, r.now))  # polled again: no change
    assert r.guidance.last_reason == ""
    r.apply(r.guidance.set_times(None, time(7, 45), r.now))
    assert r.guidance.plan(r.now).wake_at == at(2026, 11, 21, 7, 45)


def test_start_wind_down_now() -> None:
    r = room(config(), at(2026, 11, 20, 19, 0))
    r.apply(r.guidance.start_wind_down(r.now))
    assert lights(r)[0][0] == at(2026, 11, 20, 19, 0)
    assert r.guidance.states(r.now).is_wind_down is True
    assert r.guidance.plan(r.now).bedtime_at == at(2026, 11, 20, 22, 30)


def test_start_wind_down_in_the_morning_says_why_it_does_nothing() -> None:
    r = room(config(), at(2026, 11, 21, 6, 0))  # Saturday morning, the night before ran
    r.run_until(at(2026, 11, 21, 6, 40))
    assert r.guidance.phase is Phase.WAKE
    before = len(r.log)
    decision = r.guidance.start_wind_down(r.now)
    r.apply(decision)
    note = "Wind-down is for the evening; next at 21:00"
    assert decision.message == note
    assert r.guidance.states(r.now).note == note
    assert r.guidance.states(r.now).phase == "wake"
    assert len(r.log) == before
    r.run_until(at(2026, 11, 21, 7, 0))  # the day phase starts: the note has had its time
    assert r.guidance.states(r.now).note is None


def test_start_wind_down_before_noon_does_not_dim_the_day() -> None:
    r = room(config(), at(2026, 11, 21, 8, 0))
    r.apply(r.guidance.start_wind_down(r.now))
    assert r.guidance.states(r.now).note == "Wind-down is for the evening; next at 21:00"
    assert r.guidance.plan(r.now).wind_down_at == at(2026, 11, 21, 21, 0)
    r.run_until(at(2026, 11, 21, 12, 0))
    assert not lights(r)
    assert r.guidance.states(r.now).phase == "day"
    r.apply(r.guidance.start_wind_down(r.now))  # from noon it is the evening's button
    assert lights(r)[0][0] == at(2026, 11, 21, 12, 0)
    assert r.guidance.states(r.now).phase == "wind_down"
    assert r.guidance.states(r.now).note == "Wind-down started; lights-out at 22:30"


def test_start_wind_down_during_and_after_the_wind_down() -> None:
    r = room(config(), at(2026, 11, 20, 21, 10))
    r.apply(r.guidance.start_wind_down(r.now))
    assert r.guidance.note == "Wind-down is already under way"
    r.run_until(at(2026, 11, 20, 23, 0))
    decision = r.guidance.start_wind_down(r.now)
    assert decision.message == "Lights are out already; next wind-down at 21:00"
    assert not decision.actions


def test_snooze_says_what_it_did() -> None:
    r = room(config(), at(2026, 11, 20, 20, 0))
    assert r.guidance.snooze(r.now).message == "Snoozed by 15 min; lights-out at 22:45"
    r.run_until(at(2026, 11, 20, 23, 0))
    assert r.guidance.snooze(r.now).message == "Snooze works only before lights-out"


def test_bedtime_follows_me_on_bed_presence() -> None:
    r = room(config(bedtime_follows_me=True), at(2026, 11, 20, 21, 0))
    r.run_until(at(2026, 11, 20, 21, 40))
    r.now = at(2026, 11, 20, 21, 40)
    r.apply(r.guidance.on_presence(in_bed=True, asleep=None, now=r.now))
    assert r.guidance.phase is Phase.LIGHTS_OUT
    assert lights(r)[-1] == (r.now, lights(r)[-1][1])
    assert lights(r)[-1][1].is_off


def test_bedtime_does_not_follow_me_when_off() -> None:
    r = room(config(), at(2026, 11, 20, 21, 0))
    r.run_until(at(2026, 11, 20, 21, 40))
    r.apply(r.guidance.on_presence(in_bed=True, asleep=None, now=r.now))
    assert r.guidance.phase is Phase.NO_SCREEN


def test_asleep_from_the_bed_tracker_and_lights_out_persisting_without_it() -> None:
    r = room(config(), at(2026, 11, 20, 22, 0))
    r.run_until(at(2026, 11, 20, 23, 0))
    assert r.guidance.phase is Phase.LIGHTS_OUT
    r.apply(r.guidance.on_presence(in_bed=True, asleep=True, now=r.now))
    assert r.guidance.states(r.now).phase == "asleep"
    r.run_until(at(2026, 11, 21, 6, 31))
    assert r.guidance.states(r.now).phase == "wake"


@pytest.mark.parametrize("evening", [date(2026, 3, 28), date(2026, 10, 24), FRIDAY])
def test_wake_at_never_skips_a_planned_action(evening: date) -> None:
    cfg = config()
    r = room(cfg, datetime.combine(evening, time(12, 0), BERLIN).timestamp())
    r.run_until(datetime.combine(evening + timedelta(days=1), time(12, 0), BERLIN).timestamp())
    for t, _ in r.log:
        assert t == int(t)  # every action at its planned minute, not late


def test_a_press_answered_before_the_first_tick_keeps_its_answer_until_a_new_phase() -> None:
    engine = Guidance("bedroom", config(caffeine_cutoff=time(14, 0)), DEVICES)
    evening = at(2026, 11, 20, 20, 0)
    noted = engine.habit_noted("caffeine", evening, "20:00", evening)  # a press at start-up
    engine.tick(evening + 1)  # the engine's first phase: nothing the person saw change
    assert (engine.phase, engine.note) == (Phase.CAFFEINE_CUTOFF, noted)
    engine.tick(at(2026, 11, 20, 22, 0))  # the no-screen window: a new phase, a new note
    assert (engine.phase, engine.note) == (Phase.NO_SCREEN, None)


def test_a_habit_press_is_answered_with_whether_it_counts_as_late() -> None:
    engine = Guidance("bedroom", config(caffeine_cutoff=time(14, 0)), DEVICES)
    evening = at(2026, 11, 20, 20, 0)
    assert (
        engine.habit_noted("caffeine", evening, "20:00", evening)
        == "Caffeine noted at 20:00 (after the caffeine cut-off)"
    )
    assert engine.note == "Caffeine noted at 20:00 (after the caffeine cut-off)"
    noon = at(2026, 11, 20, 12, 0)
    assert engine.habit_noted("caffeine", noon, "12:00", noon).endswith("(before the cut-off)")
    # Next morning's coffee belongs to the coming evening: not late for last night.
    morning = at(2026, 11, 21, 8, 0)
    assert engine.habit_noted("caffeine", morning, "08:00", morning).endswith(
        "(before the cut-off)"
    )
    late_run = at(2026, 11, 20, 21, 0)  # bedtime 22:30
    assert engine.habit_noted("exercise", late_run, "21:00", late_run).endswith(
        "(within 3 h of bedtime)"
    )
    run = at(2026, 11, 20, 17, 0)
    assert engine.habit_noted("exercise", run, "17:00", run).endswith("(well before bed)")
    # The bedroom's own window (habits.late_exercise_hours): 21:00 is 1.5 h before 22:30.
    short = Guidance("bedroom", config(late_exercise_hours=1.0), DEVICES)
    assert short.habit_noted("exercise", late_run, "21:00", late_run).endswith("(well before bed)")
    wide = Guidance("bedroom", config(late_exercise_hours=5.5), DEVICES)
    assert wide.habit_noted("exercise", run, "17:00", run).endswith("(within 5.5 h of bedtime)")
    no_cutoff = Guidance("bedroom", config(caffeine_cutoff=None), DEVICES)
    assert no_cutoff.habit_noted("caffeine", evening, "20:00", evening).endswith(
        "(no cut-off is set)"
    )
