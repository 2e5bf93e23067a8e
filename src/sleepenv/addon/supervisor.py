"""The Home Assistant Supervisor, as seen from inside the add-on: options and broker info.

The Supervisor can be restarting while the add-on starts (after an update, a backup or
a host reboot), so every request retries with capped, jittered backoff and one clear log
line per failure instead of crashing the add-on into a restart loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from sleepenv.mqtt.backoff import Backoff
from sleepenv.mqtt.payload import Invalid, parse_object

log = logging.getLogger(__name__)

SUPERVISOR_URL = "http://supervisor"
OPTIONS_PATH = Path("/data/options.json")
# Requests are retried by attempt number (each call counts its own), so this one
# instance is shared: doubling from 1 s up to 60 s, each wait within ±20 %.
SUPERVISOR_BACKOFF = Backoff(first_seconds=1.0, cap_seconds=60.0, jitter=(0.8, 1.2))


class SupervisorError(Exception):
    """One failed exchange with the Supervisor; the message says what went wrong."""


@dataclass(frozen=True, slots=True)
class MqttService:
    """Broker details the Supervisor hands out for `services: [mqtt:need]`."""

    host: str
    port: int
    username: str | None
    password: str | None
    ssl: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MqttService:
        """Decode the `data` object of GET /services/mqtt; SupervisorError if it is unusable."""
        host, port = data.get("host"), data.get("port")
        if not isinstance(host, str) or not host:
            raise SupervisorError("MQTT service info has no host")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise SupervisorError(f"MQTT service info has no valid port: {port!r}")
        username, password = data.get("username"), data.get("password")
        return cls(
            host=host,
            port=port,
            username=username if isinstance(username, str) and username else None,
            password=password if isinstance(password, str) and password else None,
            ssl=data.get("ssl") is True,
        )

    def __repr__(self) -> str:
        """Never show the password, even in a debug log of this object."""
        return (
            f"MqttService(host={self.host!r}, port={self.port}, "
            f"username={self.username!r}, password={'***' if self.password else None}, "
            f"ssl={self.ssl})"
        )


def read_options(path: Path = OPTIONS_PATH) -> dict[str, Any]:
    """The add-on options the Supervisor wrote (already validated against config.yaml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SupervisorError(f"cannot read add-on options {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # not UTF-8
        raise SupervisorError(f"add-on options {path} are not valid JSON: {exc}") from exc
    try:
        options: dict[str, Any] = parse_object(text)
    except Invalid as exc:
        if exc.rejection.reason == "not_an_object":
            raise SupervisorError(f"add-on options {path} must be a JSON object") from exc
        raise SupervisorError(f"add-on options {path} are not valid JSON: {exc}") from exc
    return options


class SupervisorClient:
    """Talks to the Supervisor API with the add-on's SUPERVISOR_TOKEN."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        base_url: str = SUPERVISOR_URL,
        backoff: Backoff | None = None,
        request_timeout_seconds: float = 10.0,
    ) -> None:
        self._session = session
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._backoff = backoff or SUPERVISOR_BACKOFF
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_seconds)

    async def get_json(self, path: str) -> Any:
        """One GET; the decoded JSON body, or SupervisorError saying why not."""
        url = f"{self._base_url}{path}"
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.get(url, headers=headers, timeout=self._timeout) as resp:
                body = await resp.text()
                if resp.status != 200:
                    raise SupervisorError(f"GET {path} answered HTTP {resp.status}: {body[:200]}")
        except aiohttp.ClientError as exc:
            raise SupervisorError(f"GET {path} failed: {exc or type(exc).__name__}") from exc
        except TimeoutError as exc:
            raise SupervisorError(f"GET {path} timed out") from exc
        try:
            return json.loads(body)
        # RecursionError: nesting too deep for the decoder, as in mqtt.payload.parse_object.
        except (ValueError, RecursionError) as exc:
            raise SupervisorError(f"GET {path} answered with invalid JSON: {body[:80]!r}") from exc

    async def get_data(self, path: str) -> dict[str, Any]:
        """The `data` object of a Supervisor `{"result": "ok", "data": {...}}` answer."""
        answer = await self.get_json(path)
        if not isinstance(answer, dict) or answer.get("result") != "ok":
            message = answer.get("message") if isinstance(answer, dict) else None
            raise SupervisorError(f"GET {path} did not succeed: {message or answer!r:.200}")
        data = answer.get("data")
        if not isinstance(data, dict):
            raise SupervisorError(f"GET {path} answered without a data object")
        return data

    async def mqtt_service(self) -> MqttService:
        """Broker info from GET /services/mqtt, retrying until the Supervisor gives it."""
        attempt = 0
        while True:
            attempt += 1
            try:
                service = MqttService.from_json(await self.get_data("/services/mqtt"))
            except SupervisorError as exc:
                delay = self._backoff.delay(attempt)
                log.warning(
                    "Supervisor: no MQTT broker info yet (%s); retry %d in %.1f s",
                    exc,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if attempt > 1:
                log.info("Supervisor: got MQTT broker info after %d attempts", attempt)
            return service

    async def home_assistant_time_zone(self, attempts: int = 3) -> str | None:
        """Home Assistant's time zone via the Core API proxy, or None if it stays unknown."""
        for attempt in range(1, attempts + 1):
            try:
                answer = await self.get_json("/core/api/config")
            except SupervisorError as exc:
                if attempt == attempts:
                    log.warning("Home Assistant time zone unknown (%s); using the host's", exc)
                    return None
                await asyncio.sleep(self._backoff.delay(attempt))
                continue
            zone = answer.get("time_zone") if isinstance(answer, dict) else None
            return zone if isinstance(zone, str) and zone else None
        return None
