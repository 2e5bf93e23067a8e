"""The envelope detector's adaptive baseline and the thresholds it sets (pure).

The baseline is the median of the last minute of quiet samples and the noise scale their
MAD, so thresholds follow the bed and the sensor's gain. A second, fast noise scale is
kept on the residuals of quiet samples against their local reference (see detector.py);
it sets the fast test's margin and the energy a weak movement must carry. Heartbeat
spikes at rest raise both tests' thresholds (spike_factor x the spike_quantile).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from sleepenv.bed.core.detector_config import EPS, DetectorConfig
from sleepenv.bed.core.robust import MAD_TO_SIGMA, TrailingRobustWindow


class Thresholds:
    """Baseline, noise scales and on/off thresholds from the quiet samples seen so far.

    Quiet samples are queued during a frame's scan (`add_quiet`, or `quiet` directly)
    and handed to the windows at its end (`flush_quiet`); `refresh` recomputes the
    thresholds once per frame, before the next scan reads them.
    """

    def __init__(self, config: DetectorConfig) -> None:
        self._config = config
        self._warmup_seconds = min(config.warmup_seconds, config.baseline_window_seconds)
        self.window = TrailingRobustWindow(config.baseline_window_seconds)
        self.fast_window = TrailingRobustWindow(config.baseline_window_seconds)
        self.quiet: list[tuple[float, float]] = []  # (sample, seconds) for `window`
        self.quiet_fast: list[tuple[float, float]] = []  # (residual, seconds) for `fast_window`
        self.baseline = 0.0
        self.noise = config.noise_floor
        self.off_threshold = math.inf
        self.on_threshold = math.inf
        self.fast_noise = math.inf
        self.fast_spike = math.inf
        self.energy_on = math.inf
        self.is_warm = False

    def refresh(self) -> None:
        """Recompute baseline and noise once per frame (cheap enough, see robust.py)."""
        window = self.window
        if len(window) == 0:
            return
        cfg = self._config
        baseline, mad, top = window.summary(cfg.spike_quantile)
        self.baseline = baseline
        self.noise = noise = max(mad * MAD_TO_SIGMA, cfg.noise_floor)
        self.off_threshold = baseline + cfg.off_factor * noise
        spikes = top - baseline
        self.on_threshold = baseline + max(cfg.on_factor * noise, cfg.spike_factor * spikes)
        warm_at = self._warmup_seconds - EPS
        self.is_warm = window.seconds >= warm_at
        if cfg.fast_on_factor > 0 and self.fast_window.seconds >= warm_at:
            _, fast_mad, fast_top = self.fast_window.summary(cfg.spike_quantile)
            fast = max(fast_mad * MAD_TO_SIGMA, cfg.noise_floor)
            self.fast_noise = fast
            beat = max(fast_top, 0.0)
            self.fast_spike = cfg.spike_factor * beat
            if cfg.energy_factor > 0:
                floor = cfg.energy_noise_factor * fast  # products overflow to inf, ** raises
                self.energy_on = max(cfg.energy_factor * beat * beat, floor * floor)
        else:
            self.fast_noise = math.inf
            self.fast_spike = math.inf
            self.energy_on = math.inf

    def add_quiet(self, x: float, residual: float, dt: float) -> None:
        """A sample of no movement: it feeds the baseline and the fast noise scale.

        Queued, in order, until the end of the frame's scan: nothing reads the windows
        before the next frame's refresh, and one `extend` per frame saves a call per sample.
        """
        self.quiet.append((x, dt))
        if math.isfinite(residual):
            self.quiet_fast.append((residual, dt))

    def flush_quiet(self) -> None:
        """Hand the samples queued during a scan to the baseline and fast windows."""
        if self.quiet:
            self.window.extend(self.quiet)
            self.quiet.clear()
        if self.quiet_fast:
            self.fast_window.extend(self.quiet_fast)
            self.quiet_fast.clear()

    def restart(self, samples: Iterable[float], dt: float) -> None:
        """Learn the baseline again from `samples` alone (the fast scale from nothing)."""
        cfg = self._config
        self.window = TrailingRobustWindow(cfg.baseline_window_seconds)
        self.fast_window = TrailingRobustWindow(cfg.baseline_window_seconds)
        for x in samples:
            self.window.add(x, dt)
        self.refresh()
