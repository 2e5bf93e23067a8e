"""The floor for "MQTT event in → count out": a bare paho subscriber.

Run: python bench/peers/paho_floor.py HOST PORT TOPIC_IN TOPIC_OUT

Counts every message on TOPIC_IN and publishes the count on TOPIC_OUT (QoS 1), nothing
else: no parsing, no storage. `bench/side_by_side.py` runs it beside sleepenv and Node-RED.
"""

from __future__ import annotations

import signal
import socket
import sys
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def main(argv: list[str]) -> int:
    """Subscribe, count, publish each count, until SIGTERM."""
    host, port, topic_in, topic_out = argv[0], int(argv[1]), argv[2], argv[3]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"floor-{topic_out}")
    client.max_inflight_messages_set(0)  # as sleepenv's client: no window of its own
    count = 0

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        sock = c.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.subscribe(topic_in, qos=1)

    def on_message(c: mqtt.Client, _u: Any, _m: mqtt.MQTTMessage) -> None:
        nonlocal count
        count += 1
        c.publish(topic_out, str(count), qos=1)

    client.on_connect = on_connect
    client.on_message = on_message
    signal.signal(signal.SIGTERM, lambda *_: client.disconnect())
    client.connect(host, port)
    client.loop_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
