"""Invariants under arbitrary sequences: never brighten at night, never turn a light on,
setpoints always inside the safe range and the device's limits."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sleepenv.guidance.core.actions import DeviceSpec, DeviceState, Role, SetClimate, SetLight
from sleepenv.guidance.core.guidance import Guidance
from sleepenv.guidance.core.timeline import (
    NIGHT_PHASES,
    Devices,
    GuidanceConfig,
    base_plan,
    evening_for,
)
from tests.guidance.core.guidance_helpers import BERLIN, at, echo

START = at(2026, 10, 24, 18, 0)  # the autumn DST night, for good measure

light_state = st.builds(
    DeviceState,
    is_on=st.booleans(),
    brightness_pct=st.one_of(st.none(), st.floats(0, 100)),
    color_temp_kelvin=st.one_of(st.none(), st.floats(2000, 6500)),
)
climate_state = st.builds(DeviceState, setpoint_celsius=st.floats(5, 30))
step = st.one_of(
    st.tuples(st.just("tick"), st.floats(0, 3 * 3600)),
    st.tuples(st.just("lamp"), light_state),
    st.tuples(st.just("trv"), climate_state),
    st.tuples(st.just("button"), st.sampled_from(["snooze", "wind_down", "guests", "in_bed"])),
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(step, max_size=40),
    target=st.floats(0, 40),
    day=st.floats(0, 40),
    lo=st.one_of(st.none(), st.floats(5, 25)),
    hi=st.one_of(st.none(), st.floats(15, 35)),
    bed=st.times(),
    follow=st.booleans(),
)
def test_never_brighten_never_turn_on_always_safe(  # noqa: PLR0912
    steps: list[tuple[str, object]],
    target: float,
    day: float,
    lo: float | None,
    hi: float | None,
    bed: time,
    follow: bool,
) -> None:
    # Settings refuse a device whose minimum is not below its maximum.
    assume(lo is None or hi is None or lo < hi)
    cfg = GuidanceConfig(
        tz=BERLIN,
        bedtimes=(bed,) * 7,
        target_celsius=target,
        day_celsius=day,
        bedtime_follows_me=follow,
    )
    devices = Devices(
        (
            DeviceSpec("lamp", Role.LIGHT),
            DeviceSpec("trv", Role.CLIMATE, min_celsius=lo, max_celsius=hi),
        )
    )
    g = Guidance("room", cfg, devices)
    now = START
    lamp = DeviceState(is_on=True, brightness_pct=100.0, color_temp_kelvin=4000)
    trv = DeviceState(setpoint_celsius=20.0)
    decisions = [g.on_state("lamp", lamp, now), g.on_state("trv", trv, now)]
    for kind, value in steps:
        if kind == "tick":
            assert isinstance(value, float)
            now = min(now + value, g.wake_at(now) + value)
            decisions.append(g.tick(now))
        elif kind == "lamp":
            assert isinstance(value, DeviceState)
            lamp = value
            decisions.append(g.on_state("lamp", lamp, now))
        elif kind == "trv":
            assert isinstance(value, DeviceState)
            trv = value
            decisions.append(g.on_state("trv", trv, now))
        elif value == "snooze":
            decisions.append(g.snooze(now))
        elif value == "wind_down":
            decisions.append(g.start_wind_down(now))
        elif value == "guests":
            decisions.append(g.set_paused(is_paused=not g.is_paused, now=now))
        else:
            decisions.append(g.on_presence(in_bed=True, asleep=None, now=now))
        for action in decisions[-1].actions:
            if isinstance(action, SetLight):
                assert lamp.is_on, "never turn a light on"
                if g.phase in NIGHT_PHASES and action.brightness_pct is not None:
                    assert lamp.brightness_pct is not None
                    assert action.brightness_pct <= lamp.brightness_pct
                lamp = echo(action, lamp)
            if isinstance(action, SetClimate):
                assert 16.0 <= action.setpoint_celsius <= 22.0
                if lo is not None and lo <= 22.0:
                    assert action.setpoint_celsius >= min(lo, 22.0) - 1e-9 or lo > 22.0
                if hi is not None and hi >= 16.0:
                    assert action.setpoint_celsius <= hi + 1e-9
                trv = echo(action, trv)
            assert action.reason


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    evening=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    bed=st.times(),
    wake=st.times(),
    zone=st.sampled_from(ZONES),
)
def test_every_plan_is_ordered_and_offsets_are_real_minutes(
    evening: date, bed: time, wake: time, zone: str
) -> None:
    cfg = GuidanceConfig(tz=ZoneInfo(zone), bedtimes=(bed,) * 7, wake_times=(wake,) * 7)
    plan = base_plan(cfg, evening)
    starts = [at for _, at in plan.phases()]
    assert starts == sorted(starts)
    assert plan.bedtime_at - plan.wind_down_at == 90 * 60
    assert plan.bedtime_at - plan.no_screen_at == 60 * 60
    assert 0 < plan.wake_at - plan.bedtime_at <= 25 * 3600
    # The bedtime is the configured wall-clock time, or later by a DST gap.
    local = datetime.fromtimestamp(plan.bedtime_at, cfg.tz)
    shift = (local.replace(tzinfo=None) - datetime.combine(local.date(), bed)).total_seconds()
    assert 0 <= shift <= 3600
    # Unless yesterday's plan runs into today's (sleeping past 13:30), every phase start
    # belongs to this evening's plan.
    if base_plan(cfg, evening - timedelta(days=1)).day_at <= starts[0]:
        for start in starts[:-1]:
            assert evening_for(cfg, start) == evening


@settings(max_examples=150, deadline=None)
@given(
    switches=st.lists(st.tuples(st.floats(0, 10.5 * 3600), st.booleans()), max_size=12),
    ticks=st.lists(st.floats(0, 10.5 * 3600), max_size=8),
)
def test_screen_minutes_are_the_time_on_inside_the_window(
    switches: list[tuple[float, bool]], ticks: list[float]
) -> None:
    """Whatever the order of reports and ticks, the count is the overlap of the time a
    screen was on with the no-screen window (21:30 to lights-out at 22:30)."""
    cfg = GuidanceConfig(tz=BERLIN)  # bedtime 22:30, wake 06:30
    g = Guidance("room", cfg, Devices((DeviceSpec("tv", Role.SCREEN),)))
    start = at(2026, 11, 20, 20, 0)
    g.on_state("tv", DeviceState(is_on=False), start)
    events: list[tuple[float, bool | None]] = [(start + t, on) for t, on in switches]
    events = sorted(events + [(start + t, None) for t in ticks], key=lambda e: e[0])
    window_lo, window_hi = at(2026, 11, 20, 21, 30), at(2026, 11, 20, 22, 30)
    expected, is_on, since = 0.0, False, start
    for t, on in events:
        if on is None:
            g.tick(t)
            continue
        g.on_state("tv", DeviceState(is_on=on), t)
        if is_on:
            expected += max(0.0, min(t, window_hi) - max(since, window_lo))
        is_on, since = on, t
    end = start + 10.5 * 3600  # 06:30, still the same night
    if is_on:
        expected += max(0.0, min(end, window_hi) - max(since, window_lo))
    g.tick(end)
    minutes = g.states(end).screen_minutes_in_window
    assert abs(minutes - expected / 60) <= 0.05 + 1e-9  # published to 0.1 min
    assert minutes <= 60.0
