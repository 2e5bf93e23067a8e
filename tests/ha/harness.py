"""Run a real Home Assistant Core for tests: config, onboarding, MQTT entry and queries.

`scripts/ha-env` builds the installation (a Debian sid chroot for the current release, a
plain venv for the floor) and `HomeAssistant` runs it: it writes a minimal config dir,
starts `hass --skip-pip`, onboards an owner with no clicks, creates a long-lived token and
the MQTT config entry, and offers blocking helpers over REST and one websocket
(see transport.py: a private event loop, so sync and async tests can share an instance).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sleepenv.mqtt.broker import free_port

from .install import Installation, build_installation, config_yaml
from .transport import JSON, BirthWatcher, HaClient, HomeAssistantError

__all__ = [
    "JSON",
    "HomeAssistant",
    "HomeAssistantError",
    "Installation",
    "build_installation",
    "running_home_assistant",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

OWNER_USERNAME = "owner"
OWNER_PASSWORD = "sleepenv-test-owner"  # a throwaway instance on loopback
START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 30.0
BIRTH_TIMEOUT_SECONDS = 60.0
# Log lines every instance of this set-up writes: --skip-pip is deliberate, the chroot has
# no ffmpeg (camera, loaded by default in 2026.x, probes it) and the floor's host venv may
# lack libturbojpeg. None of them concerns MQTT, the recorder or sleepenv.
KNOWN_HARMLESS_LOG_LINES = (
    "Skipping pip installation of required modules",
    "[haffmpeg.core] FFmpeg fails",
    "[haffmpeg.tools] Error starting FFmpeg",
    "[homeassistant.components.camera.img_util] Error loading libturbojpeg",
)


class HomeAssistant:
    """One real Home Assistant Core process with its own config dir, port, owner and token."""

    def __init__(
        self,
        installation: Installation,
        *,
        extra_yaml: str = "",
        files: dict[str, str] | None = None,
        real_frontend: bool = False,
    ) -> None:
        """Prepare a config dir (not started yet); `files` are extra paths relative to it.

        `real_frontend` serves the release's own frontend (for a browser) instead of an
        empty development repo.
        """
        if real_frontend and not installation.frontend:
            raise HomeAssistantError("no home-assistant-frontend installed: run scripts/ha-env")
        self.installation = installation
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        name = f"ha-{uuid.uuid4().hex[:12]}"
        if installation.root is not None:
            # Inside the chroot tree, so the chrooted hass sees it at /tmp/<name>.
            self.config_dir = installation.root / "tmp" / name
            self.config_dir.mkdir(parents=True)
            self._config_dir_inside = f"/tmp/{name}"
        else:
            self.config_dir = Path(tempfile.mkdtemp(prefix=f"sleepenv-{name}-"))
            self._config_dir_inside = str(self.config_dir)
        (self.config_dir / "frontend" / "hass_frontend").mkdir(parents=True)
        (self.config_dir / "configuration.yaml").write_text(
            config_yaml(
                self.port,
                self._config_dir_inside,
                None if real_frontend else f"{self._config_dir_inside}/frontend",
                extra_yaml,
            )
        )
        for relative, text in (files or {}).items():
            path = self.config_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.client = HaClient(self.base_url)
        self.broker: tuple[str, int] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout_path = self.config_dir / "hass.stdout.log"
        atexit.register(self.stop)

    @property
    def token(self) -> str | None:
        """The owner's long-lived access token (None until the first start)."""
        return self.client.token

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

    def log_lines(
        self,
        *needles: str,
        levels: tuple[str, ...] = ("ERROR", "WARNING"),
        include_known: bool = False,
    ) -> list[str]:
        """Log lines of the given levels containing every needle (case-insensitive).

        Lines in KNOWN_HARMLESS_LOG_LINES (about this test set-up, not about sleepenv) are
        left out unless `include_known`.
        """
        wanted = [n.lower() for n in needles]
        return [
            line
            for line in self.log_text().splitlines()
            if any(f" {level} " in line for level in levels)
            and all(n in line.lower() for n in wanted)
            and (include_known or not any(k in line for k in KNOWN_HARMLESS_LOG_LINES))
        ]

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start hass and wait until it runs (and, with an MQTT entry, until its birth)."""
        if self._proc is not None:
            raise HomeAssistantError("already running")
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root" if self.installation.root is not None else os.environ["HOME"],
            "LANG": "C.UTF-8",
        }
        argv = self.installation.command("-c", self._config_dir_inside, "--skip-pip")
        # A parent-death signal stops hass even if the test process is killed outright; it
        # fires when the *thread* that forked ends, so only from the main thread. setpriv
        # (util-linux) sets it before exec, which preexec_fn cannot do safely with threads.
        setpriv = shutil.which("setpriv")
        if setpriv and threading.current_thread() is threading.main_thread():
            argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
        birth = BirthWatcher(*self.broker) if self.broker is not None else None
        try:
            with self._stdout_path.open("ab") as out:
                self._proc = subprocess.Popen(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,  # so stop() can signal the whole group
                )
            self._wait_until_running()
            if self.client.token is None:
                self._onboard()
            self.client.connect()
            self._confirm_http_config()
            if birth is not None:
                birth.wait(BIRTH_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        finally:
            if birth is not None:
                birth.close()

    def stop(self) -> None:
        """Stop hass (SIGTERM, then SIGKILL) and close the websocket; safe to repeat."""
        with contextlib.suppress(Exception):
            self.client.disconnect()
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
        """Stop hass, end the client and remove the config dir unless kept."""
        try:
            self.stop()
        finally:
            atexit.unregister(self.stop)
            self.client.close()
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
            with contextlib.suppress(Exception):
                if self.client.token is None:
                    status, _ = self.client.request("GET", "/api/onboarding", auth=False)
                    if status == 200:
                        return
                else:
                    status, body = self.client.request("GET", "/api/config")
                    if status == 200 and body.get("state") == "RUNNING":
                        return
            time.sleep(0.25)
        raise HomeAssistantError(f"Home Assistant did not start within {START_TIMEOUT_SECONDS} s")

    def _onboard(self) -> None:
        """Create the owner (only the user step), trade the auth code, make a long-lived token."""
        client_id = f"{self.base_url}/"
        owner = {
            "client_id": client_id,
            "name": "Owner",
            "username": OWNER_USERNAME,
            "password": OWNER_PASSWORD,
            "language": "en",
        }
        status, body = self.client.request("POST", "/api/onboarding/users", json=owner, auth=False)
        if status != 200:
            raise HomeAssistantError(f"onboarding failed: {status} {body}")
        grant = {
            "grant_type": "authorization_code",
            "code": body["auth_code"],
            "client_id": client_id,
        }
        status, tokens = self.client.request("POST", "/auth/token", data=grant, auth=False)
        if status != 200:
            raise HomeAssistantError(f"token exchange failed: {status} {tokens}")
        self.client.token = tokens["access_token"]
        self.client.connect()
        self.client.token = self.ws(
            {
                "type": "auth/long_lived_access_token",
                "client_name": "sleepenv tests",
                "lifespan": 3650,
            }
        )
        self._wait_until_running()

    def _confirm_http_config(self) -> None:
        """Confirm the `http:` settings from configuration.yaml as working.

        From 2026.x Home Assistant treats a changed HTTP config as a trial: unless it is
        promoted within five minutes it reverts to the stable config and restarts (exit
        100), which would end any test module that runs longer. Older releases have no
        such command, and with nothing pending there is nothing to promote.
        """
        with contextlib.suppress(HomeAssistantError):
            self.ws({"type": "http/config/promote"})

    # ----------------------------------------------------------------- queries

    def rest(self, method: str, path: str, json: JSON = None) -> JSON:
        """Call the REST API with the owner's token; raise HomeAssistantError on >= 400."""
        status, body = self.client.request(method, path, json=json)
        if status >= 400:
            raise HomeAssistantError(f"{method} {path} -> {status}: {body}")
        return body

    def ws(self, command: dict[str, Any], timeout: float = 30.0) -> JSON:
        """Send one websocket command (without `id`) and return its `result`."""
        return self.client.call(command, timeout)

    def subscribe_events(self, event_type: str | None = None) -> list[JSON]:
        """Collect bus events (of one type, or all) into the returned, growing list.

        The subscription ends with the websocket, i.e. at the next stop() or restart().
        """
        received: list[JSON] = []
        command: dict[str, Any] = {"type": "subscribe_events"}
        if event_type is not None:
            command["event_type"] = event_type
        self.client.subscribe(command, received.append)
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
        status, body = self.client.request("GET", f"/api/states/{entity_id}")
        if status == 404:
            return None
        if status >= 400:
            raise HomeAssistantError(f"GET state {entity_id} -> {status}: {body}")
        return body

    def call_service(self, domain: str, service: str, data: dict[str, Any] | None = None) -> JSON:
        """Call a service through the websocket API (`call_service`)."""
        command = {"type": "call_service", "domain": domain, "service": service}
        return self.ws({**command, "service_data": data or {}})

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
        """The extended registry entry (original_device_class, capabilities...) of one entity."""
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
        """Statistics rows per statistic_id (`recorder/statistics_during_period`)."""
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
                raise TimeoutError(f"{message} not met within {timeout} s (last: {last_error})")
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
        """Create the MQTT entry via the REST config flow; return once Home Assistant's birth
        message is on the broker (it is then subscribed to discovery)."""
        birth = BirthWatcher(broker_host, broker_port)
        try:
            result = self._mqtt_config_flow(broker_host, broker_port)
            birth.wait(BIRTH_TIMEOUT_SECONDS)
        finally:
            birth.close()
        self.broker = (broker_host, broker_port)
        return result

    def _mqtt_config_flow(self, broker_host: str, broker_port: int) -> JSON:
        flow = {"handler": "mqtt", "show_advanced_options": False}
        form = self.rest("POST", "/api/config/config_entries/flow", flow)
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
