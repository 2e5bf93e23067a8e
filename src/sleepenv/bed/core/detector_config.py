"""The envelope detector's settings, and the class a movement gets from them (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from sleepenv.bed.core.model import MovementClass

# Float slack for comparing times: unix seconds carry ~0.2 µs of rounding.
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds and class boundaries of the envelope detector (docs/sleep-science.md)."""

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
    # A weak movement that lasts shows by staying up: where the local reference itself
    # (the median of the last local_seconds) and the sample are above baseline +
    # sustain_factor x noise, an event starts even below the heartbeat guard. A beat
    # lasts one or two samples and cannot lift that median; a limb movement of 0.5-5 s
    # at 0.75x the resting level under a strong heartbeat (whose guard sat at 1.25x) does.
    # Tuning nights at 3: PLM recall 0.85 -> 0.95 (bcg_strong), 0.73 -> 0.85 (noisy), no
    # more false events anywhere; 2.5 then found more on every profile (noisy any F1
    # 0.862 -> 0.881, PLM F1 0.90 -> 0.93) with no more false events in quiet sleep;
    # 2 made noisy's 1.04 -> 1.55 an hour. 0 turns it off.
    sustain_factor: float = 2.5
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
    # the start shows it, and the stretch before the fall becomes a movement. It starts
    # at the first sample of the data's first settle_head_seconds that rose
    # settle_rise_fraction of the way from the level after the fall to that baseline
    # (getting in a second or two after the recording starts: the samples before are
    # the empty bed's, below the person's level), else where the data began.
    settle_seconds: float = 300.0
    settle_drop_ratio: float = 0.5
    settle_drop_seconds: float = 3.0
    settle_head_seconds: float = 10.0
    settle_rise_fraction: float = 0.25
    # A movement starts where it rose above the off-threshold, not where it crossed the
    # on-threshold: its onset moves back over the samples just before, up to this long.
    backtrack_seconds: float = 3.0


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
