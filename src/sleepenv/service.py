"""Composition root: builds adapters and core from the settings and runs them in one TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiomqtt
import platformdirs

from sleepenv.bed import discovery
from sleepenv.bed.core.model import MovementEvent, NightSummary
from sleepenv.bed.core.states import UNSET, BedStates
from sleepenv.bed.core.tracker import BedTracker, Update
from sleepenv.bed.pipeline import Pipeline
from sleepenv.bed.store import StorageError, Store
from sleepenv.clock import Clock, RealClock
from sleepenv.config.environment import UnknownZoneError, resolve_zone
from sleepenv.config.settings import ConfigError, Settings, is_addon
from sleepenv.guidance.runner import GuidanceRunner
from sleepenv.health import HEARTBEAT_FILE, Health, write_heartbeat
from sleepenv.mqtt.backoff import Backoff
from sleepenv.mqtt.client import (
    ack,
    ensure_nodelay,
    has_queued,
    make_client,
    refused,
)
from sleepenv.mqtt.intake import (
    DEFAULT_CLIENT_ID,
    TAKEOVER_WINDOW_SECONDS,
    Intake,
    TakeoverWatch,
    bounded_queue_type,
    clip,
    default_client_id,
)
from sleepenv.mqtt.publisher import Publisher
from sleepenv.mqtt.publisher import counters as publisher_counters
from sleepenv.rejection import Rejection
from sleepenv.report import entity as chart_entity

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
TICK_SECONDS = 5.0  # the ticker's longest sleep (clock time)
CHECKPOINT_SECONDS = 2.0
# Messages are acknowledged once what they changed is stored: after at most this many
# (below Mosquitto's default of 20 unacknowledged messages in flight per client), or
# as soon as the receive queue is empty.
ACK_BATCH = 10
# ... and, while messages stream in faster than this apart, not more often than this: a
# store checkpoint per message cost more than the detection (the demo's 1000x night fell
# hours behind its clock); the housekeeping loop acknowledges whatever is left.
ACK_IDLE_SECONDS = 0.5
RESUBSCRIBE_SECONDS = 60.0
HA_STATUS_SUFFIX = "/status"


def data_dir(settings: Settings) -> Path:
    """The configured data dir, /data in the add-on, else the platform's user data dir."""
    if settings.storage.data_dir is not None:
        return settings.storage.data_dir
    if is_addon():
        return Path("/data")
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


def _is_open(night: NightSummary, tracker: BedTracker, now: float) -> bool:
    """Whether a stored night is over by `now` but was never closed.

    A closed night is stored with its window's end; a running one with the time of its
    last update, which is earlier.
    """
    try:
        start, end = tracker.window.bounds(date.fromisoformat(night.night))
    except ValueError:
        return False
    # Only a night this tracker stored (it starts at its window's start) is replayed.
    is_ours = abs(night.start - start) < 1.0
    return is_ours and now >= end and (night.end is None or night.end < end - 1.0)


