"""The composition root: everything the service runs, built from the settings and a clock.

Read top to bottom: where the data lives and who we are on the broker, the outbox and its
publisher, the store (opened here), guidance and the bed runner, the service around them,
and last what is read back from disk (guidance's switches, every bed's stored state).
Constructors only take their collaborators; the I/O happens here, in that order. The
offline `analyze` builds its bed runner with the same `bed.runner.build`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sleepenv.bed import discovery
from sleepenv.bed import runner as bed_runner
from sleepenv.bed.core.model import MovementEvent
from sleepenv.bed.store import StorageError, Store
from sleepenv.clock import Clock, RealClock
from sleepenv.config.environment import UnknownZoneError, resolve_zone
from sleepenv.config.settings import ConfigError, Settings, is_addon
from sleepenv.guidance.build import core_config
from sleepenv.guidance.core.buttons import PRESS_WINDOW_AFTER_BEDTIME
from sleepenv.guidance.core.timeline import base_plan
from sleepenv.guidance.devices.homeassistant import api_access
from sleepenv.guidance.runner import GuidanceHooks, GuidanceRunner
from sleepenv.health import Health
from sleepenv.insights.core.evening import EveningPlan
from sleepenv.insights.publisher import InsightPublisher
from sleepenv.insights.recorder import FactorRecorder
from sleepenv.mqtt.intake import DEFAULT_CLIENT_ID, Intake, default_client_id
from sleepenv.mqtt.outbox import Outbox
from sleepenv.mqtt.publisher import Publisher
from sleepenv.service import Service

# The service's start and stop lines keep the logger name they always had.
log = logging.getLogger("sleepenv.service")

DATABASE_FILE = "sleepenv.db"
SWITCHES_FILE = "guidance-switches.json"


@dataclass(frozen=True, slots=True)
class Hooks:
    """Who else hears what the service does (the demo's console, the tests)."""

    on_event: Callable[[str, MovementEvent], None] | None = None
    guidance: GuidanceHooks | None = None


def build_service(
    settings: Settings, clock: Clock | None = None, hooks: Hooks | None = None
) -> Service:
    """The whole service, its store open and its state restored; StorageError if the
    database cannot be opened."""
    clock = clock or RealClock()
    hooks = hooks or Hooks()
    data = data_dir(settings)
    intake = Intake()
    health = Health()
    # States and events go out as soon as they exist, coalesced only while the link is
    # busy (see mqtt/publisher.py).
    publisher = Publisher()
    store = Store(data / DATABASE_FILE)
    insights = build_insights(settings, store, publisher.outbox)
    factors = build_factors(settings, store, insights)
    guidance = build_guidance(
        settings, clock, publisher.outbox, store, intake, data, hooks, factors
    )
    bed = bed_runner.build(
        settings,
        timezones(settings),
        store,
        publisher.outbox,
        clock,
        listeners=[x for x in (guidance, factors) if x is not None],
        on_event=hooks.on_event,
    )
    service = Service(
        settings,
        clock,
        bed=bed,
        store=store,
        publisher=publisher,
        intake=intake,
        health=health,
        guidance=guidance,
        data_dir=data,
        client_id=client_id(settings, data),
        insights=insights,
    )
    # What is read back from disk, in this order: the switches first, so that guidance
    # hears the restored beds with the user's last choice.
    if guidance is not None:
        guidance.load_switches()
    bed.restore()
    for b in settings.beds:  # worked out once connected, from what was just restored
        insights.want(b.id)
    return service


def build_guidance(
    settings: Settings,
    clock: Clock,
    outbox: Outbox,
    store: Store,
    intake: Intake,
    data: Path,
    hooks: Hooks,
    factors: FactorRecorder | None = None,
) -> GuidanceRunner | None:
    """The guidance runner, when guidance is configured (its switches not read yet)."""
    if settings.guidance is None:
        return None
    return GuidanceRunner(
        settings,
        bedroom_timezones(settings),
        clock,
        outbox,
        data / SWITCHES_FILE,
        intake,
        hooks.guidance or GuidanceHooks(),
        on_screen_minutes=store.save_screen_minutes,
        ha_access=api_access(settings.guidance.homeassistant),
        evenings=factors,
    )


def rooms_of_bed(settings: Settings) -> dict[str, list[str]]:
    """The guidance bedrooms that follow each bed (their `bed:` setting)."""
    rooms: dict[str, list[str]] = {}
    for room in settings.guidance.bedrooms if settings.guidance is not None else []:
        if room.bed is not None:
            rooms.setdefault(room.bed, []).append(room.id)
    return rooms


def build_insights(settings: Settings, store: Store, outbox: Outbox) -> InsightPublisher:
    """Each bed's insight sensor, published retained on the bed's insight topic."""

    def publish(bed_id: str, payload: bytes) -> None:
        outbox.state(discovery.insight_topic(settings.mqtt, bed_id), payload)

    return InsightPublisher(store, rooms_of_bed(settings), publish)


def build_factors(
    settings: Settings, store: Store, insights: InsightPublisher
) -> FactorRecorder | None:
    """The insights' factor recorder: each bedroom's evening, closed with its bed's night."""
    if settings.guidance is None:
        return None
    return FactorRecorder(store, rooms_of_bed(settings), evening_plans(settings), insights.want)


def evening_plans(settings: Settings) -> Callable[[str, str], EveningPlan]:
    """A bedroom's plan of an evening for its stored factors, from the same config the
    guidance runs on: the bedtime, the caffeine cut-off and the bedroom's late-exercise
    hours (`habits.late_exercise_hours`) that the Note's answer to a press uses too."""
    guidance = settings.guidance
    tzs = bedroom_timezones(settings)
    configs = (
        {r.id: core_config(guidance, r, tzs[r.id]) for r in guidance.bedrooms}
        if guidance is not None
        else {}
    )

    def plan_of(room: str, evening: str) -> EveningPlan:
        config = configs[room]
        plan = base_plan(config, date.fromisoformat(evening))
        return EveningPlan(
            bedtime_at=plan.bedtime_at,
            caffeine_cutoff_at=plan.caffeine_at,
            exercise_hours=config.late_exercise_hours,
            press_window_seconds=PRESS_WINDOW_AFTER_BEDTIME,
        )

    return plan_of


def run_forever(settings: Settings, clock: Clock | None = None) -> None:
    """Run the service until SIGTERM or SIGINT."""

    async def main() -> str | None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            service = build_service(settings, clock)
        except StorageError as exc:
            return str(exc)
        log.info("sleepenv started; data in %s", service.data_dir)
        await service.run(stop)
        log.info("stopped cleanly")
        return None

    problem = asyncio.run(main())
    if problem is not None:
        # Nothing sensible can run without a usable database: one line, exit once.
        log.error("%s", problem)
        raise SystemExit(1)


# -- what the settings leave to the machine ----------------------------------------------


def data_dir(settings: Settings) -> Path:
    """The configured data dir, /data in the add-on, else the platform's user data dir."""
    if settings.storage.data_dir is not None:
        return settings.storage.data_dir
    if is_addon():
        return Path("/data")
    import platformdirs  # noqa: PLC0415 - ~0.3 MiB that a configured data dir does not need

    return Path(platformdirs.user_data_dir("sleepenv", appauthor=False))


def client_id(settings: Settings, data: Path) -> str:
    """The configured MQTT client id, else one unique to this host and data dir.

    The old default `sleepenv`, still written in many configs, counts as unset: two
    installations with it kicked each other off the broker.
    """
    configured = settings.mqtt.client_id
    if "client_id" in settings.mqtt.model_fields_set and configured != DEFAULT_CLIENT_ID:
        return configured
    return default_client_id(socket.gethostname(), data)


def host_timezone() -> tzinfo:
    """The host's IANA zone (TZ, /etc/timezone, /etc/localtime), else its fixed offset."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    with contextlib.suppress(OSError):
        link = str(Path("/etc/localtime").readlink())
        candidates.append(link.split("zoneinfo/", 1)[-1])
    for name in candidates:
        if name:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                return ZoneInfo(name)
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def timezones(settings: Settings) -> dict[str, tzinfo]:
    """Each bed's time zone; ConfigError naming the YAML path for an unknown zone."""
    zones: dict[str, tzinfo] = {}
    problems = []
    for i, bed in enumerate(settings.beds):
        if bed.timezone is None:
            zones[bed.id] = host_timezone()
            continue
        try:
            zones[bed.id] = resolve_zone(bed.timezone, f"beds[{i}]")
        except UnknownZoneError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return zones


def bedroom_timezones(settings: Settings) -> dict[str, tzinfo]:
    """Each guidance bedroom's time zone, like `timezones` does for beds (and its bed)."""
    zones: dict[str, tzinfo] = {}
    problems = []
    rooms = settings.guidance.bedrooms if settings.guidance else []
    beds = [b.id for b in settings.beds]
    for i, room in enumerate(rooms):
        if room.bed is not None and room.bed not in beds:
            problems.append(
                f"guidance.bedrooms[{i}].bed: no bed {room.bed!r} in beds "
                f"(allowed: {', '.join(beds)})"
            )
        where = f"guidance.bedrooms[{i}]"
        try:
            zones[room.id] = (
                resolve_zone(room.timezone, where) if room.timezone else host_timezone()
            )
        except UnknownZoneError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return zones


def check_environment(settings: Settings) -> list[str]:
    """Problems only visible with I/O: time zones and TLS files."""
    problems: list[str] = []
    for resolve in (timezones, bedroom_timezones):
        try:
            resolve(settings)
        except ConfigError as exc:
            problems += exc.problems
    tls = settings.mqtt.tls
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(tls, name)
        if tls.enabled and path is not None and not Path(path).is_file():
            problems.append(f"mqtt.tls.{name}: file not found: {path}")
    return problems
