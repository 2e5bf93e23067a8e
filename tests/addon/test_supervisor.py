"""Add-on start-up against a small fake Supervisor (the real one cannot run here).

The fake is a real HTTP server on a loopback port that answers from a script of
responses, so the client's retries, logging and decoding run for real.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from sleepenv.addon.supervisor import (
    MqttService,
    SupervisorClient,
    SupervisorError,
    read_options,
)
from sleepenv.mqtt.backoff import Backoff
from sleepenv.mqtt.broker import free_port
from tests.addon.fake_supervisor import OK_MQTT, TOKEN, FakeSupervisor

FAST = Backoff(first_seconds=0.05, cap_seconds=0.2, jitter=(0.8, 1.2))


async def _mqtt(url: str, token: str = TOKEN) -> MqttService:
    async with aiohttp.ClientSession() as session:
        client = SupervisorClient(session, token, url, backoff=FAST, request_timeout_seconds=2)
        return await asyncio.wait_for(client.mqtt_service(), timeout=20)


async def test_broker_info_with_the_token(supervisor: FakeSupervisor) -> None:
    """One request, with the bearer token, decoded into MqttService."""
    service = await _mqtt(supervisor.url)
    assert service == MqttService("127.0.0.1", 1883, "addons", "s3cret", ssl=False)
    assert supervisor.requests == [("/services/mqtt", f"Bearer {TOKEN}")]
    assert "s3cret" not in repr(service)


async def test_supervisor_down_then_up(caplog: pytest.LogCaptureFixture) -> None:
    """Connection refused is logged and retried until the Supervisor listens."""
    caplog.set_level(logging.WARNING)
    fake = FakeSupervisor()
    task = asyncio.create_task(_mqtt(fake.url))
    async with asyncio.timeout(10):  # until the first refused attempt is logged
        while "no MQTT broker info yet" not in caplog.text:  # noqa: ASYNC110 - polling the log
            await asyncio.sleep(0.02)
    assert not task.done()
    await fake.start()
    try:
        service = await task
    finally:
        await fake.stop()
    assert service.host == "127.0.0.1"
    refused = [r for r in caplog.records if "no MQTT broker info yet" in r.getMessage()]
    assert refused, "each failed attempt says why"
    assert "failed" in refused[0].getMessage()
    assert "retry 1 in" in refused[0].getMessage()


async def test_error_status_then_ok(
    supervisor: FakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    """HTTP 500 (Supervisor restarting) is retried; the status shows in the log."""
    caplog.set_level(logging.WARNING)
    supervisor.mqtt_script = [
        (500, '{"result": "error", "message": "System is not ready"}'),
        (500, '{"result": "error", "message": "System is not ready"}'),
        (200, json.dumps(OK_MQTT)),
    ]
    service = await _mqtt(supervisor.url)
    assert service.username == "addons"
    assert len(supervisor.requests) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert sum("HTTP 500" in m for m in messages) == 2
    assert any("System is not ready" in m for m in messages)


async def test_bad_json_and_error_result_then_ok(
    supervisor: FakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbled body and a `result: error` answer are retried, not fatal."""
    caplog.set_level(logging.WARNING)
    supervisor.mqtt_script = [
        (200, "<html>proxy error</html>"),
        (200, '{"result": "error", "message": "No mqtt service available"}'),
        (200, '{"result": "ok", "data": {"host": "core-mosquitto"}}'),
        (200, json.dumps(OK_MQTT)),
    ]
    service = await _mqtt(supervisor.url)
    assert service.port == 1883
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "invalid JSON" in messages
    assert "No mqtt service available" in messages
    assert "no valid port" in messages


async def test_wrong_token_is_an_error_not_a_crash(
    supervisor: FakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    """401 keeps being retried (and logged) rather than raising."""
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as session:
        client = SupervisorClient(session, "wrong", supervisor.url, backoff=FAST)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.mqtt_service(), timeout=0.5)
    assert any("HTTP 401" in r.getMessage() for r in caplog.records)


