"""Placing true movement events on a night's timeline (cheap: no samples here).

Events are placed by kind; each kind has a duration range (seconds, drawn log-uniform)
and an amplitude range in baseline units (drawn log-uniform). Sleeper events never
overlap and keep a few seconds apart, so mattress ringing never runs into the next one.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from dataclasses import dataclass
from random import Random

from sleepenv.bed.core.model import MovementClass
from sleepenv.sim.params import NightParams, log_uniform
from sleepenv.sim.truth import SLEEPER, TruthEvent


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of movement is drawn: class, duration and amplitude ranges."""

    cls: MovementClass
    duration_seconds: tuple[float, float]
    amplitude: tuple[float, float]  # above baseline, in baseline units
    has_posture_change: bool = False


KINDS: dict[str, Kind] = {
    # Hypnagogic finger twitches: the weakest are near or below a 5×noise threshold.
    "hypnagogic": Kind(MovementClass.TWITCH, (0.15, 0.5), (0.3, 1.0)),
    "twitch": Kind(MovementClass.TWITCH, (0.15, 0.5), (0.45, 1.5)),
    "jerk": Kind(MovementClass.HYPNIC_JERK, (0.2, 1.5), (5.0, 12.0)),
    "limb": Kind(MovementClass.LIMB_MOVEMENT, (0.5, 10.0), (0.8, 3.5)),
    "plm": Kind(MovementClass.PLM, (0.5, 5.0), (0.7, 2.5)),
    "rollover": Kind(MovementClass.ROLLOVER, (3.0, 20.0), (2.5, 7.0), has_posture_change=True),
    "cramp": Kind(MovementClass.BOUT, (50.0, 150.0), (2.0, 5.0)),
    # Getting in is a long bout: lying down, settling, pulling up the covers.
    "entry": Kind(MovementClass.BOUT, (30.0, 100.0), (3.0, 6.0), has_posture_change=True),
    "getup": Kind(MovementClass.BOUT, (46.0, 75.0), (3.0, 6.0), has_posture_change=True),
}

# Seconds kept free around every event (covers ringing of up to ~3.5 s).
PAD_SECONDS = 8.0
# Isolated limb movements and PLM series keep further apart than the 90 s PLM interval,
# so that they never form a series the truth does not know about.
LIMB_GAP_SECONDS = 95.0


class Spans:
    """Sorted, possibly overlapping intervals with a fast "is [a, b) free" query."""

    __slots__ = ("_ends", "_max_len", "_starts")

    def __init__(self) -> None:
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._max_len = 0.0

    def is_free(self, a: float, b: float) -> bool:
        """True when no stored interval overlaps [a, b)."""
        lo = bisect_left(self._starts, a - self._max_len)
        hi = bisect_left(self._starts, b)
        return all(self._ends[i] <= a for i in range(lo, hi))

    def add(self, a: float, b: float) -> None:
        """Store [a, b)."""
        i = bisect_left(self._starts, a)
        self._starts.insert(i, a)
        self._ends.insert(i, b)
        self._max_len = max(self._max_len, b - a)


class Timeline:
    """The events of one side of the bed, being placed."""

    def __init__(self, rng: Random, params: NightParams, start: float, side: str = SLEEPER) -> None:
        self.rng = rng
        self.params = params
        self.start = start
        self.side = side
        self.att = 1.0 if side == SLEEPER else params.partner_att
        self.events: list[TruthEvent] = []
        self.busy = Spans()
        self.limbs = Spans()  # limb movements and PLM blocks, padded by LIMB_GAP_SECONDS

    def draw(
        self,
        kind: str,
        onset: float,
        amp_rel: float | None = None,
        duration: float | None = None,
    ) -> TruthEvent:
        """A new event of `kind` starting at `onset` (not yet added)."""
        k = KINDS[kind]
        if duration is None:
            duration = log_uniform(self.rng, *k.duration_seconds)
        if amp_rel is None:
            amp_rel = log_uniform(self.rng, *k.amplitude)
        peak = amp_rel * self.att * self.params.base_at(onset - self.start)
        return TruthEvent(
            onset=onset,
            offset=onset + duration,
            cls=k.cls,
            peak=peak,
            side=self.side,
            has_posture_change=k.has_posture_change and self.side == SLEEPER,
        )

    def draw_ending(self, kind: str, offset: float) -> TruthEvent:
        """A new event of `kind` ending at `offset` (not yet added)."""
        duration = log_uniform(self.rng, *KINDS[kind].duration_seconds)
        return self.draw(kind, offset - duration, duration=duration)

    def fits(self, ev: TruthEvent) -> bool:
        """True when `ev` keeps clear of everything placed so far."""
        if not self.busy.is_free(ev.onset - PAD_SECONDS, ev.offset + PAD_SECONDS):
            return False
        if ev.cls in (MovementClass.LIMB_MOVEMENT, MovementClass.PLM):
            return self.limbs.is_free(ev.onset, ev.offset)
        return True

    def add(self, ev: TruthEvent) -> TruthEvent:
        """Place `ev` (without checking) and return it."""
        insort(self.events, ev, key=lambda e: e.onset)
        self.busy.add(ev.onset, ev.offset)
        if ev.cls is MovementClass.LIMB_MOVEMENT:
            self.limbs.add(ev.onset - LIMB_GAP_SECONDS, ev.offset + LIMB_GAP_SECONDS)
        return ev

    def block(self, a: float, b: float) -> None:
        """Reserve [a, b) plus the limb gap for a PLM series: nothing else goes there."""
        self.busy.add(a - LIMB_GAP_SECONDS, b + LIMB_GAP_SECONDS)
        self.limbs.add(a - LIMB_GAP_SECONDS, b + LIMB_GAP_SECONDS)

    def scatter(self, kind: str, lo: float, hi: float, tries: int = 40) -> TruthEvent | None:
        """Place one `kind` event at a random free time with onset and offset in [lo, hi)."""
        for _ in range(tries):
            ev = self.draw(kind, self.rng.uniform(lo, hi))
            if ev.offset < hi and self.fits(ev):
                return self.add(ev)
        return None

    def scatter_many(self, kind: str, count: int, lo: float, hi: float) -> None:
        """Scatter `count` events of `kind` in [lo, hi) (fewer when the night is full)."""
        for _ in range(count):
            self.scatter(kind, lo, hi)

    def walk(
        self,
        lo: float,
        hi: float,
        gaps: tuple[float, float],
        kinds: dict[str, float],
        max_offset: float = math.inf,
    ) -> float:
        """Movements every `gaps` seconds (offset to onset) from lo, with onsets before hi
        and offsets before max_offset; returns the last offset (lo when none)."""
        names = list(kinds)
        weights = list(kinds.values())
        last = lo
        while True:
            onset = last + self.rng.uniform(*gaps)
            if onset >= hi:
                return last
            ev = self.draw(self.rng.choices(names, weights)[0], onset)
            if ev.offset > max_offset:
                return last
            last = self.add(ev).offset


def poisson(rng: Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    if mean <= 0.0:
        return 0
    limit = math.exp(-min(mean, 600.0))
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
