"""What the service lets in from the broker: bounded queue, counted rejections, quiet logs.

Nothing a broker can carry may stop the service, fill its memory or its log: every
message is bounded in bytes before it is queued, every rejection is counted, and every
log line about input is rate-limited and shows at most `LOG_PREVIEW_CHARS` of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import deque
from pathlib import Path
from typing import Any, Final

import aiomqtt

from sleepenv.rejection import Rejection

log = logging.getLogger(__name__)

LOG_PREVIEW_CHARS: Final = 200
# Larger than any sensor frame, device state or discovery config we read (their own
# limits are 64 KiB): a bigger message is dropped before it is queued.
MAX_MESSAGE_BYTES: Final = 256 * 1024
# What the receive queue may hold at once (a burst of 1 MB messages took 850 MB).
MAX_QUEUED_BYTES: Final = 16 * 1024 * 1024
MAX_QUEUED_MESSAGES: Final = 50_000
# Being disconnected this soon after connecting, this often within the window, is a
# takeover loop: another client with our client id.
TAKEOVER_CONNECTED_SECONDS: Final = 10.0
TAKEOVER_COUNT: Final = 3
TAKEOVER_WINDOW_SECONDS: Final = 60.0
DEFAULT_CLIENT_ID: Final = "sleepenv"


def clip(data: bytes | str, limit: int = LOG_PREVIEW_CHARS) -> str:
    """At most `limit` characters of a payload or topic, for a log line."""
    text = data[: limit * 4].decode("utf-8", "replace") if isinstance(data, bytes) else data
    if len(text) <= limit and (not isinstance(data, bytes) or len(data) <= limit * 4):
        return text
    return f"{text[:limit]}… ({len(data)} {'bytes' if isinstance(data, bytes) else 'chars'})"


class RateLimitedLog:
    """At most one log line per key per interval, with the count of lines held back."""

    def __init__(self, interval_seconds: float = 60.0, logger: logging.Logger = log) -> None:
        """Log each key at most once per `interval_seconds` of real time."""
        self.interval = interval_seconds
        self.logger = logger
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> None:
        """Log at WARNING now, or count it for the next line about the same key."""
        self.log(logging.WARNING, key, msg, *args)

    def info(self, key: str, msg: str, *args: object) -> None:
        """Log at INFO now, or count it for the next line about the same key."""
        self.log(logging.INFO, key, msg, *args)

    def log(self, level: int, key: str, msg: str, *args: object) -> None:
        """Log now, or count it for the next line about the same key."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return
        if len(self._last) > 1000:  # keys derive from topics: keep the table bounded
            self._last.clear()
            self._held.clear()
        held = self._held.pop(key, 0)
        self._last[key] = now
        if held:
            msg = f"{msg} (and %d more like it since the last report)"
            args = (*args, held)
        self.logger.log(level, msg, *args)


class Intake:
    """Counters of what was rejected or dropped before reaching a bed, and their log."""

    def __init__(self) -> None:
        """All counters at zero."""
        self.rejected: dict[str, int] = {}  # "<kind>:<reason>" -> count
        self.dropped_oversize = 0
        self.dropped_queue_full = 0
        self.takeovers = 0
        self.rate_log = RateLimitedLog()

    @property
    def messages_rejected(self) -> int:
        """Messages on non-sensor topics that were not usable."""
        return sum(self.rejected.values())

    @property
    def messages_dropped(self) -> int:
        """Messages dropped unread: too large, or the receive queue was full."""
        return self.dropped_oversize + self.dropped_queue_full

    def reject(self, kind: str, topic: str, rejection: Rejection) -> None:
        """Count a message on `topic` (a `kind` of input) and log it, rate-limited."""
        key = f"{kind}:{rejection.reason}"
        self.rejected[key] = self.rejected.get(key, 0) + 1
        self.rate_log.warning(
            key,
            "rejected a %s message on %s: %s (%s)",
            kind,
            clip(topic),
            rejection.reason,
            clip(rejection.detail),
        )

    def drop(self, topic: str, size: int, *, is_oversize: bool) -> None:
        """Count a message dropped before it was queued."""
        if is_oversize:
            self.dropped_oversize += 1
            self.rate_log.warning(
                "oversize",
                "dropped a %d-byte message on %s: larger than %d bytes",
                size,
                clip(topic),
                MAX_MESSAGE_BYTES,
            )
        else:
            self.dropped_queue_full += 1
            self.rate_log.warning(
                "queue full",
                "receive queue full (%d messages or %d bytes): dropping messages",
                MAX_QUEUED_MESSAGES,
                MAX_QUEUED_BYTES,
            )

    def snapshot(self) -> dict[str, Any]:
        """The counters as published on the service's diagnostics topic."""
        return {
            "other_messages_rejected": self.messages_rejected,
            "messages_dropped": self.messages_dropped,
            "dropped_oversize": self.dropped_oversize,
            "dropped_queue_full": self.dropped_queue_full,
            "takeovers": self.takeovers,
            "rejected_by_reason": dict(sorted(self.rejected.items())),
        }


