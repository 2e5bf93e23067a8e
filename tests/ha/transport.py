"""Blocking REST and websocket access to a Home Assistant, over a private aiohttp event loop.

The loop runs in a daemon thread so that sync tests, async tests and module-scoped fixtures
can share one connection; every public method blocks until Home Assistant has answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

T = TypeVar("T")
JSON = Any  # what Home Assistant answers: dicts, lists and scalars decoded from JSON


class HomeAssistantError(RuntimeError):
    """Home Assistant did not start, answered with an error, or timed out."""


class BackgroundLoop:
    """A private asyncio loop in a daemon thread; `run()` blocks on a coroutine there."""

    def __init__(self) -> None:
        """Start the loop's thread."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="ha-io")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run `coro` on the private loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class HaClient:
    """REST calls and one authenticated websocket to the Home Assistant at `base_url`."""

    def __init__(self, base_url: str) -> None:
        """Prepare a client; nothing connects until it is used."""
        self.base_url = base_url
        self.token: str | None = None
        self._io = BackgroundLoop()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JSON]] = {}
        self._handlers: dict[int, Callable[[JSON], None]] = {}

    # ------------------------------------------------------------------ blocking API

    def request(
        self,
        method: str,
        path: str,
        *,
        json: JSON = None,
        data: dict[str, str] | None = None,
        auth: bool = True,
        timeout: float = 60.0,
    ) -> tuple[int, JSON]:
        """One HTTP request; returns (status, decoded JSON or text) and never raises on status."""
        return self._io.run(self._request(method, path, json, data, auth), timeout=timeout)

    def connect(self) -> None:
        """(Re)open the websocket and authenticate with the current token."""
        self._io.run(self._ws_connect())

    def disconnect(self) -> None:
        """Close the websocket (subscriptions end with it)."""
        self._io.run(self._ws_close(), timeout=10)

    def call(self, command: dict[str, Any], timeout: float = 30.0) -> JSON:
        """Send one websocket command (without `id`) and return its `result`."""
        return self._io.run(self._ws_call(command, None), timeout=timeout)

    def subscribe(self, command: dict[str, Any], handler: Callable[[JSON], None]) -> None:
        """Send a subscription command; `handler` gets every event, on the loop's thread."""
        self._io.run(self._ws_call(command, handler))

    def close(self) -> None:
        """Close the websocket and the HTTP session and stop the private loop."""
        with contextlib.suppress(Exception):
            self._io.run(self._close_all(), timeout=10)
        self._io.close()

    # ------------------------------------------------------------------ on the loop

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def _close_all(self) -> None:
        await self._ws_close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        json: JSON,
        data: dict[str, str] | None,
        auth: bool,
    ) -> tuple[int, JSON]:
        session = await self._get_session()
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        async with session.request(
            method, self.base_url + path, json=json, data=data, headers=headers
        ) as resp:
            text = await resp.text()
            body: JSON = text
            if resp.content_type == "application/json" and text:
                body = await resp.json()
            return resp.status, body

    async def _ws_connect(self) -> None:
        await self._ws_close()
        session = await self._get_session()
        ws = await session.ws_connect(f"{self.base_url}/api/websocket", heartbeat=30)
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise HomeAssistantError(f"unexpected websocket greeting: {hello}")
        await ws.send_json({"type": "auth", "access_token": self.token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            await ws.close()
            raise HomeAssistantError(f"websocket auth failed: {answer}")
        self._ws = ws
        self._reader = asyncio.get_running_loop().create_task(self._ws_read(ws))

    async def _ws_read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = msg.json()
                for item in data if isinstance(data, list) else [data]:
                    self._dispatch(item)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(HomeAssistantError("websocket closed"))
            self._pending.clear()

    def _dispatch(self, item: dict[str, Any]) -> None:
        msg_id = item.get("id")
        if not isinstance(msg_id, int):
            return
        if item.get("type") == "event":
            handler = self._handlers.get(msg_id)
            if handler is not None:
                handler(item["event"])
            return
        future = self._pending.pop(msg_id, None)
        if future is None or future.done():
            return
        if item.get("success", True):
            future.set_result(item.get("result"))
        else:
            future.set_exception(HomeAssistantError(f"websocket error: {item.get('error')}"))

    async def _ws_close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(reader, 5)
        self._handlers.clear()

    async def _ws_call(
        self, command: dict[str, Any], handler: Callable[[JSON], None] | None
    ) -> JSON:
        if self._ws is None:
            raise HomeAssistantError("websocket is not connected (is Home Assistant running?)")
        msg_id = next(self._ids)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        if handler is not None:
            self._handlers[msg_id] = handler
        await self._ws.send_json({**command, "id": msg_id})
        return await future


class BirthWatcher:
    """Subscribes to `homeassistant/status` so a start can wait for Home Assistant's birth."""

    def __init__(self, host: str, port: int) -> None:
        """Connect and subscribe (raises HomeAssistantError if the broker does not answer)."""
        self._online = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            self.close()
            raise HomeAssistantError(f"could not subscribe on the broker at {host}:{port}")

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe("homeassistant/status", qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.payload == b"online":
            self._online.set()

    def wait(self, timeout: float) -> None:
        """Block until `online` arrives, or raise HomeAssistantError."""
        if not self._online.wait(timeout):
            raise HomeAssistantError(f"no MQTT birth message within {timeout:.0f} s")

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()
