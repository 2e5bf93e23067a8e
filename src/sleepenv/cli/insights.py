"""`sleepenv insights`: which habits go with which nights, from stored nights or a demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sleepenv.cli.common import data_dir_for, load_or_exit
from sleepenv.config.settings import Settings
from sleepenv.insights.core.factors import Factor, NightRecord
from sleepenv.insights.core.findings import MIN_NIGHTS, compare_all, headline
from sleepenv.insights.records import insights_json

if TYPE_CHECKING:
    from sleepenv.bed.store import Store

EXIT_NOTHING = 1
EXIT_CONFIG = 2
DEFAULT_NIGHTS = 60
DEMO_NIGHTS = 14
FACTOR_TITLES = {
    Factor.WARM_ROOM: "Room at 19.5 °C or warmer",
    Factor.SCREENS: "Screens in the no-screen window",
    Factor.LATE_CAFFEINE: "Late caffeine",
    Factor.LATE_EXERCISE: "Late exercise",
    Factor.OFF_SCHEDULE: "Bedtime 45 min or more off schedule",
    Factor.WIND_DOWN_OVERRIDDEN: "Wind-down overridden 15 min or more (vs ran as planned)",
}
# What feeds a factor, said when no stored night has it known (see README, Insights).
FACTOR_SOURCES = {
    Factor.WARM_ROOM: "a guidance bedroom with a thermometer or thermostat",
    Factor.SCREENS: "a guidance bedroom with its screens configured",
    Factor.LATE_CAFFEINE: "the bedroom's Had caffeine button, or a habit entity",
    Factor.LATE_EXERCISE: "the bedroom's Exercised button, or a habit entity",
    Factor.OFF_SCHEDULE: "a guidance bedroom (its schedule's bedtime)",
    Factor.WIND_DOWN_OVERRIDDEN: "a guidance bedroom whose wind-down runs",
}
FOOTNOTE = (
    "A finding holds after correcting for all the comparisons made; the rest may be chance.\n"
    "These are patterns in your own nights, not causes and not medical advice: habits\n"
    "travel together, and a pattern that worries you is worth discussing with a doctor."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The insights command's options."""
    parser.add_argument("--config", help="config file (data directory, beds and bedrooms)")
    parser.add_argument("--data-dir", help="data directory (overrides the config)")
    parser.add_argument("--bed", default=None, help="bed id (default: the first with nights)")
    parser.add_argument(
        "--nights",
        type=int,
        default=None,
        metavar="N",
        help=f"compare the last N nights (default {DEFAULT_NIGHTS}; with --demo, "
        f"{DEMO_NIGHTS} simulated ones)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="simulate nights with habits (planted effects) instead of reading the store",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="with --demo: write the trend chart and the last night's chart here",
    )