def message_bytes(message: aiomqtt.Message) -> int:
    """What a queued message costs, roughly: its payload and topic."""
    payload = message.payload
    size = len(payload) if isinstance(payload, bytes | bytearray | str) else 16
    return size + len(message.topic.value)


def bounded_queue_type(
    intake: Intake,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    max_queued_bytes: int = MAX_QUEUED_BYTES,
) -> type[asyncio.Queue[aiomqtt.Message]]:
    """An asyncio.Queue class for aiomqtt bounded by bytes as well as count.

    aiomqtt logs "Message queue is full" per dropped message; this queue never raises
    QueueFull: it drops, counts in `intake` and logs one line a minute instead.
    """

    class BoundedQueue(asyncio.Queue[aiomqtt.Message]):
        queued_bytes = 0

        def put_nowait(self, item: aiomqtt.Message) -> None:
            size = message_bytes(item)
            if size > max_message_bytes:
                intake.drop(item.topic.value, size, is_oversize=True)
            elif self.full() or self.queued_bytes + size > max_queued_bytes:
                intake.drop(item.topic.value, size, is_oversize=False)
            else:
                super().put_nowait(item)

        def _put(self, item: aiomqtt.Message) -> None:
            self.queued_bytes += message_bytes(item)
            super()._put(item)

        def _get(self) -> aiomqtt.Message:
            item: aiomqtt.Message = super()._get()
            self.queued_bytes -= message_bytes(item)
            return item

    return BoundedQueue


def default_client_id(hostname: str, data_dir: Path) -> str:
    """A client id unique per installation and stable across restarts.

    Two installations with the same id kick each other off the broker; the host name
    and data directory tell them apart (two instances on one host need two data dirs).
    At most 23 characters, the limit every MQTT 3.1.1 broker must accept.
    """
    host = re.sub(r"[^a-z0-9]", "", hostname.lower())[:6] or "host"
    digest = hashlib.sha256(f"{hostname}\0{data_dir.resolve()}".encode()).hexdigest()[:6]
    return f"{DEFAULT_CLIENT_ID}-{host}-{digest}"


class TakeoverWatch:
    """Tells a takeover loop (disconnected right after connecting, again and again)."""

    def __init__(self, client_id: str) -> None:
        """Watch the connections of `client_id`."""
        self.client_id = client_id
        self._quick_drops: deque[float] = deque(maxlen=TAKEOVER_COUNT)
        self.is_looping = False

    def on_disconnect(self, connected_seconds: float, now: float) -> bool:
        """Record a lost connection; True the first time it looks like a takeover loop."""
        if connected_seconds >= TAKEOVER_CONNECTED_SECONDS:
            self._quick_drops.clear()
            self.is_looping = False
            return False
        self._quick_drops.append(now)
        is_loop = (
            len(self._quick_drops) == TAKEOVER_COUNT
            and now - self._quick_drops[0] <= TAKEOVER_WINDOW_SECONDS
        )
        is_new = is_loop and not self.is_looping
        self.is_looping = self.is_looping or is_loop
        return is_new

    def on_stable(self) -> None:
        """A connection held long enough: any loop is over."""
        self._quick_drops.clear()
        self.is_looping = False
