"""What a live night keeps between calls (pure): its settled part and the rest as the
last call saw it, two lists and two sets read as one in place, and occupancy from
breathing evidence reused while only the data's end moved on."""

from __future__ import annotations

import itertools
import math
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

from sleepenv.bed.core.classify import PERIODICITY_START, ClassifyConfig, PeriodicityState
from sleepenv.bed.core.model import MovementEvent, RestingMinute
from sleepenv.bed.core.period import Moves, RhythmSpans
from sleepenv.bed.core.sleep import Pieces, SleepConfig, SleepPeriod, Span, occupied_pieces


@dataclass(frozen=True, slots=True)
class View:
    """What the settled part's labels depend on, as far as it reaches the settled part."""

    is_coarse: bool
    is_filtered: bool
    sleep: tuple[float | None, ...]
    in_bed: tuple[Span, ...]


def view_of(
    cut: float, sleep: SleepPeriod, config: ClassifyConfig, *, is_coarse: bool, is_filtered: bool
) -> View:
    """The view of the night from before `cut` (two equal views label it alike)."""
    onset, wake = sleep.sleep_onset, sleep.wake
    if is_coarse or onset is None or onset + config.onset_window[0] > cut:
        # A coarse sensor's labels are its duration classes, whatever the sleep period.
        sleep_view: tuple[float | None, ...] = ()
    else:
        sleep_view = (onset, wake if wake is not None and wake <= cut else None)
    margin = 5.0
    spans = tuple((a, min(b, cut)) for a, b in sleep.in_bed_spans if a - margin < cut)
    return View(is_coarse, is_filtered, sleep_view, spans if is_filtered else ())


@dataclass(slots=True)
class Settled:
    """The part of the night before `cut`: its labels can no longer change."""

    cut: float = -math.inf
    moves: list[MovementEvent] = field(default_factory=list)  # sorted, glitches out
    labelled: list[MovementEvent] = field(default_factory=list)  # in bed, labelled
    counts: dict[str, int] = field(default_factory=dict)
    glitches: int = 0
    periodic: set[float] = field(default_factory=set)
    neutral: set[float] = field(default_factory=set)  # periodic or jerk-shaped
    carried: tuple[int, float | None] = (0, None)  # the series scan's open series
    first_onset: float = math.inf
    last_offset: float = 0.0
    long: int = 0  # how many of `moves` are long (the first ones of the long list)
    long_offset: float = 0.0  # latest offset among them
    is_zigbee: bool = True  # every one of `moves` from a Zigbee vibration sensor
    context: list[MovementEvent] = field(default_factory=list)  # may precede a jerk closely
    periodicity: PeriodicityState = PERIODICITY_START
    view: View | None = None


@dataclass(slots=True)
class Tail:
    """The unsettled part of the night as one call saw it."""

    raw: list[MovementEvent]
    sided: list[MovementEvent]
    merged: list[MovementEvent]  # merge order, glitches out
    moves: list[MovementEvent]  # sorted by onset
    neutral: set[float]
    kept: list[MovementEvent]  # in bed
    labelled: list[MovementEvent]  # `kept`, labelled
    is_coarse: bool = False
    is_filtered: bool = False


@dataclass(frozen=True, slots=True)
class Sides:
    """What the live night's merge made of the movements after the cut, to go on from."""

    reads_posture: bool
    raw: list[MovementEvent]  # the movements after the cut, as they came
    sided: list[MovementEvent]
    merged: list[MovementEvent]
    is_zigbee: bool  # every merged movement a Zigbee sensor's
    jerks: frozenset[float]  # onsets of the jerk-shaped merged movements
    latest: float  # the latest onset among `raw`


@dataclass(frozen=True, slots=True)
class Run:
    """What a call over a coarse sensor's night saw, for a next one that only adds its
    later reports (see `LiveNight._extend`)."""

    start: float
    end: float
    latest: float  # the latest onset
    tail: Tail
    sleep: SleepPeriod
    at_end: tuple[float, float | None]  # see `OnsetScan.at_end`
    counts: dict[str, int]  # movements per class, the settled part's with the tail's


class Chain(Sequence[MovementEvent]):
    """A list's first items then another list, read as one without copying (the first
    is the settled part of the night: long, and only ever appended to)."""

    __slots__ = ("_a", "_b", "_n")

    def __init__(self, a: Sequence[MovementEvent], b: Sequence[MovementEvent]) -> None:
        """`a` as it is now (later appends to it are not seen), then `b`."""
        self._a, self._b, self._n = a, b, len(a)

    def __len__(self) -> int:
        return self._n + len(self._b)

    @overload
    def __getitem__(self, i: int) -> MovementEvent: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[MovementEvent]: ...
    def __getitem__(self, i: int | slice) -> MovementEvent | Sequence[MovementEvent]:
        if isinstance(i, slice):
            return list(self)[i]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._a[i] if i < self._n else self._b[i - self._n]

    def __iter__(self) -> Iterator[MovementEvent]:
        # Not a generator: whole-night readers (the waking-jerk count, the night summary)
        # go through every movement on each new one, at C speed this way.
        return itertools.chain(itertools.islice(self._a, self._n), self._b)

    def __reversed__(self) -> Iterator[MovementEvent]:
        yield from reversed(self._b)
        for i in range(self._n - 1, -1, -1):
            yield self._a[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class Union(Container[float]):
    """Membership in either of two sets, without building their union."""

    __slots__ = ("_a", "_b")

    def __init__(self, a: Container[float], b: Container[float]) -> None:
        """`a` ∪ `b`, read in place."""
        self._a, self._b = a, b

    def __contains__(self, x: object) -> bool:
        return x in self._a or x in self._b


class RhythmCache:
    """`occupied_spans` over a night's long movements, recomputed only when its inputs
    changed: with the same levels, long movements and gaps, a later end of the data only
    moves the end of the last span (when the last piece is occupied), provided every level
    and cut lies before both ends."""

    def __init__(self) -> None:
        """Nothing known yet."""
        self._key: tuple[int, int, int, float] | None = None
        self._found: Pieces | None = None
        self._end = -math.inf
        self.computed = 0  # times computed in full (tests read it)

    def spans(
        self,
        levels: Sequence[RestingMinute],
        moves: Moves,
        gaps: Sequence[Span],
        config: SleepConfig,
        long_offset: float,
    ) -> RhythmSpans:
        """The occupancy function for this call's data."""

        def compute(data: Span) -> Pieces | None:
            key = (len(levels), len(moves.long), len(gaps), data[0])
            reach = min(self._end, data[1])
            found = self._found
            if key == self._key and _before(levels, moves, gaps, config, long_offset, reach):
                if found is not None and found.is_last_occupied:
                    spans = found.spans
                    found = replace(found, spans=[*spans[:-1], (spans[-1][0], data[1])])
            else:
                self.computed += 1
                found = occupied_pieces(levels, moves.long, data, gaps, config)
            self._key, self._found, self._end = key, found, data[1]
            return None if found is None else replace(found, spans=list(found.spans))

        return compute


def _before(
    levels: Sequence[RestingMinute],
    moves: Moves,
    gaps: Sequence[Span],
    config: SleepConfig,
    long_offset: float,
    reach: float,
) -> bool:
    """True when every level, long movement and cutting gap lies at or before `reach`."""
    if levels and levels[-1].t > reach:
        return False
    if moves.long and (moves.long[-1].onset >= reach or long_offset > reach):
        return False
    cutting = (b for a, b in gaps if b - a >= config.gap_cut_seconds)
    return max(cutting, default=-math.inf) <= reach
