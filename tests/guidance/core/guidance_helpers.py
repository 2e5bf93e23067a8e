"""A fake clock walk through a bedroom: devices that echo commands like Zigbee2MQTT does."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sleepenv.guidance.core.actions import (
    Action,
    DeviceSpec,
    DeviceState,
    MediaOff,
    Role,
    SetClimate,
    SetLight,
)
from sleepenv.guidance.core.guidance import Decision, Guidance
from sleepenv.guidance.core.timeline import Devices, GuidanceConfig

BERLIN = ZoneInfo("Europe/Berlin")
DEVICES = Devices(
    (
        DeviceSpec("lamp", Role.LIGHT),
        DeviceSpec("trv", Role.CLIMATE, min_celsius=5.0, max_celsius=30.0),
        DeviceSpec("tv", Role.SCREEN),
        DeviceSpec("temp", Role.TEMPERATURE),
        DeviceSpec("phone", Role.NOTIFY),
    )
)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """Unix time of a Berlin wall-clock time (first occurrence when repeated)."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).timestamp()


def config(**kw: object) -> GuidanceConfig:
    """Berlin, bedtime 22:30, wake 06:30, with overrides."""
    return GuidanceConfig(tz=BERLIN, **kw)  # type: ignore[arg-type]


def schedule(bed: time, wake: time) -> dict[str, object]:
    """The same bedtime and wake time every day."""
    return {"bedtimes": (bed,) * 7, "wake_times": (wake,) * 7}


def echo(action: Action, state: DeviceState) -> DeviceState:
    """What a device reports after a command."""
    if isinstance(action, SetLight):
        if action.is_off:
            return replace(state, is_on=False)
        return replace(
            state,
            brightness_pct=action.brightness_pct or state.brightness_pct,
            color_temp_kelvin=action.color_temp_kelvin or state.color_temp_kelvin,
        )
    if isinstance(action, SetClimate):
        return replace(state, setpoint_celsius=action.setpoint_celsius)
    if isinstance(action, MediaOff):
        return replace(state, is_on=False)
    return state


@dataclass
class Room:
    """A guidance engine plus devices that echo its commands."""

    guidance: Guidance
    states: dict[str, DeviceState] = field(default_factory=dict)
    log: list[tuple[float, Action]] = field(default_factory=list)
    skipped: list[tuple[float, str]] = field(default_factory=list)
    now: float = 0.0

    def apply(self, decision: Decision) -> None:
        """Record a decision and let devices echo its actions."""
        for action in decision.actions:
            self.log.append((self.now, action))
            if action.device in self.states:
                self.states[action.device] = echo(action, self.states[action.device])
        for s in decision.skipped:
            self.skipped.append((self.now, f"{s.device}: {s.reason}"))
        for action in decision.actions:
            if action.device in self.states:
                self.apply(
                    self.guidance.on_state(action.device, self.states[action.device], self.now)
                )

    def report(self, device: str, state: DeviceState, now: float) -> None:
        """A device changes by hand."""
        self.now = now
        self.states[device] = state
        self.apply(self.guidance.on_state(device, state, now))

    def run_until(self, end: float) -> None:
        """Step the fake clock to each wake_at until `end`, like the runner does."""
        while self.now < end:
            decision = self.guidance.tick(self.now)
            self.apply(decision)
            self.now = min(max(decision.wake_at, self.now + 1.0), end)
        self.apply(self.guidance.tick(self.now))

    def actions(self, device: str | None = None) -> list[tuple[float, Action]]:
        """Logged actions, optionally of one device."""
        return [(t, a) for t, a in self.log if device is None or a.device == device]


def room(cfg: GuidanceConfig, start: float, **devices: DeviceState) -> Room:
    """A room at `start` whose devices report their initial states."""
    r = Room(Guidance("bedroom", cfg, DEVICES), now=start)
    defaults = {
        "lamp": DeviceState(is_on=True, brightness_pct=100.0, color_temp_kelvin=4000),
        "trv": DeviceState(setpoint_celsius=21.0, temperature_celsius=21.0),
        "tv": DeviceState(is_on=True),
        "temp": DeviceState(temperature_celsius=20.5),
    }
    defaults.update(devices)
    for name, state in defaults.items():
        r.report(name, state, start)
    return r
