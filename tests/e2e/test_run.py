"""Black box: `python -m sleepenv run` as a subprocess against a real Mosquitto."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import Watcher, publish_many, watch


def write_config(path: Path, broker: MosquittoProcess, prefix: str, data_dir: Path) -> Path:
    """A config file like a user would write, on the test's broker and prefix."""
    config = {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "client_id": f"{prefix}run",
            "base_topic": prefix,
            "discovery_prefix": f"{prefix}ha",
        },
        "beds": [
            {
                "id": "main",
                "name": "Main bed",
                "timezone": "Europe/Berlin",
                "sensors": [{"kind": "envelope", "topic": f"{prefix}/bed/env"}],
            }
        ],
        "storage": {"data_dir": str(data_dir)},
        "log_level": "INFO",
    }
    path.write_text(yaml.safe_dump(config))
    return path


class Runner:
    """Starts `python -m sleepenv run` on a pinned clock; restarts on the same config."""

    def __init__(self, config: Path, start_at: str) -> None:
        """Remember how to start it."""
        self.config = config
        self.start_at = start_at
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the service."""
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sleepenv",
                "run",
                "--config",
                str(self.config),
                "--start-at",
                self.start_at,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def signal(self, sig: int) -> tuple[int, str]:
        """Send `sig`, wait for the exit, return (exit code, output)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=10)
        code = self.proc.returncode
        self.proc = None
        return code, out

    def kill_if_running(self) -> None:
        """Tidy up after a failed test."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def runner(tmp_path: Path, mosquitto: MosquittoProcess, prefix: str) -> Iterator[Runner]:
    """A runner on a config in tmp_path whose clock reads 23:00 Berlin time yesterday."""
    config = write_config(tmp_path / "sleepenv.yaml", mosquitto, prefix, tmp_path / "data")
    day = (datetime.now().astimezone() - timedelta(days=1)).date()
    r = Runner(config, f"{day.isoformat()}T23:00:00+01:00")
    yield r
    r.kill_if_running()


def start_at_ts(runner: Runner) -> float:
    """Unix time of the runner's clock start."""
    return datetime.fromisoformat(runner.start_at).timestamp()


def count(w: Watcher, prefix: str) -> str | None:
    """Latest movements_tonight state."""
    return w.text(f"{prefix}/main/movements_tonight")


async def test_run_discovery_counts_sigkill_restart_and_sigterm(
    runner: Runner, mosquitto: MosquittoProcess, prefix: str
) -> None:
    topic = f"{prefix}/bed/env"
    t0 = start_at_ts(runner) - 300
    bursts = (Burst(t0 + 30, 0.3), Burst(t0 + 60, 2.0), Burst(t0 + 100, 15.0))
    night = [(topic, payload(f)) for f in frames(t0, 140, bursts)]
    watched = [f"{prefix}/#", f"{prefix}ha/#"]
    async with watch(mosquitto.host, mosquitto.port, watched) as w:
        runner.start()
        disc_topic = f"{prefix}ha/device/sleepenv_main/config"
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "online", 15)
        await w.wait_for(lambda: disc_topic in w.latest, 5)
        disc = w.json(disc_topic)
        assert disc is not None
        assert disc["cmps"]["movements_tonight"]["unique_id"] == "sleepenv_main_movements_tonight"

        await publish_many(mosquitto.host, mosquitto.port, night)
        await w.wait_for(lambda: count(w, prefix) == "3", 15)

        # SIGKILL: no goodbye, the broker publishes our last will.
        assert runner.proc is not None
        runner.proc.kill()
        runner.proc.wait()
        runner.proc = None
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "offline", 15)

        # Restart: the count continues and a full replay of the night adds nothing.
        runner.start()
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "online", 15)
        await w.wait_for(lambda: count(w, prefix) == "3", 15)
        await publish_many(mosquitto.host, mosquitto.port, night)
        more = list(frames(t0 + 140, 60, (Burst(t0 + 170, 2.0),), seed=3))
        await publish_many(mosquitto.host, mosquitto.port, [(topic, payload(f)) for f in more])
        await w.wait_for(lambda: count(w, prefix) == "4", 15)

        started = time.monotonic()
        code, out = runner.signal(signal.SIGTERM)
        assert time.monotonic() - started < 5, out
        assert code == 0, out
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "offline", 5)
        assert "Traceback" not in out
        assert count(w, prefix) == "4"


def test_run_with_a_bad_config_exits_2_before_connecting(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("mqtt:\n  port: 99999\nbeds: []\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sleepenv", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "mqtt.port" in proc.stderr
    assert "beds" in proc.stderr
    assert "connected" not in proc.stderr


async def test_sigterm_right_after_connecting_still_ends_offline(
    runner: Runner, mosquitto: MosquittoProcess, prefix: str
) -> None:
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/status"]) as w:
        for _ in range(4):
            runner.start()
            await w.wait_for(lambda: w.text(f"{prefix}/status") == "online", 15)
            started = time.monotonic()
            code, out = runner.signal(signal.SIGTERM)
            assert code == 0, out
            assert time.monotonic() - started < 5, out
            await w.wait_for(lambda: w.text(f"{prefix}/status") == "offline", 5)
