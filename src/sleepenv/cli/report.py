"""`sleepenv report`: render a stored night, a trend over nights, or a recording as PNG."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from sleepenv.bed.core.model import NightSummary
from sleepenv.bed.core.night import NightWindow
from sleepenv.cli.common import data_dir_for, load_or_exit
from sleepenv.config.settings import BedSettings, NightSettings, Settings

if TYPE_CHECKING:
    from sleepenv.bed.store import Store

EXIT_NOTHING = 1  # nothing to render: an empty store, an unknown bed or night
EXIT_CONFIG = 2
MAX_NIGHTS = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The report command's options."""
    parser.add_argument("--config", help="config file (data directory, bed names, time zones)")
    parser.add_argument("--data-dir", help="data directory (overrides the config)")
    parser.add_argument(
        "--bed",
        default=None,
        help="bed id (default: the first with stored nights; with --recording, the config's "
        "bed whose name and time zone the chart uses)",
    )
    parser.add_argument(
        "--night",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the night that started on this local date (default: the latest closed one)",
    )
    parser.add_argument(
        "--nights",
        type=int,
        default=None,
        metavar="N",
        help="a trend chart of the last N nights (per-class counts per night) instead",
    )
    parser.add_argument(
        "--recording",
        default=None,
        metavar="FILE.jsonl",
        help="render a recording (as `sleepenv analyze` reads it) instead of a stored night",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE.png",
        help="where to write the PNG (default: sleepenv-BED-NIGHT.png here)",
    )


def _fail(message: str, code: int = EXIT_NOTHING) -> int:
    print(f"sleepenv: {message}", file=sys.stderr)  # noqa: T201 - a command prints
    return code


def _settings(args: argparse.Namespace) -> Settings | None:
    path = args.config or os.environ.get("SLEEPENV_CONFIG")
    if not path:
        return None
    return load_or_exit(Path(path))


def _zone(settings: Settings | None, bed_id: str | None) -> tzinfo:
    from sleepenv.bootstrap import host_timezone, timezones  # noqa: PLC0415 - the service: ~70 ms

    if settings is not None and bed_id is not None:
        zone = timezones(settings).get(bed_id)
        if zone is not None:
            return zone
    return host_timezone()


def _bed(settings: Settings | None, bed_id: str) -> BedSettings | None:
    beds = settings.beds if settings is not None else []
    return next((b for b in beds if b.id == bed_id), None)


def run(args: argparse.Namespace) -> int:
    """Write the requested chart; 0, or 1 with a message naming what exists."""
    if args.nights is not None and args.nights < 1:
        return _fail("--nights must be at least 1", EXIT_CONFIG)
    if args.recording is not None and (args.nights is not None or args.night is not None):
        return _fail("--recording draws the recording's night: leave out --night and --nights")
    settings = _settings(args)
    if args.recording is not None:
        return _from_recording(args, settings)
    return _from_store(args, settings)


def _write(out: Path, data: bytes, what: str) -> int:
    try:
        out.write_bytes(data)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_CONFIG)
    print(f"wrote {out}: {what}")  # noqa: T201
    return 0


def _from_recording(args: argparse.Namespace, settings: Settings | None) -> int:
    from sleepenv.bed.analyze import analyze_recording  # noqa: PLC0415 - ~35 ms off --help
    from sleepenv.report.chart import render_night  # noqa: PLC0415 - ~18 ms off --help
    from sleepenv.report.night import from_analysis  # noqa: PLC0415 - ~6 ms off --help

    path = Path(args.recording)
    if not path.is_file() or path.stat().st_size == 0:
        return _fail(f"cannot render {path}: not a file with a recording in it", EXIT_CONFIG)
    try:
        doc = analyze_recording(path)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot render {path}: {exc}", EXIT_CONFIG)
    beds = settings.beds if settings is not None else []
    bed = next((b for b in beds if args.bed in (None, b.id)), None)
    if args.bed is not None and bed is None:
        known = ", ".join(b.id for b in beds) or "none: pass --config"
        return _fail(f"no bed {args.bed!r} in the config (beds: {known})", EXIT_CONFIG)
    tz = _zone(settings, bed.id if bed else None)
    night = from_analysis(doc, tz, bed.name if bed else f"Recording {path.name}")
    out = Path(args.out or f"sleepenv-{path.stem}.png")
    return _write(out, render_night(night), f"{len(night.events)} movements from {path}")


