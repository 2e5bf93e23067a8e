"""Settings → the pure guidance core's config objects (no I/O; time zones passed in)."""

from __future__ import annotations

from datetime import tzinfo

from sleepenv.guidance.core.actions import DeviceSpec, Role
from sleepenv.guidance.core.guidance import Guidance
from sleepenv.guidance.core.overrides import OverrideConfig
from sleepenv.guidance.core.timeline import Devices, GuidanceConfig
from sleepenv.guidance.settings import BedroomSettings, GuidanceSettings

MINUTE = 60.0


def core_config(g: GuidanceSettings, bedroom: BedroomSettings, tz: tzinfo) -> GuidanceConfig:
    """One bedroom's timeline config."""
    lights, climate = g.lights, g.climate
    return GuidanceConfig(
        tz=tz,
        bedtimes=bedroom.schedule.bedtimes(),
        wake_times=bedroom.schedule.wake_times(),
        caffeine_cutoff=g.caffeine_cutoff,
        wind_down_minutes=g.wind_down_minutes,
        no_screen_minutes=g.no_screen_minutes,
        wake_minutes=g.wake_minutes,
        ramp_step_minutes=lights.ramp_step_minutes,
        wind_down_brightness_pct=lights.wind_down_brightness_pct,
        lights_out_brightness_pct=lights.lights_out_brightness_pct,
        wind_down_start_kelvin=lights.start_kelvin,
        wind_down_end_kelvin=lights.end_kelvin,
        target_celsius=climate.target_celsius,
        day_celsius=climate.day_celsius,
        safe_min_celsius=climate.safe_min_celsius,
        safe_max_celsius=climate.safe_max_celsius,
        climate_lead_minutes=climate.lead_minutes,
        too_warm_margin_celsius=climate.too_warm_margin_celsius,
        screen_grace_minutes=g.screen_grace_minutes,
        is_enforcing=g.enforce,
        bedtime_follows_me=g.bedtime_follows_me,
        snooze_minutes=g.snooze_minutes,
        late_exercise_hours=bedroom.habits.late_exercise_hours,
    )


def core_devices(bedroom: BedroomSettings) -> Devices:
    """A bedroom's devices as the core sees them."""
    return Devices(
        tuple(
            DeviceSpec(
                d.id,
                Role(d.role),
                min_celsius=d.min_celsius,
                max_celsius=d.max_celsius,
                night_light_pct=d.night_light_pct,
            )
            for d in bedroom.devices
        )
    )


def build_guidance(g: GuidanceSettings, tzs: dict[str, tzinfo]) -> dict[str, Guidance]:
    """One engine per bedroom, with guidance on or off as configured."""
    overrides = OverrideConfig(
        timeout_seconds=g.override_minutes * MINUTE,
        is_whole_device=g.override_scope == "device",
    )
    engines = {}
    for room in g.bedrooms:
        engine = Guidance(
            room.id, core_config(g, room, tzs[room.id]), core_devices(room), overrides
        )
        engine.is_enabled = g.enabled
        engines[room.id] = engine
    return engines
