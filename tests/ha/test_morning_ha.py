"""Mornings in a real Home Assistant: a silent sensor is not an empty bed, and last night
is the night that just ended as soon as the sleeper is up.

The real sleepenv service reads a hand-built early-morning stretch (tests/bed/core/bed_signals)
at a scaled clock: in bed from 03:00, a two-minute Wi-Fi dropout at 03:40, up at 04:10,
an empty bed until 04:40. Home Assistant must show "In bed" on, unknown during the
dropout (never off), on again, and, 20 minutes after getting up (after the 04:00
morning), last night's sleep onset while tonight starts from zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from tests.bed.core.bed_signals import T0, Bed, Move

from .harness import JSON, HomeAssistant
from .sleepenv_service import ServiceThread, play_frames, registry_by_unique_id, wait_admitted

BED = "dawn"
TOPIC = "test/dawn/envelope"
SPEED = 120.0  # 100 minutes of data in under a minute
MINUTE = 60.0
GAP = (40 * MINUTE, 42 * MINUTE)  # no frames: a Wi-Fi dropout while asleep
UP = 70 * MINUTE  # getting up at 04:10
END = 100 * MINUTE


def three_am() -> float:
    """Yesterday 03:00 UTC: inside the default night window (18:00-12:00), before morning."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return yesterday.replace(hour=3, minute=0, second=0, microsecond=0).timestamp()


def signal() -> Bed:
    """The stretch above, from the builder's T0 (the fixture re-times the frames)."""
    return Bed(
        END,
        occupied=[(0.0, UP)],
        moves=[Move(0.0, 60.0, 4.0), Move(UP, 40.0, 4.0)],
        gaps=[GAP],
        heart=0.3,
    )


@dataclasses.dataclass
class Played:
    """What the module played and what Home Assistant showed meanwhile."""

    start: float
    in_bed: list[str]  # the "In bed" entity's successive states
    entity_ids: dict[str, str]  # entity key -> entity_id
    thread: ServiceThread


@pytest.fixture(scope="module")
def played(
    home_assistant: HomeAssistant,
    ha_broker: MosquittoProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Played]:
    """The sleepenv service discovered in Home Assistant, then the stretch played through it."""
    data_dir: Path = tmp_path_factory.mktemp("sleepenv-dawn")
    settings = Settings(
        mqtt={"host": ha_broker.host, "port": ha_broker.port, "client_id": "sleepenv-dawn"},
        beds=[
            {
                "id": BED,
                "name": "Dawn",
                "timezone": "UTC",
                "sensors": [{"kind": "envelope", "topic": TOPIC}],
            }
        ],
        storage={"data_dir": data_dir},
    )
    start = three_am()
    clock = ScaledClock(start, 1.0)
    thread = ServiceThread(settings, clock).start()
    try:
        keys = ("in_bed", "sleep_onset_last_night", "movements_tonight", "movements_last_night")

        def registered() -> dict[str, str]:
            entries = registry_by_unique_id(home_assistant)
            ids = {k: entries.get(f"sleepenv_{BED}_{k}", {}).get("entity_id") for k in keys}
            return {k: v for k, v in ids.items() if v} if all(ids.values()) else {}

        entity_ids = home_assistant.wait_for(
            registered, timeout=60, message="sleepenv's bed entities are registered"
        )
        changes = home_assistant.subscribe_events("state_changed")
        frames = [dataclasses.replace(f, t=f.t - T0 + start) for f in signal().frames()]

        async def play() -> None:
            service = thread.service
            assert service is not None
            clock.set_speed(SPEED)
            try:
                end = await play_frames(settings, TOPIC, frames, clock)
                await wait_admitted(service, BED, end)
            finally:
                clock.set_speed(1.0)

        thread.call(play)
        # The last frames close the night (20 min after getting up, after 04:00).
        home_assistant.wait_for(
            lambda: (
                (s := home_assistant.state(entity_ids["sleep_onset_last_night"])) is not None
                and s["state"] not in ("unknown", "unavailable")
            ),
            timeout=60,
            message="last night's sleep onset is shown",
        )
        in_bed = [
            str(c["data"]["new_state"]["state"])
            for c in changes
            if c["data"]["entity_id"] == entity_ids["in_bed"] and c["data"].get("new_state")
        ]
        yield Played(start, in_bed, entity_ids, thread)
    finally:
        thread.stop()


def _state(ha: HomeAssistant, entity_id: str) -> JSON:
    state = ha.state(entity_id)
    assert state is not None, entity_id
    return state


def test_a_silent_sensor_shows_unknown_never_out_of_bed(played: Played) -> None:
    """On, unknown during the dropout, on again; "off" only after getting up."""
    states = played.in_bed
    assert "on" in states
    first_on = states.index("on")
    assert "unknown" in states[first_on:], states
    dropout = states.index("unknown", first_on)
    assert "on" in states[dropout:], states
    back = states.index("on", dropout)
    before_up = states[first_on:back]
    assert "off" not in before_up, states


def test_last_night_is_the_night_that_just_ended_once_the_sleeper_is_up(
    home_assistant: HomeAssistant, played: Played
) -> None:
    """About 04:31, not at noon: last night's figures are there, tonight is empty."""
    onset = _state(home_assistant, played.entity_ids["sleep_onset_last_night"])["state"]
    at = datetime.fromisoformat(onset).timestamp()
    assert played.start < at < played.start + 20 * MINUTE  # asleep soon after 03:00
    total = _state(home_assistant, played.entity_ids["movements_last_night"])["state"]
    assert int(float(total)) >= 2  # getting in and getting up at least
    tonight = _state(home_assistant, played.entity_ids["movements_tonight"])["state"]
    assert tonight == "0"
