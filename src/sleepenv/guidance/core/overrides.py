"""Manual override detection and the safety filter every action passes through (pure).

A device under manual control keeps its changed attribute (or the whole device) until
a timeout, the next phase, or the person switching it off and on again. Lights are
never turned on and never brightened at night; setpoints stay inside the safe range.
Every decision comes with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sleepenv.guidance.core.actions import (
    Action,
    DeviceState,
    MediaOff,
    Notify,
    SetClimate,
    SetLight,
    Skipped,
    kind_of,
)

STATE = "state"
BRIGHTNESS = "brightness_pct"
COLOR_TEMP = "color_temp_kelvin"
SETPOINT = "setpoint_celsius"
TOLERANCE = {BRIGHTNESS: 4.0, COLOR_TEMP: 150.0, SETPOINT: 0.4}
# Devices report a command's effect a moment later; transitions report on the way.
SETTLE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Hold:
    """One attribute (or `*`, the whole device) under manual control."""

    attribute: str
    since: float
    until: float
    phase: str
    reason: str


@dataclass(frozen=True, slots=True)
class OverrideConfig:
    """Tolerances and how long a manual change is respected."""

    timeout_seconds: float = 3600.0
    is_whole_device: bool = False


@dataclass(slots=True)
class _Expectation:
    """What our last command should make the device report, as (low, high) per attribute."""

    ranges: dict[str, tuple[float, float]]
    finals: dict[str, float]
    until: float  # after this, a report outside the final values is manual


@dataclass(slots=True)
class _Device:
    last: DeviceState | None = None
    expected: _Expectation | None = None
    holds: dict[str, Hold] = field(default_factory=dict)
    was_off_while_held: bool = False


def _num(state: DeviceState, attribute: str) -> float | None:
    if attribute == STATE:
        return None if state.is_on is None else float(state.is_on)
    value = getattr(state, attribute)
    return None if value is None else float(value)


class Overrides:
    """Per-device manual-control bookkeeping for one bedroom."""

    def __init__(self, config: OverrideConfig | None = None) -> None:
        """Nothing held yet."""
        self.config = config or OverrideConfig()
        self._devices: dict[str, _Device] = {}

    def _dev(self, device: str) -> _Device:
        return self._devices.setdefault(device, _Device())

    def state(self, device: str) -> DeviceState | None:
        """The device's last reported state."""
        return self._dev(device).last

    # -- commands and reports ---------------------------------------------------------

    def commanded(self, action: Action, now: float) -> None:
        """Remember what an action we sent should make the device report."""
        if isinstance(action, Notify):
            return
        dev = self._dev(action.device)
        prev = dev.last or DeviceState()
        targets: dict[str, float] = {}
        settle = SETTLE_SECONDS
        if isinstance(action, SetLight):
            settle += action.transition_seconds
            if action.is_off:
                targets[STATE] = 0.0
            else:
                if action.brightness_pct is not None:
                    targets[BRIGHTNESS] = action.brightness_pct
                if action.color_temp_kelvin is not None:
                    targets[COLOR_TEMP] = float(action.color_temp_kelvin)
        elif isinstance(action, SetClimate):
            targets[SETPOINT] = action.setpoint_celsius
        elif isinstance(action, MediaOff):
            targets[STATE] = 0.0
        ranges = {}
        for attr, target in targets.items():
            old = _num(prev, attr)
            lo, hi = (target, target) if old is None else (min(old, target), max(old, target))
            ranges[attr] = (lo, hi)
        dev.expected = _Expectation(ranges, targets, now + settle)

    def reported(self, device: str, state: DeviceState, now: float, phase: str) -> list[str]:
        """A state report; returns the reasons of any manual override it reveals."""
        dev = self._dev(device)
        prev, dev.last = dev.last, state
        reasons: list[str] = []
        if dev.holds and state.is_on and dev.was_off_while_held:
            dev.holds.clear()
            dev.was_off_while_held = False
            return ["switched off and on again: automation resumes"]
        for attr in (STATE, BRIGHTNESS, COLOR_TEMP, SETPOINT):
            value = _num(state, attr)
            if value is None or (attr != STATE and state.is_on is False):
                continue
            why = self._deviation(dev, prev, attr, value, now)
            if why:
                reasons.append(self._hold(dev, attr, now, phase, why))
        if dev.holds and state.is_on is False:
            dev.was_off_while_held = True
        return reasons

    def _deviation(
        self, dev: _Device, prev: DeviceState | None, attr: str, value: float, now: float
    ) -> str:
        tol = TOLERANCE.get(attr, 0.0)
        exp = dev.expected
        if exp is not None and attr in exp.ranges:
            lo, hi = exp.ranges[attr]
            final = exp.finals[attr]
            if now > exp.until:
                lo = hi = final
            old = None if prev is None else _num(prev, attr)
            # During a transition values move towards the target; moving away is manual.
            is_away = old is not None and abs(value - final) > abs(old - final) + tol
            if lo - tol <= value <= hi + tol and not is_away:
                return ""
            return _describe(attr, value, lo, hi, "differs from our last command")
        old = None if prev is None else _num(prev, attr)
        if old is None or abs(value - old) <= tol:
            return ""
        return _describe(attr, value, old, old, "changed without a command of ours")

    def _hold(self, dev: _Device, attr: str, now: float, phase: str, why: str) -> str:
        key = "*" if self.config.is_whole_device else attr
        until = now + self.config.timeout_seconds
        dev.holds[key] = Hold(key, now, until, phase, why)
        # Our expectation for this attribute is void: the person decides now.
        if dev.expected is not None:
            dev.expected.ranges.pop(attr, None)
            dev.expected.finals.pop(attr, None)
        return f"manual override of {attr}: {why}; hold until timeout, next phase or off→on"

    # -- releasing -------------------------------------------------------------------

    def on_phase(self, phase: str) -> list[str]:
        """A new phase releases holds taken in another phase."""
        released = []
        for name, dev in self._devices.items():
            for key, hold in list(dev.holds.items()):
                if hold.phase != phase:
                    del dev.holds[key]
                    released.append(f"{name}.{key}: released at the next phase ({phase})")
        return released

    def expire(self, now: float) -> list[str]:
        """Release holds whose timeout has passed."""
        released = []
        for name, dev in self._devices.items():
            for key, hold in list(dev.holds.items()):
                if now >= hold.until:
                    del dev.holds[key]
                    released.append(f"{name}.{key}: released after the timeout")
        return released

    def wake_at(self) -> float | None:
        """The earliest hold timeout."""
        untils = [h.until for d in self._devices.values() for h in d.holds.values()]
        return min(untils) if untils else None

    def holds(self) -> dict[str, dict[str, Hold]]:
        """Current holds per device."""
        return {name: dict(d.holds) for name, d in self._devices.items() if d.holds}

    # -- the filter ------------------------------------------------------------------

    def _held(self, device: str, attr: str) -> Hold | None:
        holds = self._dev(device).holds
        return holds.get("*") or holds.get(attr)

    def filter(self, action: Action, *, is_night: bool) -> Action | Skipped:  # noqa: PLR0911
        """The action as it may be sent, or why it must not be (pure, no bookkeeping)."""
        if isinstance(action, Notify):
            return action
        if isinstance(action, SetLight):
            return self._filter_light(action, is_night=is_night)
        if isinstance(action, SetClimate):
            hold = self._held(action.device, SETPOINT)
            if hold is not None:
                return Skipped(action.device, "climate", f"setpoint held: {hold.reason}")
            return action
        hold = self._held(action.device, STATE)
        if hold is not None:
            return Skipped(action.device, kind_of(action), f"held: {hold.reason}")
        last = self.state(action.device)
        if last is not None and last.is_on is False:
            return Skipped(action.device, "media", "already off")
        return action

    def _filter_light(self, action: SetLight, *, is_night: bool) -> SetLight | Skipped:
        last = self.state(action.device)
        if last is None or last.is_on is None:
            return Skipped(action.device, "light", "state unknown: never turn a light on")
        if not last.is_on:
            return Skipped(action.device, "light", "light is off: leave it off")
        if action.is_off:
            hold = self._held(action.device, STATE) or self._held(action.device, BRIGHTNESS)
            if hold is not None:
                return Skipped(action.device, "light", f"held: {hold.reason}")
            return action
        pct, kelvin, notes = action.brightness_pct, action.color_temp_kelvin, []
        for attr in (BRIGHTNESS, COLOR_TEMP):
            hold = self._held(action.device, attr)
            if hold is not None:
                notes.append(f"{attr} held")
                pct = None if attr == BRIGHTNESS else pct
                kelvin = None if attr == COLOR_TEMP else kelvin
        known_pct, known_k = self._light_bounds(action.device, last)
        if is_night and pct is not None and known_pct is None:
            pct = None
            notes.append("brightness unknown: cannot be sure not to brighten at night")
        # Guidance only ever dims and warms: whatever the phase (a snooze can move the
        # wind-down back into the day), a step never brightens or cools a light.
        if pct is not None and known_pct is not None and pct > known_pct:
            pct = known_pct
            notes.append("never brighten at night: kept at the current brightness")
        if kelvin is not None and known_k is not None and kelvin > known_k:
            kelvin = round(known_k)
            notes.append("never cooler at night: kept the current colour")
        if pct is None and kelvin is None:
            return Skipped(action.device, "light", "; ".join(notes) or "nothing to change")
        reason = action.reason + ("; " + "; ".join(notes) if notes else "")
        return replace(action, brightness_pct=pct, color_temp_kelvin=kelvin, reason=reason)

    def _light_bounds(self, device: str, last: DeviceState) -> tuple[float | None, float | None]:
        """Brightness and colour a step may not exceed: the lower of report and last command.

        A command we sent but the device has not echoed yet bounds the next step too.
        """
        known_pct, known_k = last.brightness_pct, last.color_temp_kelvin
        expected = self._dev(device).expected
        if expected is not None:
            sent_pct = expected.finals.get(BRIGHTNESS)
            sent_k = expected.finals.get(COLOR_TEMP)
            if sent_pct is not None and known_pct is not None:
                known_pct = min(known_pct, sent_pct)
            if sent_k is not None and known_k is not None:
                known_k = min(known_k, sent_k)
        return known_pct, known_k


def _describe(attr: str, value: float, lo: float, hi: float, why: str) -> str:
    expected = f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
    return f"{attr} {value:g} {why} (expected {expected})"
