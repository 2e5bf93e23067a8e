"""One movement at a time, from its first sample above the on-threshold to its event (pure).

The envelope detector (detector.py) scans samples and hands each one during a movement
here: an event opens, is confirmed once it lasted min_event_seconds (its onset moved back
over its foot), closes after the off-hold or is dropped as a glitch, and waits for the
sensor to settle so that its gravity before and after tell a posture change.
"""

from __future__ import annotations

import math
from collections import deque

from sleepenv.bed.core.detector_config import EPS, DetectorConfig
from sleepenv.bed.core.detector_events import (
    POSTURE_SETTLE_SECONDS,
    ClosedEvent,
    OpenEvent,
    Vector,
    active_seconds,
    angle_between_degrees,
    backtracked_onset,
    event_strength,
    movement_event,
    valid_gravity,
)
from sleepenv.bed.core.model import DetectorOutput, EnvelopeFrame, MovementEvent, MovementStarted
from sleepenv.bed.core.thresholds import Thresholds


class MovementFollower:
    """The open and the just-closed movement of one sensor, and what they emit."""

    def __init__(self, config: DetectorConfig, sensor: str, side: str) -> None:
        self._config = config
        self._sensor = sensor
        self._side = side
        self._th = Thresholds(config)
        self._open: OpenEvent | None = None
        self._closed: ClosedEvent | None = None
        self._last_gravity: Vector | None = None
        self._ring_until = -math.inf
        self._ring_amplitude = 0.0
        self.glitches = 0
        # The last few frames: an onset moves back over their samples.
        self._frames: deque[EnvelopeFrame] = deque(maxlen=4)
        self._last_offset = -math.inf
        self._has_moved = False  # a movement was found since the data (re)started
        # When the baseline first became usable: an onset found later never moves back
        # before it (the level there was not yet known to be a rise).
        self._warm_since = -math.inf

    @property
    def is_moving(self) -> bool:
        """True while a confirmed movement is under way."""
        return self._open is not None and self._open.is_confirmed

    def _open_event(
        self,
        t: float,
        dt: float,
        x: float,
        residual: float,
        peak: float,
        fast_off: float,
        prev: float,
        out: list[DetectorOutput],
    ) -> None:
        """Start an event at the sample (t, x); `prev` is the sample before it (its foot)."""
        event = OpenEvent(
            onset=t,
            last_above=t + dt,
            peak=peak,
            max_rms=x,
            baseline=self._th.baseline,
            noise=self._th.noise,
            gravity_before=self._last_gravity,
            fast_off=fast_off,
            held=[(x, residual, dt)],
            samples=[(t - dt, prev), (t, x)],
            dt=dt,
        )
        self._open = event
        self._maybe_confirm(event, out)

    def _continue_event(
        self,
        event: OpenEvent,
        t: float,
        dt: float,
        x: float,
        residual: float,
        peak: float,
        out: list[DetectorOutput],
    ) -> None:
        """Extend, confirm or close the open event with one more sample."""
        cfg = self._config
        event.samples.append((t, x))
        if x > self._th.off_threshold and x > event.fast_off:
            event.last_above = t + dt
            event.peak = max(event.peak, peak)
            event.max_rms = max(event.max_rms, x)
            self._maybe_confirm(event, out)
        elif not event.is_confirmed or t + dt - event.last_above >= cfg.off_hold_seconds - EPS:
            # Unconfirmed, one sample back below is enough: a movement stays up for
            # min_event_seconds, and a lone spike with a noise sample later in the
            # off-hold is not one (the glitches of a noisy sensor were confirmed so).
            self._close(event, out)
            self._th.add_quiet(x, residual, dt)
            return
        if not event.is_confirmed:
            event.held.append((x, residual, dt))
        elif t - event.onset > cfg.baseline_window_seconds:
            # A lasting step in the background level (a fan, a partner lying down) would
            # otherwise hold one event open forever: let the baseline follow it.
            self._th.quiet.append((x, dt))

    def _backtracked(self, event: OpenEvent) -> float:
        """The onset moved back over its foot, never into the previous movement."""
        earliest = max(
            event.onset - self._config.backtrack_seconds, self._last_offset, self._warm_since
        )
        return backtracked_onset(event.onset, self._frames, earliest, self._th.off_threshold)

    def _maybe_confirm(self, event: OpenEvent, out: list[DetectorOutput]) -> None:
        """Confirm the open event once it has stayed above the off-threshold for
        min_event_seconds, counted from its foot (where it rose above the off-threshold).

        Not from the foot on a bed whose heartbeat sets the fast test's margin: a beat
        lands on one or two samples, so a foot and one sample over the threshold is a
        beat's shape there, and the event must stay up from its crossing on.
        """
        if event.is_confirmed:
            return
        th = self._th
        onset = self._backtracked(event)
        has_beats = th.fast_spike > self._config.fast_on_factor * th.fast_noise
        since = event.onset if has_beats else onset
        if event.last_above - since < self._config.min_event_seconds - EPS:
            return
        event.is_confirmed = True
        event.onset = onset
        self._has_moved = True
        event.held = []
        self._finish_closed(out)  # keep outputs in time order
        out.append(MovementStarted(at=event.onset, sensor=self._sensor))

    def _close(self, event: OpenEvent, out: list[DetectorOutput]) -> None:
        """End the open event after its off-hold: a glitch, or an event to emit."""
        self._open = None
        if not event.is_confirmed:
            self.glitches += 1
            for value, residual, seconds in event.held:
                self._th.add_quiet(value, residual, seconds)
            return
        cfg = self._config
        self._last_offset = event.last_above
        if cfg.ringing_guard_seconds > 0:
            self._ring_until = event.last_above + cfg.ringing_guard_seconds
            self._ring_amplitude = cfg.ringing_fraction * (event.max_rms - event.baseline)
        is_large = event.max_rms > event.baseline + cfg.large_peak_factor * event.noise
        closed = ClosedEvent(
            onset=event.onset,
            offset=event.last_above,
            peak=event.peak,
            is_large=is_large,
            strength=event_strength(event),
            active=self._active(event),
            gravity_before=event.gravity_before,
        )
        if event.gravity_before is None:
            out.append(self._event(closed, has_posture_change=False))  # no gravity to wait for
        else:
            self._closed = closed

    def _close_truncated(self, offset: float, out: list[DetectorOutput]) -> None:
        """Close the open event at `offset` because the data stops there."""
        event = self._open
        if event is None:
            return
        self._open = None
        if not (
            offset > event.onset and offset - event.onset >= self._config.min_event_seconds - EPS
        ):
            self.glitches += 1
            return
        if not event.is_confirmed:
            out.append(MovementStarted(at=event.onset, sensor=self._sensor))
        cfg = self._config
        is_large = event.max_rms > event.baseline + cfg.large_peak_factor * event.noise
        closed = ClosedEvent(
            onset=event.onset,
            offset=offset,
            peak=event.peak,
            is_large=is_large,
            strength=event_strength(event),
            active=min(self._active(event), offset - event.onset),
        )
        out.append(self._event(closed, has_posture_change=False, is_truncated=True))

    def _active(self, event: OpenEvent) -> float:
        """The movement's width at active_fraction of its height above rest."""
        level = event.baseline + self._config.active_fraction * (event.max_rms - event.baseline)
        return active_seconds(event.samples, level, event.dt)

    def _settle_posture(self, frame: EnvelopeFrame, out: list[DetectorOutput]) -> None:
        """Record gravity after a closed event; emit it once the sensor has settled."""
        closed = self._closed
        if closed is None or frame.t < closed.offset - EPS:
            return
        gravity = valid_gravity(frame.gravity)
        if gravity is not None:
            closed.gravity_after = gravity
        if frame.t >= closed.offset + POSTURE_SETTLE_SECONDS - EPS:
            self._finish_closed(out)

    def _finish_closed(self, out: list[DetectorOutput]) -> None:
        """Emit the closed event with the best gravity seen after it (if any)."""
        closed = self._closed
        if closed is None:
            return
        self._closed = None
        has_posture_change = (
            closed.gravity_before is not None
            and closed.gravity_after is not None
            and angle_between_degrees(closed.gravity_before, closed.gravity_after)
            >= self._config.posture_change_degrees
        )
        out.append(self._event(closed, has_posture_change=has_posture_change))

    def _event(
        self, closed: ClosedEvent, *, has_posture_change: bool, is_truncated: bool = False
    ) -> MovementEvent:
        """Build the output event, classified by duration, posture and size."""
        return movement_event(
            closed,
            self._config,
            self._sensor,
            self._side,
            has_posture_change=has_posture_change,
            is_truncated=is_truncated,
        )
