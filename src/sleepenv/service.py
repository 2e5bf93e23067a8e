"""The long-running service: the MQTT link around the bed runner and guidance.

It connects (retained `online`, discovery, subscriptions), routes what arrives (Home
Assistant's birth, stale discovery configs, guidance's topics, the beds' sensors),
acknowledges sensor messages once what they changed is stored, and reconnects with
backoff; beside it run the ticker, the chart drawer and the housekeeping. `bootstrap.py`
builds it from the settings; nothing here opens a file before `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiomqtt

from sleepenv.bed import discovery
from sleepenv.bed.pipeline import Pipeline
from sleepenv.bed.runner import BedRunner
from sleepenv.bed.store import Store
from sleepenv.chores import Charter, Heartbeat
from sleepenv.clock import Clock
from sleepenv.config.settings import Settings
from sleepenv.guidance.runner import GuidanceRunner
from sleepenv.health import Health
from sleepenv.insights.publisher import InsightPublisher
from sleepenv.mqtt.client import ensure_nodelay
from sleepenv.mqtt.intake import Intake, clip
from sleepenv.mqtt.link import RESUBSCRIBE_SECONDS, Link, raise_if_stopping
from sleepenv.mqtt.outbox import Outgoing
from sleepenv.mqtt.publisher import Publisher
from sleepenv.mqtt.publisher import counters as publisher_counters
from sleepenv.rejection import Rejection
from sleepenv.tasks import cancel_and_wait

log = logging.getLogger(__name__)

TICK_SECONDS = 5.0  # the ticker's longest sleep (clock time)
CHECKPOINT_SECONDS = 2.0
HA_STATUS_SUFFIX = "/status"


class Service:
    """The MQTT link: connect, route, acknowledge, reconnect; and the tasks beside it."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        bed: BedRunner,
        store: Store,
        publisher: Publisher,
        intake: Intake,
        health: Health,
        guidance: GuidanceRunner | None,
        data_dir: Path,
        client_id: str,
        insights: InsightPublisher | None = None,
    ) -> None:
        """Wire the service to its collaborators (see `bootstrap.build_service`)."""
        self.settings = settings
        self.clock = clock
        self.bed = bed
        self.store = store
        self.publisher = publisher
        self.intake = intake
        self.health = health
        self.guidance = guidance
        self.data_dir = data_dir
        self.client_id = client_id
        self.charter = Charter(settings, bed, store, publisher.outbox, intake)
        self.insights = insights
        self.link = Link(
            settings.mqtt, discovery.status_topic(settings.mqtt), client_id, intake, health
        )
        self._last_intake: dict[str, Any] | None = None
        self._client: aiomqtt.Client | None = None
        self.is_connected = asyncio.Event()
        self._rediscover = asyncio.Event()
        # Home Assistant birth messages answered with discovery and states (the log line
        # about them is rate-limited, this count is not).
        self.rediscoveries = 0
        self._stopping = asyncio.Event()
        self._discovery_topics: set[str] = set()
        # Compared with every incoming message's topic.
        self._ha_status_topic = settings.mqtt.discovery_prefix + HA_STATUS_SUFFIX
        self._discovery_head = settings.mqtt.discovery_prefix + "/"

    @property
    def pipeline(self) -> Pipeline:
        """The beds' pipeline (their trackers and topics)."""
        return self.bed.pipeline

    @property
    def chart_failures(self) -> int:
        """Charts that could not be drawn (logged, rate-limited)."""
        return self.charter.failures

    def summary(self) -> dict[str, Any]:
        """Current per-bed summaries (for the demo and logs)."""
        return self.bed.summary()

    # -- what goes out ------------------------------------------------------------------

    def _mark_all_dirty(self) -> None:
        self.publisher.forget_sent()
        self.bed.publish_states()
        self._last_intake = None
        self._queue_intake()
        self.charter.publish_drawn()
        if self.insights is not None:
            self.insights.publish_again()

    def _queue_intake(self) -> None:
        """Publish the service-wide counters when they changed."""
        snapshot = {**self.intake.snapshot(), **publisher_counters(self.publisher)}
        if snapshot != self._last_intake:
            self._last_intake = snapshot
            topic = discovery.diagnostics_topic(self.settings.mqtt)
            self.publisher.state(topic, json.dumps(snapshot).encode())

    def _checkpoint(self) -> None:
        self._queue_intake()
        self.bed.checkpoint()

    # -- what comes in ------------------------------------------------------------------

    def handle_message(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """One incoming MQTT message (sensor data, sensor status or HA's birth); never raises
        on its content: what is unusable is counted and logged, rate-limited."""
        if topic == self._ha_status_topic:
            self._on_ha_status(topic, payload)
            return
        if self._is_discovery_topic(topic):
            self._on_discovery(topic, payload)
            return
        if self.guidance is not None and self.guidance.handle(topic, payload, retain=retain):
            return
        self.bed.handle(topic, payload, self.clock.now())

    def _on_discovery(self, topic: str, payload: bytes) -> None:
        """A retained discovery config: cleared when it belongs to an older layout."""
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
        return topic.startswith(self._discovery_head) and topic.endswith("/config")

    # -- tasks ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then publish `offline` and return."""
        async with asyncio.TaskGroup() as tg:
            mqtt_task = tg.create_task(self.link.run(self, self._stopping), name="mqtt")
            workers = [
                tg.create_task(self._ticker(), name="ticker"),
                tg.create_task(self._rediscoverer(), name="rediscover"),
                tg.create_task(self._charts(), name="charts"),
                tg.create_task(self._insights(), name="insights"),
                tg.create_task(self._housekeeping(), name="housekeeping"),
            ]
            if self.guidance is not None:
                workers.append(tg.create_task(self.guidance.run(), name="guidance"))
            await stop.wait()
            log.info("stopping")
            self._stopping.set()
            # Workers first, so the last flush and `offline` go out on a live connection.
            await cancel_and_wait(workers, seconds=2)
            await self._shutdown()
            self.link.is_closing = True
            # Cancelled again until they end: one that swallowed a cancellation (Python
            # 3.11's wait_for inside a publish can) must not keep the service alive.
            await cancel_and_wait([mqtt_task, *workers])
        self.store.close()

    async def _shutdown(self) -> None:
        self._checkpoint()
        client = self._client
        if client is None:
            return
        self.link.ack_stored(client, self)
        with contextlib.suppress(aiomqtt.MqttError, asyncio.TimeoutError):
            async with asyncio.timeout(3):
                await self.publisher.drain()
                await client.publish(
                    discovery.status_topic(self.settings.mqtt), b"offline", qos=1, retain=True
                )

    # -- the link's session ----------------------------------------------------------

    async def on_connect(self, client: aiomqtt.Client, *, quiet: bool) -> None:
        """Announce ourselves (`online`, discovery), start publishing, subscribe."""
        mqtt = self.settings.mqtt
        # Known to the shutdown path from the first moment, so a SIGTERM that arrives
        # while we announce ourselves still ends with a retained `offline`.
        self._client = client
        await client.publish(discovery.status_topic(mqtt), b"online", qos=1, retain=True)
        await self._publish_discovery(client)
        if not ensure_nodelay(client):
            log.debug("TCP_NODELAY not available on this connection")
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
        await self.link.subscribe(client, topics)
        # States and events queued meanwhile (and those of `_publish_discovery`) go now,
        # once subscribed: an entity Home Assistant shows can be pressed at once, and its
        # command must not arrive before the subscription that hears it.
        self.publisher.attach(client)
        if self.guidance is not None:
            for request in self.guidance.state_requests():
                await _publish(client, request)
            self.guidance.connected.set()
        self.is_connected.set()
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "connected to MQTT broker %s:%d as %s",
            mqtt.host,
            mqtt.port,
            self.client_id,
        )

    def on_disconnect(self) -> None:
        """The connection is gone: publishes wait for the next one."""
        self._client = None
        self.publisher.detach()
        self.is_connected.clear()

    def persist_progress(self) -> None:
        """Store every bed's cursors and counters (before messages are acknowledged)."""
        self.bed.persist_progress()

    def batch(self) -> contextlib.AbstractContextManager[object]:
        """Messages handled together store their events in one transaction (committed
        when the batch ends, before they are published or acknowledged)."""
        return self.store.batch()

    async def _publish_discovery(self, client: aiomqtt.Client) -> None:
        mqtt = self.settings.mqtt
        # A bed lands in the area of the guidance bedroom that follows it, if any.
        rooms = self.settings.guidance.bedrooms if self.settings.guidance else []
        areas = {r.bed: r.name for r in rooms if r.bed is not None}
        for bed in self.settings.beds:
            topic, payload = discovery.bed_discovery(
                mqtt, bed, areas.get(bed.id, discovery.DEFAULT_AREA)
            )
            self._discovery_topics.add(topic)
            await client.publish(topic, json.dumps(payload).encode(), qos=1, retain=True)
            tracker = self.pipeline.trackers[bed.id]
            attrs = discovery.bed_attributes(bed, is_lower_bound=tracker.is_lower_bound)
            await client.publish(
                discovery.attributes_topic(mqtt, bed.id), json.dumps(attrs).encode(), retain=True
            )
        if self.guidance is not None:
            for config in self.guidance.discovery():
                # Current discovery: never cleared as an older layout.
                self._discovery_topics.add(config.topic)
                await _publish(client, config)
        self._mark_all_dirty()

    async def _rediscoverer(self) -> None:
        """Answer Home Assistant's birth with discovery and every state."""
        # Python 3.11's wait_for can swallow a cancellation mid-publish: the flag ends it.
        while not self._stopping.is_set():
            await self._rediscover.wait()
            self._rediscover.clear()
            client = self._client
            if client is None:
                continue  # the next connection publishes discovery anyway
            try:
                await self._publish_discovery(client)
                self.rediscoveries += 1
            except aiomqtt.MqttError as exc:
                raise_if_stopping(exc, self._stopping)
                log.debug("discovery not published, will be after reconnect: %s", exc)

    async def _charts(self) -> None:
        """Draw each due chart once connected (drawing never delays the start)."""
        await self.is_connected.wait()
        await self.charter.run(self._stopping.is_set)

    async def _insights(self) -> None:
        """Work out each bed's insights when due, once connected (never delays the start)."""
        if self.insights is None:
            return
        await self.is_connected.wait()
        await self.insights.run(self._stopping.is_set)

    async def _ticker(self) -> None:
        while True:
            now = self.clock.now()
            # Frames arriving meanwhile move wake_at (a sensor falling silent is due 15 s
            # after its last frame), so the ticker looks again at least every TICK_SECONDS.
            await self.clock.sleep_until(min(self.pipeline.wake_at(now), now + TICK_SECONDS))
            self.bed.tick(self.clock.now())

    async def _housekeeping(self) -> None:
        heartbeat = Heartbeat(self.data_dir, self.health)
        last_subscribe = 0.0
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            self.bed.check_storage(self.health)
            self._checkpoint()
            client = self._client
            if client is not None and self.link.has_unacked:
                with contextlib.suppress(aiomqtt.MqttError):
                    self.link.ack_stored(client, self)
            if (
                client is not None
                and self.health.refused_topics
                and time.monotonic() - last_subscribe >= RESUBSCRIBE_SECONDS
            ):
                last_subscribe = time.monotonic()
                with contextlib.suppress(aiomqtt.MqttError):
                    await self.link.resubscribe_refused(client)
            heartbeat.beat_if_due()


async def _publish(client: aiomqtt.Client, out: Outgoing) -> None:
    """Publish at QoS 1 and wait for the broker (announcements on connect)."""
    await client.publish(out.topic, out.payload, qos=1, retain=out.retain)
