"""The bedtime guidance engine of one bedroom (pure: every method takes `now`).

The timeline (`timeline.py`) says what is planned; this engine follows it in time,
passes each due action through the override and safety filter (`overrides.py`),
keeps tonight's adjustments (snooze, start-now, bedtime-follows-me, asleep), and
returns actions, skipped decisions with reasons, and the next moment to be woken.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import Any

from sleepenv.guidance.core.actions import Action, DeviceState, Notify, Role, Skipped, kind_of
from sleepenv.guidance.core.buttons import (
    BEFORE_LIGHTS_OUT,
    habit_note,
    start_now_refusal,
    wall_clock,
)
from sleepenv.guidance.core.overrides import OverrideConfig, Overrides
from sleepenv.guidance.core.screens import no_screen_seconds
from sleepenv.guidance.core.states import GuidanceStates
from sleepenv.guidance.core.timeline import (
    MINUTE,
    NIGHT_PHASES,
    Adjustments,
    Devices,
    GuidanceConfig,
    NightPlan,
    Phase,
    adjusted,
    base_plan,
    evening_for,
    planned_actions,
)

__all__ = [
    "MAX_SLEEP_SECONDS",
    "STALE_NOTIFY_SECONDS",
    "Decision",
    "Guidance",
]

# A reminder more than this late (a restart, a paused evening) is not worth sending.
STALE_NOTIFY_SECONDS = 15 * 60.0
MAX_SLEEP_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class Decision:
    """What one call decided: actions to send, actions skipped, notes, when to wake.

    `message` is what the person who pressed a button should see (e.g. why it did
    nothing); `notes` are for the debug log.
    """

    actions: tuple[Action, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    wake_at: float = 0.0
    message: str = ""


@dataclass(slots=True)
class _Night:
    evening: date
    adj: Adjustments = field(default_factory=Adjustments)
    emitted: set[tuple[float, str, str]] = field(default_factory=set)
    floor: float = 0.0
    screen_seconds: float = 0.0


class Guidance:
    """One bedroom: schedule, devices, overrides and tonight's adjustments."""

    def __init__(
        self,
        bedroom_id: str,
        config: GuidanceConfig,
        devices: Devices,
        override_config: OverrideConfig | None = None,
    ) -> None:
        """A bedroom with guidance on and no night started yet."""
        self.id = bedroom_id
        self.config = config
        self.devices = devices
        self.overrides = Overrides(override_config)
        self.is_enabled = True
        self.is_paused = False
        self.phase: Phase | None = None
        self.room_celsius: float | None = None
        self.last_reason = ""
        # The answer to the last button press, shown until the next phase starts.
        self.note: str | None = None
        self.last_night_screen_minutes: float | None = None
        self._night: _Night | None = None
        self._screens_on: dict[str, bool] = {}
        self._accounted_at: float | None = None
        self._roles = {d.id: d.role for d in devices.specs}

    def habit_noted(self, habit: str, at: float, local_time: str, now: float) -> str:
        """A habit was reported ("caffeine" or "exercise"): the note that answers the
        press, saying whether it counts as late for tonight."""
        self.note = habit_note(
            self.plan(now),
            habit,
            at,
            local_time,
            late_exercise_hours=self.config.late_exercise_hours,
        )
        return self.note

    # -- the plan ---------------------------------------------------------------------

    def plan(self, now: float) -> NightPlan:
        """Tonight's plan with tonight's adjustments."""
        night = self._ensure_night(now)
        return adjusted(base_plan(self.config, night.evening), night.adj)

    def _ensure_night(self, now: float) -> _Night:
        evening = evening_for(self.config, now)
        if self._night is None or self._night.evening != evening:
            first = self._night is None
            if self._night is not None:
                self.last_night_screen_minutes = round(self._night.screen_seconds / MINUTE, 1)
            self._night = _Night(evening)
            plan = base_plan(self.config, evening)
            # On a (re)start, only the current phase's actions are caught up on.
            starts = [s for _, s in plan.phases() if s <= now]
            self._night.floor = max(starts) if first and starts else float("-inf")
        return self._night

    # -- time ------------------------------------------------------------------------

    def tick(self, now: float) -> Decision:
        """Advance to `now`: phase changes, due actions, hold timeouts."""
        self._account_screens(now)
        night = self._ensure_night(now)
        plan = adjusted(base_plan(self.config, night.evening), night.adj)
        notes: list[str] = []
        phase = plan.phase_at(now)
        if phase != self.phase:
            notes.append(f"{self.id}: phase {self.phase} → {phase}")
            if self.phase is not None:
                # A new phase starts a new story. The first tick after a start is no
                # change the person saw: a press answered before it keeps its answer.
                self.note = None
            self.phase = phase
            notes += self.overrides.on_phase(phase.value)
        notes += self.overrides.expire(now)
        actions, skipped = self._due(plan, night, now)
        return Decision(tuple(actions), tuple(skipped), tuple(notes), self.wake_at(now))

    def _due(
        self, plan: NightPlan, night: _Night, now: float
    ) -> tuple[list[Action], list[Skipped]]:
        latest: dict[tuple[str, str], tuple[float, Action]] = {}
        for p in planned_actions(self.config, self.devices, plan):
            key = (round(p.at, 3), p.action.device, p.action.reason)
            if p.at > now or key in night.emitted:
                continue
            night.emitted.add(key)
            if p.at < night.floor:
                continue
            # Catching up, only the newest action per device and kind still matters.
            latest[(p.action.device, kind_of(p.action))] = (p.at, p.action)
        actions: list[Action] = []
        skipped: list[Skipped] = []
        is_night = self.phase in NIGHT_PHASES
        for at, action in sorted(latest.values(), key=lambda x: x[0]):
            result = self._decide(action, at, now, is_night=is_night)
            if isinstance(result, Skipped):
                skipped.append(result)
                self.last_reason = f"skipped {result.kind} {result.device}: {result.reason}"
            else:
                self.overrides.commanded(result, now)
                actions.append(result)
                self.last_reason = f"{kind_of(result)} {result.device}: {result.reason}"
        return actions, skipped

    def _decide(self, action: Action, at: float, now: float, *, is_night: bool) -> Action | Skipped:
        kind = kind_of(action)
        if not self.is_enabled:
            return Skipped(action.device, kind, "guidance is switched off")
        if self.is_paused:
            return Skipped(action.device, kind, "paused: guests/vacation mode")
        if isinstance(action, Notify) and now - at > STALE_NOTIFY_SECONDS:
            return Skipped(action.device, kind, "reminder is stale")
        return self.overrides.filter(action, is_night=is_night)

    def wake_at(self, now: float) -> float:
        """The next moment something is due: an action, a phase, a hold timeout."""
        night = self._ensure_night(now)
        plan = adjusted(base_plan(self.config, night.evening), night.adj)
        moments = [now + MAX_SLEEP_SECONDS]
        nxt = plan.next_change(now)
        if nxt is not None:
            moments.append(nxt)
        for p in planned_actions(self.config, self.devices, plan):
            if p.at > now:
                moments.append(p.at)
                break
        hold = self.overrides.wake_at()
        if hold is not None:
            moments.append(max(hold, now))
        return min(moments)

    # -- inputs ----------------------------------------------------------------------

    def on_state(self, device: str, state: DeviceState, now: float) -> Decision:
        """A device reported its state: overrides, room temperature, screen use, follow-me."""
        self._account_screens(now)
        role = self._roles.get(device)
        # A TRV's own reading counts only when the room has no temperature sensor.
        if state.temperature_celsius is not None and (
            role is Role.TEMPERATURE or (role is Role.CLIMATE and not self._has_sensor())
        ):
            self.room_celsius = state.temperature_celsius
        if role is Role.SCREEN and state.is_on is not None:
            self._screens_on[device] = state.is_on
        notes: list[str] = []
        if role in (Role.LIGHT, Role.CLIMATE, Role.SCREEN):
            phase = (self.phase or Phase.DAY).value
            notes += [f"{device}: {r}" for r in self.overrides.reported(device, state, now, phase)]
            if notes:
                self.last_reason = notes[-1]
        if role is Role.LIGHT and state.is_on is False and self._all_lights_off():
            notes += self._follow_me(now, "all lights off", (Phase.WIND_DOWN, Phase.NO_SCREEN))
        decision = self.tick(now)
        return replace(decision, notes=(*notes, *decision.notes))

    def _has_sensor(self) -> bool:
        return any(d.role is Role.TEMPERATURE for d in self.devices.specs)

    def _all_lights_off(self) -> bool:
        lights = self.devices.by_role(Role.LIGHT)
        states = [self.overrides.state(d.id) for d in lights]
        return bool(lights) and all(s is not None and s.is_on is False for s in states)

    def on_presence(self, *, in_bed: bool | None, asleep: bool | None, now: float) -> Decision:
        """Bed presence or sleep from the bed tracker."""
        notes: list[str] = []
        if in_bed:
            notes += self._follow_me(now, "in bed", tuple(BEFORE_LIGHTS_OUT))
        night = self._ensure_night(now)
        if asleep and self.plan(now).phase_at(now) is Phase.LIGHTS_OUT:
            night.adj = replace(night.adj, asleep_at=now)
            notes.append(f"{self.id}: asleep")
        decision = self.tick(now)
        return replace(decision, notes=(*notes, *decision.notes))

    def _follow_me(self, now: float, why: str, phases: tuple[Phase, ...]) -> list[str]:
        cfg = self.config
        if not cfg.bedtime_follows_me:
            return []
        plan = self.plan(now)
        if plan.phase_at(now) not in phases:
            return []
        if not 0 < plan.bedtime_at - now <= cfg.follow_window_minutes * MINUTE:
            return []
        night = self._ensure_night(now)
        night.adj = replace(night.adj, lights_out_at=now)
        return [f"{self.id}: bedtime follows me ({why}): lights-out now"]

    def start_wind_down(self, now: float) -> Decision:
        """The start-wind-down-now button: in the evening, tonight's wind-down starts now;
        otherwise nothing changes and the note says why."""
        night = self._ensure_night(now)
        plan = self.plan(now)
        refusal = start_now_refusal(self.config, plan, now)
        if refusal is not None:
            return self._answer(now, f"start wind-down: {refusal}", refusal)
        night.adj = replace(night.adj, wind_down_now_at=now, snooze_seconds=0.0)
        bedtime = self.plan(now).bedtime_at
        return self._answer(
            now,
            "wind-down started by button",
            f"Wind-down started; lights-out at {self._clock(bedtime)}",
        )

    def snooze(self, now: float) -> Decision:
        """The snooze button: tonight's wind-down, no-screen and lights-out move later."""
        night = self._ensure_night(now)
        if self.plan(now).phase_at(now) not in BEFORE_LIGHTS_OUT:
            return self._answer(
                now, "snooze: only before lights-out", "Snooze works only before lights-out"
            )
        step = self.config.snooze_minutes * MINUTE
        night.adj = replace(
            night.adj, snooze_seconds=night.adj.snooze_seconds + step, wind_down_now_at=None
        )
        minutes = f"{self.config.snooze_minutes:g} min"
        bedtime = self._clock(self.plan(now).bedtime_at)
        return self._answer(
            now, f"snoozed by {minutes}", f"Snoozed by {minutes}; lights-out at {bedtime}"
        )

    def _answer(self, now: float, reason: str, message: str) -> Decision:
        """Tick after a button press; the person sees `message` until the next phase."""
        self.last_reason = reason
        decision = self.tick(now)
        self.note = message  # after the tick: a phase the press started keeps it
        return replace(decision, notes=(reason, *decision.notes), message=message)

    def _clock(self, at: float) -> str:
        """A local wall-clock time of this bedroom, for notes (22:30)."""
        return wall_clock(at, self.config.tz)

    def set_times(self, bedtime: time | None, wake: time | None, now: float) -> Decision:
        """A new bedtime or wake time for every day (e.g. from a Home Assistant helper)."""
        cfg = self.config
        new = replace(
            cfg,
            bedtimes=cfg.bedtimes if bedtime is None else (bedtime,) * 7,
            wake_times=cfg.wake_times if wake is None else (wake,) * 7,
        )
        if new == cfg:
            return self.tick(now)
        self.config = new
        self.last_reason = f"schedule changed: bedtime {bedtime}, wake {wake}"
        return replace(self.tick(now), notes=(self.last_reason,))

    def set_enabled(self, *, is_enabled: bool, now: float) -> Decision:
        """The guidance switch."""
        self.is_enabled = is_enabled
        self.last_reason = f"guidance switched {'on' if is_enabled else 'off'}"
        return replace(self.tick(now), notes=(self.last_reason,))

    def set_paused(self, *, is_paused: bool, now: float) -> Decision:
        """The guests/vacation switch: pauses every action."""
        self.is_paused = is_paused
        self.last_reason = f"guests/vacation mode {'on' if is_paused else 'off'}"
        return replace(self.tick(now), notes=(self.last_reason,))

    # -- outputs ---------------------------------------------------------------------

    def _account_screens(self, now: float) -> None:
        """Add the time since the last call that a screen was on inside the no-screen
        window (its start until lights-out; several screens on at once count once)."""
        last, self._accounted_at = self._accounted_at, now
        if last is None or now <= last or self._night is None:
            return
        if not any(self._screens_on.values()):
            return
        plan = adjusted(base_plan(self.config, self._night.evening), self._night.adj)
        self._night.screen_seconds += no_screen_seconds(plan, last, now)

    def states(self, now: float) -> GuidanceStates:
        """Entity states of the bedroom (unix times for timestamps)."""
        plan = self.plan(now)
        phase = plan.phase_at(now)
        bedtime = plan.bedtime_at
        if now >= bedtime:
            bedtime = base_plan(self.config, plan.evening + timedelta(days=1)).bedtime_at
        target = self.config.target_celsius
        deviation = None if self.room_celsius is None else round(self.room_celsius - target, 1)
        too_warm = deviation is not None and deviation > self.config.too_warm_margin_celsius
        night = self._ensure_night(now)
        return GuidanceStates(
            is_enabled=self.is_enabled,
            is_paused=self.is_paused,
            phase=phase,
            is_wind_down=phase in (Phase.WIND_DOWN, Phase.NO_SCREEN),
            is_no_screen_window=phase is Phase.NO_SCREEN,
            next_bedtime=bedtime,
            room_temperature_deviation_celsius=deviation,
            is_room_too_warm=too_warm,
            screen_minutes_in_window=round(night.screen_seconds / MINUTE, 1),
            note=self.note,
        )

    def attributes(self) -> dict[str, Any]:
        """Override state per device and the last decision's reason."""
        holds = {
            device: {
                attr: {"since": h.since, "until": h.until, "reason": h.reason}
                for attr, h in by_attr.items()
            }
            for device, by_attr in self.overrides.holds().items()
        }
        # The phase's machine value (the entity shows a readable one) for automations.
        phase = self.phase.value if self.phase is not None else None
        return {"overrides": holds, "last_reason": self.last_reason, "phase": phase}
