"""A small fake of the Home Assistant Supervisor API: a real HTTP server on loopback."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web

from sleepenv.mqtt.broker import free_port

TOKEN = "test-token"
OK_MQTT = {
    "result": "ok",
    "data": {
        "addon": "core_mosquitto",
        "host": "127.0.0.1",
        "port": 1883,
        "ssl": False,
        "protocol": "3.1.1",
        "username": "addons",
        "password": "s3cret",
    },
}


@dataclass
class FakeSupervisor:
    """Answers GET /services/mqtt and /core/api/config from scripted responses."""

    port: int = field(default_factory=free_port)
    # Each entry: (status, body); the last one repeats.
    mqtt_script: list[tuple[int, str]] = field(default_factory=lambda: [(200, json.dumps(OK_MQTT))])
    config_script: list[tuple[int, str]] = field(
        default_factory=lambda: [(200, json.dumps({"time_zone": "Europe/Berlin"}))]
    )
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL to hand to the client."""
        return f"http://127.0.0.1:{self.port}"

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, request.headers.get("Authorization")))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"result": "error", "message": "Unauthorized"}, status=401)
        script = self.mqtt_script if request.path == "/services/mqtt" else self.config_script
        status, body = script.pop(0) if len(script) > 1 else script[0]
        return web.Response(status=status, text=body, content_type="application/json")

    async def start(self) -> None:
        """Listen on the loopback port."""
        app = web.Application()
        app.router.add_get("/services/mqtt", self._answer)
        app.router.add_get("/core/api/config", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
