"""Habits taken from a Home Assistant entity named in the config, against a real HA.

The bedroom's `habits:` names an `input_boolean` for caffeine and a `counter` for
exercise; toggling and incrementing them in Home Assistant is stored as a press with its
time and answered in the bedroom's Note, exactly as the buttons are. What the entities
already show when sleepenv starts (or starts again) is no press.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from tests.helpers.service import bedroom_settings, service_running

from .harness import JSON, HomeAssistant

HA_EXTRA_YAML = """\
input_boolean:
  had_coffee:
    name: Had coffee
counter:
  workouts_today:
    name: Workouts today
    initial: 0
    step: 1
"""

BERLIN = ZoneInfo("Europe/Berlin")
COFFEE = "input_boolean.had_coffee"
WORKOUTS = "counter.workouts_today"


def settings_for(ha: HomeAssistant, broker: MosquittoProcess, data_dir: Path) -> Settings:
    """A bed and a bedroom without devices whose habits come from the entities above."""
    return bedroom_settings(
        data_dir,
        {"habits": {"caffeine": {"entity": COFFEE}, "exercise": {"entity": WORKOUTS}}},
        homeassistant={"url": f"{ha.base_url}/api", "token": ha.token, "poll_seconds": 1},
        mqtt={"host": broker.host, "port": broker.port, "client_id": "habit-entity"},
    )


async def stored(store: Store, count: int) -> list[tuple[str, float]]:
    """The bedroom's presses once there are `count`, or after 30 s (read on this thread,
    where the store was opened)."""
    for _ in range(150):
        if len(presses := store.presses("bedroom", since=0.0)) >= count:
            return presses
        await asyncio.sleep(0.2)
    return store.presses("bedroom", since=0.0)


async def test_an_input_boolean_and_a_counter_press_the_habit_buttons(
    home_assistant: HomeAssistant, ha_broker: MosquittoProcess, tmp_path: Path
) -> None:
    ha = home_assistant
    await asyncio.to_thread(ha.wait_for_state, COFFEE, "off")
    await asyncio.to_thread(ha.wait_for_state, WORKOUTS, "0")
    # 20:00 in Berlin: after the 14:00 caffeine cut-off, within 3 hours of the 22:30 bedtime.
    start = datetime(2026, 11, 20, 20, 0, tzinfo=BERLIN).timestamp()
    settings = settings_for(ha, ha_broker, tmp_path)
    store = Store(tmp_path / "sleepenv.db")
    try:
        async with service_running(settings, ScaledClock(start, 1.0)) as service:
            assert service.guidance is not None
            ha_backend = service.guidance.ha
            assert ha_backend is not None
            note_entry = await asyncio.to_thread(
                ha.wait_for,
                lambda: ha.entity_by_unique_id("sleepenv_guidance_bedroom_note"),
                30,
            )
            assert note_entry is not None
            note = str(note_entry["entity_id"])

            # The entities' first states are baselines, not presses.
            def baselines_read() -> bool:
                return all(v is not None for v in ha_backend.habit_baselines.values())

            await asyncio.to_thread(ha.wait_for, baselines_read, 30, 0.2, "the first reads")
            assert store.presses("bedroom", since=0.0) == []

            await asyncio.to_thread(
                ha.call_service, "input_boolean", "turn_on", {"entity_id": COFFEE}
            )
            presses = await stored(store, 1)
            assert [habit for habit, _ in presses] == ["caffeine"]
            assert abs(presses[0][1] - start) < 120  # its time, on the service's clock

            def answered(prefix: str) -> JSON | None:
                found = ha.state(note)
                return found if str((found or {}).get("state", "")).startswith(prefix) else None

            answer = await asyncio.to_thread(
                ha.wait_for, lambda: answered("Caffeine noted at 20:0"), 60, 0.5, "the note"
            )
            assert answer is not None
            assert str(answer["state"]).endswith("(after the caffeine cut-off)")

            await asyncio.to_thread(
                ha.call_service, "counter", "increment", {"entity_id": WORKOUTS}
            )
            presses = await stored(store, 2)
            assert [habit for habit, _ in presses] == ["caffeine", "exercise"]
            answer = await asyncio.to_thread(
                ha.wait_for, lambda: answered("Exercise noted at 20:0"), 60, 0.5, "the note"
            )
            assert answer is not None
            assert str(answer["state"]).endswith("(within 3 h of bedtime)")
            assert service.intake.rejected == {}

        # sleepenv starts again: the coffee switch is still on and the counter still at 1.
        later = datetime(2026, 11, 20, 20, 30, tzinfo=BERLIN).timestamp()
        async with service_running(settings, ScaledClock(later, 1.0)) as service:
            assert service.guidance is not None
            again = service.guidance.ha
            assert again is not None

            def read_again() -> bool:
                return set(again.habit_baselines.values()) == {"on", "1.0"}

            await asyncio.to_thread(ha.wait_for, read_again, 30, 0.2, "the first reads")
            await asyncio.sleep(2.5)  # more polls (every second): still no press
            assert len(store.presses("bedroom", since=0.0)) == 2
    finally:
        store.close()
