"""The `guidance:` config section: bedrooms, their devices, schedule and thresholds.

Kept apart from settings.py so the guidance engine's options grow without touching the
foundation's model; settings.py only adds the one `guidance` field.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

from sleepenv.guidance.core.buttons import NUMBER_DOMAINS, SWITCH_DOMAINS, habit_rule
from sleepenv.guidance.core.timeline import LATE_EXERCISE_HOURS

# The ids of beds, bedrooms and devices (settings.py imports both this and StrictModel).
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,31}$")]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, and the values do not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DaySchedule(StrictModel):
    """One weekday's exceptions to the usual bedtime and wake time."""

    bedtime: time | None = Field(None, description="Bedtime on this weekday's evening (HH:MM).")
    wake: time | None = Field(None, description="Wake time on this weekday's morning (HH:MM).")


class ScheduleSettings(StrictModel):
    """When the bedroom's person goes to bed and gets up; the anchor of the timeline."""

    bedtime: time = Field(
        time(22, 30), description="Usual bedtime (HH:MM); before 12:00 means after midnight."
    )
    wake: time = Field(time(6, 30), description="Usual wake time (HH:MM).")
    days: dict[Weekday, DaySchedule] = Field(
        default_factory=dict,
        description="Per-weekday exceptions, keys mon..sun, e.g. `fri: {bedtime: '23:30'}`.",
    )
    bedtime_entity: str | None = Field(
        None,
        pattern=r"^input_datetime\.[a-z0-9_]+$",
        description="Take the bedtime (every day) from this Home Assistant input_datetime.",
    )
    wake_entity: str | None = Field(
        None,
        pattern=r"^input_datetime\.[a-z0-9_]+$",
        description="Take the wake time (every day) from this Home Assistant input_datetime.",
    )

    def bedtimes(self) -> tuple[time, ...]:
        """Bedtime per weekday of the evening, Monday first."""
        return tuple(self._day(w).bedtime or self.bedtime for w in WEEKDAYS)

    def wake_times(self) -> tuple[time, ...]:
        """Wake time per weekday of the morning, Monday first."""
        return tuple(self._day(w).wake or self.wake for w in WEEKDAYS)

    def _day(self, weekday: str) -> DaySchedule:
        for key, day in self.days.items():
            if key == weekday:
                return day
        return DaySchedule()


class DeviceSettings(StrictModel):
    """One device of a bedroom and how to reach it."""

    id: Slug = Field(description="Short id: lower-case letters, digits and _, e.g. `ceiling`.")
    role: Literal["light", "climate", "screen", "temperature", "notify"] = Field(
        description="light (dim/warm/off), climate (setpoint), screen (media player or TV plug), "
        "temperature (room sensor), notify (reminders)."
    )
    backend: Literal["zigbee2mqtt", "homeassistant"] = Field(
        "zigbee2mqtt",
        description="zigbee2mqtt: over MQTT (needs `topic`); homeassistant: via its API "
        "(needs `entity_id`).",
    )
    topic: str | None = Field(
        None,
        min_length=1,
        pattern=r"^[^#+\x00]+$",
        description="Zigbee2MQTT device or group topic, e.g. `zigbee2mqtt/Bedroom lights`.",
    )
    entity_id: str | None = Field(
        None,
        pattern=r"^[a-z_]+\.[a-z0-9_]+$",
        description="Home Assistant entity, e.g. `light.bedroom` or `notify.mobile_app_phone`.",
    )
    setpoint_key: str = Field(
        "current_heating_setpoint",
        pattern=r"^[a-z_]{1,64}$",
        description="Zigbee2MQTT TRV setpoint key, e.g. occupied_heating_setpoint.",
    )
    min_celsius: float | None = Field(None, ge=0, le=40, description="Device's lowest setpoint.")
    max_celsius: float | None = Field(None, ge=0, le=40, description="Device's highest setpoint.")
    night_light_pct: float | None = Field(
        None, gt=0, le=20, description="At lights-out dim to this instead of switching off."
    )

    @model_validator(mode="after")
    def _address(self) -> DeviceSettings:
        if self.backend == "zigbee2mqtt" and self.topic is None:
            raise ValueError("a zigbee2mqtt device needs `topic`")
        if self.backend == "homeassistant" and self.entity_id is None:
            raise ValueError("a homeassistant device needs `entity_id`")
        if (
            self.min_celsius is not None
            and self.max_celsius is not None
            and self.min_celsius >= self.max_celsius
        ):
            raise ValueError("min_celsius must be below max_celsius")
        return self


