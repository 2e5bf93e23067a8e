"""The add-on image as the Supervisor would run it: options in /data, broker from the API.

A fake Supervisor on loopback stands in for the real one (which cannot run here); the
container reaches it and the test Mosquitto through host networking.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from sleepenv.mqtt.broker import MosquittoProcess
from tests.addon.fake_supervisor import TOKEN, FakeSupervisor
from tests.docker.conftest import run
from tests.helpers.mqtt import watch

pytestmark = pytest.mark.timeout(900)

STATUS = "sleepenv/status"
DISCOVERY = "homeassistant/device/sleepenv_main/config"


def _data_dir(tmp_path: Path) -> Path:
    """/data as the Supervisor prepares it: options.json from the add-on options."""
    data = tmp_path / "data"
    data.mkdir()
    options = {
        "beds": [{"id": "main", "name": "Bed", "envelope_topic": "bed-sensor/envelope"}],
        "log_level": "info",
    }
    (data / "options.json").write_text(json.dumps(options))
    return data


async def _podman(*args: str) -> tuple[int, str]:
    """Run podman without blocking the event loop that serves the fake Supervisor."""
    proc = await asyncio.create_subprocess_exec(
        "podman", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(120):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_addon_container_starts_from_options_and_stops_cleanly(
    addon_image: str, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    """Options + Supervisor broker → discovery, `online`, healthy; stop → `offline`, exit 0."""
    broker = {"host": mosquitto.host, "port": mosquitto.port, "ssl": False}
    fake = FakeSupervisor(
        mqtt_script=[
            (502, "Bad Gateway"),
            (200, json.dumps({"result": "ok", "data": broker})),
        ]
    )
    await fake.start()
    data = _data_dir(tmp_path)
    name = f"sleepenv-addon-test-{fake.port}"
    try:
        async with watch(mosquitto.host, mosquitto.port, [STATUS, DISCOVERY]) as watcher:
            code, out = await _podman(
                "run", "-d", "--name", name, "--network", "host",
                "-e", f"SUPERVISOR_TOKEN={TOKEN}",
                "-e", f"SLEEPENV_ADDON_SUPERVISOR_URL={fake.url}",
                "-v", f"{data}:/data", addon_image,
            )  # fmt: skip
            assert code == 0, out
            await watcher.wait_for(
                lambda: watcher.text(STATUS) == "online" and watcher.json(DISCOVERY) is not None,
                seconds=60,
            )
            # The image's HEALTHCHECK must find the generated config and the heartbeat
            # (the first heartbeat may take one 10 s period).
            for _ in range(30):
                code, out = await _podman("healthcheck", "run", name)
                if code == 0:
                    break
                await asyncio.sleep(1)
            else:
                pytest.fail(f"add-on container never healthy: {out}")
            code, out = await _podman("stop", "-t", "10", name)
            assert code == 0, out
            await watcher.wait_for(lambda: watcher.text(STATUS) == "offline")
            _, state = await _podman("inspect", "--format", "{{.State.ExitCode}}", name)
            _, logs = await _podman("logs", name)
            assert state.strip() == "0", logs
    finally:
        await fake.stop()
        run("podman", "rm", "-f", name, check=False)
    assert "HTTP 502" in logs, "the Supervisor's error is logged, then retried"
    assert (data / "sleepenv.db").exists(), "the store lives in the add-on's /data"
    assert [path for path, _ in fake.requests].count("/services/mqtt") == 2
    assert signal.SIGTERM  # the stop above is a SIGTERM (the image's STOPSIGNAL)
