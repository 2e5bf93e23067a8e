"""The README's quick start, as a new user does it: `sleepenv demo --keep-running`, Home
Assistant's MQTT integration pointed at the demo's broker, the shipped dashboard loaded in
YAML mode as the README says, then every view in a real browser (Debian's Chromium).

Every card must find its entities (the demo's bed is `bedroom`, the id the dashboard is
written for), and the night the demo played and closed fills the Last night view, its
chart included.
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

from .browser import (
    NOT_FOUND,
    Frontend,
    artefact_dir,
    dashboard_yaml,
    finish_onboarding,
    markdown_cards,
)
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
def demo_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`sleepenv demo --keep-running` on its own Mosquitto; its port once the night is played."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "sleepenv", "demo", "--keep-running"),
            *("--broker", "mosquitto", "--port", str(port)),
            *("--out", str(tmp_path_factory.mktemp("demo-out"))),
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
            page.open(
                f"/{DASHBOARD_URL}/{path}", f"demo-{path}", markdown_cards=markdown_cards(view)
            )
            page.screenshot(f"demo-{path}")
            texts[path] = page.text()
    finally:
        page.close()
    missing = {p: [ln for ln in t.splitlines() if NOT_FOUND.search(ln)] for p, t in texts.items()}
    assert not {p: lines for p, lines in missing.items() if lines}, missing
    # The demo plays its night and its morning, until the service closes the night: dozens
    # of movements on the Last night view, which has no first-night message any more.
    last_night = texts["last-night"]
    counts = [int(n) for n in re.findall(r"^(\d+)$", last_night, re.MULTILINE)]
    assert any(n >= 20 for n in counts), last_night
    assert "No night has ended yet" not in last_night, last_night
    # ... and the night's chart is the image entity's picture.
    chart = ha.entity_by_unique_id("sleepenv_bedroom_last_night_chart")
    assert chart is not None
    state = ha.state(str(chart["entity_id"]))
    assert state is not None
    assert state["state"] not in {"unknown", "unavailable"}, state