HabitState = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
HABIT_RULES = (
    f"{', '.join(sorted(SWITCH_DOMAINS))}: turning on is one press; "
    f"{', '.join(sorted(NUMBER_DOMAINS))}: each increase is one press; "
    "any entity with `states`: entering one of them is one press"
)


class HabitSource(StrictModel):
    """A Home Assistant entity that presses a habit's button (read through its API)."""

    entity: str = Field(
        pattern=r"^[a-z_]+\.[a-z0-9_]+$",
        description="Home Assistant entity id, e.g. `counter.coffees_today` or "
        "`sensor.phone_detected_activity`; " + HABIT_RULES,
    )
    states: list[HabitState] | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="The states that count as a press when the entity enters one of them "
        "(case does not matter), e.g. `[running, on_bicycle]`; required for entities other "
        f"than {', '.join(sorted(SWITCH_DOMAINS | NUMBER_DOMAINS))}.",
    )

    @model_validator(mode="after")
    def _rule(self) -> HabitSource:
        if habit_rule(self.entity, self.states) is None:
            raise ValueError(
                f"{self.entity} needs `states`, the states that count as a press "
                f"(allowed: {HABIT_RULES})"
            )
        if self.states is not None and {"unavailable", "unknown"} & {
            s.casefold() for s in self.states
        }:
            raise ValueError("`states` cannot hold unavailable or unknown: they never count")
        return self


class HabitSettings(StrictModel):
    """Where a bedroom's habits come from besides their buttons and MQTT topics."""

    caffeine: HabitSource | None = Field(
        None, description="The entity that says caffeine was had (as the Had caffeine button)."
    )
    exercise: HabitSource | None = Field(
        None, description="The entity that says a workout was done (as the Exercised button)."
    )
    late_exercise_hours: float = Field(
        LATE_EXERCISE_HOURS,
        ge=0.5,
        le=12,
        description="Exercise this many hours before bedtime or later counts as late "
        "(0.5 to 12; for the Note's answer and the stored factor alike).",
    )


class BedroomSettings(StrictModel):
    """A bedroom: its schedule, time zone and devices."""

    id: Slug = Field(description="Short id: lower-case letters, digits and _, e.g. `main`.")
    name: str = Field("Bedroom", min_length=1, max_length=64, description="Name shown in HA.")
    timezone: str | None = Field(None, description="IANA time zone; the host's when unset.")
    bed: str | None = Field(None, description="Id of the bed in `beds` whose presence we follow.")
    schedule: ScheduleSettings = Field(
        default_factory=ScheduleSettings, description="Bedtime and wake time."
    )
    devices: list[DeviceSettings] = Field(default_factory=list, description="The devices.")
    habits: HabitSettings = Field(
        default_factory=HabitSettings,
        description="Take caffeine and exercise from Home Assistant entities "
        "(needs guidance.homeassistant or the add-on), e.g. "
        "`caffeine: {entity: counter.coffees_today}`.",
    )


class LightSettings(StrictModel):
    """How lights dim and warm during the wind-down."""

    wind_down_brightness_pct: float = Field(20, gt=0, le=100, description="Brightness at first.")
    lights_out_brightness_pct: float = Field(
        10, gt=0, le=100, description="Brightness at the end of the wind-down."
    )
    start_kelvin: int = Field(2700, ge=1500, le=6500, description="Colour at wind-down start.")
    end_kelvin: int = Field(2200, ge=1500, le=6500, description="Colour at lights-out.")
    ramp_step_minutes: float = Field(15, ge=1, le=90, description="Minutes per dimming step.")


