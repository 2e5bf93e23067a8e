"""A local MQTT broker for the demo and the tests: Mosquitto from PATH, else embedded amqtt."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Bursts from a compressed night must not be dropped for a slow subscriber.
MOSQUITTO_CONF = """\
allow_anonymous true
persistence false
max_queued_messages 0
max_inflight_messages 0
log_type error
log_type warning
log_dest stderr
listener {port} {host}
"""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_seconds: float = 10.0) -> None:
    """Block until something accepts TCP connections on host:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_seconds:.0f} s")


@dataclass
class MosquittoProcess:
    """A Mosquitto subprocess on a loopback port; `stop()` and `start()` can repeat."""

    port: int
    host: str = "127.0.0.1"
    binary: str = "mosquitto"
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _dir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """What kind of broker this is, for messages to the user."""
        return "Mosquitto"

    def start(self) -> None:
        """Start (or restart) the broker and wait until it accepts connections."""
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="sleepenv-mosquitto-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        text = MOSQUITTO_CONF.format(port=self.port, host=self.host)
        if os.geteuid() == 0:
            # Started by root, Mosquitto switches to its own `mosquitto` user, which cannot
            # write into root's private directories: a `persistence_location` there fails
            # to save, and the sessions are lost on a restart. It stays who started it.
            text = "user root\n" + text
        conf.write_text(text)
        # Its log goes to a file, not a pipe: a pipe nobody reads would block the broker
        # once 64 KiB of warnings filled it.
        with self.log_path.open("ab") as log_file:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        try:
            wait_for_port(self.host, self.port)
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{exc}; Mosquitto said: {self.log_tail() or 'nothing'}") from exc

    @property
    def log_path(self) -> Path:
        """Where the broker's errors and warnings go."""
        if self._dir is None:
            raise RuntimeError("the broker has not been started")
        return Path(self._dir.name) / "mosquitto.log"

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the broker's log (at most `limit` characters), '' if none."""
        try:
            data = self.log_path.read_bytes()
        except (OSError, RuntimeError):
            return ""
        return data[-limit:].decode("utf-8", "replace").strip()

    def stop(self) -> None:
        """Stop the broker process (the port stays reserved for a restart)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop the broker and remove its temporary files."""
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def start_mosquitto(port: int | None = None, host: str = "127.0.0.1") -> MosquittoProcess:
    """Start Mosquitto from PATH on a free loopback port; FileNotFoundError if absent."""
    binary = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None,
    )
    if binary is None:
        raise FileNotFoundError("mosquitto is not installed")
    broker = MosquittoProcess(port=port or free_port(host), host=host, binary=binary)
    broker.start()
    return broker


@dataclass
class AmqttBroker:
    """The embedded amqtt broker, for machines without Mosquitto."""

    port: int
    host: str = "127.0.0.1"
    _broker: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """What kind of broker this is, for messages to the user."""
        return "embedded amqtt"

    async def start(self) -> None:
        """Start listening on host:port."""
        from amqtt.broker import Broker  # noqa: PLC0415 - heavy and rarely needed

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
            "topic-check": {"enabled": False},
            "sys_interval": 0,
        }
        self._broker = Broker(config)
        await self._broker.start()

    async def stop(self) -> None:
        """Shut the broker down."""
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await self._broker.shutdown()
            self._broker = None