class Service:
    """The long-running service: MQTT in, core decisions, MQTT and SQLite out."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        """Open the store and restore every bed's state from it."""
        self.settings = settings
        self.clock = clock or RealClock()
        self.beds = {b.id: b for b in settings.beds}
        self.data_dir = data_dir(settings)
        self.client_id = client_id(settings, self.data_dir)
        self.intake = Intake()
        self.health = Health()
        self._unacked: list[aiomqtt.Message] = []
        self._acked_at = 0.0
        self._refused: list[tuple[str, int]] = []  # subscriptions the broker refused
        self._last_intake: dict[str, Any] | None = None
        self.store = Store(self.data_dir / "sleepenv.db")
        self.pipeline = Pipeline(settings, timezones(settings))
        self.entities = {b.id: discovery.entities(b) for b in settings.beds}
        # States and events go out as soon as they exist, coalesced only while the link
        # is busy (see mqtt/publisher.py).
        self.publisher = Publisher()
        self._client: aiomqtt.Client | None = None
        self.is_connected = asyncio.Event()
        self.on_event: Callable[[str, MovementEvent], None] | None = None
        self._rediscover = asyncio.Event()
        # Home Assistant birth messages answered with discovery and states (the log line
        # about them is rate-limited, this count is not).
        self.rediscoveries = 0
        self._stopping = False
        self._closing = False
        self._last_diagnostics: dict[str, dict[str, int]] = {}
        self._onsets: dict[str, float] = {}  # sleep onset last passed on to guidance
        self._discovery_topics: set[str] = set()
        # The chart entity: the night each bed's chart is due for, and the PNG last drawn,
        # kept to answer Home Assistant's birth without drawing again.
        self._charts_due: dict[str, NightSummary] = {}
        self._chart_wanted = asyncio.Event()
        self._charts: dict[str, bytes] = {}
        self.chart_failures = 0  # charts that could not be drawn (logged, rate-limited)
        self.guidance: GuidanceRunner | None = None
        if settings.guidance is not None:
            self.guidance = GuidanceRunner(
                settings,
                bedroom_timezones(settings),
                self.clock,
                self,
                self.data_dir / "guidance-switches.json",
                self.intake,
            )
            self.guidance.on_screen_minutes = self.store.save_screen_minutes
        self._restore()

    # -- state --------------------------------------------------------------------

    def _restore(self) -> None:
        now = self.clock.now()
        for bed_id, tracker in self.pipeline.trackers.items():
            self._close_missed_night(bed_id, now)
            night = tracker.window.night_of(now)
            events = self.store.events(bed_id, night.isoformat()) if night else []
            tonight = night.isoformat() if night else None
            nights = [n for n in self.store.nights(bed_id, 8) if n.night != tonight]
            update = tracker.restore(
                now,
                events,
                self.store.cursors(bed_id),
                self.store.counters(bed_id),
                nights[0] if nights else None,
                history=nights,
                levels=self.store.levels(bed_id, tonight) if tonight else None,
            )
            self._apply(bed_id, update)
            if bed_id not in self._charts_due and tracker.last_night is not None:
                self._want_chart(bed_id, tracker.last_night)

    def _want_chart(self, bed_id: str, night: NightSummary) -> None:
        """Draw this night's chart for the bed's image entity (the charter task does it)."""
        self._charts_due[bed_id] = night
        self._chart_wanted.set()

    def _close_missed_night(self, bed_id: str, now: float) -> None:
        """Close the stored night that ended while the service was down.

        The tracker closes a night when a tick crosses its end; a restart after the end
        never saw that tick, so the night kept its provisional labels and never became
        "last night". Replay it up to its end, then let a tick close it as usual.
        """
        tracker = self.pipeline.trackers[bed_id]
        stored = self.store.nights(bed_id, 9)
        if not stored or not _is_open(stored[0], tracker, now):
            return
        last = stored[0]
        night_end = tracker.window.bounds(date.fromisoformat(last.night))[1]
        update = tracker.restore(
            night_end - 0.001,
            self.store.events(bed_id, last.night),
            self.store.cursors(bed_id),
            self.store.counters(bed_id),
            stored[1] if len(stored) > 1 else None,
            history=stored[1:],
            levels=self.store.levels(bed_id, last.night),
        )
        update.merge(tracker.tick(now))
        log.info("closing night %s of bed %s: it ended while sleepenv was down", last.night, bed_id)
        self._apply(bed_id, update)

    def _apply(self, bed_id: str, update: Update) -> None:
        """Persist and queue what an update changed."""
        tracker = self.pipeline.trackers[bed_id]
        night = tracker.night.isoformat() if tracker.night else "day"
        if update.levels:  # recorded only inside a night
            self.store.add_levels(bed_id, night, update.levels)
        if update.closed_night is not None:
            self.store.save_night(update.closed_night)
            self.store.forget_levels(bed_id, night)  # only a running night needs them
            if update.final_events is not None:
                # Live labels were provisional: the stored night ends with the final ones.
                self.store.relabel_night(bed_id, update.closed_night.night, update.final_events)
            log.info(
                "night %s for bed %s closed: %d movements",
                update.closed_night.night,
                bed_id,
                update.closed_night.total_movements,
            )
            self._want_chart(bed_id, update.closed_night)
        for event in update.events:
            if self.store.add_event(bed_id, night, event):
                topic = discovery.event_topic(self.settings.mqtt, bed_id)
                self.publisher.message(topic, discovery.encode_event(event))
                if self.on_event is not None:
                    self.on_event(bed_id, event)
                if self.guidance is not None:
                    self.guidance.on_bed_movement(bed_id, event.onset)
        if update.events and tracker.night is not None:
            self.store.save_night(tracker.summary(self.clock.now()))
        onset = update.states.sleep_onset
        if (
            self.guidance is not None
            and onset is not None
            and onset is not UNSET
            and onset != self._onsets.get(bed_id)
        ):
            self._onsets[bed_id] = onset
            self.guidance.on_bed_asleep(bed_id)
        # counts_reset_at is set by restore, which runs before any update is applied.
        for topic, payload in discovery.state_messages(
            self.settings.mqtt,
            bed_id,
            self.entities[bed_id],
            update.states,
            tracker.counts_reset_at,
        ):
            self.publisher.state(topic, payload)

    def _mark_all_dirty(self) -> None:
        now = self.clock.now()
        self.publisher.forget_sent()
        for bed_id, tracker in self.pipeline.trackers.items():
            self._apply(bed_id, Update(states=tracker.states(now)))
        self._last_intake = None
        self._queue_intake()
        for bed_id, png in self._charts.items():
            self.publisher.state(discovery.chart_topic(self.settings.mqtt, bed_id), png)

    def _queue_intake(self) -> None:
        """Publish the service-wide counters when they changed."""
        snapshot = {**self.intake.snapshot(), **publisher_counters(self.publisher)}
        if snapshot != self._last_intake:
            self._last_intake = snapshot
            topic = discovery.diagnostics_topic(self.settings.mqtt)
            self.publisher.state(topic, json.dumps(snapshot).encode())

    def queue_message(self, topic: str, payload: bytes) -> None:
        """Publish once, in order (guidance commands and reminders)."""
        self.publisher.message(topic, payload)

    def queue_state(self, topic: str, payload: bytes) -> None:
        """Publish retained, coalesced per topic while the link is busy."""
        self.publisher.state(topic, payload)

    def handle_message(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """One incoming MQTT message (sensor data, sensor status or HA's birth); never raises
        on its content: what is unusable is counted and logged, rate-limited."""
        if topic == self._ha_status_topic:
            self._on_ha_status(topic, payload)
            return
        if self._is_discovery_topic(topic):
            stale = discovery.check_discovery(
                self.settings.mqtt, self._discovery_topics, topic, payload
            )
            if isinstance(stale, Rejection):
                self.intake.reject("discovery", topic, stale)
            elif stale:
                self.intake.rate_log.info(
                    "clear discovery",
                    "clearing retained discovery of an older layout: %s",
                    clip(topic),
                )
                self.publisher.state(topic, b"")
            return
        if self.guidance is not None and self.guidance.handle(topic, payload, retain):
            return
        result = self.pipeline.handle(topic, payload, self.clock.now())
        if result is not None:
            self._apply(*result)

    def _on_ha_status(self, topic: str, payload: bytes) -> None:
        if payload == b"online":
            self.intake.rate_log.info(
                "ha online", "Home Assistant came online: republishing discovery and states"
            )
            self._rediscover.set()
        elif payload != b"offline":
            detail = f"expected online or offline, got {clip(payload)!r}"
            self.intake.reject("status", topic, Rejection("bad_status", detail))

    def _is_discovery_topic(self, topic: str) -> bool:
        return topic.startswith(self.settings.mqtt.discovery_prefix + "/") and topic.endswith(
            "/config"
        )

    @property
    def _ha_status_topic(self) -> str:
        return self.settings.mqtt.discovery_prefix + HA_STATUS_SUFFIX

    # -- tasks ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then publish `offline` and return."""
        async with asyncio.TaskGroup() as tg:
            mqtt_task = tg.create_task(self._mqtt_loop(), name="mqtt")
            workers = [
                tg.create_task(self._ticker(), name="ticker"),
                tg.create_task(self._rediscoverer(), name="rediscover"),
                tg.create_task(self._charter(), name="charts"),
                tg.create_task(self._housekeeping(), name="housekeeping"),
            ]
            if self.guidance is not None:
                workers.append(tg.create_task(self.guidance.run(), name="guidance"))
            await stop.wait()
            log.info("stopping")
            self._stopping = True
            # Workers first, so the last flush and `offline` go out on a live connection.
            for task in workers:
                task.cancel()
            await asyncio.wait(workers, timeout=2)
            await self._shutdown()
            self._closing = True
            mqtt_task.cancel()
        self.store.close()

    async def _shutdown(self) -> None:
        self._checkpoint()
        client = self._client
        if client is None:
            return
        self._ack_stored(client)
        with contextlib.suppress(aiomqtt.MqttError, asyncio.TimeoutError):
            async with asyncio.timeout(3):
                await self.publisher.drain()
                await client.publish(
                    discovery.status_topic(self.settings.mqtt), b"offline", qos=1, retain=True
                )

    async def _mqtt_loop(self) -> None:
        backoff = Backoff()
        outage_since: float | None = None
        mqtt = self.settings.mqtt
        takeover = TakeoverWatch(self.client_id)
        queue_type = bounded_queue_type(self.intake)
        status = discovery.status_topic(mqtt)
        while not self._closing:
            connected_at: float | None = None
            try:
                async with make_client(
                    mqtt, status, client_id=self.client_id, queue_type=queue_type,
                    is_persistent=True,
                ) as client:  # fmt: skip
                    connected_at = time.monotonic()
                    self.health.mqtt_problem = None
                    if outage_since is not None and not takeover.is_looping:
                        log.info("broker back after %.0f s", time.monotonic() - outage_since)
                    outage_since = None
                    if not takeover.is_looping:
                        backoff.reset()
                    await self._on_connect(client, quiet=takeover.is_looping)
                    if self._closing:
                        # A cancellation swallowed by a publish (Python 3.11 wait_for).
                        return
                    async for message in client.messages:
                        payload = message.payload
                        if not isinstance(payload, bytes | bytearray):
                            payload = str(payload).encode()
                        self.handle_message(str(message.topic), bytes(payload), message.retain)
                        self._unacked.append(message)
                        if len(self._unacked) >= ACK_BATCH or (
                            not has_queued(client)
                            and time.monotonic() - self._acked_at >= ACK_IDLE_SECONDS
                        ):
                            self._ack_stored(client)
            except aiomqtt.MqttError as exc:
                self._client = None
                self.publisher.detach()
                self.is_connected.clear()
                # The broker sends these again (persistent session): the cursors and the
                # stored events keep them from counting twice.
                self._unacked.clear()
                self._raise_if_stopping(exc)
                self.health.mqtt_problem = (
                    f"not connected to the MQTT broker {mqtt.host}:{mqtt.port}: {exc}"
                )
                if connected_at is not None:
                    self._on_disconnect(takeover, time.monotonic() - connected_at)
                if outage_since is None:
                    outage_since = time.monotonic()
                    log.log(
                        logging.DEBUG if takeover.is_looping else logging.WARNING,
                        "MQTT broker %s:%d unreachable (%s); retrying with backoff",
                        mqtt.host,
                        mqtt.port,
                        exc,
                    )
                # Takeover loops keep the doubling schedule; a plain outage is retried
                # in proportion to its length, so a restarted broker is found promptly.
                outage = None if takeover.is_looping else time.monotonic() - outage_since
                await asyncio.sleep(backoff.next_delay(outage))

    def _ack_stored(self, client: aiomqtt.Client) -> None:
        """Store cursors and counters, then acknowledge the messages they cover.

        Events are stored as they are detected; with the checkpoint, everything an
        acknowledged message changed is on disk (or, during a storage fault, buffered in
        memory). Unacknowledged messages come back after a crash (persistent session).
        """
        if not self._unacked:
            return
        self._persist_progress()
        for message in self._unacked:
            ack(client, message)
        self._unacked.clear()
        self._acked_at = time.monotonic()

    def _on_disconnect(self, takeover: TakeoverWatch, connected_seconds: float) -> None:
        """Warn once when the broker keeps dropping us right after we connect."""
        is_new = takeover.on_disconnect(connected_seconds, time.monotonic())
        if takeover.is_looping:
            self.intake.takeovers += 1
        if is_new:
            log.warning(
                "the broker disconnected sleepenv right after connecting, repeatedly (within "
                "%.0f s): another MQTT client is probably using the same client id %r, e.g. a "
                "second sleepenv. Give each instance its own mqtt.client_id. Reconnecting more "
                "slowly until a connection holds.",
                TAKEOVER_WINDOW_SECONDS,
                self.client_id,
            )

    async def _on_connect(self, client: aiomqtt.Client, quiet: bool = False) -> None:
        mqtt = self.settings.mqtt
        # Known to the shutdown path from the first moment, so a SIGTERM that arrives
        # while we announce ourselves still ends with a retained `offline`.
        self._client = client
        await client.publish(discovery.status_topic(mqtt), b"online", qos=1, retain=True)
        await self._publish_discovery(client)
        if not ensure_nodelay(client):
            log.debug("TCP_NODELAY not available on this connection")
        # States and events queued meanwhile (and those of `_publish_discovery`) go now.
        self.publisher.attach(client)
        # Sensor data at QoS 1: the persistent session queues it while we are away and
        # it is acknowledged once stored. Everything else at QoS 0, which Mosquitto does
        # not queue for an absent client: a command sent while sleepenv was down must not
        # act when it comes back (a retained copy still arrives, flagged, and is refused).
        topics = [(t, 1) for t in self.pipeline.topics()] + [(self._ha_status_topic, 0)]
        if self.guidance is not None:
            topics += [(t, 0) for t in self.guidance.topics()]
        # Retained configs of an older layout (or a removed bed) come back here and are
        # cleared, so Home Assistant ends up with exactly the current entities.
        topics += [(t, 0) for t in discovery.discovery_filters(mqtt)]
        await self._subscribe(client, topics)
        if self.guidance is not None:
            for topic, payload in self.guidance.state_requests():
                await client.publish(topic, payload, qos=1)
            self.guidance.connected.set()
        self.is_connected.set()
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "connected to MQTT broker %s:%d as %s",
            mqtt.host,
            mqtt.port,
            self.client_id,
        )

    async def _subscribe(self, client: aiomqtt.Client, topics: list[tuple[str, int]]) -> None:
        """Subscribe and note what the broker refused (SUBACK failure)."""
        codes = await client.subscribe(topics)
        denied = refused([t for t, _ in topics], list(codes))
        self._refused = [(t, q) for t, q in topics if t in denied]
        if denied and denied != self.health.refused_topics:
            log.error(
                "the MQTT broker refused the subscription to %s: check the broker's ACL for "
                "user %r; retrying every %.0f s",
                ", ".join(denied),
                self.settings.mqtt.username or "(anonymous)",
                RESUBSCRIBE_SECONDS,
            )
        elif self.health.refused_topics and not denied:
            log.warning("the MQTT broker now accepts every subscription")
        self.health.refused_topics = denied

    async def _publish_discovery(self, client: aiomqtt.Client) -> None:
        mqtt = self.settings.mqtt
        # A bed lands in the area of the guidance bedroom that follows it, if any.
        rooms = self.settings.guidance.bedrooms if self.settings.guidance else []
        areas = {r.bed: r.name for r in rooms if r.bed is not None}
        for bed_id, bed in self.beds.items():
            topic, payload = discovery.bed_discovery(
                mqtt, bed, areas.get(bed_id, discovery.DEFAULT_AREA)
            )
            self._discovery_topics.add(topic)
            await client.publish(topic, json.dumps(payload).encode(), qos=1, retain=True)
            tracker = self.pipeline.trackers[bed_id]
            attrs = discovery.bed_attributes(bed, tracker.is_lower_bound)
            await client.publish(
                discovery.attributes_topic(mqtt, bed_id), json.dumps(attrs).encode(), retain=True
            )
        if self.guidance is not None:
            for room_topic, room_payload in self.guidance.discovery():
                # Current discovery: never cleared as an older layout.
                self._discovery_topics.add(room_topic)
                await client.publish(room_topic, room_payload, qos=1, retain=True)
        self._mark_all_dirty()

    def _raise_if_stopping(self, exc: Exception) -> None:
        """aiomqtt can turn a cancellation into an MqttError; never retry through a stop."""
        task = asyncio.current_task()
        if self._stopping or (task is not None and task.cancelling()):
            raise asyncio.CancelledError from exc

    async def _rediscoverer(self) -> None:
        """Answer Home Assistant's birth with discovery and every state."""
        # Python 3.11's wait_for can swallow a cancellation mid-publish: the flag ends it.
        while not self._stopping:
            await self._rediscover.wait()
            self._rediscover.clear()
            client = self._client
            if client is None:
                continue  # the next connection publishes discovery anyway
            try:
                await self._publish_discovery(client)
                self.rediscoveries += 1
            except aiomqtt.MqttError as exc:
                self._raise_if_stopping(exc)
                log.debug("discovery not published, will be after reconnect: %s", exc)

    async def _charter(self) -> None:
        """Draw each due chart in a child process and publish it retained."""
        # Connected first: drawing (and starting its process) never delays the start.
        await self.is_connected.wait()
        # A child still drawing when the service stops is killed by the cancellation.
        renderer = chart_entity.Renderer()
        while not self._stopping:
            while self._charts_due:
                bed_id, night = self._charts_due.popitem()
                await self._publish_chart(renderer, bed_id, night)
            await self._chart_wanted.wait()
            self._chart_wanted.clear()

    async def _publish_chart(
        self, renderer: chart_entity.Renderer, bed_id: str, night: NightSummary
    ) -> None:
        """Draw one night's chart and publish it; a failure is logged and counted."""
        bed = self.beds[bed_id]
        rooms = self.settings.guidance.bedrooms if self.settings.guidance else []
        room = next((r.id for r in rooms if r.bed == bed_id), None)
        tz = self.pipeline.trackers[bed_id].window.tz
        try:
            chart_night = chart_entity.gather(self.store, bed, night, tz, room)
            png = await renderer.render(chart_night)
        except Exception as exc:  # any failure: a chart is never worth the service
            self.chart_failures += 1
            self.intake.rate_log.warning(
                "chart",
                "cannot draw the chart of night %s of bed %s (%d failed so far): %r",
                night.night,
                bed_id,
                self.chart_failures,
                exc,
            )
            return
        self._charts[bed_id] = png
        self.publisher.state(discovery.chart_topic(self.settings.mqtt, bed_id), png)
        log.debug("chart of night %s of bed %s published (%d bytes)", night.night, bed_id, len(png))

    async def _ticker(self) -> None:
        while True:
            now = self.clock.now()
            # Frames arriving meanwhile move wake_at (a sensor falling silent is due 15 s
            # after its last frame), so the ticker looks again at least every TICK_SECONDS.
            await self.clock.sleep_until(min(self.pipeline.wake_at(now), now + TICK_SECONDS))
            for bed_id, update in self.pipeline.tick(self.clock.now()):
                self._apply(bed_id, update)

    async def _housekeeping(self) -> None:
        heartbeat = self.data_dir / HEARTBEAT_FILE
        last_beat = last_subscribe = 0.0
        beat_problem: str | None = None
        last_problems: list[str] = []
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            self._check_storage()
            self._checkpoint()
            client = self._client
            if client is not None and self._unacked:
                with contextlib.suppress(aiomqtt.MqttError):
                    self._ack_stored(client)
            if (
                client is not None
                and self.health.refused_topics
                and time.monotonic() - last_subscribe >= RESUBSCRIBE_SECONDS
            ):
                last_subscribe = time.monotonic()
                with contextlib.suppress(aiomqtt.MqttError):
                    await self._subscribe(client, self._refused)
            problems = self.health.problems()
            if (
                time.monotonic() - last_beat >= HEARTBEAT_SECONDS
                or beat_problem
                or problems != last_problems
            ):
                last_beat, last_problems = time.monotonic(), problems
                beat_problem = self._beat(heartbeat, beat_problem)

    def _beat(self, heartbeat: Path, problem: str | None) -> str | None:
        """Write the heartbeat; log once when it fails and once when it works again."""
        try:
            write_heartbeat(heartbeat, self.health, time.time())
        except OSError as exc:
            now_problem = f"cannot write the heartbeat file {heartbeat}: {exc.strerror or exc}"
            if problem is None:
                log.error("%s; `sleepenv healthcheck` will report unhealthy", now_problem)
            return now_problem
        if problem is not None:
            log.warning("the heartbeat file %s is written again", heartbeat)
        return None

    def _check_storage(self) -> None:
        """Retry buffered writes; notice a database deleted or replaced under us."""
        store = self.store
        lost = store.check_file() if store.problem is None else None
        if lost is not None:
            log.error(
                "%s: storing again in a new file from now on, with tonight's data so far "
                "from memory; earlier nights are lost. `sleepenv healthcheck` reports this "
                "until sleepenv restarts.",
                lost,
            )
            self.health.incident = lost
            store.reopen()
            self._store_from_memory()
        store.retry()
        self.health.storage_problem = (
            None
            if store.problem is None
            else f"{store.problem} ({store.buffered} writes kept in memory until it works again)"
        )

    def _store_from_memory(self) -> None:
        """Write what the trackers hold of the running night into a fresh database."""
        now = self.clock.now()
        for bed_id, tracker in self.pipeline.trackers.items():
            if tracker.night is None:
                continue
            night = tracker.night.isoformat()
            for event in tracker.tonight:
                self.store.add_event(bed_id, night, event)
            if tracker.levels:
                self.store.add_levels(bed_id, night, tracker.levels)
            self.store.save_night(tracker.summary(now))
            if tracker.last_night is not None:
                self.store.save_night(tracker.last_night)

    def _persist_progress(self) -> None:
        """Store every bed's cursors and counters (a small transaction per bed)."""
        for bed_id, tracker in self.pipeline.trackers.items():
            self.store.checkpoint(bed_id, tracker.cursors(), tracker.diagnostics())

    def _checkpoint(self) -> None:
        self._queue_intake()
        self._persist_progress()
        for bed_id, tracker in self.pipeline.trackers.items():
            diagnostics = tracker.diagnostics()
            if diagnostics != self._last_diagnostics.get(bed_id):
                self._last_diagnostics[bed_id] = diagnostics
                states = BedStates(
                    frames_received=diagnostics["frames_received"],
                    messages_rejected=diagnostics["messages_rejected"],
                )
                self._apply(bed_id, Update(states=states))

    def summary(self) -> dict[str, Any]:
        """Current per-bed summaries (for the demo and logs)."""
        now = self.clock.now()
        return {b: t.summary(now) for b, t in self.pipeline.trackers.items()}


def run_forever(settings: Settings, clock: Clock | None = None) -> None:
    """Run the service until SIGTERM or SIGINT."""

    async def main() -> str | None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            service = Service(settings, clock)
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
