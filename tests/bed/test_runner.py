"""The bed runner's per-report work (issue 12): what it publishes is exactly what
`discovery.state_messages` makes of each update, and the running night's totals are stored
once the night has a row, then with each checkpoint instead of after every report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from sleepenv.bed import discovery
from sleepenv.bed.core.tracker import Update
from sleepenv.bed.runner import BedRunner, build
from sleepenv.bed.store import Store
from sleepenv.config.settings import Settings
from sleepenv.mqtt.discovery import StateEncoder
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.service import RecordingOutbox, StepClock

# 23:00 UTC on a fixed day: inside the night window (18:00 to 12:00 by default).
T0 = datetime(2026, 3, 2, 23, 0, tzinfo=UTC).timestamp()


def zigbee_settings(tmp_path: Path) -> Settings:
    """One bed with an envelope sensor and a Zigbee vibration sensor, in UTC."""
    return Settings(
        beds=[
            {
                "id": "main",
                "name": "Main bed",
                "timezone": "UTC",
                "sensors": [
                    {"kind": "envelope", "topic": "bed/env", "status_topic": "bed/status"},
                    {"kind": "zigbee_vibration", "topic": "bed/zigbee"},
                ],
            }
        ],
        storage={"data_dir": str(tmp_path)},
    )


def make_runner(tmp_path: Path, clock: StepClock) -> tuple[BedRunner, Store, RecordingOutbox]:
    """A runner on a real store, restored (nothing stored yet)."""
    settings = zigbee_settings(tmp_path)
    store = Store(tmp_path / "sleepenv.db")
    outbox = RecordingOutbox()
    runner = build(settings, {"main": UTC}, store, outbox, clock)
    runner.restore()
    return runner, store, outbox


def report(at: float, strength: int = 30) -> bytes:
    """A vibration report stamped `at` by its `last_seen`."""
    return json.dumps(
        {"action": "vibration", "strength": strength, "last_seen": round(at * 1000)}
    ).encode()


def total(store: Store) -> list[tuple[str, int]]:
    """Each stored night with its total of movements."""
    return [(n.night, n.total_movements) for n in store.nights("main")]


def test_published_states_are_what_state_messages_makes_of_each_update(tmp_path: Path) -> None:
    clock = StepClock(T0)
    runner, store, outbox = make_runner(tmp_path, clock)
    settings = runner.settings
    table = discovery.entities(settings.beds[0])
    tracker = runner.trackers["main"]
    # Envelope frames with movements, Zigbee reports, a sensor status and a rejection,
    # interleaved in time; then the night closes.
    messages: list[tuple[float, str, bytes]] = [
        (f.t, "bed/env", payload(f))
        for f in frames(T0, 400, (Burst(T0 + 30, 2.0), Burst(T0 + 200, 1.0, 2.0)))
    ]
    messages += [
        (T0 + 20 + 7 * i, "bed/zigbee", report(T0 + 20 + 7 * i, 10 + i)) for i in range(40)
    ]
    messages += [(T0 + 100, "bed/status", b"offline"), (T0 + 150, "bed/zigbee", b"{not json")]
    messages.sort(key=lambda m: m[0])

    def apply_and_compare(bed_id: str, update: Update) -> None:
        """Apply `update`: the states published are what `state_messages` makes of it
        (with the counts' reset time from before it was applied)."""
        expected = [
            (m.topic, m.payload)
            for m in discovery.state_messages(
                settings.mqtt, bed_id, table, update.states, tracker.counts_reset_at
            )
        ]
        runner.apply(bed_id, update)
        assert outbox.states == expected

    for at, topic, data in messages:
        clock.at = at + 0.05
        outbox.states.clear()
        result = runner.pipeline.handle(topic, data, clock.now())
        assert result is not None
        apply_and_compare(*result)
    for now in (T0 + 13 * 3600, T0 + 13 * 3600 + 60):  # the night closes, then a daytime tick
        outbox.states.clear()
        updates = runner.pipeline.tick(now)
        clock.at = now
        for bed_id, update in updates:
            apply_and_compare(bed_id, update)
    assert tracker.last_night is not None
    assert len(outbox.messages) >= 40  # every Zigbee report is a movement event
    store.close()


def test_a_report_encodes_only_the_states_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operation count (issue 12): a state whose value is the very object it was last
    time keeps its payload without the encoder; only a mapping (the advisory's
    attributes, which may change in place) goes through it every time."""
    clock = StepClock(T0)
    runner, store, outbox = make_runner(tmp_path, clock)
    encoded: list[str] = []
    encode = StateEncoder.encode

    def counting(self: StateEncoder, topic: str, *args: Any) -> bytes:
        encoded.append(topic.rsplit("/", 1)[-1])
        return encode(self, topic, *args)

    monkeypatch.setattr(StateEncoder, "encode", counting)
    for i in range(3):
        clock.at = T0 + 10 * i + 0.05
        result = runner.pipeline.handle("bed/zigbee", report(T0 + 10 * i), clock.now())
        assert result is not None
        encoded.clear()
        outbox.states.clear()
        runner.apply(*result)
    # The third report: new counts, last movement and frame count (and the mapping).
    assert sorted(encoded) == [
        "frames_received",
        "last_movement",
        "movements_last_hour",
        "movements_tonight",
        "worth_discussing_attributes",
    ]
    # Every state is still handed to the outbox (which sends what changed), as it was.
    assert result is not None
    bed_id, update = result
    table = discovery.entities(runner.settings.beds[0])
    reset_at = runner.trackers[bed_id].counts_reset_at
    messages = discovery.state_messages(
        runner.settings.mqtt, bed_id, table, update.states, reset_at
    )
    assert outbox.states == [(m.topic, m.payload) for m in messages]
    store.close()


def test_running_totals_are_stored_at_the_first_movement_then_with_each_checkpoint(
    tmp_path: Path,
) -> None:
    clock = StepClock(T0)
    runner, store, _ = make_runner(tmp_path, clock)
    tracker = runner.trackers["main"]
    night = tracker.night.isoformat() if tracker.night else ""
    assert total(store) == []
    for i in range(12):
        clock.at = T0 + 10 * i + 0.1
        runner.handle("bed/zigbee", report(T0 + 10 * i), clock.now())
        # The night's row exists from its first movement on; later ones wait.
        assert total(store) == [(night, 1)]
    stored = store.events("main", night)
    assert len(stored) == 12  # every event at once
    clock.at += 1.0
    runner.persist_progress()  # before the link acknowledges the reports
    assert total(store) == [(night, 12)]
    # Stored as of the last change: its end is the last report's handling, not the checkpoint.
    assert store.nights("main")[0] == tracker.summary(T0 + 110.1)
    # Nothing changed: a checkpoint writes nothing new.
    clock.at += 1.0
    runner.persist_progress()
    assert store.nights("main")[0].end == T0 + 110.1
    # The night closes before a checkpoint: its final totals, and no row for the day.
    clock.at = T0 + 200.1
    runner.handle("bed/zigbee", report(T0 + 200), clock.now())
    runner.tick(T0 + 13 * 3600)
    runner.persist_progress()
    assert total(store) == [(night, 13)]
    assert store.nights("main")[0].end == tracker.window.bounds(date.fromisoformat(night))[1]
    store.close()


def test_a_restart_stores_the_totals_again_at_its_first_checkpoint(tmp_path: Path) -> None:
    clock = StepClock(T0)
    runner, store, _ = make_runner(tmp_path, clock)
    for i in range(5):
        clock.at = T0 + 10 * i + 0.1
        runner.handle("bed/zigbee", report(T0 + 10 * i), clock.now())
    store.close()  # as a SIGKILL leaves it: 5 events, the totals of the first
    clock.at = T0 + 60.0
    again, store, _ = make_runner(tmp_path, clock)
    assert [t for _, t in total(store)] == [1]
    again.persist_progress()
    assert [t for _, t in total(store)] == [5]
    store.close()
