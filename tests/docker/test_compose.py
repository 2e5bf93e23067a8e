"""The Compose stack's files agree with each other and with the service (no engine needed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sleepenv.bootstrap import check_environment
from sleepenv.config.settings import load_settings
from sleepenv.mqtt.broker import free_port, wait_for_port

DOCKER = Path(__file__).resolve().parents[2] / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker/compose.yaml."""
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_example_config_is_valid_for_the_service() -> None:
    """docker/sleepenv.yaml, the image's default config, loads and passes the I/O checks."""
    settings = load_settings(DOCKER / "sleepenv.yaml")
    assert check_environment(settings) == []
    assert settings.mqtt.host == "mosquitto", "the broker's service name in compose.yaml"
    assert {s.kind for b in settings.beds for s in b.sensors} == {"envelope", "zigbee_vibration"}


def test_sleepenv_service_mounts_config_and_data(compose: dict[str, Any]) -> None:
    """Config at the image's SLEEPENV_CONFIG path, state on a volume at /data."""
    service = compose["services"]["sleepenv"]
    dockerfile = (DOCKER / "Dockerfile").read_text()
    config_path = re.search(r"SLEEPENV_CONFIG=(\S+)", dockerfile)
    assert config_path is not None
    assert f"./sleepenv.yaml:{config_path[1]}:ro" in service["volumes"]
    data = [v for v in service["volumes"] if v.split(":")[1] == "/data"]
    assert data, "no volume on /data"
    assert data[0].split(":")[0] in compose["volumes"]
    assert service["environment"]["SLEEPENV_MQTT__HOST"] in compose["services"]
    # The service exits within 5 s of SIGTERM; give it more before a SIGKILL.
    assert int(service["stop_grace_period"].removesuffix("s")) > 5


def test_mosquitto_does_not_drop_queued_messages(compose: dict[str, Any]) -> None:
    """max_queued_messages is set on purpose (the default 1000 drops QoS 1 silently)."""
    conf = (DOCKER / "mosquitto/mosquitto.conf").read_text()
    settings = dict(
        line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert settings["max_queued_messages"] == "0"
    assert int(settings["max_queued_bytes"]) > 0, "bounded by bytes instead of count"
    mounts = compose["services"]["mosquitto"]["volumes"]
    assert "./mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in mounts


@pytest.mark.mqtt  # starts its own Mosquitto from the shipped config
def test_real_mosquitto_accepts_the_config(tmp_path: Path) -> None:
    """The shipped mosquitto.conf starts a real Mosquitto (port and paths moved to tmp)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = (DOCKER / "mosquitto/mosquitto.conf").read_text()
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/")
    # Started as root, Mosquitto would drop to its own user, which cannot write to the
    # test's private tmp dir (in the image it owns /mosquitto/data).
    conf += "\nuser root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    proc = subprocess.Popen(
        [binary, "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "Error" not in out, out
