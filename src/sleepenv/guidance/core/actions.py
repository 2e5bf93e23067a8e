"""What guidance asks devices to do, and what it decided not to do (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a configured device is for in the bedroom."""

    LIGHT = "light"
    CLIMATE = "climate"
    SCREEN = "screen"
    TEMPERATURE = "temperature"
    NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What the core needs to know about one device."""

    id: str
    role: Role
    min_celsius: float | None = None
    max_celsius: float | None = None
    night_light_pct: float | None = None


@dataclass(frozen=True, slots=True)
class SetLight:
    """Dim and warm a light that is on, or turn it off; never turns a light on."""

    device: str
    brightness_pct: float | None = None
    color_temp_kelvin: int | None = None
    transition_seconds: float = 0.0
    is_off: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetClimate:
    """Change a thermostat's setpoint (already clamped to the safe range and device limits)."""

    device: str
    setpoint_celsius: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MediaOff:
    """Turn off a screen (a media player or the smart plug of a TV)."""

    device: str
    reason: str = ""


class Reminder(StrEnum):
    """Which reminder a Notify is (its value is the MQTT reminder event's type)."""

    CAFFEINE_CUTOFF = "caffeine_cutoff"
    NO_SCREEN = "no_screen"


@dataclass(frozen=True, slots=True)
class Notify:
    """A reminder (Home Assistant notify service, or an MQTT event)."""

    device: str
    kind: Reminder
    title: str
    message: str
    reason: str = ""


Action = SetLight | SetClimate | MediaOff | Notify


@dataclass(frozen=True, slots=True)
class Skipped:
    """A planned action not taken, and why (logged at debug, shown as an attribute)."""

    device: str
    kind: str
    reason: str


def kind_of(action: Action) -> str:
    """The plan's `kind` of an action: light, climate, media or notify."""
    if isinstance(action, SetLight):
        return "light"
    if isinstance(action, SetClimate):
        return "climate"
    if isinstance(action, MediaOff):
        return "media"
    return "notify"


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device's reported state, decoded at the edge; None means not reported."""

    is_on: bool | None = None
    brightness_pct: float | None = None
    color_temp_kelvin: float | None = None
    setpoint_celsius: float | None = None
    temperature_celsius: float | None = None
