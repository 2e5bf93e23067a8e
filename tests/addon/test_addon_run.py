"""Black box: `sleepenv-addon` as the add-on runs it, with a fake Supervisor and real broker.

The add-on start-up reads options.json, waits out a Supervisor that first answers 500,
gets the broker from it, and execs the real service in the same process, which must
then announce the bed, go `online`, and on SIGTERM publish `offline` and exit 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from sleepenv.mqtt.broker import MosquittoProcess
from tests.addon.fake_supervisor import TOKEN, FakeSupervisor
from tests.helpers.mqtt import watch


def _env(tmp_path: Path, supervisor_url: str) -> dict[str, str]:
    options = {
        "beds": [{"id": "main", "name": "Bed", "timezone": "UTC", "envelope_topic": "bed/env"}],
        "log_level": "info",
    }
    options_path = tmp_path / "options.json"
    options_path.write_text(json.dumps(options))
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SUPERVISOR_TOKEN": TOKEN,
        "SLEEPENV_ADDON_OPTIONS": str(options_path),
        "SLEEPENV_ADDON_SUPERVISOR_URL": supervisor_url,
        "SLEEPENV_ADDON_OUTPUT": str(tmp_path / "addon.yaml"),
        # /data in the add-on; the environment overrides the generated config.
        "SLEEPENV_STORAGE__DATA_DIR": str(tmp_path / "data"),
    }


async def test_addon_runs_the_service_on_the_supervisors_broker(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    """Options + broker from the Supervisor → discovery, `online`; SIGTERM → `offline`, 0."""
    broker = {"host": mosquitto.host, "port": mosquitto.port, "ssl": False}
    fake = FakeSupervisor(
        mqtt_script=[
            (500, '{"result": "error", "message": "System is not ready"}'),
            (200, json.dumps({"result": "ok", "data": broker})),
        ]
    )
    await fake.start()
    env = _env(tmp_path, fake.url)
    topics = ["sleepenv/status", "homeassistant/device/sleepenv_main/config"]
    try:
        async with watch(mosquitto.host, mosquitto.port, topics) as watcher:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sleepenv.addon.run", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            try:
                await watcher.wait_for(
                    lambda: (
                        watcher.text("sleepenv/status") == "online"
                        and watcher.json("homeassistant/device/sleepenv_main/config") is not None
                    ),
                    seconds=30,
                )
                discovery = watcher.json("homeassistant/device/sleepenv_main/config")
                assert discovery["cmps"]
                # SIGTERM right after `online`: the service stops cleanly at any point.
                proc.send_signal(signal.SIGTERM)
                out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            log = out.decode()
            assert proc.returncode == 0, log
            await watcher.wait_for(lambda: watcher.text("sleepenv/status") == "offline")
    finally:
        await fake.stop()
    assert "HTTP 500" in log, "the Supervisor's error is logged before the retry"
    assert f"MQTT broker from the Supervisor: {mosquitto.host}:{mosquitto.port}" in log
    assert len(fake.requests) == 2
