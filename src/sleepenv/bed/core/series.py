"""PLM series and the periodicity index, as scans that can stop and go on (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from sleepenv.bed.core.model import BOUT as _BOUT
from sleepenv.bed.core.model import LIMB_MOVEMENT as _LIMB_MOVEMENT
from sleepenv.bed.core.model import ROLLOVER as _ROLLOVER
from sleepenv.bed.core.model import TWITCH as _TWITCH
from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.core.rules import (
    DEFAULT_CONFIG,
    REFINABLE,
    ClassifyConfig,
    base_class,
    is_jerk_shaped,
)

_BREAKS = (_ROLLOVER, _BOUT)  # read once (see model.py)


def periodic_series(
    events: Sequence[MovementEvent], config: ClassifyConfig = DEFAULT_CONFIG
) -> list[list[MovementEvent]]:
    """Series of ≥ 4 limb movements with onset-to-onset intervals in the profile's range.

    A rollover or bout in between, or a truncated movement (a dropout), breaks a series.
    A twitch between two members (measured at least plm_bridge_min_seconds long) joins
    the series when it (or it with others like it) keeps every interval in range: a weak
    member measured short. Where the two are too far apart it bridges a gap that would
    break the series in two, and counts towards its ≥ 4 members; where they are not, it
    is a member the count would miss, but the series must have 4 without it: such a
    twitch is no evidence that the limb movements around it are periodic.
    """
    scan = SeriesScan(config)
    for e in sorted(events, key=lambda e: e.onset):
        scan.feed(e)
    return scan.found()


class SeriesScan:
    """`periodic_series` one movement at a time, able to go on from a saved point.

    `carried` members of a series (the last at `last_onset`) may open the scan: the part
    of the night before it was settled with that many members already in the series
    (those that count towards its minimum: not the twitches filled in between members).
    `pending` twitches may still bridge the open series to the next limb movement: a
    scan can only be cut (and go on from `carried`) where `can_cut_at` says so.
    """

    def __init__(
        self, config: ClassifyConfig, carried: int = 0, last_onset: float | None = None
    ) -> None:
        """Start empty, or inside a series with `carried` earlier members."""
        self.config = config
        self.series: list[list[MovementEvent]] = []
        self.current: list[MovementEvent] = []
        self.carried = carried
        self.last_onset = last_onset
        self.pending: list[MovementEvent] = []  # twitches that may bridge the open series
        self.filled = 0  # twitches of `current` joined between members already in range

    @property
    def open_members(self) -> int:
        """Members of the open series that count towards its minimum, carried ones too."""
        return self.carried + len(self.current) - self.filled

    def can_cut_at(self, t: float) -> bool:
        """Whether the scan's state before a movement at `t` is all that `carried` keeps:
        no open series short of its members, no twitch that could still bridge it."""
        members = self.open_members
        if 0 < members < self.config.plm_min_members:
            return False
        hi = self.config.plm_max_interval_seconds
        return all(t - c.onset > hi for c in self.pending)

    def feed(self, e: MovementEvent) -> None:
        """Take the next movement in onset order."""
        config = self.config
        cls = base_class(e)
        is_lm = (
            cls in REFINABLE
            and config.lm_min_seconds <= e.movement_seconds <= config.lm_max_seconds
            and not e.is_truncated
            and not is_jerk_shaped(e, config)
        )
        lo, hi = config.plm_min_interval_seconds, config.plm_max_interval_seconds
        if self.pending:
            self.pending = [c for c in self.pending if e.onset - c.onset <= hi]
        if not is_lm:
            if cls in _BREAKS or e.is_truncated:
                self._close()
            elif self.last_onset is not None and self._may_bridge(e, cls):
                self.pending.append(e)
            return  # twitches neither join nor break a series (but may bridge one)
        if self.last_onset is not None and self.pending:
            is_gap = e.onset - self.last_onset > hi
            joined = self._bridge(e.onset)
            if not is_gap:
                # Filled in (the limb movement is in range of the member before them):
                # members, not evidence of a series.
                self.filled += joined
        self.pending = []
        if self.last_onset is not None and not lo <= e.onset - self.last_onset <= hi:
            self._close()
        self.current.append(e)
        self.last_onset = e.onset

    def _may_bridge(self, e: MovementEvent, cls: MovementClass) -> bool:
        config = self.config
        return (
            cls is _TWITCH
            and e.movement_seconds >= config.plm_bridge_min_seconds
            and not e.is_truncated
            and not is_jerk_shaped(e, config)
        )

    def _bridge(self, onset: float) -> int:
        """Join the pending twitches that keep every interval from the last member to the
        limb movement at `onset` in range (the first that fits at each step); none when
        the chain cannot reach it. The limb movement may be in range of the last member
        or too far from it: either way only twitches at least the shortest interval from
        their neighbours join. Returns how many joined."""
        assert self.last_onset is not None  # only called on an open series
        lo, hi = self.config.plm_min_interval_seconds, self.config.plm_max_interval_seconds
        chain: list[MovementEvent] = []
        last = self.last_onset
        for c in self.pending:
            if lo <= c.onset - last <= hi:
                chain.append(c)
                last = c.onset
        if chain and lo <= onset - last <= hi:
            self.current += chain
            self.last_onset = last
            return len(chain)
        return 0

    def found(self) -> list[list[MovementEvent]]:
        """Series found so far, the open one included once it has enough members."""
        if self.open_members >= self.config.plm_min_members and self.current:
            return [*self.series, self.current]
        return list(self.series)

    def _close(self) -> None:
        if self.open_members >= self.config.plm_min_members and self.current:
            self.series.append(self.current)
        self.current, self.carried, self.last_onset = [], 0, None
        self.pending = []
        self.filled = 0


def periodicity_index(
    events: Sequence[MovementEvent], config: ClassifyConfig = DEFAULT_CONFIG
) -> float | None:
    """Share of LM onset-to-onset intervals lying in runs of ≥ 3 periodic intervals (Ferri)."""
    lms = sorted(
        (e for e in events if base_class(e) is _LIMB_MOVEMENT),
        key=lambda e: e.onset,
    )
    return periodicity_of(periodicity_feed(PERIODICITY_START, [e.onset for e in lms], config))


# (last LM onset, intervals, periodic intervals, current run of periodic intervals)
PeriodicityState = tuple[float | None, int, int, int]
PERIODICITY_START: PeriodicityState = (None, 0, 0, 0)


def periodicity_feed(
    state: PeriodicityState, onsets: Sequence[float], config: ClassifyConfig
) -> PeriodicityState:
    """`state` after LM onsets (in order) that follow it."""
    last, intervals, periodic, run = state
    lo, hi = config.plm_min_interval_seconds, config.plm_max_interval_seconds
    for t in onsets:
        if last is not None:
            intervals += 1
            if lo <= t - last <= hi:
                run += 1
            else:
                periodic += run if run >= 3 else 0
                run = 0
        last = t
    return last, intervals, periodic, run


def periodicity_of(state: PeriodicityState) -> float | None:
    """The periodicity index of the LMs fed so far."""
    _, intervals, periodic, run = state
    if not intervals:
        return None
    return (periodic + (run if run >= 3 else 0)) / intervals
