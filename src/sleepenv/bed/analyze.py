"""Offline analysis of a recording, wired as the live service is.

`analyze_recording` builds its bed runner with the service's own `bed.runner.build`, from
a one-bed config for the recording, with a store and an outbox that keep nothing: every
message takes the live path (decoding, tracker, store writes, state encoding).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sleepenv.bed.core.arousal import waking_jerks
from sleepenv.bed.core.classify import ClassifyConfig, NightClassification
from sleepenv.bed.core.model import MovementEvent, Reading, SourceKind
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.sleep import SleepPeriod
from sleepenv.bed.core.tracker import BedTracker, SensorSpec
from sleepenv.bed.night_store import NullStore
from sleepenv.bed.recording import (
    RecordedMessage,
    no_source_found,
    own_time,
    read_recording,
    sniff_source,
    source_of,
)
from sleepenv.bed.runner import build
from sleepenv.config.settings import Settings
from sleepenv.mqtt.outbox import NullOutbox
from sleepenv.rejection import Rejection

RECORDING_BED = "recording"
DEFAULT_TOPIC = "recording/sensor"
# The source is told from the shape of the payloads among this many first messages.
SNIFF_MESSAGES = 1000


def _settings_for(source: str, topics: list[str], first: float | None = None) -> Settings:
    """A one-bed config whose sensors listen on the recording's topics."""
    sensors = [{"kind": source, "topic": t, "side": "both"} for t in topics[:1]]
    # One 24-hour night starting at the recording's first minute: the whole recording is
    # one night, even when it crosses midnight.
    begin = _window_start(first) if first is not None else time(0, 0)
    # Any ordinary day will do: date.min less a second overflows when `begin` is 00:00.
    end = (datetime.combine(date(2000, 1, 2), begin) - timedelta(seconds=1)).time()
    return Settings(
        beds=[{"id": RECORDING_BED, "name": "Recording", "sensors": sensors}],
        night={"start": begin.strftime("%H:%M"), "end": end.strftime("%H:%M:%S")},
    )


class _ReplayClock:
    """The time of the message being replayed (what `now` was when it arrived)."""

    speed = 1.0

    def __init__(self) -> None:
        """Reads 0 until the first message."""
        self.at = 0.0

    def now(self) -> float:
        """The replayed message's time."""
        return self.at

    async def sleep_until(self, at: float) -> None:
        """Never awaited offline: jumps."""
        self.at = max(self.at, at)


def _window_start(first: float) -> time:
    """The minute (UTC) a recording starts in."""
    return datetime.fromtimestamp(first, UTC).time().replace(second=0, microsecond=0)


class _TopicChanged(Exception):  # noqa: N818 - a signal within this module, not an error
    """A message on a topic sorting before the one being replayed came after the start."""


class _HeldRecords(logging.Handler):
    """A replay's rejection log, kept back until the replay is known to stand."""

    def __init__(self) -> None:
        """Nothing kept yet."""
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.logger: logging.Logger | None = None  # where the records belong

    def hold(self, replay: _Replay) -> None:
        """Keep what the replay's rejection log writes from now on."""
        rejection_log = replay.pipeline.rejection_log
        self.logger = rejection_log.logger
        holder = logging.Logger(f"{self.logger.name}.held")  # unregistered: no parent
        holder.addHandler(self)
        rejection_log.logger = holder

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    def tell(self) -> None:
        """Write the kept records to the logger they belong to."""
        logger = self.logger
        if logger is None:
            return
        for record in self.records:
            if logger.isEnabledFor(record.levelno):
                record.name = logger.name
                logger.handle(record)


