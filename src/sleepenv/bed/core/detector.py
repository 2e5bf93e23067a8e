"""Movement detection on the envelope of a fine bed sensor (pure, streaming).

An adaptive baseline (median and MAD of the last minute of quiet samples) absorbs
breathing and heartbeat and makes thresholds independent of the bed and the sensor's
gain; hysteresis with an off-hold turns samples into events; a decaying raised
threshold keeps mattress ringing from splitting one movement into several.

Breathing swings the envelope slowly by up to a few tenths of the baseline, which
inflates the minute's noise scale and hides weak, short twitches below baseline +
5 x noise. A second, fast test therefore measures each sample against a local
reference (the median of the last half second), whose residual keeps only what
changed within a few samples: breathing (0.1-0.5 Hz) cannot move it much, a twitch
rising within one or two samples does. Its own robust noise scale (60 s of quiet
residuals) sets the threshold. An event started this way must stay above the same
local reference for min_event_seconds (it rose fast and stayed up), and ends below
the higher of the slow off-threshold and that reference + off_factor x fast noise.

This module scans the stream (gaps, repeats, the per-sample tests); its pieces live
beside it: movements.py (one movement from open to event, its base class),
detector_config.py (settings and the class a movement gets), thresholds.py (baseline,
noise scales, thresholds), detector_events.py (a movement's records and measures),
data_start.py (data that began mid-movement), breathing.py (evidence from quiet samples).
"""

from __future__ import annotations

import math
from collections import deque

from sleepenv.bed.core.breathing import RestBins, median
from sleepenv.bed.core.data_start import DataStart
from sleepenv.bed.core.detector_config import EPS, DetectorConfig, classify_by_duration
from sleepenv.bed.core.detector_events import (
    ClosedEvent,
    angle_between_degrees,
    valid_gravity,
)
from sleepenv.bed.core.model import (
    DetectorOutput,
    Dropout,
    EnvelopeFrame,
    MovementStarted,
)
from sleepenv.bed.core.movements import MovementFollower

# The detector's settings and its pure pieces, importable from here as before.
__all__ = [
    "DetectorConfig",
    "EnvelopeDetector",
    "angle_between_degrees",
    "classify_by_duration",
]

_DEFAULT_CONFIG = DetectorConfig()


