"""One sensor's intake for the bed tracker: its detector, cursor and de-duplication.

Pure: the per-sensor state a reading passes before it counts (replays refused,
receive-time jitter absorbed, gaps noted, one resting level a minute kept).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from sleepenv.bed.core.coarse import CoarseConfig, CoarseTracker
from sleepenv.bed.core.detector import DetectorConfig, EnvelopeDetector
from sleepenv.bed.core.model import (
    DetectorOutput,
    EnvelopeFrame,
    MovementEvent,
    Reading,
    RestingMinute,
    SourceKind,
    ZigbeeVibration,
)
from sleepenv.rejection import Rejection

# Two detections of one movement (a replay after a restart) land this close together.
SAME_EVENT_SECONDS = 0.5
LEVEL_SECONDS = 60.0
# A pause in a sensor's data longer than this is a gap (the detector's own limit).
GAP_SECONDS = 1.0
# A cursor this far past the clock is wrong once REANCHOR_FRAMES live frames in a row
# arrive behind it (a frame from the future would otherwise block a stream for minutes).
AHEAD_SECONDS = 10.0
REANCHOR_FRAMES = 3


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """What the tracker needs to know about one sensor."""

    key: str
    kind: SourceKind
    side: str = "both"


@dataclass(slots=True)
class SensorState:
    """One sensor's detector and what the tracker remembers of its stream."""

    spec: SensorSpec
    detector: EnvelopeDetector | CoarseTracker
    cursor: float | None = None
    is_moving: bool = False
    is_online: bool | None = None
    onsets: list[float] = field(default_factory=list)
    rhythm_taken_at: float | None = None
    heard_at: float | None = None  # clock time of the last admitted reading
    # Live frames refused in a row as already seen while the cursor is ahead of the
    # clock: one frame from the future (or a sensor clock set back) put it there.
    behind: int = 0


def build_sensor(spec: SensorSpec, fine: DetectorConfig, coarse: CoarseConfig) -> SensorState:
    """A sensor's state with the detector its kind takes."""
    detector: EnvelopeDetector | CoarseTracker
    if spec.kind is SourceKind.ENVELOPE:
        detector = EnvelopeDetector(fine, spec.key, spec.side)
    else:
        detector = CoarseTracker(coarse, spec.key, spec.side)
    return SensorState(spec, detector)


def feed_detector(sensor: SensorState, reading: Reading) -> list[DetectorOutput]:
    """Feed an admitted reading to the sensor's detector; what it reports."""
    detector = sensor.detector
    # Two branches so each detector gets the reading type it takes.
    if isinstance(detector, EnvelopeDetector) and isinstance(reading, EnvelopeFrame):
        return detector.feed(reading)
    if isinstance(detector, CoarseTracker) and isinstance(reading, ZigbeeVibration):
        return detector.feed(reading)
    return []


def admit(
    sensor: SensorState,
    reading: Reading,
    now: float,
    night_start: float | None,
    gaps: list[tuple[float, float]],
) -> tuple[Reading, Rejection | None]:
    """Apply the per-sensor cursor: reject replays, absorb receive-time jitter.

    A pause in tonight's envelope data is appended to `gaps` (unknown, never stillness).
    """
    start = reading.t
    end = reading.end if isinstance(reading, EnvelopeFrame) else reading.t
    if sensor.cursor is not None:
        if isinstance(reading, EnvelopeFrame):
            sample = 1.0 / reading.hz
            if start < sensor.cursor - sample / 2:
                if len(reading.rms) == 1 and start > sensor.cursor - sample:
                    # A plain-number message stamped on receipt arrived a bit early.
                    reading = EnvelopeFrame(sensor.cursor, reading.hz, reading.rms, reading.peak)
                    end = reading.end
                elif is_already_seen(sensor, start, now):
                    if isinstance(sensor.detector, EnvelopeDetector):
                        sensor.detector.warm(reading)
                    return reading, Rejection("duplicate", f"frame at {start:.1f} already seen")
        elif start <= sensor.cursor:
            return reading, Rejection("duplicate", f"report at {start:.1f} already seen")
    if (
        isinstance(reading, EnvelopeFrame)
        and sensor.cursor is not None
        and start - sensor.cursor > GAP_SECONDS
        and night_start is not None
        and start >= night_start
    ):
        # Also across a restart (the cursor is stored): unknown, never stillness.
        gaps.append((sensor.cursor, start))
    sensor.cursor = end
    sensor.behind = 0
    return reading, None


def is_already_seen(sensor: SensorState, start: float, now: float) -> bool:
    """True to refuse a frame before the cursor as already seen.

    False when the cursor lies in the future of the clock while frames of now keep
    arriving behind it (the REANCHOR_FRAMES-th in a row): it was wrong, and the stream
    is taken from here again, the detector starting over at it. A replay of old data
    is still refused.
    """
    cursor = sensor.cursor
    is_live = cursor is not None and start <= now + AHEAD_SECONDS < cursor
    sensor.behind = sensor.behind + 1 if is_live else 0
    if sensor.behind < REANCHOR_FRAMES:
        return True
    if isinstance(sensor.detector, EnvelopeDetector):
        sensor.detector.rewind()
    return False


def is_new(sensor: SensorState, event: MovementEvent) -> bool:
    """False when this sensor already reported a movement starting at the same moment."""
    onsets = sensor.onsets
    i = bisect.bisect_left(onsets, event.onset - SAME_EVENT_SECONDS)
    return not (i < len(onsets) and onsets[i] <= event.onset + SAME_EVENT_SECONDS)


def take_level(
    sensor: SensorState, t: float, night_start: float | None, levels: list[RestingMinute]
) -> RestingMinute | None:
    """Keep one resting level per minute in `levels` (occupancy is read from it); the new one."""
    detector = sensor.detector
    if not isinstance(detector, EnvelopeDetector) or detector.level is None:
        return None
    if sensor.rhythm_taken_at is not None and t - sensor.rhythm_taken_at < LEVEL_SECONDS:
        return None
    sensor.rhythm_taken_at = t
    rhythm = detector.take_rhythm()  # taken every minute, so it never piles up
    if night_start is None or t < night_start:
        return None
    if levels and t - levels[-1].t < LEVEL_SECONDS:
        return None
    levels.append(RestingMinute(t, detector.level, rhythm))
    return levels[-1]
