"""The start of the data, when it may have begun in the middle of a movement (pure).

Data that starts in the middle of a movement (getting into bed as the recording starts,
or after a gap) teaches the baseline the movement's level. A fall of the resting level
far below that baseline soon after the start shows it: the stretch before the fall was
a movement, and the baseline must be learnt again from the level after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from sleepenv.bed.core.breathing import median
from sleepenv.bed.core.detector_config import DetectorConfig


class DataStart:
    """The start of the data (or of the data after a gap), and its last few seconds of
    resting samples while a movement at the start may still show itself."""

    def __init__(self, config: DetectorConfig) -> None:
        self._config = config
        self.began: float | None = None
        self.is_settling = True
        self._recent: deque[tuple[float, float]] = deque()
        self._head: list[tuple[float, float]] = []  # the first settle_head_seconds

    def restart(self, start: float) -> None:
        """The data starts again at `start` (after a gap)."""
        self.began, self.is_settling, self._recent, self._head = start, True, deque(), []

    def note(self, start: float) -> None:
        """A frame's first new sample starts at `start`: the data began then if not before."""
        if self.began is None:
            self.began = start

    def add_rest(self, values: Sequence[float], t0: float, hz: float) -> None:
        """Resting samples from `t0` at `hz`, kept while a fall may still show."""
        if self.is_settling:
            samples = [(t0 + i / hz, x) for i, x in enumerate(values)]
            self._recent += samples
            if self.began is not None and t0 < self.began + self._config.settle_head_seconds:
                self._head += samples

    def fall(
        self, start: float, *, is_warm: bool, has_moved: bool, baseline: float
    ) -> tuple[float, list[tuple[float, float]]] | None:
        """When the level has fallen far below `baseline` (see settle_seconds): when the
        movement before it began (see settle_rise_fraction) and the (t, x) samples since
        the fall; None while it has not.

        Settling ends with a fall, after settle_seconds, or once a movement was found
        since the start (`has_moved`: the baseline was not the movement's then).
        """
        cfg = self._config
        began = self.began
        if began is None or start - began >= cfg.settle_seconds:
            self.is_settling = False
            self._recent.clear()
            self._head = []
            return None
        if not is_warm:
            return None
        recent = self._recent
        while recent and recent[0][0] < start - cfg.settle_drop_seconds:
            recent.popleft()
        if has_moved:
            self.is_settling = False
            self._head = []
            return None
        if not recent or recent[-1][0] - recent[0][0] < cfg.settle_drop_seconds - 0.5:
            return None
        rest = median([x for _, x in recent])
        if rest >= cfg.settle_drop_ratio * baseline:
            return None
        self.is_settling = False
        self._recent = deque()
        rise = rest + cfg.settle_rise_fraction * (baseline - rest)
        head, self._head = self._head, []
        onset = next((t for t, x in head if x > rise), began)
        return onset, list(recent)