def _pick_bed(requested: str | None, stored: list[str], settings: Settings | None) -> str | None:
    if requested is not None:
        return requested if requested in stored else None
    configured = [b.id for b in settings.beds] if settings is not None else []
    return next((b for b in configured if b in stored), stored[0])


def _is_running(night: NightSummary, window: NightWindow, now: float) -> bool:
    """True while `now` is inside the night and before its morning (it cannot have closed)."""
    start, end = window.bounds(date.fromisoformat(night.night))
    morning = window.morning_of(date.fromisoformat(night.night))
    return start <= now < (morning if morning is not None else end)


def _from_store(args: argparse.Namespace, settings: Settings | None) -> int:
    from sleepenv.bed.store import StorageError, Store  # noqa: PLC0415 - SQLite: ~8 ms

    db = data_dir_for(args.data_dir, settings) / "sleepenv.db"
    if not db.is_file():
        return _fail(
            f"no nights stored yet (looked for {db}): the service stores each night as it "
            "runs; `sleepenv report --recording FILE.jsonl` renders a recording instead"
        )
    try:
        store = Store(db)
    except StorageError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    try:
        return _render_stored(args, settings, store)
    finally:
        store.close()


def _pick_night(
    requested: date | None, nights: list[NightSummary], settings: Settings | None, tz: tzinfo
) -> NightSummary | None:
    """The requested night, else the latest one that is not still running (newest first)."""
    if requested is not None:
        return next((n for n in nights if n.night == requested.isoformat()), None)
    n = settings.night if settings is not None else NightSettings()
    window = NightWindow(n.start, n.end, tz, n.morning)
    now = datetime.now(UTC).timestamp()
    closed = [x for x in nights if not _is_running(x, window, now)]
    return closed[0] if closed else nights[0]


def _room_of(bed_id: str, settings: Settings | None, store: Store) -> str | None:
    """The guidance bedroom of the bed: the configured one that follows it, else (without
    a config) the only bedroom with stored evenings."""
    rooms = settings.guidance.bedrooms if settings is not None and settings.guidance else []
    room = next((r.id for r in rooms if r.bed == bed_id), None)
    if room is not None or settings is not None:
        return room
    stored = store.rooms_with_factors()
    return stored[0] if len(stored) == 1 else None


def _render_stored(args: argparse.Namespace, settings: Settings | None, store: Store) -> int:
    from sleepenv.report.chart import render_night, render_trend  # noqa: PLC0415 - ~18 ms
    from sleepenv.report.entity import bedroom_of  # noqa: PLC0415 - ~6 ms off --help
    from sleepenv.report.night import from_store  # noqa: PLC0415 - ~6 ms off --help

    everything = store.nights(None, MAX_NIGHTS)
    stored = sorted({n.bed_id for n in everything})
    if not stored:
        return _fail(f"no nights stored yet in {store.path}")
    bed_id = _pick_bed(args.bed, stored, settings)
    if bed_id is None:
        return _fail(
            f"no nights stored for bed {args.bed!r} (beds with nights: {', '.join(stored)})"
        )
    bed = _bed(settings, bed_id)
    name = bed.name if bed is not None else bed_id
    nights = [n for n in everything if n.bed_id == bed_id]  # newest first
    if args.nights is not None:
        chosen = nights[: args.nights]
        out = Path(args.out or f"sleepenv-{bed_id}-trend.png")
        return _write(out, render_trend(chosen, name), f"{len(chosen)} nights of bed {bed_id}")
    tz = _zone(settings, bed_id)
    summary = _pick_night(args.night, nights, settings, tz)
    if summary is None:
        listed = ", ".join(n.night for n in nights[:10])
        more = f" and {len(nights) - 10} older" if len(nights) > 10 else ""
        return _fail(f"bed {bed_id} has no stored night {args.night} (stored: {listed}{more})")
    screen = evening = None
    room = _room_of(bed_id, settings, store)
    if room is not None:
        screen = store.screen_minutes(room, MAX_NIGHTS).get(summary.night)
        evening = bedroom_of(store, room, summary.night)
    night = from_store(
        summary,
        store.events(bed_id, summary.night),
        tz,
        bed_name=name,
        sensors=len(bed.sensors) if bed is not None else 1,
        screen_minutes=screen,
        bedroom=evening,
    )
    out = Path(args.out or f"sleepenv-{bed_id}-{summary.night}.png")
    what = f"night {summary.night} of bed {bed_id}, {len(night.events)} movements"
    return _write(out, render_night(night), what)
