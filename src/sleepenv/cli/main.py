"""The `sleepenv` command line: demo, run, check-config, analyze, evaluate, record, history, ..."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sleepenv import __version__
from sleepenv.cli import demo as demo_command
from sleepenv.cli import evaluate as evaluation_command
from sleepenv.cli import insights as insights_command
from sleepenv.cli import report as report_command
from sleepenv.cli.common import (
    EXIT_CONFIG,
    config_path,
    data_dir_for,
    load_or_exit,
    setup_logging,
)
from sleepenv.cli.guidance import add_plan_parser, plan_command, summary_lines
from sleepenv.cli.types import (
    LOG_LEVELS,
    iso_time,
    positive_float,
)
from sleepenv.clock import Clock, RealClock, ScaledClock

log = logging.getLogger("sleepenv")

HEARTBEAT_MAX_AGE_SECONDS = 60.0


EXIT_PIPE = 141  # what a shell reports for a process ended by SIGPIPE


# -- commands -------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a config and print a readable summary (never secrets)."""
    settings = load_or_exit(Path(args.file))
    m = settings.mqtt
    print(f"config OK: {args.file}")
    print(f"  broker: {m.host}:{m.port} (TLS {'on' if m.tls.enabled else 'off'})")
    print(f"  user: {m.username or '(none)'}; password: {'(set)' if m.password else '(not set)'}")
    print(f"  topics: discovery under {m.discovery_prefix}/, states under {m.base_topic}/")
    print(f"  night: {settings.night.start:%H:%M} to {settings.night.end:%H:%M} local time")
    for bed in settings.beds:
        print(f"  bed {bed.id} ({bed.name}), time zone {bed.timezone or 'of the host'}:")
        for sensor in bed.sensors:
            print(f"    - {sensor.kind} on {sensor.topic} (side {sensor.side})")
        if bed.presence_topic is not None:
            print(f"    - presence on {bed.presence_topic}")
    print("\n".join(summary_lines(settings.guidance)))
    return 0


