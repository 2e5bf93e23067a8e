"""Outgoing MQTT: prompt when the link is idle, coalesced per topic only while it is busy.

States (retained, one value per topic) and messages (movement events, guidance commands:
every one counts, in order) wait here until the broker acknowledges them. Up to
`max_in_flight` QoS 1 publishes are on the wire at once instead of one PUBACK awaited
after another, so a publish never waits for a timer and a stream of events cannot hold
the states back: while the window is full, each free slot goes to a state and a message
in turn, and a state updated again before its turn is sent once, with its latest value
(counted in `states_coalesced`). Messages are never coalesced. A message leaves the
queue only with its PUBACK; whatever was in flight when the connection dropped is sent
again on the next one (at least once, as QoS 1 promises).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiomqtt
import paho.mqtt.client as paho

from sleepenv.mqtt.intake import RateLimitedLog

log = logging.getLogger(__name__)

# Publishes on the wire at once. bench/publish_latency.py, 2,000 events through Mosquitto
# on loopback: CPU per event falls from ~95 µs (one awaited publish after another) to
# 36-47 µs at 16, then slowly (28-44 µs at 32 and 64). 16 carries ~9,000 events/s, far
# more than the service makes, and a reconnect sends at most this many twice.
# `make_client` lifts paho's own limit (20), so paho never holds one of ours back and
# the service's few awaited publishes (status, discovery) never wait behind ours.
MAX_IN_FLIGHT = 16
# Messages waiting while the broker is away (~4 MB of events); beyond it new ones are
# dropped and counted: the store keeps every event, the broker outage costs only the
# live event entity's history.
MAX_PENDING_MESSAGES = 10_000
QOS = 1


@dataclass(slots=True)
class _Out:
    """One publish handed to the client, waiting for its PUBACK."""

    topic: str
    payload: bytes
    is_state: bool
    seq: int  # order of messages, so a resend after a reconnect keeps it


class Publisher:
    """Queues states and messages and keeps up to `max_in_flight` of them on the wire."""

    def __init__(
        self,
        max_in_flight: int | None = None,
        max_pending_messages: int = MAX_PENDING_MESSAGES,
    ) -> None:
        """Nothing queued, no connection yet; `max_in_flight` defaults to MAX_IN_FLIGHT."""
        if max_in_flight is None:
            max_in_flight = MAX_IN_FLIGHT  # read now, so a benchmark can vary it
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self._window = max_in_flight
        self.max_pending_messages = max_pending_messages
        self._states: dict[str, bytes] = {}  # oldest topic first; latest value wins
        self._sent: dict[str, bytes] = {}  # the last value handed to the client per topic
        self._messages: deque[tuple[int, str, bytes]] = deque()
        self._in_flight: dict[int, _Out] = {}  # mid -> publish
        self._client: paho.Client | None = None  # the paho client of the connection
        self._seq = 0
        self._state_turn = True
        self._is_pump_scheduled = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._rate_log = RateLimitedLog(logger=log)
        self.states_coalesced = 0  # state values replaced by a newer one before sending
        self.messages_dropped = 0  # messages refused because the queue was full
        self.published = 0  # publishes acknowledged by the broker

    # -- what the service queues ---------------------------------------------------

    def state(self, topic: str, payload: bytes) -> None:
        """Publish retained at QoS 1; a value not yet sent is replaced by a newer one.

        A value equal to the one last sent on the topic is not sent again (see
        `forget_sent`).
        """
        if topic in self._states:
            self.states_coalesced += 1
        elif self._sent.get(topic) == payload:
            return
        self._states[topic] = payload
        self._schedule()

    def message(self, topic: str, payload: bytes) -> None:
        """Publish once at QoS 1, after the messages queued before it; never coalesced."""
        if len(self._messages) >= self.max_pending_messages:
            self.messages_dropped += 1
            self._rate_log.warning(
                "outgoing full",
                "%d messages wait for the broker: dropping new ones (the store keeps events)",
                len(self._messages),
            )
            return
        self._seq += 1
        self._messages.append((self._seq, topic, payload))
        self._schedule()

    def forget_sent(self) -> None:
        """Send every state queued from now on, even one equal to the last sent.

        For a new connection or Home Assistant's birth: the broker may have lost its
        retained copies, and the service sends every state again.
        """
        self._sent.clear()

    @property
    def pending_messages(self) -> int:
        """Messages not yet acknowledged (queued or in flight)."""
        return len(self._messages) + sum(not o.is_state for o in self._in_flight.values())

    @property
    def pending_states(self) -> int:
        """State topics waiting for their turn (not counting those in flight)."""
        return len(self._states)

    def is_waiting(self, topic: str) -> bool:
        """Whether a value for the state `topic` waits for its turn."""
        return topic in self._states

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
            if previous is not None:
                previous(c, userdata, mid, reason, properties)
            if self._client is inner:
                self._on_ack(mid)

        inner.on_publish = on_publish
        self._client = inner
        self._schedule()

    def detach(self) -> None:
        """The connection is gone: what was in flight goes back to the queues."""
        self._client = None
        self._sent.clear()
        in_flight, self._in_flight = self._in_flight, {}
        messages = sorted((o for o in in_flight.values() if not o.is_state), key=lambda o: o.seq)
        self._messages.extendleft((o.seq, o.topic, o.payload) for o in reversed(messages))
        for out in in_flight.values():
            if out.is_state and out.topic not in self._states:
                self._states[out.topic] = out.payload
            elif out.is_state:
                self.states_coalesced += 1  # a newer value is queued: it goes instead

    # -- sending ----------------------------------------------------------------------

    def _schedule(self) -> None:
        """Fill the window on the next loop turn: what is queued until then is sent once."""
        if self._states or self._messages:
            self._idle.clear()
        if not self._is_pump_scheduled and self._client is not None:
            self._is_pump_scheduled = True
            asyncio.get_running_loop().call_soon(self._pump)

    def _pump(self) -> None:
        self._is_pump_scheduled = False
        while self._client is not None and len(self._in_flight) < self._window:
            out = self._next()
            if out is None:
                break
            if not self._send(out):
                break
        self._update_idle()

    def _next(self) -> _Out | None:
        """A state and a message in turn while both wait; whichever waits otherwise."""
        take_state = bool(self._states) and (self._state_turn or not self._messages)
        if take_state:
            topic = next(iter(self._states))
            payload = self._states.pop(topic)
            self._sent[topic] = payload
            self._state_turn = False
            return _Out(topic, payload, is_state=True, seq=0)
        if self._messages:
            seq, topic, payload = self._messages.popleft()
            self._state_turn = True
            return _Out(topic, payload, is_state=False, seq=seq)
        return None

    def _send(self, out: _Out) -> bool:
        """Hand one publish to paho; on a dead link put it back and stop sending."""
        client = self._client
        assert client is not None  # only called while attached
        info = client.publish(out.topic, out.payload, QOS, out.is_state)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            # Not connected any more: the service's receive loop notices and re-attaches.
            log.debug("publish on %s refused by the client (rc %s)", out.topic, info.rc)
            self._in_flight[info.mid] = out
            self.detach()
            return False
        self._in_flight[info.mid] = out
        return True

    def _on_ack(self, mid: int) -> None:
        """A PUBACK: the publish is done; its slot goes to what waits."""
        if self._in_flight.pop(mid, None) is None:
            return  # one of the service's own awaited publishes (status, discovery)
        self.published += 1
        if self._states or self._messages:
            self._schedule()
        else:
            self._update_idle()

    def _update_idle(self) -> None:
        if not (self._states or self._messages or self._in_flight):
            self._idle.set()


def _paho(client: aiomqtt.Client) -> paho.Client:
    """The paho-mqtt client inside aiomqtt (aiomqtt 2.x keeps it in `_client`)."""
    inner: paho.Client = client._client
    return inner


def counters(publisher: Publisher) -> dict[str, int]:
    """The publisher's counters as published on the service's diagnostics topic."""
    return {
        "states_coalesced": publisher.states_coalesced,
        "outgoing_dropped": publisher.messages_dropped,
    }