class EnvelopeDetector(MovementFollower):
    """Streaming movement detector for one envelope sensor: frames in, outputs out."""

    def __init__(
        self, config: DetectorConfig = _DEFAULT_CONFIG, sensor: str = "", side: str = "both"
    ) -> None:
        super().__init__(config, sensor, side)
        # Fast test: recent samples (the local reference) and their rises' energies.
        self._recent: deque[float] = deque()
        self._energies: deque[float] = deque(maxlen=max(1, config.energy_samples))
        self._next_t: float | None = None  # end of the last sample seen
        self._last_at: float | None = None
        self._rest = RestBins()  # breathing evidence
        self._start = DataStart(config)
        self._last_x = 0.0  # the sample before the current one (an onset's foot)

    @property
    def level(self) -> float | None:
        """Resting level (adaptive baseline) once warm: tells an occupied bed from an empty one."""
        return self._th.baseline if self._th.is_warm else None

    @property
    def last_sample_at(self) -> float | None:
        """Start time of the last accepted sample, None before the first one."""
        return self._last_at

    def feed(self, frame: EnvelopeFrame) -> list[DetectorOutput]:
        """Process one frame; return the outputs it completes, in time order."""
        if not (frame.hz > 0 and math.isfinite(frame.t) and math.isfinite(frame.end)):
            return []  # the decoder rejects these; a bad frame must not poison the state
        first = self._first_new_index(frame)
        if first >= len(frame.rms):
            return []  # nothing new: a duplicate or a frame from the past
        out: list[DetectorOutput] = []
        start = frame.t + first / frame.hz
        # Half a sample of slack: one lost frame amid timestamp jitter is not a gap.
        slack = 0.5 / frame.hz
        if self._next_t is not None and start - self._next_t > self._config.max_gap_seconds + slack:
            self._finish_closed(out)
            self._close_truncated(self._next_t, out)
            out.append(Dropout(start=self._next_t, end=start, sensor=self._sensor))
            self._ring_until = -math.inf
            self._recent.clear()
            self._energies.clear()
            self._rest.drop_open_bin()
            self._frames.clear()
            self._start.restart(start)
            self._has_moved = False
        else:
            self._settle_posture(frame, out)
        self._start.note(start)
        self._th.refresh()
        if self._th.is_warm and self._warm_since == -math.inf:
            self._warm_since = start
        if self._start.is_settling:
            self._check_start(start, 1.0 / frame.hz, out)
        self._scan(frame, first, out)
        self._next_t = frame.end
        gravity = valid_gravity(frame.gravity)
        if gravity is not None:
            self._last_gravity = gravity
        return out

    def warm(self, frame: EnvelopeFrame) -> None:
        """Learn the resting level from a frame already counted before a restart (the
        broker redelivers the last unacknowledged ones): a fresh detector is then warm
        at once instead of blind for its warm-up. Only before the first new frame."""
        if self._next_t is not None or not frame.hz > 0:
            return
        dt = 1.0 / frame.hz
        for x in frame.rms:
            if math.isfinite(x):
                self._th.window.add(x, dt)

    def rewind(self) -> None:
        """Take the stream again from whatever frame comes next, even an earlier one (its
        time base was wrong): an open movement is dropped, the baseline is kept."""
        self._next_t = None
        self._open = None
        self._closed = None
        self._recent.clear()
        self._energies.clear()
        self._frames.clear()
        self._rest.drop_open_bin()
        self._ring_until = -math.inf

    def flush(self, at: float) -> list[DetectorOutput]:
        """End of data: emit what is pending and close an open event as truncated.

        The truncated offset is `at`, but never later than the end of the last sample.
        """
        out: list[DetectorOutput] = []
        self._finish_closed(out)
        if self._next_t is not None:
            self._close_truncated(self._next_t if math.isnan(at) else min(at, self._next_t), out)
        return out

    def _first_new_index(self, frame: EnvelopeFrame) -> int:
        """Index of the first sample not already covered by earlier frames."""
        if self._next_t is None or frame.t >= self._next_t - EPS:
            return 0
        if frame.end <= self._next_t + EPS:
            return len(frame.rms)  # wholly old (checked first: the product below could overflow)
        # An overlap under half a sample is timestamp jitter, not a repeated sample.
        skip = math.ceil((self._next_t - frame.t) * frame.hz - 0.5)
        return min(max(skip, 0), len(frame.rms))

    def _local_count(self, dt: float) -> int:
        """How many samples of duration dt make local_seconds (1 to 10,000)."""
        if not dt > 0.0:
            return 1
        return max(1, round(min(self._config.local_seconds / dt, 10_000.0)))

    # One loop with its state in locals: per-sample helper calls were a large share of it.
    def _scan(self, frame: EnvelopeFrame, first: int, out: list[DetectorOutput]) -> None:  # noqa: PLR0912, PLR0915
        """Run the hysteresis over the new samples of one frame.

        The thresholds only change in `_refresh_baseline` (once per frame, before this),
        so they are read once here; the per-sample loop is the detector's hot path. It
        stays one function, over the house's ~50 lines, on purpose: every helper called
        per sample costs a Python call at 10-1000 samples a second, and the locals read
        once above would have to be passed or read again.
        """
        cfg = self._config
        hz = frame.hz
        t0 = frame.t
        dt = 1.0 / hz
        rms = frame.rms
        n = len(rms)
        peaks = frame.peak if frame.peak is not None and len(frame.peak) == n else None
        on_threshold = self._th.on_threshold
        off_threshold = self._th.off_threshold
        is_warm = self._th.is_warm
        fast_margin = max(cfg.fast_on_factor * self._th.fast_noise, self._th.fast_spike)
        fast_off_margin = cfg.off_factor * self._th.fast_noise
        energy_on = self._th.energy_on
        sustain_on = (
            self._th.baseline + cfg.sustain_factor * self._th.noise
            if cfg.sustain_factor > 0.0
            else math.inf
        )
        n_local = self._local_count(dt)  # once per frame: every sample of it lasts dt
        recent = self._recent
        energies = self._energies
        quiet = self._th.quiet
        quiet_fast = self._th.quiet_fast
        isfinite = math.isfinite
        nan = math.nan
        self._frames.append(frame)
        # Breathing evidence and the start-of-data check read whole quiet frames (per
        # sample bookkeeping cost a quarter of the detector's time).
        is_rest = self._open is None and t0 >= self._ring_until
        all_finite = True
        last_at = self._last_at
        for i in range(first, n):
            x = rms[i]
            if not isfinite(x):
                all_finite = False
                continue  # the decoder rejects these; skipping keeps the state sane
            t = t0 + i / hz
            last_at = t
            # The local reference: the median of the last n_local samples (before x).
            if len(recent) < n_local:
                ref: float | None = None
                residual = nan
                energies.append(0.0)
            else:
                ref = sorted(recent)[len(recent) // 2]
                residual = x - ref
                energies.append(residual * residual if residual > 0.0 else 0.0)
            recent.append(x)
            while len(recent) > n_local:
                recent.popleft()
            if (event := self._open) is not None:
                peak = x
                if peaks is not None and isfinite(peaks[i]):
                    peak = peaks[i]
                self._continue_event(event, t, dt, x, residual, peak, out)
                continue
            ring_until = self._ring_until
            if t >= ring_until:
                start = on_threshold
            else:
                decay = (ring_until - t) / cfg.ringing_guard_seconds
                start = max(on_threshold, self._th.baseline + self._ring_amplitude * decay)
            fast_off = -math.inf
            if is_warm and x <= start and ref is not None and t >= ring_until:
                # Fast test (never inside a ringing guard): a quick rise above the local
                # reference that also clears the slow off-threshold; or a weaker rise whose
                # energy over the last few samples is more than one beat's.
                fast_on = max(ref + fast_margin, off_threshold)
                if x > fast_on or (x > off_threshold and sum(energies) > energy_on):
                    start = min(fast_on, x - EPS)
                    fast_off = ref + fast_off_margin
                elif ref > sustain_on and x > sustain_on:
                    start = x - EPS  # sustained: up for most of the last local_seconds
            if is_warm and x > start:
                peak = x
                if peaks is not None and isfinite(peaks[i]):
                    peak = peaks[i]
                prev = rms[i - 1] if i > 0 else self._last_x
                self._open_event(t, dt, x, residual, peak, fast_off, prev, out)
                is_rest = False
            else:
                quiet.append((x, dt))
                if isfinite(residual):
                    quiet_fast.append((residual, dt))
        self._last_at = last_at
        self._th.flush_quiet()
        if isfinite(rms[-1]):
            self._last_x = rms[-1]
        if is_rest and all_finite and self._open is None and first < n:
            self._add_rest(frame, first)

    def _add_rest(self, frame: EnvelopeFrame, first: int) -> None:
        """A frame without movement or ringing: its samples are breathing evidence (one-
        second bins) and, at the start of the data, the level a fall is judged by."""
        values = frame.rms[first:]  # all finite: `_scan` calls this only then
        t0 = frame.t + first / frame.hz
        self._rest.add(values, t0, frame.hz, frame.end)
        self._start.add_rest(values, t0, frame.hz)

    def _check_start(self, start: float, dt: float, out: list[DetectorOutput]) -> None:
        """Turn the stretch since the data began into a movement once the level falls far
        below what the baseline learned from it (see data_start.py)."""
        cfg = self._config
        th = self._th
        has_moved = self._open is not None or self._closed is not None or self._has_moved
        fall = self._start.fall(
            start, is_warm=th.is_warm, has_moved=has_moved, baseline=th.baseline
        )
        if fall is None:
            return
        began, recent = fall
        fell_at = recent[0][0]
        rest = median([x for _, x in recent])
        if fell_at - began >= 1.0:  # else the level was already low: only re-learn it
            closed = ClosedEvent(
                onset=began,
                offset=fell_at,
                peak=th.baseline,
                is_large=True,
                strength=(th.baseline - rest) / max(rest, cfg.noise_floor),
                active=fell_at - began,
            )
            self._finish_closed(out)
            out.append(MovementStarted(at=began, sensor=self._sensor))
            out.append(self._event(closed, has_posture_change=False, is_truncated=True))
            self._last_offset = fell_at
        # Start the baseline again from the level after the fall.
        th.restart([x for _, x in recent], dt)

    def take_rhythm(self) -> float | None:
        """Breathing evidence of the quiet data since the last call (see rhythm_ratio)."""
        return self._rest.take(self._config.rhythm_min_bins)
