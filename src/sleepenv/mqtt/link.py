"""The MQTT link: connect, deliver what arrives, acknowledge it once stored, reconnect.

One persistent session (sensor data at QoS 1 waits on the broker while we are away) in
an outer loop with capped, jittered backoff; the cause of an outage is logged once, not
per attempt. A broker that drops us right after each connect (another client with our
client id) is reported once and retried on the doubling schedule. Messages are
acknowledged in batches, after the session's `persist_progress`, so that what an
acknowledged message changed is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AbstractContextManager
from typing import Protocol

import aiomqtt

from sleepenv.config.settings import MqttSettings
from sleepenv.health import Health
from sleepenv.mqtt.backoff import Backoff
from sleepenv.mqtt.client import ack, has_queued, make_client, refused, take_queued
from sleepenv.mqtt.intake import TAKEOVER_WINDOW_SECONDS, Intake, TakeoverWatch, bounded_queue_type

# The service's connection lines keep the logger name they always had.
log = logging.getLogger("sleepenv.service")

# Messages are acknowledged once what they changed is stored: after at most this many
# (below Mosquitto's default of 20 unacknowledged messages in flight per client), or
# as soon as the receive queue is empty.
ACK_BATCH = 10
# ... and, while messages stream in faster than this apart, not more often than this: a
# store checkpoint per message cost more than the detection (the demo's 1000x night fell
# hours behind its clock); the housekeeping loop acknowledges whatever is left.
ACK_IDLE_SECONDS = 0.5
RESUBSCRIBE_SECONDS = 60.0


class Session(Protocol):
    """What the link drives: the service's side of each connection."""

    async def on_connect(self, client: aiomqtt.Client, *, quiet: bool) -> None:
        """Announce and subscribe on a new connection (`quiet` while taken over)."""

    def on_disconnect(self) -> None:
        """The connection is gone."""

    def handle_message(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """One incoming message; never raises on its content."""

    def batch(self) -> AbstractContextManager[object]:
        """Around the messages handled in one turn: what they store is written at its end,
        in one transaction."""

    def persist_progress(self) -> None:
        """Store what the messages received so far changed (before they are acknowledged)."""


class Link:
    """Keeps one MQTT connection up for a session and acknowledges what it stored."""

    def __init__(
        self,
        mqtt: MqttSettings,
        status_topic: str,
        client_id: str,
        intake: Intake,
        health: Health,
    ) -> None:
        """Not connected; `run` connects (the retained will goes to `status_topic`)."""
        self.mqtt = mqtt
        self.status_topic = status_topic
        self.client_id = client_id
        self.intake = intake
        self.health = health
        self.is_closing = False  # set once the last `offline` is out: no reconnect
        self._unacked: list[aiomqtt.Message] = []
        self._acked_at = 0.0
        self._refused: list[tuple[str, int]] = []  # subscriptions the broker refused

    async def run(self, session: Session, is_stopping: asyncio.Event) -> None:
        """Connect and deliver messages to `session` until closing; reconnect on errors."""
        backoff = Backoff()
        outage_since: float | None = None
        takeover = TakeoverWatch(self.client_id)
        queue_type = bounded_queue_type(self.intake)
        while not self.is_closing:
            connected_at: float | None = None
            try:
                async with make_client(
                    self.mqtt, self.status_topic, client_id=self.client_id,
                    queue_type=queue_type, is_persistent=True,
                ) as client:  # fmt: skip
                    connected_at = time.monotonic()
                    self.health.mqtt_problem = None
                    if outage_since is not None and not takeover.is_looping:
                        log.info("broker back after %.0f s", time.monotonic() - outage_since)
                    outage_since = None
                    if not takeover.is_looping:
                        backoff.reset()
                    await session.on_connect(client, quiet=takeover.is_looping)
                    if self.is_closing:
                        # A cancellation swallowed by a publish (Python 3.11 wait_for).
                        return
                    await self._receive(client, session)
            except aiomqtt.MqttError as exc:
                session.on_disconnect()
                # The broker sends these again (persistent session): the cursors and the
                # stored events keep them from counting twice.
                self._unacked.clear()
                raise_if_stopping(exc, is_stopping)
                self.health.mqtt_problem = (
                    f"not connected to the MQTT broker {self.mqtt.host}:{self.mqtt.port}: {exc}"
                )
                if connected_at is not None:
                    self._on_disconnect(takeover, time.monotonic() - connected_at)
                if outage_since is None:
                    outage_since = time.monotonic()
                    log.log(
                        logging.DEBUG if takeover.is_looping else logging.WARNING,
                        "MQTT broker %s:%d unreachable (%s); retrying with backoff",
                        self.mqtt.host,
                        self.mqtt.port,
                        exc,
                    )
                # Takeover loops keep the doubling schedule; a plain outage is retried
                # in proportion to its length, so a restarted broker is found promptly.
                outage = None if takeover.is_looping else time.monotonic() - outage_since
                await asyncio.sleep(backoff.next_delay(outage))

    async def _receive(self, client: aiomqtt.Client, session: Session) -> None:
        """Deliver every message, acknowledging in batches once stored.

        Messages already waiting in the receive queue are handled in the same turn of
        the event loop as the one awaited, up to the acknowledgement batch: aiomqtt's
        iterator costs a task and a few loop turns per message, and the states they
        change go out once, with their latest values, when the turn ends (the events
        are all sent); the events they store are committed together, before that.
        Nothing waits for a message that has not arrived.
        """
        async for first in client.messages:
            message: aiomqtt.Message | None = first
            with session.batch():
                while message is not None:
                    self._deliver(message, session)
                    if len(self._unacked) >= ACK_BATCH:
                        break
                    message = take_queued(client)
            is_due = len(self._unacked) >= ACK_BATCH or (
                not has_queued(client) and time.monotonic() - self._acked_at >= ACK_IDLE_SECONDS
            )
            if is_due:
                # What the messages changed goes out first (the publisher's turn is queued
                # already): the checkpoint is not in the latency of their states and events.
                await asyncio.sleep(0)
                self.ack_stored(client, session)

    def _deliver(self, message: aiomqtt.Message, session: Session) -> None:
        """Hand one message to the session; it waits for its acknowledgement."""
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            payload = str(payload).encode()
        session.handle_message(str(message.topic), bytes(payload), retain=message.retain)
        self._unacked.append(message)

    @property
    def has_unacked(self) -> bool:
        """Whether messages wait for their acknowledgement."""
        return bool(self._unacked)

    def ack_stored(self, client: aiomqtt.Client, session: Session) -> None:
        """Store cursors and counters, then acknowledge the messages they cover.

        Events are stored as they are detected; with the checkpoint, everything an
        acknowledged message changed is on disk (or, during a storage fault, buffered in
        memory). Unacknowledged messages come back after a crash (persistent session).
        """
        if not self._unacked:
            return
        session.persist_progress()
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

    async def subscribe(self, client: aiomqtt.Client, topics: list[tuple[str, int]]) -> None:
        """Subscribe and note what the broker refused (SUBACK failure)."""
        codes = await client.subscribe(topics)
        denied = refused([t for t, _ in topics], list(codes))
        self._refused = [(t, q) for t, q in topics if t in denied]
        if denied and denied != self.health.refused_topics:
            log.error(
                "the MQTT broker refused the subscription to %s: check the broker's ACL for "
                "user %r; retrying every %.0f s",
                ", ".join(denied),
                self.mqtt.username or "(anonymous)",
                RESUBSCRIBE_SECONDS,
            )
        elif self.health.refused_topics and not denied:
            log.warning("the MQTT broker now accepts every subscription")
        self.health.refused_topics = denied

    async def resubscribe_refused(self, client: aiomqtt.Client) -> None:
        """Ask again for what the broker refused last time."""
        await self.subscribe(client, self._refused)


def raise_if_stopping(exc: Exception, is_stopping: asyncio.Event) -> None:
    """A cancellation can come back from aiomqtt as an MqttError: never retry through a stop."""
    task = asyncio.current_task()
    if is_stopping.is_set() or (task is not None and task.cancelling()):
        raise asyncio.CancelledError from exc
