"""One bedroom's nightly timeline: schedule → phase start times → planned actions (pure).

Local clock times are turned into instants once, with the bedroom's tzinfo; every
offset after that (wind-down = bedtime − 90 min, ...) is in real seconds, so a DST
change never stretches or shrinks a phase. A local time inside the spring-forward gap
moves forward by the gap (02:30 → 03:30); a time in the repeated autumn hour is its
first occurrence, so it happens exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from sleepenv.guidance.core.actions import (
    Action,
    DeviceSpec,
    MediaOff,
    Notify,
    Reminder,
    Role,
    SetClimate,
    SetLight,
)

MINUTE = 60.0
# Bedtimes before noon belong to the evening before (00:30 is "Friday night").
NOON = time(12, 0)
# Exercise this close to bedtime counts as late, unless a bedroom sets its own
# (`habits.late_exercise_hours`); the insights take the bedroom's value from here too.
LATE_EXERCISE_HOURS = 3.0


class Phase(StrEnum):
    """Where in the day a bedroom is."""

    DAY = "day"
    CAFFEINE_CUTOFF = "caffeine_cutoff"
    WIND_DOWN = "wind_down"
    NO_SCREEN = "no_screen"
    LIGHTS_OUT = "lights_out"
    ASLEEP = "asleep"
    WAKE = "wake"


NIGHT_PHASES = frozenset({Phase.WIND_DOWN, Phase.NO_SCREEN, Phase.LIGHTS_OUT, Phase.ASLEEP})


@dataclass(frozen=True, slots=True)
class GuidanceConfig:
    """One bedroom's schedule and thresholds; times are local, durations in minutes."""

    tz: tzinfo
    bedtimes: tuple[time, ...] = (time(22, 30),) * 7  # per weekday of the evening, Mon..Sun
    wake_times: tuple[time, ...] = (time(6, 30),) * 7  # per weekday of the morning, Mon..Sun
    caffeine_cutoff: time | None = time(14, 0)
    wind_down_minutes: float = 90.0
    no_screen_minutes: float = 60.0
    wake_minutes: float = 30.0
    ramp_step_minutes: float = 15.0
    wind_down_brightness_pct: float = 20.0
    lights_out_brightness_pct: float = 10.0
    wind_down_start_kelvin: int = 2700
    wind_down_end_kelvin: int = 2200
    target_celsius: float = 18.0
    day_celsius: float = 20.0
    safe_min_celsius: float = 16.0
    safe_max_celsius: float = 22.0
    climate_lead_minutes: float = 60.0
    too_warm_margin_celsius: float = 1.0
    screen_grace_minutes: float = 10.0
    is_enforcing: bool = False
    bedtime_follows_me: bool = False
    follow_window_minutes: float = 180.0
    snooze_minutes: float = 15.0
    late_exercise_hours: float = LATE_EXERCISE_HOURS


def to_instant(day: date, at: time, tz: tzinfo) -> float:
    """Unix time of local `at` on `day`: gap times move forward, repeated times are the first."""
    # fold=0 in a gap uses the offset from before the change, which lands after the gap.
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).timestamp()


@dataclass(frozen=True, slots=True)
class NightPlan:
    """Phase start instants of the night whose evening is local date `evening`."""

    evening: date
    day_at: float  # the day phase ends the plan: wake + wake_minutes
    caffeine_at: float | None
    wind_down_at: float
    no_screen_at: float
    climate_at: float
    bedtime_at: float
    wake_at: float
    asleep_at: float | None = None

    def phases(self) -> list[tuple[Phase, float]]:
        """Phases in order with their start instants (the caffeine cutoff only if set)."""
        out: list[tuple[Phase, float]] = []
        if self.caffeine_at is not None:
            out.append((Phase.CAFFEINE_CUTOFF, self.caffeine_at))
        out += [
            (Phase.WIND_DOWN, self.wind_down_at),
            (Phase.NO_SCREEN, self.no_screen_at),
            (Phase.LIGHTS_OUT, self.bedtime_at),
        ]
        if self.asleep_at is not None:
            out.append((Phase.ASLEEP, self.asleep_at))
        out += [(Phase.WAKE, self.wake_at), (Phase.DAY, self.day_at)]
        return out

    def phase_at(self, now: float) -> Phase:
        """The phase at `now` (DAY before the first phase of this plan)."""
        current = Phase.DAY
        for phase, start in self.phases():
            if now >= start:
                current = phase
        return current

    def next_change(self, now: float) -> float | None:
        """The next phase start after `now` in this plan."""
        later = [start for _, start in self.phases() if start > now]
        return min(later) if later else None


