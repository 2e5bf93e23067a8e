"""The README's quick start, as a new user does it: `sleepenv demo --keep-running`, Home
Assistant's MQTT integration pointed at the demo's broker, the shipped dashboard loaded in
YAML mode as the README says, then every view in a real browser (Debian's Chromium).

Every card must find its entities (the demo's bed is `bedroom`, the id the dashboard is
written for) and tonight's figures must be filled in.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import IO

import pytest
import yaml
from playwright.sync_api import Browser

from sleepenv.mqtt.broker import free_port

from .browser import NOT_FOUND, Frontend, artefact_dir, dashboard_yaml, finish_onboarding
from .harness import HomeAssistant, HomeAssistantError
from .install import REPO_ROOT, Installation

DASHBOARD_PATH = REPO_ROOT / "automations" / "dashboards" / "sleepenv.yaml"
DASHBOARD_URL = "sleepenv-demo"
READY = "broker and service keep running"
HA_EXTRA_YAML = dashboard_yaml(DASHBOARD_URL)


def _read_until_ready(out: IO[str]) -> list[str]:
    lines: list[str] = []
    for line in out:
        lines.append(line)
        if READY in line:
            return lines
    return lines


@pytest.fixture(scope="module")
def demo_port() -> Iterator[int]:
    """`sleepenv demo --keep-running` on its own Mosquitto; its port once the night is played."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "sleepenv", "demo", "--keep-running"),
            *("--broker", "mosquitto", "--port", str(port)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = _read_until_ready(proc.stdout)
        assert any(READY in line for line in lines), "".join(lines[-30:])
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def demo_home_assistant(ha_installation: Installation, demo_port: int) -> Iterator[HomeAssistant]:
    """A Home Assistant with its real frontend, its MQTT entry on the demo's broker and the
    shipped dashboard in place (entity ids as Home Assistant gave them, as the README tells
    users of releases that ignore `default_entity_id`)."""
    ha = HomeAssistant(
        ha_installation,
        extra_yaml=HA_EXTRA_YAML,
        files={"dashboards/sleepenv.yaml": DASHBOARD_PATH.read_text()},
        real_frontend=True,
    )
    try:
        ha.start()
        ha.add_mqtt_entry("127.0.0.1", demo_port)
        finish_onboarding(ha)
    except (HomeAssistantError, TimeoutError) as exc:
        ha.close(keep_files=True)
        pytest.fail(f"no real Home Assistant: {exc}\nconfig dir kept: {ha.config_dir}")
    try:
        wanted = dashboard_entities()
        ids: dict[str, str] = ha.wait_for(
            lambda: registered_ids(ha, wanted) or {}, timeout=60, message="the demo's entities"
        )
        text = DASHBOARD_PATH.read_text()
        for want, actual in sorted(ids.items(), key=lambda kv: -len(kv[0])):
            text = re.sub(rf"\b{re.escape(want)}\b", actual, text)
        (ha.config_dir / "dashboards" / "sleepenv.yaml").write_text(text)
        yield ha
    finally:
        ha.close()


def dashboard_entities() -> set[str]:
    """Every entity id the shipped dashboard names."""
    text = DASHBOARD_PATH.read_text()
    yaml.safe_load(text)  # a broken file fails here, not as a blank page
    return set(
        re.findall(r"\b(?:sensor|binary_sensor|button|switch|event|image)\.sleepenv_\w+", text)
    )


def registered_ids(ha: HomeAssistant, wanted: set[str]) -> dict[str, str] | None:
    """Dashboard id -> the entity id Home Assistant gave it; None until every one exists."""
    found: dict[str, str] = {}
    for entry in ha.entity_registry():
        if entry.get("platform") != "mqtt":
            continue
        platform = str(entry["entity_id"]).split(".")[0]
        found[f"{platform}.{entry['unique_id']}"] = str(entry["entity_id"])
    return found if wanted <= set(found) else None


def test_the_demo_fills_the_shipped_dashboard(
    chromium: Browser, demo_home_assistant: HomeAssistant
) -> None:
    ha = demo_home_assistant
    page = Frontend(chromium, ha, artefact_dir(ha.version) / "demo")
    try:
        views = yaml.safe_load(DASHBOARD_PATH.read_text())["views"]
        texts: dict[str, str] = {}
        for view in views:
            path = str(view.get("path"))
            page.open(f"/{DASHBOARD_URL}/{path}", f"demo-{path}")
            page.screenshot(f"demo-{path}")
            texts[path] = page.text()
    finally:
        page.close()
    missing = {p: [ln for ln in t.splitlines() if NOT_FOUND.search(ln)] for p, t in texts.items()}
    assert not {p: lines for p, lines in missing.items() if lines}, missing
    tonight = texts[str(views[0].get("path"))]
    # The demo's night: getting in, falling asleep and dozens of movements.
    counts = [int(n) for n in re.findall(r"^(\d+)$", tonight, re.MULTILINE)]
    assert any(n >= 20 for n in counts), tonight
    assert "Fell asleep" in tonight or "Sleep onset" in tonight, tonight
    # The demo's night is still open: the Last night view says why its figures are Unknown.
    assert "No night has ended yet" in texts["last-night"], texts["last-night"]
