"""The guidance runner without a broker: routing, commands, bed movements, states."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import sleepenv.guidance.runner as runner_module
from sleepenv.bootstrap import bedroom_timezones
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import ConfigError, Settings
from sleepenv.guidance.runner import GuidanceRunner

BERLIN = ZoneInfo("Europe/Berlin")


class FixedClock:
    """A clock that only moves when told."""

    speed = 1.0

    def __init__(self, at: float) -> None:
        """Reads `at`."""
        self.at = at

    def now(self) -> float:
        """The set time."""
        return self.at

    async def sleep_until(self, at: float) -> None:
        """Jump."""
        self.at = max(self.at, at)


class Outbox:
    """Collects what the runner queues."""

    def __init__(self) -> None:
        """Empty."""
        self.messages: list[tuple[str, bytes]] = []
        self.states: dict[str, bytes] = {}

    def message(self, topic: str, payload: bytes) -> None:
        """Record a command."""
        self.messages.append((topic, payload))

    def state(self, topic: str, payload: bytes) -> None:
        """Record a state."""
        self.states[topic] = payload


def settings(tmp_path: Path, **guidance: object) -> Settings:
    """A bed and a bedroom that follows it."""
    return Settings(
        beds=[{"id": "main", "name": "Main", "sensors": [{"kind": "envelope", "topic": "bed/e"}]}],
        storage={"data_dir": tmp_path},
        guidance={
            **guidance,
            "bedrooms": [
                {
                    "id": "bedroom",
                    "bed": "main",
                    "timezone": "Europe/Berlin",
                    "devices": [{"id": "lights", "role": "light", "topic": "z2m/lights"}],
                }
            ],
        },
    )


def runner_at(s: Settings, hour: int, minute: int) -> tuple[GuidanceRunner, FixedClock, Outbox]:
    """A runner whose clock reads Friday 20 November 2026, hh:mm in Berlin."""
    clock = FixedClock(datetime(2026, 11, 20, hour, minute, tzinfo=BERLIN).timestamp())
    outbox = Outbox()
    return GuidanceRunner(s, bedroom_timezones(s), clock, outbox), clock, outbox


def test_bed_movement_starts_lights_out_when_bedtime_follows_me(tmp_path: Path) -> None:
    runner, clock, outbox = runner_at(settings(tmp_path, bedtime_follows_me=True), 21, 45)
    assert runner.handle("z2m/lights", b'{"state":"ON","brightness":40,"color_temp":400}')
    runner.on_bed_movement("main", clock.now() - 600)  # a replayed old frame: ignored
    assert runner.engines["bedroom"].states(clock.now()).phase == "no_screen"
    runner.on_bed_movement("main", clock.now() - 1)
    assert runner.engines["bedroom"].states(clock.now()).phase == "lights_out"
    assert ("z2m/lights/set", b'{"transition": 60.0, "state": "OFF"}') in outbox.messages
    assert outbox.states["sleepenv/guidance/bedroom/phase"] == b"lights_out"


def test_bed_movement_changes_nothing_without_follow_me(tmp_path: Path) -> None:
    runner, clock, outbox = runner_at(settings(tmp_path), 21, 45)
    runner.handle("z2m/lights", b'{"state":"ON","brightness":40}')
    runner.on_bed_movement("main", clock.now())
    assert runner.engines["bedroom"].states(clock.now()).phase == "no_screen"
    assert not any(b'"OFF"' in p for _, p in outbox.messages)


def test_commands_and_unknown_payloads(tmp_path: Path) -> None:
    runner, _clock, outbox = runner_at(settings(tmp_path), 20, 0)
    assert runner.handle("sleepenv/guidance/bedroom/guests/set", b"ON")
    assert outbox.states["sleepenv/guidance/bedroom/guests"] == b"ON"
    assert runner.handle("sleepenv/guidance/bedroom/snooze/set", b"garbage")
    assert runner.handle("z2m/lights", b"not json")
    assert not runner.handle("other/topic", b"x")
    attrs = json.loads(outbox.states["sleepenv/guidance/bedroom/attributes"])
    assert "guests/vacation mode" in attrs["last_reason"]


def test_a_bedroom_bed_must_exist(tmp_path: Path) -> None:
    s = settings(tmp_path)
    bad = s.model_copy(
        update={
            "guidance": s.guidance.model_copy(  # type: ignore[union-attr]
                update={
                    "bedrooms": [
                        s.guidance.bedrooms[0].model_copy(update={"bed": "nope"})  # type: ignore[union-attr]
                    ]
                }
            )
        }
    )
    with pytest.raises(ConfigError, match=r"guidance.bedrooms\[0\].bed: no bed 'nope'"):
        bedroom_timezones(bad)


def test_bedtime_from_home_assistant(tmp_path: Path) -> None:
    runner, clock, outbox = runner_at(settings(tmp_path), 20, 0)
    runner.on_ha_time("bedroom", "bedtime", time(23, 0))
    assert outbox.states["sleepenv/guidance/bedroom/next_bedtime"] == b"2026-11-20T22:00:00+00:00"
    runner.on_ha_time("bedroom", "wake", time(7, 0))
    plan = runner.engines["bedroom"].plan(clock.now())
    assert plan.wake_at == datetime(2026, 11, 21, 7, 0, tzinfo=BERLIN).timestamp()


def test_switches_survive_a_restart(tmp_path: Path) -> None:
    s = settings(tmp_path)
    path = tmp_path / "switches.json"
    clock = FixedClock(datetime(2026, 11, 20, 20, 0, tzinfo=BERLIN).timestamp())
    first = GuidanceRunner(s, bedroom_timezones(s), clock, Outbox(), path)
    first.handle("sleepenv/guidance/bedroom/guidance/set", b"OFF")
    first.handle("sleepenv/guidance/bedroom/guests/set", b"ON")
    second = GuidanceRunner(s, bedroom_timezones(s), clock, Outbox(), path)
    second.load_switches()
    assert second.engines["bedroom"].is_enabled is False
    assert second.engines["bedroom"].is_paused is True
    for damaged in ("not json", "[1, 2]", "[" * 100_000, '{"bedroom": ' * 5000):
        path.write_text(damaged)  # unreadable, not an object, nested absurdly deep
        third = GuidanceRunner(s, bedroom_timezones(s), clock, Outbox(), path)
        third.load_switches()
        assert third.engines["bedroom"].is_enabled is True


def test_start_wind_down_in_the_morning_is_answered_where_a_person_looks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner, _clock, outbox = runner_at(settings(tmp_path), 6, 40)
    runner.publish_states("bedroom")
    assert outbox.states["sleepenv/guidance/bedroom/note"] == b"None"  # unknown in HA
    with caplog.at_level(logging.INFO, logger="sleepenv.guidance.runner"):
        assert runner.handle("sleepenv/guidance/bedroom/start_wind_down/set", b"PRESS")
    note = "Wind-down is for the evening; next at 21:00"
    assert outbox.states["sleepenv/guidance/bedroom/note"] == note.encode()
    assert outbox.states["sleepenv/guidance/bedroom/phase"] == b"wake"
    assert not outbox.messages  # no command to any light
    assert any(r.levelno == logging.INFO and note in r.getMessage() for r in caplog.records)


async def test_a_stop_always_ends_the_ticker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled at any loop turn after a wake-up, the ticker ends. It used to await its
    cancelled sleeper under `suppress(CancelledError)`: a stop that came in that turn was
    swallowed, the ticker ran on, and the service's shutdown waited for it forever."""
    monkeypatch.setattr(runner_module, "FIRST_REPORT_SECONDS", 0.0)
    s = settings(tmp_path)
    at = datetime(2026, 11, 20, 21, 45, tzinfo=BERLIN).timestamp()
    for turns in range(12):
        runner = GuidanceRunner(s, bedroom_timezones(s), ScaledClock(at, 1.0), Outbox())
        runner.connected.set()
        task = asyncio.create_task(runner.run())
        for _ in range(5):  # into its wait
            await asyncio.sleep(0)
        runner.handle("z2m/lights", b'{"state":"ON","brightness":40}')  # wakes it
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert task in done, f"still running when stopped {turns} turns after a wake-up"
        assert task.cancelled()