class _Replay:
    """The live path for one recording: messages in, the `analyze --json` document out."""

    def __init__(
        self, source: SourceKind, topic: str, first: float | None, config: ClassifyConfig | None
    ) -> None:
        """A runner for a one-bed config on `topic` (see _settings_for)."""
        self.source = source
        self.topic = topic
        self.clock = _ReplayClock()
        settings = _settings_for(source, [topic], first)
        self.runner = build(
            settings, {RECORDING_BED: UTC}, NullStore(), NullOutbox(), self.clock, classify=config
        )
        self.pipeline = self.runner.pipeline
        self.rejected = 0
        self.start: float | None = None
        self.end: float | None = None
        self.previous: float | None = None

    def feed(self, msg: RecordedMessage) -> None:
        """One message, at its own time (else the time of the message before it).

        By each frame's own time: a recording of a replayed night (the demo) arrives long
        after the frames' times, and judged by arrival every frame would be "too old".
        """
        own = own_time(msg)
        t = own if own is not None else self.previous
        if t is None:
            self.rejected += 1
            return
        self.previous = self.clock.at = t
        self.start = t if self.start is None else min(self.start, t)
        self.end = t if self.end is None else max(self.end, t)
        # runner.handle, with the payload as read_recording parsed it (if it did).
        result = self.pipeline.handle(msg.topic or self.topic, msg.payload, t, msg.parsed)
        if result is None:
            self.rejected += 1
        else:
            self.runner.apply(*result)

    def document(self, rejected: int) -> dict[str, Any]:
        """The night's final classification, with `rejected` lines besides this replay's."""
        end = self.end
        tracker = self.runner.trackers[RECORDING_BED]
        rejected += self.rejected + tracker.messages_rejected
        if end is not None:
            tracker.finish(end + 1.0)
        final = tracker.classify_final(end + 1.0 if end is not None else 0.0)
        return _document(self.source, self.start, end, final, rejected)


def analyze_recording(path: Path, config: ClassifyConfig | None = None) -> dict[str, Any]:
    """Run a recording through decoding and detection; the `analyze --json` document.

    The messages go to the bed on the first of the recording's topics in sorted order,
    a message without a topic too; the night window starts at the first message's own
    time. Read once, each message is replayed as soon as that is known: the source from
    the payloads' shape (sniff_source), the first own time, and the topic, assumed to
    stay the smallest seen so far. A smaller topic arriving later (a recording of several
    topics) starts the analysis again from the whole recording read into memory.
    """
    held = _HeldRecords()
    try:
        return _analyze_streaming(path, config, held)
    except _TopicChanged:
        # What the abandoned replay logged (rejections on what it took for the bed's
        # topic) would be wrong: only the second replay's records are told.
        return _analyze_listed(path, config)


def _analyze_streaming(
    path: Path, config: ClassifyConfig | None, held: _HeldRecords
) -> dict[str, Any]:
    """analyze_recording, replaying each message once the replay can start; raises
    _TopicChanged when the bed's topic turns out to be another one. What the replay logs
    goes to `held` and is told when the replay stands."""
    rejected = 0
    source: SourceKind | None = None
    seen = 0
    topic: str | None = None
    replay: _Replay | None = None
    waiting: list[RecordedMessage] = []  # from the first timed one, until the source is known
    for msg in read_recording(path, keep_parsed=True):
        if isinstance(msg, Rejection):
            rejected += 1
            continue
        seen += 1
        source = source or _sniffed(msg, seen)
        if msg.topic and (topic is None or msg.topic < topic):
            if replay is not None:
                raise _TopicChanged
            topic = msg.topic
        if replay is not None:
            replay.feed(msg)
        elif waiting or own_time(msg) is not None:
            waiting.append(msg)
            if source is not None:
                replay = _Replay(source, topic or DEFAULT_TOPIC, own_time(waiting[0]), config)
                held.hold(replay)
                for early in waiting:
                    replay.feed(early)
                waiting.clear()
        else:
            rejected += 1  # no time before it either: the replay would reject it
    if source is None:
        raise ValueError(no_source_found(SNIFF_MESSAGES))
    if replay is None:  # no message with a time: every one was rejected above
        return _Replay(source, topic or DEFAULT_TOPIC, None, config).document(rejected)
    held.tell()
    return replay.document(rejected)


def _sniffed(msg: RecordedMessage, seen: int) -> SourceKind | None:
    """The source as sniff_source tells it from the `seen`-th message, until it gives up."""
    if seen > SNIFF_MESSAGES:
        raise ValueError(no_source_found(SNIFF_MESSAGES))
    return source_of(msg)


