"""aiomqtt client construction and reconnect backoff; no decisions live here."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Sequence
from typing import Any

import aiomqtt

from sleepenv.config.settings import MqttSettings
from sleepenv.mqtt.intake import MAX_QUEUED_MESSAGES

# A bounded receive queue: a burst can't grow memory without limit, and the size is
# far above what the service drains between two event-loop turns.
MAX_QUEUED_INCOMING = MAX_QUEUED_MESSAGES


class TlsFileError(aiomqtt.MqttError):
    """A TLS file that cannot be used; retried like any other connection problem."""


def tls_context(mqtt: MqttSettings) -> ssl.SSLContext | None:
    """An SSL context from the TLS settings, or None when TLS is off.

    TlsFileError (an MqttError) when a file cannot be used: check-config refuses such
    files, but one can change after the service started.
    """
    tls = mqtt.tls
    if not tls.enabled:
        return None
    try:
        ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file is not None and tls.key_file is not None:
            # A password callback, so an encrypted key fails here instead of OpenSSL
            # prompting "Enter PEM pass phrase:" on a terminal nobody watches.
            ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file), password=_no_pass_phrase)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise TlsFileError(f"unusable TLS file: {exc}") from exc
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _no_pass_phrase() -> str:
    """Refuse to unlock an encrypted key: sleepenv has no pass phrase to give."""
    raise ValueError("the TLS key file is encrypted; sleepenv needs an unencrypted key")


def make_client(
    mqtt: MqttSettings,
    will_topic: str,
    client_suffix: str = "",
    *,
    client_id: str | None = None,
    queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None,
    is_persistent: bool = False,
) -> aiomqtt.Client:
    """A client with a retained `offline` last will and TCP_NODELAY (docs/performance.md).

    `client_id` replaces `mqtt.client_id`; `queue_type` bounds the receive queue (see
    `intake.bounded_queue_type`). `is_persistent` asks for a persistent session (the
    broker keeps our QoS 1 subscriptions and queues for us while we are away) and turns
    on manual acknowledgements: call `ack` once a message's effect is stored.
    """
    password = mqtt.password.get_secret_value() if mqtt.password is not None else None
    client = aiomqtt.Client(
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
        # Unlimited in paho: the Publisher bounds what is in flight (MAX_IN_FLIGHT).
        max_inflight_messages=0,
        queue_type=queue_type,
        timeout=10,
        clean_session=False if is_persistent else None,
    )
    if is_persistent:
        # aiomqtt 2.x has no manual-ack option; paho-mqtt 2 (underneath) has. Without it
        # paho acknowledges on arrival, and a SIGKILL loses everything still queued.
        _paho(client).manual_ack_set(on=True)
    return client


def _paho(client: aiomqtt.Client) -> Any:
    """The paho-mqtt client inside aiomqtt (aiomqtt 2.x keeps it in `_client`)."""
    return client._client


def ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge a QoS 1 message received with manual acks (no-op for QoS 0)."""
    if message.qos > 0:
        _paho(client).ack(message.mid, message.qos)


def ensure_nodelay(client: aiomqtt.Client) -> bool:
    """Turn TCP_NODELAY on for a connected client's socket; True when it is on.

    `make_client` passes it in `socket_options`, which aiomqtt applies after connecting;
    this makes sure of it (without it a publish waits for the broker's delayed ACK).
    False for a socket that is not TCP.
    """
    sock = _paho(client).socket()
    if not isinstance(sock, socket.socket) or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def has_queued(client: aiomqtt.Client) -> bool:
    """Whether messages wait in the client's receive queue."""
    return not client._queue.empty()


def take_queued(client: aiomqtt.Client) -> aiomqtt.Message | None:
    """The next message waiting in the client's receive queue, None when none waits."""
    try:
        message: aiomqtt.Message = client._queue.get_nowait()
    except asyncio.QueueEmpty:
        return None
    return message


def refused(topics: Sequence[str], codes: Sequence[Any]) -> list[str]:
    """Topics whose subscription the broker refused in its SUBACK (e.g. by an ACL)."""
    return [t for t, c in zip(topics, codes, strict=False) if _is_failure(c)]


def _is_failure(code: Any) -> bool:
    failure = getattr(code, "is_failure", None)
    return bool(failure) if failure is not None else int(code) >= 0x80