async def test_home_assistant_time_zone(supervisor: FakeSupervisor) -> None:
    """The Core API proxy gives Home Assistant's zone; a failing one gives None."""
    async with aiohttp.ClientSession() as session:
        client = SupervisorClient(session, TOKEN, supervisor.url, backoff=FAST)
        assert await client.home_assistant_time_zone() == "Europe/Berlin"
        supervisor.config_script = [(502, "Bad Gateway")]
        assert await client.home_assistant_time_zone(attempts=2) is None


def test_read_options(tmp_path: Path) -> None:
    """Options file problems are SupervisorError with the path, never a traceback."""
    path = tmp_path / "options.json"
    with pytest.raises(SupervisorError, match="cannot read"):
        read_options(path)
    path.write_text("{not json")
    with pytest.raises(SupervisorError, match="not valid JSON"):
        read_options(path)
    path.write_text("[]")
    with pytest.raises(SupervisorError, match="JSON object"):
        read_options(path)
    path.write_text('{"log_level": "info"}')
    assert read_options(path) == {"log_level": "info"}


# --- the sleepenv-addon entry point, as a process -------------------------------------


def _addon_env(tmp_path: Path, supervisor_url: str, options: dict[str, Any]) -> dict[str, str]:
    options_path = tmp_path / "options.json"
    options_path.write_text(json.dumps(options))
    return {
        **os.environ,
        "SUPERVISOR_TOKEN": TOKEN,
        "SLEEPENV_ADDON_OPTIONS": str(options_path),
        "SLEEPENV_ADDON_SUPERVISOR_URL": supervisor_url,
        "SLEEPENV_ADDON_OUTPUT": str(tmp_path / "out/addon.yaml"),
        "SLEEPENV_STORAGE__DATA_DIR": str(tmp_path / "data"),
    }


def _read_with_mode(path: Path) -> tuple[str, int]:
    return path.read_text(), path.stat().st_mode & 0o777


async def _run_addon(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sleepenv.addon.run",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_addon_writes_settings_without_the_password(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    """--no-exec: the generated config has the broker and beds, and no secret."""
    options = {
        "beds": [{"id": "main", "name": "Bed", "envelope_topic": "bed/env"}],
        "log_level": "info",
    }
    proc = await _run_addon(_addon_env(tmp_path, supervisor.url, options), "--no-exec")
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    written = Path(out.decode().strip())
    assert written == tmp_path / "out/addon.yaml"
    text, mode = _read_with_mode(written)
    assert "s3cret" not in text
    config = yaml.safe_load(text)
    assert config["mqtt"] == {"host": "127.0.0.1", "port": 1883, "username": "addons"}
    assert config["beds"][0]["timezone"] == "Europe/Berlin"
    assert oct(mode) == oct(0o600)


async def test_addon_reports_bad_options_clearly(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    """Options the settings reject: exit 2 and one line per problem with its path."""
    options = {"beds": [{"id": "main", "name": "Bed"}], "log_level": "info"}
    proc = await _run_addon(_addon_env(tmp_path, supervisor.url, options), "--no-exec")
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    assert "add-on configuration: beds[0].sensors" in err.decode()
    assert "Traceback" not in err.decode()


async def test_addon_stops_cleanly_while_waiting_for_the_supervisor(tmp_path: Path) -> None:
    """SIGTERM during the retries (Supervisor down) exits 0, with the retries logged."""
    options = {"beds": [{"id": "main", "name": "Bed", "envelope_topic": "bed/env"}]}
    dead = f"http://127.0.0.1:{free_port()}"
    proc = await _run_addon(_addon_env(tmp_path, dead, options), "--no-exec")
    assert proc.stderr is not None
    line = await asyncio.wait_for(proc.stderr.readline(), timeout=30)
    assert b"no MQTT broker info yet" in line
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
