"""aiomqtt client construction and reconnect backoff; no decisions live here."""

from __future__ import annotations

import asyncio
import random
import socket
import ssl

import aiomqtt

from sleepenv.adapters.intake import MAX_QUEUED_MESSAGES
from sleepenv.settings import MqttSettings

# A bounded receive queue: a burst can't grow memory without limit, and the size is
# far above what the service drains between two event-loop turns.
MAX_QUEUED_INCOMING = MAX_QUEUED_MESSAGES


def tls_context(mqtt: MqttSettings) -> ssl.SSLContext | None:
    """An SSL context from the TLS settings, or None when TLS is off."""
    tls = mqtt.tls
    if not tls.enabled:
        return None
    ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file is not None and tls.key_file is not None:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_client(
    mqtt: MqttSettings,
    will_topic: str,
    client_suffix: str = "",
    *,
    client_id: str | None = None,
    queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None,
) -> aiomqtt.Client:
    """A client with a retained `offline` last will and TCP_NODELAY (see DESIGN.md).

    `client_id` replaces `mqtt.client_id`; `queue_type` bounds the receive queue (see
    `intake.bounded_queue_type`).
    """
    password = mqtt.password.get_secret_value() if mqtt.password is not None else None
    return aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        username=mqtt.username,
        password=password,
        identifier=(client_id or mqtt.client_id) + client_suffix,
        keepalive=mqtt.keepalive,
        will=aiomqtt.Will(will_topic, b"offline", qos=1, retain=True),
        tls_context=tls_context(mqtt),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        max_queued_incoming_messages=MAX_QUEUED_INCOMING,
        queue_type=queue_type,
        timeout=10,
    )


class Backoff:
    """Capped exponential backoff with full jitter, reset after a good connection."""

    def __init__(self, first_seconds: float = 0.5, cap_seconds: float = 30.0) -> None:
        """Start at `first_seconds`, never wait longer than `cap_seconds`."""
        self.first = first_seconds
        self.cap = cap_seconds
        self.attempt = 0

    def next_delay(self) -> float:
        """The next wait: random in [first/2, min(cap, first * 2**attempt)]."""
        ceiling = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        return random.uniform(min(self.first / 2, ceiling), ceiling)

    def reset(self) -> None:
        """Back to the first delay."""
        self.attempt = 0
