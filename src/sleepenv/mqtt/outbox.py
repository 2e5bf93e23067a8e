"""What waits to be published: states coalesced per topic, messages in order, drops counted.

States (retained, one value per topic) keep only their latest value until their turn; a
value replaced before it was sent is counted in `states_coalesced`. Messages (movement
events, guidance commands, reminders: every one counts) wait in a bounded deque in the
order they were queued; one beyond the bound is refused and counted in
`messages_dropped`, never dropped silently. `mqtt/publisher.py` takes from here and puts
back what a lost connection left unacknowledged.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sleepenv.mqtt.intake import RateLimitedLog

log = logging.getLogger(__name__)

# Messages waiting while the broker is away (~4 MB of events); beyond it new ones are
# dropped and counted: the store keeps every event, the broker outage costs only the
# live event entity's history.
MAX_PENDING_MESSAGES = 10_000


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One publish: a retained state or a message sent once."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Queued:
    """An outgoing publish with its place in the order of messages (0 for a state)."""

    out: Outgoing
    seq: int


class Outbox:
    """States and messages waiting for the publisher; what cannot wait is counted."""

    def __init__(self, max_pending_messages: int = MAX_PENDING_MESSAGES) -> None:
        """Empty; `on_queued` (the publisher's) is called whenever something is queued."""
        self.max_pending_messages = max_pending_messages
        self.on_queued: Callable[[], None] | None = None
        self._states: dict[str, bytes] = {}  # oldest topic first; latest value wins
        self._sent: dict[str, bytes] = {}  # the last value handed on per topic
        self._messages: deque[Queued] = deque()
        self._seq = 0
        self._state_turn = True
        self._rate_log = RateLimitedLog(logger=log)
        self.states_coalesced = 0  # state values replaced by a newer one before sending
        self.messages_dropped = 0  # messages refused because the queue was full

    def send(self, out: Outgoing) -> None:
        """Queue a retained `out` as a state, any other as a message."""
        if out.retain:
            self.state(out.topic, out.payload)
        else:
            self.message(out.topic, out.payload)

    def state(self, topic: str, payload: bytes) -> None:
        """Publish retained; a value not yet sent is replaced by a newer one.

        A value equal to the one last sent on the topic is not sent again (see
        `forget_sent`).
        """
        if topic in self._states:
            # Waiting already: the publisher heard of it when it was queued.
            self.states_coalesced += 1
            self._states[topic] = payload
            return
        if self._sent.get(topic) == payload:
            return
        self._states[topic] = payload
        self._queued()

    def message(self, topic: str, payload: bytes) -> None:
        """Publish once, after the messages queued before it; never coalesced."""
        if len(self._messages) >= self.max_pending_messages:
            self.messages_dropped += 1
            self._rate_log.warning(
                "outgoing full",
                "%d messages wait for the broker: dropping new ones (the store keeps events)",
                len(self._messages),
            )
            return
        self._seq += 1
        self._messages.append(Queued(Outgoing(topic, payload), self._seq))
        self._queued()

    def forget_sent(self) -> None:
        """Send every state queued from now on, even one equal to the last sent.

        For a new connection or Home Assistant's birth: the broker may have lost its
        retained copies, and the service sends every state again.
        """
        self._sent.clear()

    @property
    def is_empty(self) -> bool:
        """Whether nothing waits."""
        return not (self._states or self._messages)

    @property
    def waiting_messages(self) -> int:
        """Messages waiting (not counting those handed on)."""
        return len(self._messages)

    @property
    def pending_states(self) -> int:
        """State topics waiting for their turn."""
        return len(self._states)

    def is_waiting(self, topic: str) -> bool:
        """Whether a value for the state `topic` waits for its turn."""
        return topic in self._states

    def take(self) -> Queued | None:
        """The next publish: a state and a message in turn while both wait."""
        take_state = bool(self._states) and (self._state_turn or not self._messages)
        if take_state:
            topic = next(iter(self._states))
            payload = self._states.pop(topic)
            self._sent[topic] = payload
            self._state_turn = False
            return Queued(Outgoing(topic, payload, retain=True), 0)
        if self._messages:
            self._state_turn = True
            return self._messages.popleft()
        return None

    def put_back(self, unsent: Iterable[Queued]) -> None:
        """Publishes taken but never acknowledged (a lost connection) wait again.

        Messages go back before those queued since, in their order; a state goes back
        only when no newer value waits (else it is counted as coalesced).
        """
        unsent = list(unsent)
        messages = sorted((q for q in unsent if not q.out.retain), key=lambda q: q.seq)
        self._messages.extendleft(reversed(messages))
        for queued in unsent:
            out = queued.out
            if out.retain and out.topic not in self._states:
                self._states[out.topic] = out.payload
            elif out.retain:
                self.states_coalesced += 1  # a newer value is queued: it goes instead

    def _queued(self) -> None:
        if self.on_queued is not None:
            self.on_queued()


class NullOutbox:
    """An outbox that publishes nothing (the offline `analyze`)."""

    def send(self, out: Outgoing) -> None:
        """Discard `out`."""

    def state(self, topic: str, payload: bytes) -> None:
        """Discard a state."""

    def message(self, topic: str, payload: bytes) -> None:
        """Discard a message."""


def counters(outbox: Outbox) -> dict[str, int]:
    """The outbox's counters as published on the service's diagnostics topic."""
    return {
        "states_coalesced": outbox.states_coalesced,
        "outgoing_dropped": outbox.messages_dropped,
    }