def _exit_before_start(_signum: int, _frame: object) -> None:
    """SIGTERM before the service is up: nothing was announced, so just leave."""
    raise SystemExit(0)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the long-running service."""
    # Until the event loop installs its own handler, SIGTERM must not kill us mid-start.
    signal.signal(signal.SIGTERM, _exit_before_start)
    from sleepenv.bootstrap import run_forever  # noqa: PLC0415 - the service: ~70 ms off --help

    settings = load_or_exit(config_path(args))
    setup_logging(args.log_level or settings.log_level)
    clock: Clock = RealClock()
    if args.start_at is not None or args.speed != 1.0:
        start = args.start_at if args.start_at is not None else time.time()
        clock = ScaledClock(start, args.speed)
    run_forever(settings, clock)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse a recording offline with the live service's code path."""
    from sleepenv.bed.analyze import analyze_recording  # noqa: PLC0415 - ~35 ms off --help

    path = Path(args.recording)
    problem = _unreadable_recording(path)
    if problem is None:
        try:
            result = analyze_recording(path)
        except (OSError, ValueError) as exc:  # ValueError: nothing analysable in it
            problem = str(exc.strerror if isinstance(exc, OSError) else exc)
    if problem is not None:
        print(f"sleepenv: cannot analyze {path}: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        json.dump(result, sys.stdout, indent=None if args.compact else 2)
        print()
    else:
        _print_analysis(result)
    return 0


def _unreadable_recording(path: Path) -> str | None:
    """Why `path` cannot be a recording, before the analysis opens it; None if it may be."""
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "not a file"
    if path.stat().st_size == 0:
        return "the file is empty (record one with `sleepenv record --topic T --out FILE`)"
    return None


def _local(t: float) -> datetime:
    """The local wall-clock time at `t`, printed without an offset."""
    return datetime.fromtimestamp(t, UTC).astimezone().replace(tzinfo=None)


def _print_analysis(result: dict[str, Any]) -> None:
    from rich.console import Console  # noqa: PLC0415 - rich: ~40 ms off --help
    from rich.table import Table  # noqa: PLC0415 - rich: ~40 ms off --help

    console = Console()
    start = _local(result["start"]) if result["start"] else None
    end = _local(result["end"]) if result["end"] else None
    console.print(f"source: {result['source']}  from {start} to {end}")
    table = Table("class", "count")
    for cls, n in sorted(result["counts"].items()):
        table.add_row(cls, str(n))
    console.print(table)
    console.print(f"{len(result['events'])} events, {result['rejected']} messages rejected")


def cmd_record(args: argparse.Namespace) -> int:
    """Record messages from a live broker into a JSON-lines file."""
    from sleepenv.cli.record import record  # noqa: PLC0415 - MQTT client: ~20 ms off --help

    settings = None
    path = config_path(args)
    if path is not None:
        settings = load_or_exit(path)
    return record(args, settings)


def cmd_history(args: argparse.Namespace) -> int:
    """Show the last nights from the store."""
    from rich.console import Console  # noqa: PLC0415 - rich: ~40 ms off --help
    from rich.table import Column, Table  # noqa: PLC0415 - rich: ~40 ms off --help

    from sleepenv.bed.store import Store  # noqa: PLC0415 - SQLite: ~8 ms off --help

    path = config_path(args)
    settings = load_or_exit(path) if path is not None and not args.data_dir else None
    directory = data_dir_for(args.data_dir, settings)
    db = directory / "sleepenv.db"
    if not db.exists():
        print(f"no nights stored yet (looked for {db})")
        return 0
    store = Store(db)
    nights = store.nights(args.bed, args.nights)
    store.close()
    # Short headers: the table must fit 80 columns with the night's date unbroken.
    table = Table(
        "bed", Column("night", no_wrap=True, min_width=10), "moves", "twitch", "jerk", "LM",
        "PLM", "PLMI", "onset", "roll", "rej",
    )  # fmt: skip
    for n in nights:
        c = n.counts
        onset = (
            datetime.fromtimestamp(n.sleep_onset, UTC).astimezone().strftime("%H:%M")
            if n.sleep_onset
            else "–"
        )
        table.add_row(
            n.bed_id,
            n.night,
            str(n.total_movements),
            str(c.get("twitch", 0)),
            str(c.get("hypnic_jerk", 0)),
            str(c.get("limb_movement", 0)),
            str(c.get("plm", 0)),
            f"{n.plm_index:.1f}" if n.plm_index is not None else "–",
            onset,
            str(c.get("rollover", 0)),
            str(n.rejected),
        )
    Console().print(table)
    return 0


def _data_dir_from_config(args: argparse.Namespace) -> Path:
    path = config_path(args)
    return data_dir_for(None, load_or_exit(path) if path is not None else None)


def cmd_report(args: argparse.Namespace) -> int:
    """Render a stored night (or a trend, or a recording) as a PNG chart."""
    return report_command.run(args)


def cmd_insights(args: argparse.Namespace) -> int:
    """Compare nights with and without each habit (or a simulated run with --demo)."""
    return insights_command.run(args)


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 when the service is connected, subscribed and storing (container HEALTHCHECKs)."""
    from sleepenv.health import HEARTBEAT_FILE, read_heartbeat  # noqa: PLC0415 - ~5 ms

    heartbeat = _data_dir_from_config(args) / HEARTBEAT_FILE
    is_healthy, line = read_heartbeat(heartbeat, time.time(), HEARTBEAT_MAX_AGE_SECONDS)
    print(line)
    return 0 if is_healthy else 1


def cmd_plan(args: argparse.Namespace) -> int:
    """Print one night's guidance timeline per bedroom; touches no device."""
    return plan_command(args, config_path(args))


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score detection (sleepenv, the naive floor, or both) against generated nights."""
    return evaluation_command.run(args)


# -- parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="sleepenv",
        description="Bed-movement detection and sleep-environment guidance over MQTT, "
        "published to Home Assistant. Everything stays local.",
    )
    parser.add_argument("--version", action="version", version=f"sleepenv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_command.add_parser(sub)

    _add_run(sub)

    _add_check_config(sub)

    _add_analyze(sub)

    _add_record(sub)

    _add_history(sub)

    for add in (_add_report, _add_insights, _add_evaluate):
        add(sub)
    add_plan_parser(sub).set_defaults(func=cmd_plan)

    _add_healthcheck(sub)
    return parser


def _add_run(sub: Any) -> None:
    """`sleepenv run`: the service."""
    run = sub.add_parser("run", help="run the service")
    run.add_argument("--config", help="YAML config file (or SLEEPENV_CONFIG)")
    run.add_argument(
        "--log-level", type=str.upper, choices=LOG_LEVELS, help="override the config's log_level"
    )
    run.add_argument(
        "--start-at",
        type=iso_time,
        default=None,
        help="ISO date-time the clock starts at, e.g. 2026-01-05T22:30 (for testing)",
    )
    run.add_argument(
        "--speed", type=positive_float, default=1.0, help="clock speed above 0 (default 1)"
    )
    run.set_defaults(func=cmd_run)


def _add_check_config(sub: Any) -> None:
    """`sleepenv check-config FILE`."""
    check = sub.add_parser("check-config", help="validate a config file (exit 2 on problems)")
    check.add_argument("file", help="YAML config file")
    check.set_defaults(func=cmd_check_config)


def _add_analyze(sub: Any) -> None:
    """`sleepenv analyze RECORDING`."""
    analyze = sub.add_parser("analyze", help="analyse a recording (JSON lines) offline")
    analyze.add_argument("recording", help="recording file written by `sleepenv record`")
    analyze.add_argument("--json", action="store_true", help="print the result as JSON")
    analyze.add_argument("--compact", action="store_true", help="JSON on one line")
    analyze.set_defaults(func=cmd_analyze)


def _add_record(sub: Any) -> None:
    """`sleepenv record`: a live topic to JSON lines."""
    record = sub.add_parser("record", help="record a topic from a live broker to JSON lines")
    record.add_argument(
        "--topic",
        action="append",
        required=True,
        help="topic to record (repeatable; wildcards allowed)",
    )
    record.add_argument("--out", required=True, help="output file (appended to)")
    record.add_argument("--config", help="take the broker from this config")
    record.add_argument("--host", default=None, help="broker host (default localhost)")
    record.add_argument("--port", type=int, default=None, help="broker port (default 1883)")
    record.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    record.add_argument("--count", type=int, default=None, help="stop after N messages")
    record.set_defaults(func=cmd_record)


def _add_history(sub: Any) -> None:
    """`sleepenv history`: the last nights."""
    history = sub.add_parser("history", help="table of the last nights from the store")
    history.add_argument("--config", help="config file (for the data directory)")
    history.add_argument("--data-dir", help="data directory (overrides the config)")
    history.add_argument("--bed", default=None, help="only this bed")
    history.add_argument("--nights", type=int, default=14, help="how many nights (default 14)")
    history.set_defaults(func=cmd_history)


def _add_healthcheck(sub: Any) -> None:
    """`sleepenv healthcheck`: for containers."""
    health = sub.add_parser(
        "healthcheck", help="exit 0 if the service is connected, subscribed and storing"
    )
    health.add_argument("--config", help="config file (for the data directory)")
    health.set_defaults(func=cmd_healthcheck)


def _add_report(sub: Any) -> None:
    report = sub.add_parser("report", help="draw a stored night (or --nights N) as a PNG chart")
    report_command.add_arguments(report)
    report.set_defaults(func=cmd_report)


def _add_insights(sub: Any) -> None:
    insights = sub.add_parser(
        "insights", help="which habits go with which nights (--demo: simulated nights)"
    )
    insights_command.add_arguments(insights)
    insights.set_defaults(func=cmd_insights)


def _add_evaluate(sub: Any) -> None:
    ev = sub.add_parser("evaluate", help="score detection against synthetic nights")
    evaluation_command.add_arguments(ev)
    ev.set_defaults(func=cmd_evaluate)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sleepenv` command."""
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit with a traceback
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `sleepenv plan --json | head`: the reader has what it wanted. Quiet, like other
        # Unix tools, with the shell's code for SIGPIPE; stdout goes to /dev/null so the
        # interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    return code
