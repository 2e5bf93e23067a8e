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
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise

from sleepenv.bed.core.model import (
    DetectorOutput,
    Dropout,
    EnvelopeFrame,
    MovementClass,
    MovementEvent,
    MovementStarted,
    SourceKind,
)
from sleepenv.bed.core.robust import MAD_TO_SIGMA, TrailingRobustWindow

Vector = tuple[float, float, float]

# Float slack for comparing times: unix seconds carry ~0.2 µs of rounding.
_EPS = 1e-6
# Gravity is read from the first frame starting this long after an event's offset, so
# the sensor has settled; with 1 s frames the event is out < 3 s after its offset.
_POSTURE_SETTLE_SECONDS = 0.8


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds and class boundaries of the envelope detector (defaults: DOMAIN.md §2–3)."""

    baseline_window_seconds: float = 60.0  # trailing window for baseline and noise
    on_factor: float = 5.0  # event on: envelope > baseline + on_factor*noise
    off_factor: float = 2.0  # event off: below baseline + off_factor*noise ...
    off_hold_seconds: float = 0.5  # ... for at least this long
    min_event_seconds: float = 0.15  # shorter than this (with no ringing) = glitch, rejected
    max_gap_seconds: float = 1.0  # gap in sample stream > this closes an open event as truncated
    ringing_guard_seconds: float = 3.0  # after a strong peak, ringing must not create extra events
    ringing_fraction: float = 0.35  # ... so the on-threshold is raised to this fraction of the peak
    posture_change_degrees: float = 10.0  # gravity turns by >= this across an event -> posture
    noise_floor: float = 1e-3  # noise scale never below this (a silent sensor has MAD 0)
    warmup_seconds: float = 10.0  # no events until this much baseline has been seen
    twitch_max_seconds: float = 0.5
    limb_max_seconds: float = 10.0
    rollover_min_seconds: float = 3.0  # "large 3–45 s" => rollover
    bout_min_seconds: float = 45.0
    large_peak_factor: float = 15.0  # peak above baseline + this*noise counts as "large"
    # Fast test: a sample this far above the median of the last local_seconds (in units of
    # that residual's own robust noise) starts an event even below the slow on-threshold;
    # the same 5x as on_factor, 0 turns the fast test off. 0.5 s: breathing moves the
    # median little, and one partial first sample of a twitch cannot move it at all.
    local_seconds: float = 0.5
    fast_on_factor: float = 5.0
    # A heartbeat (ballistocardiogram) shows as short regular bursts at rest that a
    # MAD barely sees: neither test starts an event below spike_factor x the resting
    # samples' spike_quantile (above the baseline, or above the local reference).
    spike_factor: float = 1.5
    spike_quantile: float = 0.99
    # A weak movement below that guard still shows by its energy: a beat lands on one or
    # two samples, so the squared rises above the local reference over the last
    # energy_samples samples (0.3 s, shorter than any beat interval) hold about one beat's
    # energy (the residuals' spike_quantile, squared), while a twitch of the same height
    # keeps rising samples for longer. The fast test also starts an event where that sum
    # exceeds energy_factor x one beat's energy and (energy_noise_factor x fast noise)^2
    # (two samples at 4.2 x the noise on a bed without a heartbeat); 0 turns it off.
    # Tuning nights: recall of twitches 0.66 -> 0.69 (clean), 0.27 -> 0.32 (bcg_strong).
    energy_factor: float = 2.5
    energy_noise_factor: float = 6.0
    energy_samples: int = 3
    # Classes are decided on the movement's width at this fraction of its height above
    # rest: a ringing mattress decays below it within a few tenths of a second, and a
    # movement's own slopes stay mostly above it (at one half, limb movements measured
    # 0.16 s short on the tuning nights; at a third, ringing twitches grew too long).
    active_fraction: float = 0.45
    # One-second bins of quiet samples a minute needs for its breathing evidence.
    rhythm_min_bins: int = 30
    # Data that starts in the middle of a movement (getting into bed as the recording
    # starts, or after a gap) teaches the baseline the movement's level: a fall below
    # settle_drop_ratio x that baseline for settle_drop_seconds within settle_seconds of
    # the start shows it, and the stretch before the fall becomes a movement.
    # A movement starts where it rose above the off-threshold, not where it crossed the
    # on-threshold: its onset moves back over the samples just before, up to this long.
    backtrack_seconds: float = 3.0
    settle_seconds: float = 300.0
    settle_drop_ratio: float = 0.5
    settle_drop_seconds: float = 3.0


def classify_by_duration(
    duration: float, config: DetectorConfig, *, has_posture_change: bool, is_large: bool
) -> MovementClass:
    """Class of a movement from its duration, posture change and size alone."""
    if duration < config.twitch_max_seconds:
        return MovementClass.TWITCH
    # Longer than a rollover can last: a bout (getting up, a cramp), posture or not.
    if duration > config.bout_min_seconds:
        return MovementClass.BOUT
    if has_posture_change:
        return MovementClass.ROLLOVER
    if duration >= config.rollover_min_seconds and (is_large or duration > config.limb_max_seconds):
        return MovementClass.ROLLOVER
    return MovementClass.LIMB_MOVEMENT


def angle_between_degrees(a: Vector, b: Vector) -> float:
    """Angle between two gravity vectors in degrees (0 when either has no length)."""
    norm = math.hypot(*a) * math.hypot(*b)
    if norm <= 0.0:
        return 0.0
    cosine = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / norm
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def _valid_gravity(gravity: Vector | None) -> Vector | None:
    if gravity is None or len(gravity) != 3 or not all(math.isfinite(g) for g in gravity):
        return None
    return gravity


# A normal distribution's median absolute successive difference, in units of its sd.
_MEDIAN_ABS_DIFF_TO_SIGMA = 0.9539


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def rhythm_ratio(means: list[float], diffs: list[float], samples_per_bin: float) -> float | None:
    """Breathing evidence: the robust variance of one-second means over the variance
    white noise would give them (sample-to-sample noise / samples per bin).

    About 1 on an empty bed (only sensor noise), well above it with a breathing person;
    robust to heartbeat spikes and single glitches. None without enough data.
    """
    if len(means) < 3 or not diffs or samples_per_bin <= 0.0:
        return None
    center = _median(means)
    spread = _median([abs(m - center) for m in means]) * MAD_TO_SIGMA
    sigma = _median(diffs) / _MEDIAN_ABS_DIFF_TO_SIGMA
    white = sigma * sigma / samples_per_bin
    if white <= 0.0:
        return None
    return min(spread * spread / white, 1e6)


def _active_seconds(samples: list[tuple[float, float]], level: float, dt: float) -> float:
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


def _strength(event: _OpenEvent) -> float:
    """Largest RMS above baseline in baseline units (noise as the unit for a silent bed)."""
    return (event.max_rms - event.baseline) / max(event.baseline, event.noise)


@dataclass(slots=True)
class _OpenEvent:
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
class _ClosedEvent:
    """An ended event waiting for a settled gravity vector to decide its posture."""

    onset: float
    offset: float
    peak: float
    is_large: bool
    strength: float = 0.0
    active: float | None = None
    gravity_before: Vector | None = None
    gravity_after: Vector | None = None


class EnvelopeDetector:
    """Streaming movement detector for one envelope sensor: frames in, outputs out."""

    def __init__(
        self, config: DetectorConfig = DetectorConfig(), sensor: str = "", side: str = "both"
    ) -> None:
        self._config = config
        self._sensor = sensor
        self._side = side
        self._window = TrailingRobustWindow(config.baseline_window_seconds)
        # Fast test: recent samples (the local reference) and the residuals' noise scale.
        self._recent: deque[float] = deque()
        self._fast_window = TrailingRobustWindow(config.baseline_window_seconds)
        self._fast_noise = math.inf
        # Quiet samples of the frame being scanned, for the two windows (see _add_quiet).
        self._quiet: list[tuple[float, float]] = []
        self._quiet_fast: list[tuple[float, float]] = []
        self._warmup_seconds = min(config.warmup_seconds, config.baseline_window_seconds)
        self._baseline = 0.0
        self._noise = config.noise_floor
        self._off_threshold = math.inf
        self._on_threshold = math.inf
        self._fast_spike = math.inf
        self._energy_on = math.inf
        self._energies: deque[float] = deque(maxlen=max(1, config.energy_samples))
        self._is_warm = False
        self._next_t: float | None = None  # end of the last sample seen
        self._last_at: float | None = None
        self._open: _OpenEvent | None = None
        self._closed: _ClosedEvent | None = None
        self._last_gravity: Vector | None = None
        self._ring_until = -math.inf
        self._ring_amplitude = 0.0
        self.glitches = 0
        # Breathing evidence: one-second bins of quiet samples (values of the open bin,
        # then each closed bin's mean and successive differences) until taken.
        self._bin_key: int | None = None
        self._bin: list[float] = []
        self._bin_means: list[float] = []
        self._bin_diffs: list[float] = []
        self._bin_samples = 0
        # The start of the data (or of the data after a gap), and its last few seconds
        # of samples while a movement at the start may still show itself.
        self._data_start: float | None = None
        self._settling = True
        # The last few frames (an onset moves back over their samples) and the sample
        # before the current one (an onset's foot).
        self._frames: deque[EnvelopeFrame] = deque(maxlen=4)
        self._last_x = 0.0
        self._last_offset = -math.inf
        self._has_moved = False  # a movement was found since the data (re)started
        self._settle: deque[tuple[float, float]] = deque()

    @property
    def is_moving(self) -> bool:
        """True while a confirmed movement is under way."""
        return self._open is not None and self._open.is_confirmed

    @property
    def level(self) -> float | None:
        """Resting level (adaptive baseline) once warm: tells an occupied bed from an empty one."""
        return self._baseline if self._is_warm else None

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
            self._bin, self._bin_key = [], None
            self._frames.clear()
            self._data_start, self._settling, self._settle = start, True, deque()
            self._has_moved = False
        else:
            self._settle_posture(frame, out)
        if self._data_start is None:
            self._data_start = start
        self._refresh_baseline()
        if self._settling:
            self._check_start(start, 1.0 / frame.hz, out)
        self._scan(frame, first, out)
        self._next_t = frame.end
        gravity = _valid_gravity(frame.gravity)
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
                self._window.add(x, dt)

    def rewind(self) -> None:
        """Take the stream again from whatever frame comes next, even an earlier one (its
        time base was wrong): an open movement is dropped, the baseline is kept."""
        self._next_t = None
        self._open = None
        self._closed = None
        self._recent.clear()
        self._energies.clear()
        self._frames.clear()
        self._bin, self._bin_key = [], None
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
        if self._next_t is None or frame.t >= self._next_t - _EPS:
            return 0
        if frame.end <= self._next_t + _EPS:
            return len(frame.rms)  # wholly old (checked first: the product below could overflow)
        # An overlap under half a sample is timestamp jitter, not a repeated sample.
        skip = math.ceil((self._next_t - frame.t) * frame.hz - 0.5)
        return min(max(skip, 0), len(frame.rms))

    def _refresh_baseline(self) -> None:
        """Recompute baseline and noise once per frame (cheap enough, see robust.py)."""
        if len(self._window) == 0:
            return
        self._baseline = self._window.median()
        self._noise = max(self._window.mad() * MAD_TO_SIGMA, self._config.noise_floor)
        self._off_threshold = self._baseline + self._config.off_factor * self._noise
        cfg = self._config
        spikes = self._window.quantile(cfg.spike_quantile) - self._baseline
        self._on_threshold = self._baseline + max(
            cfg.on_factor * self._noise, cfg.spike_factor * spikes
        )
        self._is_warm = self._window.seconds >= self._warmup_seconds - _EPS
        if (
            self._config.fast_on_factor > 0
            and self._fast_window.seconds >= self._warmup_seconds - _EPS
        ):
            fast = max(self._fast_window.mad() * MAD_TO_SIGMA, self._config.noise_floor)
            self._fast_noise = fast
            beat = max(self._fast_window.quantile(cfg.spike_quantile), 0.0)
            self._fast_spike = cfg.spike_factor * beat
            if cfg.energy_factor > 0:
                floor = cfg.energy_noise_factor * fast  # products overflow to inf, ** raises
                self._energy_on = max(cfg.energy_factor * beat * beat, floor * floor)
        else:
            self._fast_noise = math.inf
            self._fast_spike = math.inf
            self._energy_on = math.inf

    def _local_count(self, dt: float) -> int:
        """How many samples of duration dt make local_seconds (1 to 10,000)."""
        if not dt > 0.0:
            return 1
        return max(1, round(min(self._config.local_seconds / dt, 10_000.0)))

    def _add_quiet(self, x: float, residual: float, dt: float) -> None:
        """A sample of no movement: it feeds the baseline and the fast noise scale.

        Queued, in order, until the end of the frame's scan: nothing reads the windows
        before the next frame's refresh, and one `extend` per frame saves a call per sample.
        """
        self._quiet.append((x, dt))
        if math.isfinite(residual):
            self._quiet_fast.append((residual, dt))

    def _flush_quiet(self) -> None:
        """Hand the samples queued during a scan to the baseline and fast windows."""
        if self._quiet:
            self._window.extend(self._quiet)
            self._quiet.clear()
        if self._quiet_fast:
            self._fast_window.extend(self._quiet_fast)
            self._quiet_fast.clear()

    # One loop with its state in locals: per-sample helper calls were a large share of it.
    def _scan(self, frame: EnvelopeFrame, first: int, out: list[DetectorOutput]) -> None:  # noqa: PLR0912, PLR0915
        """Run the hysteresis over the new samples of one frame.

        The thresholds only change in `_refresh_baseline` (once per frame, before this),
        so they are read once here; the per-sample loop is the detector's hot path.
        """
        cfg = self._config
        hz = frame.hz
        t0 = frame.t
        dt = 1.0 / hz
        rms = frame.rms
        n = len(rms)
        peaks = frame.peak if frame.peak is not None and len(frame.peak) == n else None
        on_threshold = self._on_threshold
        off_threshold = self._off_threshold
        is_warm = self._is_warm
        fast_margin = max(cfg.fast_on_factor * self._fast_noise, self._fast_spike)
        fast_off_margin = cfg.off_factor * self._fast_noise
        energy_on = self._energy_on
        n_local = self._local_count(dt)  # once per frame: every sample of it lasts dt
        recent = self._recent
        energies = self._energies
        quiet = self._quiet
        quiet_fast = self._quiet_fast
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
                start = max(on_threshold, self._baseline + self._ring_amplitude * decay)
            fast_off = -math.inf
            if is_warm and x <= start and ref is not None and t >= ring_until:
                # Fast test (never inside a ringing guard): a quick rise above the local
                # reference that also clears the slow off-threshold; or a weaker rise whose
                # energy over the last few samples is more than one beat's.
                fast_on = max(ref + fast_margin, off_threshold)
                if x > fast_on or (x > off_threshold and sum(energies) > energy_on):
                    start = min(fast_on, x - _EPS)
                    fast_off = ref + fast_off_margin
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
        self._flush_quiet()
        if isfinite(rms[-1]):
            self._last_x = rms[-1]
        if is_rest and all_finite and self._open is None and first < n:
            self._add_rest(frame, first)

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
        event = _OpenEvent(
            onset=t,
            last_above=t + dt,
            peak=peak,
            max_rms=x,
            baseline=self._baseline,
            noise=self._noise,
            gravity_before=self._last_gravity,
            fast_off=fast_off,
            held=[(x, residual, dt)],
            samples=[(t - dt, prev), (t, x)],
            dt=dt,
        )
        self._open = event
        self._maybe_confirm(event, out)

    def _add_rest(self, frame: EnvelopeFrame, first: int) -> None:
        """A frame without movement or ringing: its samples are breathing evidence (one-
        second bins) and, at the start of the data, the level a fall is judged by."""
        values = frame.rms[first:]  # all finite: `_scan` calls this only then
        t0 = frame.t + first / frame.hz
        key = math.floor(t0)
        if key == math.floor(frame.end - 0.5 / frame.hz):
            if key != self._bin_key:
                self._close_bin()
                self._bin_key = key
            self._bin += values
        else:  # a frame across a second boundary: sample by sample
            for i, x in enumerate(values):
                k = math.floor(t0 + i / frame.hz)
                if k != self._bin_key:
                    self._close_bin()
                    self._bin_key = k
                self._bin.append(x)
        if self._settling:
            self._settle += ((t0 + i / frame.hz, x) for i, x in enumerate(values))

    def _continue_event(
        self,
        event: _OpenEvent,
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
        if x > self._off_threshold and x > event.fast_off:
            event.last_above = t + dt
            event.peak = max(event.peak, peak)
            event.max_rms = max(event.max_rms, x)
            self._maybe_confirm(event, out)
        elif t + dt - event.last_above >= cfg.off_hold_seconds - _EPS:
            self._close(event, out)
            self._add_quiet(x, residual, dt)
            return
        if not event.is_confirmed:
            event.held.append((x, residual, dt))
        elif t - event.onset > cfg.baseline_window_seconds:
            # A lasting step in the background level (a fan, a partner lying down) would
            # otherwise hold one event open forever: let the baseline follow it.
            self._quiet.append((x, dt))

    def _backtrack(self, event: _OpenEvent) -> None:
        """Move the onset back over the samples just before it that were above the
        off-threshold (the movement's foot), never into the previous movement."""
        earliest = max(event.onset - self._config.backtrack_seconds, self._last_offset)
        onset = event.onset
        for frame in reversed(self._frames):
            hz = frame.hz
            for i in range(len(frame.rms) - 1, -1, -1):
                t = frame.t + i / hz
                if t >= onset - _EPS:
                    continue
                x = frame.rms[i]
                if t < earliest - _EPS or not x > self._off_threshold or onset - t > 1.5 / hz:
                    event.onset = onset
                    return
                onset = t
        event.onset = onset

    def _maybe_confirm(self, event: _OpenEvent, out: list[DetectorOutput]) -> None:
        """Confirm the open event once it has lasted min_event_seconds."""
        if event.is_confirmed:
            return
        if event.last_above - event.onset < self._config.min_event_seconds - _EPS:
            return
        event.is_confirmed = True
        self._backtrack(event)
        self._has_moved = True
        event.held = []
        self._finish_closed(out)  # keep outputs in time order
        out.append(MovementStarted(at=event.onset, sensor=self._sensor))

    def _close(self, event: _OpenEvent, out: list[DetectorOutput]) -> None:
        """End the open event after its off-hold: a glitch, or an event to emit."""
        self._open = None
        if not event.is_confirmed:
            self.glitches += 1
            for value, residual, seconds in event.held:
                self._add_quiet(value, residual, seconds)
            return
        cfg = self._config
        self._last_offset = event.last_above
        if cfg.ringing_guard_seconds > 0:
            self._ring_until = event.last_above + cfg.ringing_guard_seconds
            self._ring_amplitude = cfg.ringing_fraction * (event.max_rms - event.baseline)
        is_large = event.max_rms > event.baseline + cfg.large_peak_factor * event.noise
        closed = _ClosedEvent(
            onset=event.onset,
            offset=event.last_above,
            peak=event.peak,
            is_large=is_large,
            strength=_strength(event),
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
            offset > event.onset and offset - event.onset >= self._config.min_event_seconds - _EPS
        ):
            self.glitches += 1
            return
        if not event.is_confirmed:
            out.append(MovementStarted(at=event.onset, sensor=self._sensor))
        cfg = self._config
        is_large = event.max_rms > event.baseline + cfg.large_peak_factor * event.noise
        closed = _ClosedEvent(
            onset=event.onset,
            offset=offset,
            peak=event.peak,
            is_large=is_large,
            strength=_strength(event),
            active=min(self._active(event), offset - event.onset),
        )
        out.append(self._event(closed, has_posture_change=False, is_truncated=True))

    def _check_start(self, start: float, dt: float, out: list[DetectorOutput]) -> None:
        """Turn the stretch since the data began into a movement once the level falls far
        below what the baseline learned from it (see settle_seconds)."""
        cfg = self._config
        began = self._data_start
        if began is None or start - began >= cfg.settle_seconds:
            self._settling = False
            self._settle.clear()
            return
        if not self._is_warm:
            return
        recent = self._settle
        while recent and recent[0][0] < start - cfg.settle_drop_seconds:
            recent.popleft()
        if self._open is not None or self._closed is not None or self._has_moved:
            # A movement already found since the start: the baseline was not the movement's.
            self._settling = False
            return
        if not recent:
            return
        if recent[-1][0] - recent[0][0] < cfg.settle_drop_seconds - 0.5:
            return
        if _median([x for _, x in recent]) >= cfg.settle_drop_ratio * self._baseline:
            return
        fell_at = recent[0][0]
        rest = _median([x for _, x in recent])
        if fell_at - began >= 1.0:  # else the level was already low: only re-learn it
            closed = _ClosedEvent(
                onset=began,
                offset=fell_at,
                peak=self._baseline,
                is_large=True,
                strength=(self._baseline - rest) / max(rest, cfg.noise_floor),
                active=fell_at - began,
            )
            self._finish_closed(out)
            out.append(MovementStarted(at=began, sensor=self._sensor))
            out.append(self._event(closed, has_posture_change=False, is_truncated=True))
            self._last_offset = fell_at
        # Start the baseline again from the level after the fall.
        self._window = TrailingRobustWindow(cfg.baseline_window_seconds)
        self._fast_window = TrailingRobustWindow(cfg.baseline_window_seconds)
        for _, x in recent:
            self._window.add(x, dt)
        self._settling = False
        self._settle = deque()
        self._refresh_baseline()

    def _active(self, event: _OpenEvent) -> float:
        """The movement's width at active_fraction of its height above rest."""
        level = event.baseline + self._config.active_fraction * (event.max_rms - event.baseline)
        return _active_seconds(event.samples, level, event.dt)

    def _close_bin(self) -> None:
        values = self._bin
        if len(values) >= 3:
            self._bin_means.append(sum(values) / len(values))
            self._bin_diffs += [abs(b - a) for a, b in pairwise(values)]
            self._bin_samples += len(values)
        self._bin = []

    def take_rhythm(self) -> float | None:
        """Breathing evidence of the quiet data since the last call (see rhythm_ratio)."""
        means, diffs, samples = self._bin_means, self._bin_diffs, self._bin_samples
        self._bin_means, self._bin_diffs, self._bin_samples = [], [], 0
        if len(means) < self._config.rhythm_min_bins:
            return None
        return rhythm_ratio(means, diffs, samples / len(means))

    def _settle_posture(self, frame: EnvelopeFrame, out: list[DetectorOutput]) -> None:
        """Record gravity after a closed event; emit it once the sensor has settled."""
        closed = self._closed
        if closed is None or frame.t < closed.offset - _EPS:
            return
        gravity = _valid_gravity(frame.gravity)
        if gravity is not None:
            closed.gravity_after = gravity
        if frame.t >= closed.offset + _POSTURE_SETTLE_SECONDS - _EPS:
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
        self, closed: _ClosedEvent, *, has_posture_change: bool, is_truncated: bool = False
    ) -> MovementEvent:
        """Build the output event, classified by duration, posture and size."""
        duration = closed.offset - closed.onset if closed.active is None else closed.active
        return MovementEvent(
            onset=closed.onset,
            offset=closed.offset,
            peak=closed.peak,
            cls=classify_by_duration(
                duration,
                self._config,
                has_posture_change=has_posture_change,
                is_large=closed.is_large,
            ),
            source=SourceKind.ENVELOPE,
            sensor=self._sensor,
            side=self._side,
            has_posture_change=has_posture_change,
            is_truncated=is_truncated,
            strength=closed.strength,
            active_seconds=None if closed.active is None else round(closed.active, 3),
        )