def _analyze_listed(path: Path, config: ClassifyConfig | None) -> dict[str, Any]:
    """analyze_recording from the whole recording in memory (payloads parsed again by
    the decoder): the topic is the first in sorted order from the start."""
    messages = list(read_recording(path))
    rejected = sum(1 for m in messages if isinstance(m, Rejection))
    recorded = [m for m in messages if isinstance(m, RecordedMessage)]
    source = sniff_source(recorded, SNIFF_MESSAGES)
    topics = sorted({m.topic for m in recorded if m.topic}) or [DEFAULT_TOPIC]
    first = next((t for t in map(own_time, recorded) if t is not None), None)
    replay = _Replay(source, topics[0], first, config)
    for msg in recorded:
        replay.feed(msg)
    return replay.document(rejected)


def analyze_readings(
    readings: Iterable[Reading], source: SourceKind, config: ClassifyConfig | None = None
) -> dict[str, Any]:
    """The `analyze --json` document for already-decoded readings (no JSON round trip).

    Same tracker, detector and classification as `analyze_recording`; `evaluate` uses it.
    """
    tracker: BedTracker | None = None
    start: float | None = None
    end: float | None = None
    for reading in readings:
        if tracker is None:
            start = reading.t
            begin = _window_start(start)
            window = NightWindow(begin, begin, UTC)
            spec = SensorSpec("sensor", source)
            tracker = BedTracker(RECORDING_BED, window, [spec], classify_config=config)
            tracker.restore(reading.t, [], {}, {})
        end = reading.end if hasattr(reading, "end") else reading.t
        tracker.on_reading("sensor", reading, reading.t)
    if tracker is None or end is None:
        empty = NightClassification(
            (), SleepPeriod(), None, None, is_final=True, is_lower_bound=False
        )
        return _document(source.value, None, None, empty, 0)
    tracker.finish(end)
    final = tracker.classify_final(end)
    return _document(source.value, start, end, final, tracker.messages_rejected)


def _document(
    source: str,
    start: float | None,
    end: float | None,
    final: NightClassification,
    rejected: int,
) -> dict[str, Any]:
    events = sorted(final.events, key=lambda e: e.onset)
    sleep = final.sleep
    return {
        "source": source,
        "start": start,
        "end": end,
        "sleep_onset": _round(sleep.sleep_onset),
        "events": [_event_json(e) for e in events],
        "counts": final.counts,
        "plm_index": _round(final.plm_index, 2),
        "rejected": rejected,
        "in_bed": _round(sleep.in_bed),
        "wake": _round(sleep.wake),
        "out_of_bed": _round(sleep.out_of_bed),
        # Every stretch in bed; one still open at the end of the data ends there.
        "in_bed_spans": [
            [_round(a), _round(b if math.isfinite(b) or end is None else end)]
            for a, b in sleep.in_bed_spans
        ],
        "total_sleep_seconds": _round(sleep.total_sleep_seconds),
        "periodicity_index": _round(final.periodicity_index, 3),
        "hypnagogic_twitches": final.hypnagogic_twitches,
        # Onsets of the hypnic jerks followed by an awakening (core/arousal.py).
        "waking_jerks": [round(e.onset, 3) for e in waking_jerks(final.events)],
        "glitches": final.glitches,
        "is_lower_bound": final.is_lower_bound,
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _event_json(event: MovementEvent) -> dict[str, Any]:
    return {
        "onset": round(event.onset, 3),
        "offset": round(event.offset, 3),
        "class": event.cls.value,
        "peak": round(event.peak, 4),
        "side": event.side,
        "is_truncated": event.is_truncated,
        "is_lower_bound": event.is_lower_bound,
        "strength": round(event.strength, 2),
        # The movement's own duration (its width at half height, without the ringing).
        "movement_seconds": round(event.movement_seconds, 2),
        "is_hypnagogic": event.is_hypnagogic,
    }