def run(args: argparse.Namespace) -> int:
    """Print the insights; exit 1 when there are no nights to compare."""
    if args.nights is not None and args.nights < 1:
        print("sleepenv: --nights must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    if args.demo:
        return _demo(args)
    settings = load_or_exit(args.config) if args.config else None
    return _from_store(args, settings)


def _room_of(bed_id: str, settings: Settings | None, rooms: list[str]) -> str | None:
    """The bedroom whose factors go with this bed: the one that follows it, else the only
    one with stored factors."""
    if settings is not None and settings.guidance is not None:
        for room in settings.guidance.bedrooms:
            if room.bed == bed_id:
                return room.id
    return rooms[0] if len(rooms) == 1 else None


def _from_store(args: argparse.Namespace, settings: Settings | None) -> int:
    from sleepenv.bed.store import StorageError, Store  # noqa: PLC0415 - SQLite: ~8 ms

    db = data_dir_for(args.data_dir, settings) / "sleepenv.db"
    if not db.is_file():
        print(
            f"sleepenv: no nights stored yet (looked for {db}); the service stores each "
            "night as it runs, and `sleepenv insights --demo` shows what this looks like",
            file=sys.stderr,
        )
        return EXIT_NOTHING
    try:
        store = Store(db)
    except StorageError as exc:
        print(f"sleepenv: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _report_stored(args, settings, store)
    finally:
        store.close()


def _report_stored(args: argparse.Namespace, settings: Settings | None, store: Store) -> int:
    from sleepenv.insights.records import records  # noqa: PLC0415 - with the store

    limit = args.nights or DEFAULT_NIGHTS
    beds = sorted({n.bed_id for n in store.nights(None, 10_000)})
    if not beds:
        print(f"sleepenv: no nights stored yet in {store.path}", file=sys.stderr)
        return EXIT_NOTHING
    bed_id = args.bed or beds[0]
    if bed_id not in beds:
        print(f"sleepenv: no nights of bed {bed_id!r} (beds: {', '.join(beds)})", file=sys.stderr)
        return EXIT_NOTHING
    rooms = store.rooms_with_factors()
    room = _room_of(bed_id, settings, rooms)
    factors = store.factors(room, limit + 7) if room is not None else {}
    nights = records(store.nights(bed_id, limit), factors)
    _print(args, nights, f"bed {bed_id}", planted=None)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from rich.progress import Progress  # noqa: PLC0415 - only the demo shows progress

    from sleepenv.demo.habits import simulate  # noqa: PLC0415 - the simulator: ~150 ms
    from sleepenv.sim.habits import HabitEffects  # noqa: PLC0415

    count = args.nights or DEMO_NIGHTS
    effects = HabitEffects()
    with Progress(transient=True, disable=args.json) as progress:
        task = progress.add_task(f"simulating {count} nights with habits", total=count)
        demo = simulate(count, effects=effects, on_night=lambda: progress.advance(task))
    _print(args, [n.record for n in demo], "the demo bed (simulated)", planted=effects)
    if args.out:
        from sleepenv.report.chart import render_night, render_trend  # noqa: PLC0415

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        factors = {n.summary.night: n.factors for n in demo}
        trend = render_trend([n.summary for n in demo], "Demo bed", factors)
        (out / "trend.png").write_bytes(trend)
        last = demo[-1]
        (out / f"night-{last.summary.night}.png").write_bytes(render_night(last.chart))
        if not args.json:
            print(f"\nCharts written to {out}/: trend.png and night-{last.summary.night}.png")
    return 0


def _print(
    args: argparse.Namespace,
    nights: list[NightRecord],
    what: str,
    planted: object | None,
) -> None:
    if args.json:
        print(json.dumps(insights_json(nights), indent=2))
        return
    comparisons = compare_all(nights)
    span = f" ({nights[0].night} to {nights[-1].night})" if nights else ""
    print(f"Insights for {what}: {len(nights)} nights{span}")
    print(f"Strongest finding: {headline(comparisons)}\n")
    for factor in Factor:
        mine = [c for c in comparisons if c.factor is factor]
        with_, without = max(c.n_with for c in mine), max(c.n_without for c in mine)
        print(f"{FACTOR_TITLES[factor]} ({with_} nights with, {without} without):")
        if with_ == without == 0:
            # Unknown on every night: counting nights "needed" would suggest it is tracked.
            print(f"  not tracked yet: {FACTOR_SOURCES[factor]}\n")
            continue
        if min(with_, without) < MIN_NIGHTS:
            more = [
                f"{MIN_NIGHTS - n} more {side}"
                for n, side in ((with_, "with"), (without, "without"))
                if n < MIN_NIGHTS
            ]
            need = " and ".join(more)
            print(f"  not enough nights yet: {need} needed ({MIN_NIGHTS} on each side)\n")
            continue
        for c in mine:
            mark = "  finding" if c.finding else ""
            print(f"  - {c.sentence()}{mark}")
        print()
    if planted is not None:
        print(
            "The demo planted: late caffeine -> more hypnic jerks and a later sleep onset;\n"
            "screens -> a later onset; a warm room -> more twitches. Late exercise and the\n"
            "bedtime change nothing in the simulation.\n"
        )
    print(FOOTNOTE)
