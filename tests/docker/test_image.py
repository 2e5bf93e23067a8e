"""The real image, built with podman and run against the test Mosquitto.

Builds docker/Dockerfile from host-built wheels on the local debootstrap base image
(scripts/podman-setup makes it; no registry is reachable here), runs the container with
host networking, and checks what Home Assistant would see: discovery, a retained
`online`, a healthy HEALTHCHECK, and after `podman stop` a clean exit and `offline`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.mqtt.broker import MosquittoProcess
from tests.docker.conftest import run as _run

BED = "main"

pytestmark = pytest.mark.timeout(900)


class Watcher:
    """A paho client that keeps every message under a topic filter, in arrival order."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._arrived = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"watch-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.subscribe(topic_filter, qos=1)
        self.client.loop_start()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._arrived.notify_all()

    def wait_for(
        self, topic: str, payload: bytes | None, timeout: float, after: int = 0
    ) -> tuple[bytes, bool, int]:
        """The first message on `topic` (with `payload`, if given) from index `after` on.

        Returns (payload, retained, index); fails after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for i in range(after, len(self.messages)):
                    got_topic, got_payload, retained = self.messages[i]
                    if got_topic == topic and (payload is None or got_payload == payload):
                        return got_payload, retained, i
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(t, p[:40]) for t, p, _ in self.messages[-20:]]
                    pytest.fail(f"no {payload!r} on {topic} within {timeout:.0f} s; saw {seen}")
                self._arrived.wait(left)

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


def _retained(broker: MosquittoProcess, topic: str) -> bytes:
    """What a client subscribing now gets as the retained message on `topic`."""
    late = Watcher(broker.host, broker.port, topic)
    try:
        payload, retained, _ = late.wait_for(topic, None, timeout=10)
    finally:
        late.close()
    assert retained, f"{topic}: {payload!r} is not retained"
    return payload


def _write_config(path: Path, broker: MosquittoProcess, prefix: str) -> None:
    """A config whose every topic lives under the test's own prefix."""
    config = {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "client_id": f"sleepenv-{prefix}",
            "keepalive": 10,
            "discovery_prefix": prefix,
            "base_topic": prefix,
        },
        "beds": [
            {
                "id": BED,
                "name": "Container test bed",
                "timezone": "UTC",
                "sensors": [
                    # Not under the discovery prefix (which is the test's prefix here):
                    # check-config refuses inputs there.
                    {"kind": "envelope", "topic": f"{prefix}-sensor/envelope", "side": "left"}
                ],
            }
        ],
        "log_level": "DEBUG",
    }
    path.write_text(yaml.safe_dump(config))
    # The service runs as uid 10001 inside; a bind-mounted file must be readable to it.
    path.chmod(0o644)


@pytest.fixture
def watcher(mosquitto: MosquittoProcess, prefix: str) -> Iterator[Watcher]:
    """A client watching everything under the test's prefix."""
    w = Watcher(mosquitto.host, mosquitto.port, f"{prefix}/#")
    yield w
    w.close()


def test_image_has_healthcheck_and_runs_unprivileged(image: str) -> None:
    """The built image keeps HEALTHCHECK (docker format), STOPSIGNAL and a non-root user."""
    info = json.loads(_run("podman", "image", "inspect", image).stdout)[0]
    health = info.get("Healthcheck") or info.get("Config", {}).get("Healthcheck")
    assert health is not None, "HEALTHCHECK lost: build with --format docker"
    assert health["Test"] == ["CMD", "sleepenv", "healthcheck"]
    config = info["Config"]
    assert config["User"] not in ("", "0", "root", "0:0")
    assert config["StopSignal"] == "SIGTERM"
    assert config["Entrypoint"] == ["sleepenv"]
    assert "/data" in config["Volumes"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["SLEEPENV_CONFIG"] == "/config/sleepenv.yaml"
    # No installer or compiler is left in the runtime image.
    probe = _run(
        "podman",
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        image,
        "-c",
        "command -v gcc cc pip pip3 || ls /opt/venv/bin/pip* 2>/dev/null || echo clean",
    )
    assert probe.stdout.strip() == "clean"


def test_container_publishes_and_stops_cleanly(
    image: str, mosquitto: MosquittoProcess, prefix: str, watcher: Watcher, tmp_path: Path
) -> None:
    """Discovery and `online` on start, healthy, then `offline` and exit 0 on podman stop."""
    config = tmp_path / "sleepenv.yaml"
    _write_config(config, mosquitto, prefix)
    name = f"sleepenv-test-{prefix}"
    _run(
        "podman",
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "-v",
        f"{config}:/config/sleepenv.yaml:ro",
        image,
    )
    try:
        discovery, _, _ = watcher.wait_for(
            f"{prefix}/device/sleepenv_{BED}/config", None, timeout=60
        )
        payload = json.loads(discovery)
        assert payload["cmps"], "discovery names no components"
        _, _, online_at = watcher.wait_for(f"{prefix}/status", b"online", timeout=30)
        # Retained, so Home Assistant sees it even when it (re)connects later.
        assert _retained(mosquitto, f"{prefix}/status") == b"online"

        # The HEALTHCHECK command itself, run the way the engine runs it.
        deadline = time.monotonic() + 30
        while (health := _run("podman", "healthcheck", "run", name, check=False)).returncode:
            if time.monotonic() > deadline:
                logs = _run("podman", "logs", name, check=False)
                pytest.fail(f"never healthy: {health.stdout}{health.stderr}\n{logs.stderr}")
            time.sleep(1)

        # Stopped as soon as it is healthy; beyond the service's 5 s promise podman would
        # SIGKILL (exit 137).
        _run("podman", "stop", "-t", "10", name, timeout=60)
        state = json.loads(_run("podman", "inspect", name).stdout)[0]["State"]
        logs = _run("podman", "logs", name, check=False)
        assert state["ExitCode"] == 0, f"exit {state['ExitCode']}:\n{logs.stdout}{logs.stderr}"
        watcher.wait_for(f"{prefix}/status", b"offline", timeout=10, after=online_at)
        assert _retained(mosquitto, f"{prefix}/status") == b"offline"
    finally:
        _run("podman", "rm", "-f", name, check=False)
