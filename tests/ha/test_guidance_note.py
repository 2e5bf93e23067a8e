"""Pressing a guidance button at the wrong time is answered where a person looks.

"Start wind-down now" pressed in the morning does nothing (the wind-down is for the
evening); the reason is the state of the bedroom's Note sensor: on the guidance device
page next to the button (not hidden as diagnostic, not disabled) and in its Activity.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml

from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.service import service_running

from .harness import JSON, HomeAssistant
from .install import REPO_ROOT

# The logbook (the device page's Activity) is part of default_config; load it alone.
HA_EXTRA_YAML = "logbook:\n"
BERLIN = ZoneInfo("Europe/Berlin")
NOTE = "Wind-down is for the evening; next at 21:00"


def settings_for(broker: MosquittoProcess, data_dir: Path) -> Settings:
    """A bed and a bedroom without devices (bedtime 22:30, wake 06:30 by default)."""
    return Settings(
        mqtt={"host": broker.host, "port": broker.port, "client_id": "guidance-note"},
        beds=[{"id": "main", "name": "Main", "sensors": [{"kind": "envelope", "topic": "bed/e"}]}],
        storage={"data_dir": data_dir},
        guidance={
            "caffeine_cutoff": None,
            "bedrooms": [{"id": "bedroom", "name": "Bedroom", "timezone": "Europe/Berlin"}],
        },
    )


def registered(ha: HomeAssistant, key: str) -> JSON:
    """The registry entry of one guidance entity, once discovery has created it."""
    entry = ha.wait_for(
        lambda: ha.entity_by_unique_id(f"sleepenv_guidance_bedroom_{key}"),
        30,
        message=f"{key} in the entity registry",
    )
    assert entry is not None
    return entry


async def test_start_wind_down_in_the_morning_shows_why(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess, tmp_path: Path
) -> None:
    ha = home_assistant
    morning = datetime(2026, 11, 20, 6, 40, tzinfo=BERLIN).timestamp()  # in the wake phase
    pressed_at = datetime.now(UTC)
    async with service_running(
        settings_for(ha_broker, tmp_path), ScaledClock(morning, 1.0)
    ) as service:
        note = await asyncio.to_thread(registered, ha, "note")
        phase = await asyncio.to_thread(registered, ha, "phase")
        button = await asyncio.to_thread(registered, ha, "start_wind_down")
        assert note["device_id"] == phase["device_id"] == button["device_id"]
        full = await asyncio.to_thread(ha.entity_registry_entry, note["entity_id"])
        assert full["entity_category"] is None
        assert full["disabled_by"] is None
        assert full["hidden_by"] is None
        # The engine has decided its first phase (after the devices' first reports), and
        # this service's states are shown: a phase retained by the module's earlier tests
        # does not count.
        assert service.guidance is not None
        engine = service.guidance.engines["bedroom"]
        for _ in range(150):
            if engine.phase is not None:
                break
            await asyncio.sleep(0.2)
        assert engine.phase is not None
        before = await asyncio.to_thread(
            ha.wait_for_state,
            phase["entity_id"],
            lambda s: s["state"] not in ("unknown", "unavailable"),
        )

        await asyncio.to_thread(
            ha.call_service, "button", "press", {"entity_id": button["entity_id"]}
        )
        await asyncio.to_thread(ha.wait_for_state, note["entity_id"], NOTE, 60.0)
        after = await asyncio.to_thread(ha.state, phase["entity_id"])
        assert after is not None
        assert after["state"] == before["state"]  # nothing started

        def in_activity() -> bool:
            path = f"/api/logbook/{quote(pressed_at.isoformat())}?entity={note['entity_id']}"
            entries = ha.rest("GET", path) or []
            return any(e.get("state") == NOTE for e in entries)

        await asyncio.to_thread(ha.wait_for, in_activity, 20, 0.5, "the note in the logbook")

        # The shipped dashboard shows the note in full under the Bedtime card.
        card = note_card()
        shown = card["card"]["content"].replace(DASHBOARD_NOTE, note["entity_id"])
        text = await asyncio.to_thread(ha.rest, "POST", "/api/template", {"template": shown})
        assert str(text).strip() == NOTE
        assert {c["entity"] for c in card["conditions"]} == {DASHBOARD_NOTE}


DASHBOARD = REPO_ROOT / "automations" / "dashboards" / "sleepenv.yaml"
DASHBOARD_NOTE = "sensor.sleepenv_guidance_bedroom_note"


def note_card() -> dict[str, Any]:
    """The dashboard's conditional card that shows the guidance note."""
    dashboard = yaml.safe_load(DASHBOARD.read_text())
    for view in dashboard["views"]:
        for card in view.get("cards", []):
            if card.get("type") == "conditional" and DASHBOARD_NOTE in str(card["card"]):
                return dict(card)
    raise AssertionError("no card shows the guidance note")
