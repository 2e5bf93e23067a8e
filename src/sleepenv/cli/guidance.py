"""The guidance commands of the CLI: `sleepenv plan` and the check-config summary."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sleepenv.cli.common import EXIT_CONFIG, load_or_exit
from sleepenv.guidance.settings import GuidanceSettings, HabitSettings, example_guidance


def add_plan_parser(sub: Any) -> argparse.ArgumentParser:
    """The `plan` sub-command's arguments."""
    plan: argparse.ArgumentParser = sub.add_parser(
        "plan", help="print one night's guidance timeline; touches no device"
    )
    plan.add_argument("--config", help="YAML config file (default: the example bedroom)")
    plan.add_argument("--date", default=None, help="evening to plan, YYYY-MM-DD (default today)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    return plan


def plan_command(args: argparse.Namespace, config: Path | None) -> int:
    """`sleepenv plan`: the example bedroom without a config, else the config's bedrooms."""
    from sleepenv.bootstrap import bedroom_timezones, host_timezone  # noqa: PLC0415 - ~70 ms off --help
    from sleepenv.guidance.plan import plan_json, plan_text, room_plans  # noqa: PLC0415 - ~16 ms off --help

    evening = None
    if args.date:
        try:
            evening = date.fromisoformat(args.date)
        except ValueError:
            print(f"sleepenv: --date {args.date!r} is not YYYY-MM-DD", file=sys.stderr)
            return EXIT_CONFIG
    guidance: GuidanceSettings | None = None
    if config is not None:
        settings = load_or_exit(config)
        guidance = settings.guidance
        tzs = bedroom_timezones(settings)
        if guidance is None:
            print(f"note: {config} has no guidance section; showing the example", file=sys.stderr)
    if guidance is None:
        guidance = example_guidance()
        tzs = {room.id: host_timezone() for room in guidance.bedrooms}
    plans = room_plans(guidance, tzs, evening)
    if args.json:
        json.dump(plan_json(plans), sys.stdout, indent=2)
        print()
    else:
        print("\n".join(plan_text(plans)))
    return 0


def summary_lines(guidance: GuidanceSettings | None) -> list[str]:
    """The guidance part of `check-config`'s readable summary."""
    if guidance is None:
        return ["  guidance: not configured"]
    g = guidance
    mode = "enforce (screens turned off)" if g.enforce else "remind only"
    lines = [
        f"  guidance: {'on' if g.enabled else 'off'} at start; screens: {mode}; "
        f"wind-down {g.wind_down_minutes:g} min, no screens {g.no_screen_minutes:g} min "
        f"before bedtime; night {g.climate.target_celsius:g} °C "
        f"(safe {g.climate.safe_min_celsius:g}–{g.climate.safe_max_celsius:g} °C)",
    ]
    for room in g.bedrooms:
        s = room.schedule
        extra = "; ".join(
            f"{day}: "
            + ", ".join(
                ([f"bed {d.bedtime:%H:%M}"] if d.bedtime else [])
                + ([f"wake {d.wake:%H:%M}"] if d.wake else [])
            )
            for day, d in s.days.items()
        )
        lines.append(
            f"  bedroom {room.id} ({room.name}), time zone {room.timezone or 'of the host'}: "
            f"bed {s.bedtime:%H:%M}, wake {s.wake:%H:%M}" + (f" (except {extra})" if extra else "")
        )
        for d in room.devices:
            where = d.topic if d.backend == "zigbee2mqtt" else d.entity_id
            lines.append(f"    - {d.role} {d.id}: {d.backend} {where}")
        lines.append(habit_line(room.habits))
    return lines


def habit_line(habits: HabitSettings) -> str:
    """Where a bedroom's habits come from, and when exercise counts as late."""
    sources = [
        f"{name} from {source.entity}" + (f" ({', '.join(source.states)})" if source.states else "")
        for name, source in (("caffeine", habits.caffeine), ("exercise", habits.exercise))
        if source is not None
    ]
    where = ", ".join(sources) if sources else "the bedroom's buttons only"
    return (
        f"    habits: {where}; exercise is late within {habits.late_exercise_hours:g} h of bedtime"
    )
