"""A movement while the envelope detector follows it, and the event it becomes (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from sleepenv.bed.core.detector_config import EPS, DetectorConfig, classify_by_duration
from sleepenv.bed.core.model import EnvelopeFrame, MovementEvent, SourceKind

Vector = tuple[float, float, float]

# Gravity is read from the first frame starting this long after an event's offset, so
# the sensor has settled; with 1 s frames the event is out < 3 s after its offset.
POSTURE_SETTLE_SECONDS = 0.8


def angle_between_degrees(a: Vector, b: Vector) -> float:
    """Angle between two gravity vectors in degrees (0 when either has no length)."""
    norm = math.hypot(*a) * math.hypot(*b)
    if norm <= 0.0:
        return 0.0
    cosine = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / norm
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def valid_gravity(gravity: Vector | None) -> Vector | None:
    """The gravity vector when it has three finite components, else None."""
    if gravity is None or len(gravity) != 3 or not all(math.isfinite(g) for g in gravity):
        return None
    return gravity


def active_seconds(samples: list[tuple[float, float]], level: float, dt: float) -> float:
    """Width at `level`: from the rising to the falling crossing, each placed between the
    centres of the samples either side of it (a sample at or above `level` with none
    before or after it counts whole)."""
    above = [i for i, (_, x) in enumerate(samples) if x >= level]
    if not above:
        return 0.0
    first, last = above[0], above[-1]
    t_first, x_first = samples[first]
    rise = t_first
    if first > 0:
        t0, x0 = samples[first - 1]
        rise = t0 + dt / 2 + (level - x0) / (x_first - x0) * (t_first - t0)
    t_last, x_last = samples[last]
    fall = t_last + dt
    if last + 1 < len(samples):
        t1, x1 = samples[last + 1]
        fall = t_last + dt / 2 + (x_last - level) / (x_last - x1) * (t1 - t_last)
    return max(fall - rise, dt / 2)


def backtracked_onset(
    onset: float, frames: Sequence[EnvelopeFrame], earliest: float, off_threshold: float
) -> float:
    """The onset moved back over the samples just before it that were above the
    off-threshold (the movement's foot), one sample apart and not before `earliest`."""
    for frame in reversed(frames):
        hz = frame.hz
        for i in range(len(frame.rms) - 1, -1, -1):
            t = frame.t + i / hz
            if t >= onset - EPS:
                continue
            x = frame.rms[i]
            if t < earliest - EPS or not x > off_threshold or onset - t > 1.5 / hz:
                return onset
            onset = t
    return onset


def event_strength(event: OpenEvent) -> float:
    """Largest RMS above baseline in baseline units (noise as the unit for a silent bed)."""
    return (event.max_rms - event.baseline) / max(event.baseline, event.noise)


@dataclass(slots=True)
class OpenEvent:
    """An event between its first sample above the on-threshold and its close."""

    onset: float
    last_above: float  # end of the last sample above the off-threshold = offset so far
    peak: float
    max_rms: float
    baseline: float
    noise: float
    gravity_before: Vector | None
    is_confirmed: bool = False
    # Started by the fast test: the event is also off below this (local reference based).
    fast_off: float = -math.inf
    # Samples of a not yet confirmed event: they go back to the baseline if it is a glitch.
    held: list[tuple[float, float, float]] = field(default_factory=list)  # (x, residual, dt)
    # Every sample (t, x) of the event: its width at half height is measured on them.
    samples: list[tuple[float, float]] = field(default_factory=list)
    dt: float = 0.1


@dataclass(slots=True)
class ClosedEvent:
    """An ended event waiting for a settled gravity vector to decide its posture."""

    onset: float
    offset: float
    peak: float
    is_large: bool
    strength: float = 0.0
    active: float | None = None
    gravity_before: Vector | None = None
    gravity_after: Vector | None = None


def movement_event(
    closed: ClosedEvent,
    config: DetectorConfig,
    sensor: str,
    side: str,
    *,
    has_posture_change: bool,
    is_truncated: bool = False,
) -> MovementEvent:
    """The output event, classified by duration, posture and size."""
    duration = closed.offset - closed.onset if closed.active is None else closed.active
    return MovementEvent(
        onset=closed.onset,
        offset=closed.offset,
        peak=closed.peak,
        cls=classify_by_duration(
            duration,
            config,
            has_posture_change=has_posture_change,
            is_large=closed.is_large,
        ),
        source=SourceKind.ENVELOPE,
        sensor=sensor,
        side=side,
        has_posture_change=has_posture_change,
        is_truncated=is_truncated,
        strength=closed.strength,
        active_seconds=None if closed.active is None else round(closed.active, 3),
    )
