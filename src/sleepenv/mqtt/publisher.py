"""Outgoing MQTT: prompt when the link is idle, coalesced per topic only while it is busy.

States and messages wait in the outbox (`mqtt/outbox.py`) until the broker acknowledges
them. Up to `max_in_flight` QoS 1 publishes are on the wire at once instead of one PUBACK
awaited after another, so a publish never waits for a timer and a stream of events
cannot hold the states back: while the window is full, each free slot goes to a state
and a message in turn, and a state updated again before its turn is sent once, with its
latest value (counted in `states_coalesced`); so is one set again by the next message
that was already waiting in the receive queue (the link handles those in the same turn
of the event loop, see `mqtt/link.py`). Messages are never coalesced. A message
leaves the outbox for good only with its PUBACK; whatever was in flight when the
connection dropped is sent again on the next one (at least once, as QoS 1 promises).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiomqtt
import paho.mqtt.client as paho

from sleepenv.mqtt.outbox import MAX_PENDING_MESSAGES, Outbox, Queued
from sleepenv.mqtt.outbox import counters as outbox_counters

log = logging.getLogger(__name__)

# Publishes on the wire at once. bench/publish_latency.py, 2,000 events through Mosquitto
# on loopback: CPU per event falls from ~95 µs (one awaited publish after another) to
# 36-47 µs at 16, then slowly (28-44 µs at 32 and 64). 16 carries ~9,000 events/s, far
# more than the service makes, and a reconnect sends at most this many twice.
# `make_client` lifts paho's own limit (20), so paho never holds one of ours back and
# the service's few awaited publishes (status, discovery) never wait behind ours.
MAX_IN_FLIGHT = 16
QOS = 1


class Publisher:
    """Keeps up to `max_in_flight` of the outbox's publishes on the wire."""

    def __init__(
        self,
        max_in_flight: int | None = None,
        max_pending_messages: int = MAX_PENDING_MESSAGES,
        outbox: Outbox | None = None,
    ) -> None:
        """Nothing queued, no connection yet; `max_in_flight` defaults to MAX_IN_FLIGHT."""
        if max_in_flight is None:
            max_in_flight = MAX_IN_FLIGHT  # read now, so a benchmark can vary it
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self._window = max_in_flight
        self.outbox = outbox if outbox is not None else Outbox(max_pending_messages)
        self.outbox.on_queued = self._schedule
        self._in_flight: dict[int, Queued] = {}  # mid -> publish
        self._client: paho.Client | None = None  # the paho client of the connection
        self._is_pump_scheduled = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.published = 0  # publishes acknowledged by the broker

    # -- what the service queues (through the outbox) ---------------------------------

    def state(self, topic: str, payload: bytes) -> None:
        """Publish retained at QoS 1, coalesced while waiting (see `Outbox.state`)."""
        self.outbox.state(topic, payload)

    def message(self, topic: str, payload: bytes) -> None:
        """Publish once at QoS 1, in order; never coalesced (see `Outbox.message`)."""
        self.outbox.message(topic, payload)

    def forget_sent(self) -> None:
        """Send every state queued from now on, even one equal to the last sent."""
        self.outbox.forget_sent()

    @property
    def states_coalesced(self) -> int:
        """State values replaced by a newer one before sending."""
        return self.outbox.states_coalesced

    @property
    def messages_dropped(self) -> int:
        """Messages refused because the outbox was full."""
        return self.outbox.messages_dropped

    @property
    def pending_messages(self) -> int:
        """Messages not yet acknowledged (queued or in flight)."""
        in_flight = sum(not q.out.retain for q in self._in_flight.values())
        return self.outbox.waiting_messages + in_flight

    @property
    def pending_states(self) -> int:
        """State topics waiting for their turn (not counting those in flight)."""
        return self.outbox.pending_states

    def is_waiting(self, topic: str) -> bool:
        """Whether a value for the state `topic` waits for its turn."""
        return self.outbox.is_waiting(topic)

    @property
    def in_flight(self) -> int:
        """Publishes handed to the client and not yet acknowledged."""
        return len(self._in_flight)

    async def drain(self) -> None:
        """Wait until everything queued has been acknowledged."""
        await self._idle.wait()

    # -- the connection -------------------------------------------------------------

    def attach(self, client: aiomqtt.Client) -> None:
        """Start publishing on a connected client (after `online` and discovery)."""
        self.detach()
        inner = _paho(client)
        limit = inner.max_inflight_messages  # paho's own; 0 is unlimited (see make_client)
        self._window = self.max_in_flight if limit == 0 else min(self.max_in_flight, limit)
        previous: Any = inner.on_publish  # aiomqtt's, which ends its awaited publishes

        def on_publish(
            c: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
        ) -> None:
            # aiomqtt awaits none of ours: its callback would look the mid up and
            # raise and swallow a KeyError for each of them.
            if self._client is inner and mid in self._in_flight:
                self._on_ack(mid)
            elif previous is not None:
                previous(c, userdata, mid, reason, properties)

        inner.on_publish = on_publish
        self._client = inner
        self._schedule()

    def detach(self) -> None:
        """The connection is gone: what was in flight goes back to the outbox."""
        self._client = None
        self.outbox.forget_sent()
        in_flight, self._in_flight = self._in_flight, {}
        self.outbox.put_back(in_flight.values())

    # -- sending ----------------------------------------------------------------------

    def _schedule(self) -> None:
        """Fill the window on the next loop turn: what is queued until then is sent once."""
        if not self.outbox.is_empty:
            self._idle.clear()
        if not self._is_pump_scheduled and self._client is not None:
            self._is_pump_scheduled = True
            asyncio.get_running_loop().call_soon(self._pump)

    def _pump(self) -> None:
        self._is_pump_scheduled = False
        while self._client is not None and len(self._in_flight) < self._window:
            queued = self.outbox.take()
            if queued is None:
                break
            if not self._send(queued):
                break
        self._update_idle()

    def _send(self, queued: Queued) -> bool:
        """Hand one publish to paho; on a dead link put it back and stop sending."""
        client = self._client
        if client is None:  # only called while attached
            self.outbox.put_back([queued])
            return False
        out = queued.out
        info = client.publish(out.topic, out.payload, QOS, out.retain)
        self._in_flight[info.mid] = queued
        if info.rc != paho.MQTT_ERR_SUCCESS:
            # Not connected any more: the service's receive loop notices and re-attaches.
            log.debug("publish on %s refused by the client (rc %s)", out.topic, info.rc)
            self.detach()
            return False
        return True

    def _on_ack(self, mid: int) -> None:
        """A PUBACK: the publish is done; its slot goes to what waits."""
        if self._in_flight.pop(mid, None) is None:
            return  # one of the service's own awaited publishes (status, discovery)
        self.published += 1
        if not self.outbox.is_empty:
            self._schedule()
        else:
            self._update_idle()

    def _update_idle(self) -> None:
        if self.outbox.is_empty and not self._in_flight:
            self._idle.set()


def _paho(client: aiomqtt.Client) -> paho.Client:
    """The paho-mqtt client inside aiomqtt (aiomqtt 2.x keeps it in `_client`)."""
    inner: paho.Client = client._client
    return inner


def counters(publisher: Publisher) -> dict[str, int]:
    """The publisher's counters as published on the service's diagnostics topic."""
    return outbox_counters(publisher.outbox)
