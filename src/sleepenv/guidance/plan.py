"""`sleepenv plan`: one night's timeline per bedroom, touching no device."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sleepenv.guidance.build import core_config, core_devices
from sleepenv.guidance.core.actions import Action, MediaOff, SetClimate, SetLight, kind_of
from sleepenv.guidance.core.timeline import NightPlan, Planned, base_plan, planned_actions
from sleepenv.guidance.settings import GuidanceSettings


@dataclass(frozen=True, slots=True)
class RoomPlan:
    """One bedroom's night: the plan, its actions and its time zone."""

    id: str
    tz: tzinfo
    plan: NightPlan
    actions: list[Planned]


def room_plans(g: GuidanceSettings, tzs: dict[str, tzinfo], evening: date | None) -> list[RoomPlan]:
    """Every bedroom's plan for the evening of `evening` (default: today in its zone)."""
    out = []
    for room in g.bedrooms:
        tz = tzs[room.id]
        cfg = core_config(g, room, tz)
        plan = base_plan(cfg, evening or datetime.now(tz).date())
        out.append(RoomPlan(room.id, tz, plan, planned_actions(cfg, core_devices(room), plan)))
    return out


def iso(at: float, tz: tzinfo) -> str:
    """ISO-8601 local time with its offset."""
    return datetime.fromtimestamp(at, tz).isoformat(timespec="seconds")


def _state(a: Action) -> str | None:
    if (isinstance(a, SetLight) and a.is_off) or isinstance(a, MediaOff):
        return "off"
    return None


def action_json(at: float, a: Action, tz: tzinfo) -> dict[str, Any]:
    """One action in the plan's JSON shape."""
    light = a if isinstance(a, SetLight) else None
    return {
        "at": iso(at, tz),
        "device": a.device,
        "kind": kind_of(a),
        "brightness_pct": light.brightness_pct if light else None,
        "color_temp_kelvin": light.color_temp_kelvin if light else None,
        "setpoint_celsius": a.setpoint_celsius if isinstance(a, SetClimate) else None,
        "state": _state(a),
    }


def plan_json(plans: list[RoomPlan]) -> dict[str, Any]:
    """`{"bedrooms": [{"id", "phases": [{"name", "start"}], "actions": [...]}]}`."""
    return {
        "bedrooms": [
            {
                "id": rp.id,
                "phases": [
                    {"name": p.value, "start": iso(at, rp.tz)} for p, at in rp.plan.phases()
                ],
                "actions": [action_json(p.at, p.action, rp.tz) for p in rp.actions],
            }
            for rp in plans
        ]
    }


def describe(a: Action) -> str:
    """A short human description of an action."""
    if isinstance(a, SetLight):
        if a.is_off:
            return "off"
        parts = []
        if a.brightness_pct is not None:
            parts.append(f"{a.brightness_pct:g} %")
        if a.color_temp_kelvin is not None:
            parts.append(f"{a.color_temp_kelvin} K")
        return ", ".join(parts) + f" over {a.transition_seconds / 60:g} min"
    if isinstance(a, SetClimate):
        return f"setpoint {a.setpoint_celsius:g} °C"
    if isinstance(a, MediaOff):
        return "turn off"
    return f"remind: {a.title}"


def plan_text(plans: list[RoomPlan]) -> list[str]:
    """The plan as readable lines."""
    lines = []
    for rp in plans:
        lines.append(f"bedroom {rp.id}: evening of {rp.plan.evening:%A %Y-%m-%d}")
        lines.append("  phases:")
        for phase, at in rp.plan.phases():
            lines.append(f"    {_local(at, rp.tz)}  {phase.value}")
        lines.append("  actions:")
        for p in rp.actions:
            a = p.action
            when = _local(p.at, rp.tz)
            lines.append(f"    {when}  {kind_of(a):<7} {a.device:<12} {describe(a)}  ({a.reason})")
    return lines


def _local(at: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%a %H:%M %Z")
