"""Offline analysis of a recording through the live service's pipeline."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

from sleepenv.adapters.recording import RecordedMessage, read_recording, sniff_source
from sleepenv.core.model import MovementEvent, Rejection
from sleepenv.pipeline import Pipeline
from sleepenv.settings import Settings

RECORDING_BED = "recording"
DEFAULT_TOPIC = "recording/sensor"


def _settings_for(source: str, topics: list[str]) -> Settings:
    """A one-bed config whose sensors listen on the recording's topics."""
    sensors = [{"kind": source, "topic": t, "side": "both"} for t in topics[:1]]
    # Night window spanning the whole day: analysis counts every event of the recording.
    return Settings(
        beds=[{"id": RECORDING_BED, "name": "Recording", "sensors": sensors}],
        night={"start": "00:00", "end": "23:59:59"},
    )


def analyze_recording(path: Path) -> dict[str, Any]:
    """Run a recording through decoding and detection; the `analyze --json` document."""
    messages = list(read_recording(path))
    rejected = sum(1 for m in messages if isinstance(m, Rejection))
    recorded = [m for m in messages if isinstance(m, RecordedMessage)]
    source = sniff_source(recorded)
    topics = sorted({m.topic for m in recorded if m.topic}) or [DEFAULT_TOPIC]
    topic = topics[0]
    pipeline = Pipeline(_settings_for(source, topics), {RECORDING_BED: UTC})
    events: list[MovementEvent] = []
    start: float | None = None
    end: float | None = None
    previous: float | None = None
    for msg in recorded:
        t = msg.t if msg.t is not None else previous
        if t is None:
            rejected += 1
            continue
        previous = t
        start = t if start is None else min(start, t)
        end = t if end is None else max(end, t)
        result = pipeline.handle(msg.topic or topic, msg.payload, t)
        if result is None:
            rejected += 1
            continue
        events += result[1].events
    tracker = pipeline.trackers[RECORDING_BED]
    rejected += tracker.messages_rejected
    if end is not None:
        events += tracker.finish(end + 1.0).events
    events.sort(key=lambda e: e.onset)
    counts: dict[str, int] = {}
    for event in events:
        counts[event.cls.value] = counts.get(event.cls.value, 0) + 1
    return {
        "source": source,
        "start": start,
        "end": end,
        "sleep_onset": None,
        "events": [_event_json(e) for e in events],
        "counts": counts,
        "plm_index": None,
        "rejected": rejected,
    }


def _event_json(event: MovementEvent) -> dict[str, Any]:
    return {
        "onset": round(event.onset, 3),
        "offset": round(event.offset, 3),
        "class": event.cls.value,
        "peak": round(event.peak, 4),
        "side": event.side,
        "is_truncated": event.is_truncated,
        "is_lower_bound": event.is_lower_bound,
    }