def bedtime_of(cfg: GuidanceConfig, evening: date) -> float:
    """The scheduled bedtime instant of the evening of local date `evening`."""
    local = cfg.bedtimes[evening.weekday()]
    day = evening + timedelta(days=1) if local < NOON else evening
    return to_instant(day, local, cfg.tz)


def base_plan(cfg: GuidanceConfig, evening: date) -> NightPlan:
    """The scheduled plan of one evening, before snooze, start-now or follow-me."""
    bedtime = bedtime_of(cfg, evening)
    morning = datetime.fromtimestamp(bedtime, cfg.tz).date()
    wake = to_instant(morning, cfg.wake_times[morning.weekday()], cfg.tz)
    if wake <= bedtime:
        morning += timedelta(days=1)
        wake = to_instant(morning, cfg.wake_times[morning.weekday()], cfg.tz)
    wind_down = bedtime - cfg.wind_down_minutes * MINUTE
    caffeine = None
    if cfg.caffeine_cutoff is not None:
        caffeine = min(to_instant(evening, cfg.caffeine_cutoff, cfg.tz), wind_down)
    return NightPlan(
        evening=evening,
        day_at=wake + cfg.wake_minutes * MINUTE,
        caffeine_at=caffeine,
        wind_down_at=wind_down,
        no_screen_at=max(wind_down, bedtime - cfg.no_screen_minutes * MINUTE),
        climate_at=bedtime - cfg.climate_lead_minutes * MINUTE,
        bedtime_at=bedtime,
        wake_at=wake,
    )


@dataclass(frozen=True, slots=True)
class Adjustments:
    """What the person changed about tonight: snoozes, start-now, follow-me, asleep."""

    snooze_seconds: float = 0.0
    wind_down_now_at: float | None = None
    lights_out_at: float | None = None
    asleep_at: float | None = None


def adjusted(plan: NightPlan, adj: Adjustments) -> NightPlan:
    """The plan after tonight's adjustments; phases stay in order."""
    shift = adj.snooze_seconds
    bedtime = min(plan.bedtime_at + shift, plan.wake_at)
    wind_down = plan.wind_down_at + shift
    no_screen = plan.no_screen_at + shift
    climate = plan.climate_at + shift
    if adj.wind_down_now_at is not None and adj.wind_down_now_at < wind_down:
        wind_down = adj.wind_down_now_at
    if adj.lights_out_at is not None and adj.lights_out_at < bedtime:
        bedtime = adj.lights_out_at
        climate = min(climate, bedtime)
    wind_down = min(wind_down, bedtime)
    no_screen = min(max(no_screen, wind_down), bedtime)
    caffeine = None if plan.caffeine_at is None else min(plan.caffeine_at, wind_down)
    asleep = None
    if adj.asleep_at is not None:
        asleep = min(max(adj.asleep_at, bedtime), plan.wake_at)
    return replace(
        plan,
        caffeine_at=caffeine,
        wind_down_at=wind_down,
        no_screen_at=no_screen,
        climate_at=climate,
        bedtime_at=bedtime,
        asleep_at=asleep,
    )


def evening_for(cfg: GuidanceConfig, now: float) -> date:
    """The evening whose plan covers `now`: the first one whose day phase has not begun."""
    today = datetime.fromtimestamp(now, cfg.tz).date()
    for offset in (-1, 0, 1):
        evening = today + timedelta(days=offset)
        if now < base_plan(cfg, evening).day_at:
            return evening
    return today + timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Planned:
    """An action the timeline intends at an instant."""

    at: float
    action: Action


@dataclass(frozen=True, slots=True)
class Devices:
    """A bedroom's devices by role."""

    specs: tuple[DeviceSpec, ...] = field(default_factory=tuple)

    def by_role(self, role: Role) -> list[DeviceSpec]:
        """Devices with this role, in config order."""
        return [d for d in self.specs if d.role is role]