class ClimateSettings(StrictModel):
    """Setpoints, their safe range and the room-too-warm flag."""

    target_celsius: float = Field(18.0, ge=5, le=30, description="Setpoint for the night.")
    day_celsius: float = Field(20.0, ge=5, le=30, description="Setpoint restored at wake.")
    safe_min_celsius: float = Field(16.0, ge=5, le=30, description="No command goes below this.")
    safe_max_celsius: float = Field(22.0, ge=5, le=30, description="No command goes above this.")
    lead_minutes: float = Field(60, ge=0, le=240, description="Night setpoint this early.")
    too_warm_margin_celsius: float = Field(
        1.0, ge=0, le=10, description="Room too warm above target + this."
    )

    @model_validator(mode="after")
    def _range(self) -> ClimateSettings:
        if self.safe_min_celsius >= self.safe_max_celsius:
            raise ValueError("safe_min_celsius must be below safe_max_celsius")
        return self


class HomeAssistantApiSettings(StrictModel):
    """Where Home Assistant's API is; inside the add-on the Supervisor proxy is used."""

    url: str | None = Field(
        None, description="e.g. http://homeassistant.local:8123/api; add-on: the Supervisor's."
    )
    token: SecretStr | None = Field(None, description="Long-lived access token; never logged.")
    poll_seconds: float = Field(10, ge=1, le=600, description="How often to read entity states.")


class GuidanceSettings(StrictModel):
    """Bedtime guidance: the timeline applied to lights, thermostats and screens."""

    enabled: bool = Field(
        default=True, description="Start with guidance on (an HA switch toggles it)."
    )
    enforce: bool = Field(
        default=False, description="Turn screens off after the grace (else remind)."
    )
    bedtime_follows_me: bool = Field(
        default=False,
        description="Bed presence or all lights off before bedtime starts lights-out.",
    )
    caffeine_cutoff: time | None = Field(time(14, 0), description="Reminder time; null: none.")
    wind_down_minutes: float = Field(90, ge=10, le=240, description="Wind-down before bedtime.")
    no_screen_minutes: float = Field(60, ge=0, le=240, description="No screens before bedtime.")
    screen_grace_minutes: float = Field(10, ge=0, le=120, description="Enforce after this.")
    snooze_minutes: float = Field(15, ge=1, le=120, description="What one snooze delays by.")
    wake_minutes: float = Field(30, ge=0, le=240, description="Length of the wake phase.")
    override_minutes: float = Field(
        60, ge=1, le=24 * 60, description="A manual change is respected this long at most."
    )
    override_scope: Literal["attribute", "device"] = Field(
        "attribute", description="Hold only the changed attribute, or the whole device."
    )
    lights: LightSettings = Field(default_factory=LightSettings, description="Wind-down light.")
    climate: ClimateSettings = Field(default_factory=ClimateSettings, description="Setpoints.")
    homeassistant: HomeAssistantApiSettings = Field(
        default_factory=HomeAssistantApiSettings, description="Home Assistant API access."
    )
    bedrooms: list[BedroomSettings] = Field(min_length=1, description="The bedrooms.")

    @model_validator(mode="after")
    def _checks(self) -> GuidanceSettings:
        # Unique bedroom and device ids: sleepenv.config.rules, with every YAML path.
        if self.no_screen_minutes > self.wind_down_minutes:
            raise ValueError("no_screen_minutes must not exceed wind_down_minutes")
        return self


def example_guidance() -> GuidanceSettings:
    """The example config's bedroom: what `sleepenv plan` shows without a config."""
    return GuidanceSettings(
        bedrooms=[
            BedroomSettings(
                id="bedroom",
                name="Bedroom",
                schedule=ScheduleSettings(
                    days={
                        "fri": DaySchedule(bedtime=time(23, 30)),
                        "sat": DaySchedule(bedtime=time(23, 30), wake=time(8, 30)),
                        "sun": DaySchedule(wake=time(8, 30)),
                    }
                ),
                devices=[
                    DeviceSettings(id="lights", role="light", topic="zigbee2mqtt/Bedroom lights"),
                    DeviceSettings(
                        id="radiator",
                        role="climate",
                        topic="zigbee2mqtt/Bedroom TRV",
                        setpoint_key="occupied_heating_setpoint",
                        min_celsius=5,
                        max_celsius=30,
                    ),
                    DeviceSettings(id="tv", role="screen", topic="zigbee2mqtt/TV plug"),
                    DeviceSettings(
                        id="thermometer", role="temperature", topic="zigbee2mqtt/Bedroom sensor"
                    ),
                ],
            )
        ]
    )
