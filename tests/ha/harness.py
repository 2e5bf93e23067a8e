"""Run a real Home Assistant Core for tests: config, onboarding, MQTT entry, REST and websocket.

`scripts/ha-env` builds the installation (a Debian sid chroot for the current release, a
plain venv for the floor) and `HomeAssistant` runs it: it writes a minimal config dir,
starts `hass --skip-pip`, onboards an owner with no clicks, creates a long-lived token and
the MQTT config entry, and offers blocking helpers over REST and one websocket.

The helpers are synchronous on purpose: a private event loop in a daemon thread owns the
aiohttp session and the websocket, so module-scoped fixtures and both sync and async tests
can use one instance. Async tests should not call them in a tight loop (they block).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from sleepenv.adapters.broker import free_port

log = logging.getLogger(__name__)

T = TypeVar("T")
JSON = Any  # what Home Assistant answers: dicts, lists and scalars decoded from JSON

REPO_ROOT = Path(__file__).resolve().parents[2]
HA_ENV_SCRIPT = REPO_ROOT / "scripts" / "ha-env"
OWNER_USERNAME = "owner"
OWNER_PASSWORD = "sleepenv-test-owner"  # a throwaway instance on loopback
START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 30.0


class HomeAssistantError(RuntimeError):
    """Home Assistant did not start, answered with an error, or timed out."""


@dataclass(frozen=True, slots=True)
class Installation:
    """Where `scripts/ha-env` put a Home Assistant: a chroot (`root`) or a host venv."""

    kind: str  # "chroot" or "venv"
    root: Path | None
    hass: str  # path of the hass executable, as seen inside the chroot if there is one
    version: str

    @classmethod
    def from_env_output(cls, text: str) -> Installation:
        """Parse the KEY=VALUE lines `scripts/ha-env` prints."""
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        root = values.get("ROOT", "")
        return cls(
            kind=values["KIND"],
            root=Path(root) if root else None,
            hass=values["HASS"],
            version=values["VERSION"],
        )

    def command(self, *args: str) -> list[str]:
        """The argv that runs `hass *args` in this installation."""
        if self.root is None:
            return [self.hass, *args]
        return ["chroot", str(self.root), self.hass, *args]


def build_installation(*, floor: bool = False, timeout_seconds: float = 1800.0) -> Installation:
    """Build (or reuse from the cache) a Home Assistant with `scripts/ha-env` and describe it."""
    argv = [str(HA_ENV_SCRIPT), *(["--floor"] if floor else [])]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_seconds, check=False
    )
    if proc.returncode != 0:
        raise HomeAssistantError(
            f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return Installation.from_env_output(proc.stdout)


def _config_yaml(
    port: int, config_dir_inside: str, frontend_dir_inside: str, extra_yaml: str
) -> str:
    """configuration.yaml for a headless instance; paths as hass sees them."""
    return f"""\
homeassistant:
  name: sleepenv test
  latitude: 52.3731
  longitude: 4.8922
  elevation: 0
  unit_system: metric
  time_zone: Europe/Amsterdam
  currency: EUR
  country: NL
  language: en

http:
  server_host: 127.0.0.1
  server_port: {port}

api:
websocket_api:

# Without the home-assistant-frontend package Home Assistant would fall into recovery mode
# (0.0.0.0:8123, no config entries); an empty development repo satisfies it.
frontend:
  development_repo: {frontend_dir_inside}

recorder:
  db_url: sqlite:///{config_dir_inside}/home-assistant_v2.db
  commit_interval: 1

logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
    homeassistant.bootstrap: info
    homeassistant.setup: info