def clamp_setpoint(cfg: GuidanceConfig, spec: DeviceSpec, celsius: float) -> tuple[float, str]:
    """Clamp to the safe range, then to the device's own limits; say what was clamped."""
    value, why = celsius, ""
    if value < cfg.safe_min_celsius or value > cfg.safe_max_celsius:
        value = min(max(value, cfg.safe_min_celsius), cfg.safe_max_celsius)
        why = f"; clamped to the safe range {cfg.safe_min_celsius:g}–{cfg.safe_max_celsius:g} °C"
    lo, hi = spec.min_celsius, spec.max_celsius
    if lo is not None and value < lo:
        value, why = lo, why + f"; raised to the device minimum {lo:g} °C"
    if hi is not None and value > hi:
        value, why = hi, why + f"; lowered to the device maximum {hi:g} °C"
    # A device limit may fall outside the safe range: the safe range wins.
    value = min(max(value, cfg.safe_min_celsius), cfg.safe_max_celsius)
    return _round_inward(value, cfg, spec), why


def _round_inward(value: float, cfg: GuidanceConfig, spec: DeviceSpec) -> float:
    """Round to 0.1 °C unless that steps over a limit (16.1875 max must not become 16.2)."""
    rounded = round(value, 1)
    upper = min(x for x in (spec.max_celsius, cfg.safe_max_celsius) if x is not None)
    lower = max(x for x in (spec.min_celsius, cfg.safe_min_celsius) if x is not None)
    if lower <= value <= upper and not lower <= rounded <= upper:
        return value
    return rounded


def _ramp(cfg: GuidanceConfig, plan: NightPlan, lights: list[DeviceSpec]) -> list[Planned]:
    """Wind-down light steps: dim and warm, each step a slow device transition."""
    span = plan.bedtime_at - plan.wind_down_at
    if span <= 0 or not lights:
        return []
    step = max(cfg.ramp_step_minutes * MINUTE, MINUTE)
    count = max(1, int(span // step))
    out = []
    for i in range(count):
        at = plan.wind_down_at + i * step
        frac = i / (count - 1) if count > 1 else 1.0
        pct = cfg.wind_down_brightness_pct + frac * (
            cfg.lights_out_brightness_pct - cfg.wind_down_brightness_pct
        )
        kelvin = cfg.wind_down_start_kelvin + frac * (
            cfg.wind_down_end_kelvin - cfg.wind_down_start_kelvin
        )
        transition = min(step, plan.bedtime_at - at)
        for light in lights:
            reason = f"wind-down step {i + 1}/{count}: dim and warm"
            out.append(
                Planned(
                    at,
                    SetLight(
                        light.id,
                        round(pct, 1),
                        round(kelvin),
                        transition,
                        is_off=False,
                        reason=reason,
                    ),
                )
            )
    return out


def planned_actions(cfg: GuidanceConfig, devices: Devices, plan: NightPlan) -> list[Planned]:
    """Every action the timeline intends for one night, in time order (no device state)."""
    out: list[Planned] = []
    notifiers = devices.by_role(Role.NOTIFY)
    target = notifiers[0].id if notifiers else "mqtt"
    if plan.caffeine_at is not None:
        out.append(
            Planned(
                plan.caffeine_at,
                Notify(
                    target,
                    Reminder.CAFFEINE_CUTOFF,
                    "Caffeine cutoff",
                    "No more coffee or tea today.",
                    "caffeine cutoff",
                ),
            )
        )
    lights = devices.by_role(Role.LIGHT)
    out += _ramp(cfg, plan, lights)
    for climate in devices.by_role(Role.CLIMATE):
        night, why = clamp_setpoint(cfg, climate, cfg.target_celsius)
        day, day_why = clamp_setpoint(cfg, climate, cfg.day_celsius)
        out.append(Planned(plan.climate_at, SetClimate(climate.id, night, "cool for sleep" + why)))
        out.append(
            Planned(plan.wake_at, SetClimate(climate.id, day, "wake: day setpoint" + day_why))
        )
    out.append(
        Planned(
            plan.no_screen_at,
            Notify(
                target,
                Reminder.NO_SCREEN,
                "No screens",
                "Time to put screens away.",
                "no-screen window opened",
            ),
        )
    )
    if cfg.is_enforcing:
        grace_at = min(plan.no_screen_at + cfg.screen_grace_minutes * MINUTE, plan.bedtime_at)
        for screen in devices.by_role(Role.SCREEN):
            out.append(Planned(grace_at, MediaOff(screen.id, "no-screen window: enforce")))
    for light in lights:
        if light.night_light_pct is not None:
            action = SetLight(
                light.id,
                light.night_light_pct,
                cfg.wind_down_end_kelvin,
                MINUTE,
                is_off=False,
                reason="lights-out: night-light",
            )
        else:
            action = SetLight(light.id, None, None, MINUTE, is_off=True, reason="lights-out: off")
        out.append(Planned(plan.bedtime_at, action))
    out.sort(key=lambda p: p.at)
    return out
