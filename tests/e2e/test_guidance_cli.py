"""Guidance as a user meets it: `sleepenv plan` and the demo's simulated bedroom.

The demo is played once for the module (`--keep-running`, so the retained discovery can
be read from its broker afterwards): its printed timeline, its guidance reaching `asleep`
and the shipped dashboard's entities are all checked on that one run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from sleepenv.mqtt.broker import free_port
from tests.e2e.test_cli import EXAMPLE, assert_night_chart, sleepenv

DASHBOARD = Path(__file__).parents[2] / "automations" / "dashboards" / "sleepenv.yaml"
KEEP_RUNNING_MARK = "broker and service keep running"
DEMO_TIMEOUT_SECONDS = 150.0
# A sleepenv entity id anywhere in a Lovelace config (entity, entities, targets, templates).
SLEEPENV_ENTITY_ID = re.compile(r"\b[a-z_]+\.sleepenv_[a-z0-9_]+\b")


def test_plan_json_as_a_subprocess() -> None:
    proc = sleepenv("plan", "--config", str(EXAMPLE), "--date", "2026-03-28", "--json")
    assert proc.returncode == 0, proc.stderr
    room = json.loads(proc.stdout)["bedrooms"][0]
    starts = {p["name"]: p["start"] for p in room["phases"]}
    assert starts["lights_out"] == "2026-03-28T23:30:00+01:00"
    assert starts["wake"] == "2026-03-29T08:30:00+02:00"  # after spring-forward


@dataclass
class DemoRun:
    """What one `sleepenv demo --keep-running` printed and left retained on its broker."""

    stdout: str
    returncode: int
    retained: dict[str, bytes]
    out_dir: Path

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Device-based discovery configs of sleepenv devices, by topic."""
        configs = {}
        for topic, payload in self.retained.items():
            parts = topic.split("/")
            if parts[0] == "homeassistant" and parts[1] == "device" and payload:
                config = json.loads(payload)
                if any(str(i).startswith("sleepenv_") for i in config["dev"]["ids"]):
                    configs[topic] = config
        return configs


def retained_messages(port: int, settle_seconds: float = 1.0) -> dict[str, bytes]:
    """Every retained message on the demo's broker (they follow the SUBACK)."""
    found: dict[str, bytes] = {}
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            found[msg.topic] = bytes(msg.payload)

    client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "could not subscribe to the demo's broker"
        threading.Event().wait(settle_seconds)
    finally:
        client.disconnect()
        client.loop_stop()
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """A one-hour demo night with guidance at 600x, left running to read its broker."""
    port = free_port()
    out_dir = tmp_path_factory.mktemp("demo-out")
    env = {**os.environ, "COLUMNS": "200"}
    argv = [sys.executable, "-m", "sleepenv", "demo", "--hours", "1", "--speed", "600"]
    argv += ["--seed", "4", "--port", str(port), "--keep-running", "--out", str(out_dir)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines: list[str] = []
    kept_running = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if KEEP_RUNNING_MARK in line:
                kept_running.set()

    reader = threading.Thread(target=read, name="demo-stdout", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
        while not kept_running.wait(0.5) and proc.poll() is None:
            assert time.monotonic() < deadline, "the demo did not finish its night"
        retained = retained_messages(port) if kept_running.is_set() else {}
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    run = DemoRun("".join(lines), proc.returncode, retained, out_dir)
    assert kept_running.is_set(), run.stdout + stderr
    return run


def test_demo_prints_the_bedroom_timeline(demo: DemoRun) -> None:
    assert demo.returncode == 0, demo.stdout
    out = demo.stdout
    assert "wind-down step 1/6" in out
    assert "lights-out: off" in out
    assert "turn off  (no-screen window: enforce)" in out
    assert "manual override of brightness_pct" in out
    assert "brightness_pct held" in out
    assert "wake: day setpoint" in out
    assert "Movements per hour" in out


def test_demo_guidance_follows_the_bed_to_asleep(demo: DemoRun) -> None:
    """The demo's bedroom follows its bed: the bed's sleep onset makes it `asleep`."""
    assert "phase lights_out → asleep" in demo.stdout
    assert "phase asleep → wake" in demo.stdout


def dashboard_entity_ids() -> set[str]:
    """Every sleepenv entity id the shipped dashboard refers to, wherever it appears."""

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from strings(key)
                yield from strings(value)
        elif isinstance(node, list):
            for item in node:
                yield from strings(item)
        elif isinstance(node, str):
            yield node

    config = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))
    return {m for s in strings(config) for m in SLEEPENV_ENTITY_ID.findall(s)}


def test_demo_fills_the_shipped_dashboard(demo: DemoRun) -> None:
    """Every sleepenv entity on the dashboard is created by the demo's discovery.

    Entity ids come from discovery as Home Assistant makes them (2025.10 and later):
    `default_entity_id`, which sleepenv sets to `<platform>.<unique_id>` (the tests under
    tests/ha check that Home Assistant uses it).
    """
    referenced = dashboard_entity_ids()
    assert len(referenced) >= 10
    created: dict[str, dict[str, Any]] = {}
    for config in demo.discovery().values():
        for component in config["cmps"].values():
            entity_id = component["default_entity_id"]
            assert entity_id == f"{component['p']}.{component['unique_id']}"
            created[entity_id] = component
    missing = sorted(referenced - set(created))
    # The bed and its guidance land in one area of Home Assistant.
    assert len({c["dev"].get("sa") for c in demo.discovery().values()}) == 1
    assert not missing, f"the dashboard shows 'Entity not found' for {missing}"
    # The sensor-health rows have something to show: the simulated sensor said online.
    online = [e for e in referenced if e.startswith("binary_sensor.") and e.endswith("_online")]
    for entity_id in online:
        assert demo.retained.get(created[entity_id]["state_topic"]) == b"ON", entity_id


def test_demo_publishes_the_night_chart_it_saves(demo: DemoRun) -> None:
    """Home Assistant's image entity gets the chart of the night the demo closed: the
    bytes retained on the chart topic are the file the demo wrote."""
    png = demo.retained.get("sleepenv/bedroom/last_night_chart")
    assert png is not None, sorted(demo.retained)
    assert png == (demo.out_dir / "night-chart.png").read_bytes()
    assert_night_chart(demo.out_dir / "night-chart.png", (800, 740))
    # The bedroom's evening is drawn under the night: the chart says so too.
    assert "the night, and the bedroom's evening under it" in demo.stdout


def test_demo_without_guidance(tmp_path: Path) -> None:
    earlier = tmp_path / "night-chart.png"
    earlier.write_bytes(b"an earlier demo's chart")
    proc = sleepenv(
        *("demo", "--hours", "0.5", "--speed", "900", "--no-guidance", "--out", str(tmp_path)),
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr
    before_the_summary = proc.stdout.split("Movements per hour")[0]
    assert "simulated Zigbee2MQTT" not in before_the_summary
    assert "lights-out" not in before_the_summary
    # No bedroom panel under the night, and the earlier chart replaced, as it says.
    assert_night_chart(earlier, (800, 550))
    assert "it replaced the chart an earlier demo had written there" in " ".join(
        proc.stdout.split()
    )