{extra_yaml}
"""


class _Loop:
    """A private asyncio loop in a daemon thread; `run()` blocks on a coroutine there."""

    def __init__(self) -> None:
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


class HomeAssistant:
    """One real Home Assistant Core process with its own config dir, port, owner and token."""

    def __init__(
        self,
        installation: Installation,
        *,
        extra_yaml: str = "",
        files: dict[str, str] | None = None,
    ) -> None:
        """Prepare a config dir (not started yet); `files` are extra paths relative to it."""
        self.installation = installation
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        name = f"ha-{uuid.uuid4().hex[:12]}"
        if installation.root is not None:
            self.config_dir = installation.root / "tmp" / name
            self.config_dir.mkdir(parents=True)
            self._config_dir_inside = f"/tmp/{name}"
        else:
            self.config_dir = Path(tempfile.mkdtemp(prefix=f"sleepenv-{name}-"))
            self._config_dir_inside = str(self.config_dir)
        (self.config_dir / "frontend" / "hass_frontend").mkdir(parents=True)
        (self.config_dir / "configuration.yaml").write_text(
            _config_yaml(
                self.port,
                self._config_dir_inside,
                f"{self._config_dir_inside}/frontend",
                extra_yaml,
            )
        )
        for relative, text in (files or {}).items():
            path = self.config_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.token: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout_path = self.config_dir / "hass.stdout.log"
        self._io = _Loop()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ws_reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JSON]] = {}
        self._event_handlers: dict[int, Callable[[JSON], None]] = {}

    # ----------------------------------------------------------------- lifecycle

    @property
    def version(self) -> str:
        """The homeassistant version this instance runs."""
        return self.installation.version

    @property
    def log_path(self) -> Path:
        """Home Assistant's own log file (home-assistant.log in the config dir)."""
        return self.config_dir / "home-assistant.log"

    def log_text(self) -> str:
        """The whole log so far (empty if Home Assistant never wrote one)."""
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def log_lines(self, *needles: str, levels: tuple[str, ...] = ("ERROR", "WARNING")) -> list[str]:
        """Log lines of the given levels that contain every needle (case-insensitive)."""
        wanted = [n.lower() for n in needles]
        return [
            line
            for line in self.log_text().splitlines()
            if any(f" {level} " in line for level in levels)
            and all(n in line.lower() for n in wanted)
        ]

    def start(self) -> None:
        """Start hass, wait until it runs; on first start onboard, get a token."""
        if self._proc is not None:
            raise HomeAssistantError("already running")
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root" if self.installation.root is not None else os.environ["HOME"],
            "LANG": "C.UTF-8",
        }
        argv = self.installation.command("-c", self._config_dir_inside, "--skip-pip")
        with self._stdout_path.open("ab") as out:
            self._proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # so stop() can signal the whole group
            )
        try:
            self._wait_until_running()
            if self.token is None:
                self._onboard()
            self._io.run(self._ws_connect())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop hass (SIGTERM, then SIGKILL) and close the websocket; safe to repeat."""
        self._io.run(self._ws_close(), timeout=10)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("Home Assistant ignored SIGTERM for %.0f s", STOP_TIMEOUT_SECONDS)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def restart(self) -> None:
        """Stop and start again with the same config dir, storage, database and token."""
        self.stop()
        self.start()

    def close(self, *, keep_files: bool = False) -> None:
        """Stop hass, end the private loop and remove the config dir unless kept."""
        try:
            self.stop()
        finally:
            with contextlib.suppress(Exception):
                self._io.run(self._close_session(), timeout=10)
            self._io.close()
            if not keep_files and not os.environ.get("SLEEPENV_HA_KEEP"):
                shutil.rmtree(self.config_dir, ignore_errors=True)

    def __enter__(self) -> HomeAssistant:
        """Start on entering a with-block."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop and clean up on leaving a with-block."""
        self.close()

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            tail = self._stdout_path.read_text(errors="replace")[-3000:]
            raise HomeAssistantError(f"hass exited with {self._proc.returncode}:\n{tail}")

    def _wait_until_running(self) -> None:
        """Wait until the HTTP API answers and, once we hold a token, core state is RUNNING."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                if self.token is None:
                    status, _ = self._io.run(self._request("GET", "/api/onboarding", auth=False))
                    if status == 200:
                        return
                else:
                    status, body = self._io.run(self._request("GET", "/api/config"))
                    if status == 200 and body.get("state") == "RUNNING":
                        return
            time.sleep(0.25)
        raise HomeAssistantError(f"Home Assistant did not start within {START_TIMEOUT_SECONDS} s")

    def _onboard(self) -> None:
        """Create the owner (only the user step), trade the auth code, make a long-lived token."""
        client_id = f"{self.base_url}/"
        status, body = self._io.run(
            self._request(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": client_id,
                    "name": "Owner",
                    "username": OWNER_USERNAME,
                    "password": OWNER_PASSWORD,
                    "language": "en",
                },
                auth=False,
            )
        )
        if status != 200:
            raise HomeAssistantError(f"onboarding failed: {status} {body}")
        status, tokens = self._io.run(
            self._request(
                "POST",
                "/auth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": body["auth_code"],
                    "client_id": client_id,
                },
                auth=False,
            )
        )
        if status != 200:
            raise HomeAssistantError(f"token exchange failed: {status} {tokens}")
        self.token = tokens["access_token"]
        self._io.run(self._ws_connect())
        self.token = self.ws(
            {
                "type": "auth/long_lived_access_token",
                "client_name": "sleepenv tests",
                "lifespan": 3650,
            }
        )
        self._io.run(self._ws_close())
        self._wait_until_running()

    # ----------------------------------------------------------------- transport

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def _close_session(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: JSON = None,
        data: dict[str, str] | None = None,
        auth: bool = True,
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
            raise HomeAssistantError(f"websocket auth failed: {answer}")
        self._ws = ws
        self._ws_reader = asyncio.get_running_loop().create_task(self._ws_read(ws))

    async def _ws_read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = msg.json()
            for item in data if isinstance(data, list) else [data]:
                self._dispatch(item)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HomeAssistantError("websocket closed"))
        self._pending.clear()

    def _dispatch(self, item: dict[str, Any]) -> None:
        msg_id = item.get("id")
        if not isinstance(msg_id, int):
            return
        if item.get("type") == "event":
            handler = self._event_handlers.get(msg_id)
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
        reader, self._ws_reader = self._ws_reader, None
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(reader, 5)
        self._event_handlers.clear()

    async def _ws_call(self, command: dict[str, Any]) -> JSON:
        if self._ws is None:
            raise HomeAssistantError("websocket is not connected (is Home Assistant running?)")
        msg_id = next(self._ids)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({**command, "id": msg_id})
        return await future

    async def _ws_subscribe(self, command: dict[str, Any], handler: Callable[[JSON], None]) -> int:
        if self._ws is None:
            raise HomeAssistantError("websocket is not connected (is Home Assistant running?)")
        msg_id = next(self._ids)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._event_handlers[msg_id] = handler
        await self._ws.send_json({**command, "id": msg_id})
        await future
        return msg_id

    # ----------------------------------------------------------------- public helpers

    def rest(self, method: str, path: str, json: JSON = None) -> JSON:
        """Call the REST API with the owner's token; raise HomeAssistantError on >= 400."""
        status, body = self._io.run(self._request(method, path, json=json))
        if status >= 400:
            raise HomeAssistantError(f"{method} {path} -> {status}: {body}")
        return body

    def ws(self, command: dict[str, Any], timeout: float = 30.0) -> JSON:
        """Send one websocket command (without `id`) and return its `result`."""
        return self._io.run(self._ws_call(command), timeout=timeout)

    def subscribe_events(self, event_type: str | None = None) -> list[JSON]:
        """Collect bus events (of one type, or all) into the returned, growing list."""
        received: list[JSON] = []
        command: dict[str, Any] = {"type": "subscribe_events"}
        if event_type is not None:
            command["event_type"] = event_type
        self._io.run(self._ws_subscribe(command, received.append))
        return received

    def config(self) -> JSON:
        """GET /api/config: version, units, components, state."""
        return self.rest("GET", "/api/config")

    def states(self) -> list[JSON]:
        """All current states (REST /api/states)."""
        result: list[JSON] = self.rest("GET", "/api/states")
        return result

    def state(self, entity_id: str) -> JSON | None:
        """The state object of one entity, or None if Home Assistant has none."""
        status, body = self._io.run(self._request("GET", f"/api/states/{entity_id}"))
        if status == 404:
            return None
        if status >= 400:
            raise HomeAssistantError(f"GET state {entity_id} -> {status}: {body}")
        return body

    def call_service(self, domain: str, service: str, data: dict[str, Any] | None = None) -> JSON:
        """Call a service through the websocket API (`call_service`)."""
        return self.ws(
            {
                "type": "call_service",
                "domain": domain,
                "service": service,
                "service_data": data or {},
            }
        )

    def entity_registry(self) -> list[JSON]:
        """Every entity registry entry (websocket `config/entity_registry/list`)."""
        result: list[JSON] = self.ws({"type": "config/entity_registry/list"})
        return result

    def entity_by_unique_id(self, unique_id: str, platform: str = "mqtt") -> JSON | None:
        """The registry entry of one entity, looked up by platform and unique_id."""
        for entry in self.entity_registry():
            if entry.get("unique_id") == unique_id and entry.get("platform") == platform:
                return entry
        return None

    def entity_registry_entry(self, entity_id: str) -> JSON:
        """The extended registry entry (device_class, capabilities, ...) of one entity."""
        return self.ws({"type": "config/entity_registry/get", "entity_id": entity_id})

    def device_registry(self) -> list[JSON]:
        """Every device registry entry (websocket `config/device_registry/list`)."""
        result: list[JSON] = self.ws({"type": "config/device_registry/list"})
        return result

    def config_entries(self, domain: str | None = None) -> list[JSON]:
        """Config entries, optionally of one domain (websocket `config_entries/get`)."""
        command: dict[str, Any] = {"type": "config_entries/get"}
        if domain is not None:
            command["domain"] = domain
        result: list[JSON] = self.ws(command)
        return result

    def statistics_during_period(
        self,
        statistic_ids: list[str],
        start_time: datetime,
        *,
        end_time: datetime | None = None,
        period: str = "5minute",
        types: tuple[str, ...] = ("state", "sum", "change"),
    ) -> dict[str, list[JSON]]:
        """Long-term (or 5-minute) statistics rows per statistic_id from the recorder."""
        command: dict[str, Any] = {
            "type": "recorder/statistics_during_period",
            "statistic_ids": statistic_ids,
            "start_time": start_time.isoformat(),
            "period": period,
            "types": list(types),
        }
        if end_time is not None:
            command["end_time"] = end_time.isoformat()
        result: dict[str, list[JSON]] = self.ws(command)
        return result

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 20.0,
        interval: float = 0.2,
        message: str = "condition",
    ) -> T:
        """Poll `predicate` until it returns something truthy; return that or raise."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            self._check_alive()
            try:
                value = predicate()
            except HomeAssistantError as exc:  # e.g. a 404 while an entity is being added
                last_error = exc
            else:
                if value:
                    return value
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{message} not met within {timeout} s (last error: {last_error})"
                )
            time.sleep(interval)

    def wait_for_state(
        self, entity_id: str, expected: str | Callable[[JSON], bool], timeout: float = 20.0
    ) -> JSON:
        """Wait until an entity's state equals `expected` (or the predicate holds)."""

        def check() -> JSON | None:
            current = self.state(entity_id)
            if current is None:
                return None
            ok = expected(current) if callable(expected) else current["state"] == expected
            return current if ok else None

        result: JSON = self.wait_for(check, timeout, message=f"{entity_id} state {expected!r}")
        return result

    # ----------------------------------------------------------------- MQTT

    def add_mqtt_entry(self, broker_host: str, broker_port: int) -> JSON:
        """Create the MQTT config entry through the REST config flow; return the entry."""
        form = self.rest(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": "mqtt", "show_advanced_options": False},
        )
        answers = {
            "broker": broker_host,
            "port": broker_port,
            "set_client_cert": False,
            "set_ca_cert": "off",
            "transport": "tcp",
            "advanced_options": False,
        }
        while form.get("type") == "form":
            user_input = _fill_form(form.get("data_schema", []), answers)
            form = self.rest(
                "POST", f"/api/config/config_entries/flow/{form['flow_id']}", user_input
            )
            if form.get("errors"):
                raise HomeAssistantError(f"MQTT config flow rejected {user_input}: {form}")
        if form.get("type") != "create_entry":
            raise HomeAssistantError(f"MQTT config flow did not create an entry: {form}")
        self.wait_for(
            lambda: any(e.get("state") == "loaded" for e in self.config_entries("mqtt")),
            timeout=30,
            message="MQTT config entry loaded",
        )
        return form


def _fill_form(schema: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """Answer a config-flow form from `answers`, descending into (expandable) sections."""
    result: dict[str, Any] = {}
    for field in schema:
        name = field["name"]
        if field.get("type") == "expandable":
            result[name] = _fill_form(field.get("schema", []), answers)
        elif name in answers:
            result[name] = answers[name]
    return result


@contextlib.contextmanager
def running_home_assistant(
    installation: Installation, *, extra_yaml: str = "", files: dict[str, str] | None = None
) -> Iterator[HomeAssistant]:
    """Start a Home Assistant and always stop it and remove its files afterwards."""
    ha = HomeAssistant(installation, extra_yaml=extra_yaml, files=files)
    try:
        ha.start()
        yield ha
    finally:
        ha.close()
