"""Tonight's classification kept up movement by movement (pure).

`LiveNight.classify` answers what `classify_night` (not final) answers for the same
movements, with work per new movement that does not grow with the night. The night is
cut at a moment before which nothing can change any more — before the open PLM-like
series, away from the sleep-onset window, clear of two sensors' events that could be one
movement — and that settled part keeps its labels, class counters and the little state
the rest needs (the series scan, the periodicity scan, the movements a hypnic jerk must
be isolated from). Before an onset is confirmed the cut stays the onset window's width
before the earliest start the onset may yet take (so a restless start settles too), and
a coarse sensor's night, whose labels are its duration classes, is cut whatever the
sleep period. Each call labels only the movements after the cut, and the sleep period
runs over movements sorted once, its onset search going on from where the last one
proved nothing starts earlier and stopping at its answer. Should anything the
settled part depends on change after all (the onset moves into it, occupancy is revised
there, a late movement lands in it, a second sensor or posture appears), the night is
classified whole again and settled anew.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from sleepenv.bed.core.classify import (
    PERIODICITY_START,
    ClassifyConfig,
    NightClassification,
    SeriesScan,
    _is_glitch,
    _is_in_bed,
    _label,
    _relabel,
    base_class,
    is_jerk_shaped,
    merge_sides,
    periodicity_feed,
    periodicity_of,
)
from sleepenv.bed.core.livecache import (
    Chain,
    RhythmCache,
    Run,
    Settled,
    Sides,
    Tail,
    Union,
    view_of,
)
from sleepenv.bed.core.model import (
    CLASS_VALUES,
    MovementEvent,
    RestingMinute,
)
from sleepenv.bed.core.model import LIMB_MOVEMENT as _LIMB_MOVEMENT
from sleepenv.bed.core.model import PLM as _PLM
from sleepenv.bed.core.model import ZIGBEE as _ZIGBEE
from sleepenv.bed.core.onset import OnsetCache, onset_after
from sleepenv.bed.core.period import Moves, period_of
from sleepenv.bed.core.sleep import SleepPeriod, Span

HOUR = 3600.0
# Settle once this many movements wait after the cut (settling costs their number).
SETTLE_AFTER = 24
# Keep this much of the latest night unsettled: a movement of another sensor, or one
# that ended late, may still arrive with an onset this far back.
KEEP_SECONDS = 180.0
# A night of one Zigbee vibration sensor's reports only: each movement is one report,
# dated by it, and the sensor's intake refuses reports older than its latest, so no
# movement can land before the latest one.
ONE_REPORTER_KEEP_SECONDS = 0.0
# Before the onset is confirmed, the cut stays the onset window's width before the
# earliest start it may yet take (see `OnsetScan.open_from`); a still run whose failed
# confirmation window ends this close to the latest movement may yet turn confirmed (a
# PLM series completing makes movements in it periodic, a late movement lands in it).
RECENT_VERDICT_SECONDS = 600.0
# Without an onset search (nobody in bed yet) keep this much before the latest movement.
UNCONFIRMED_KEEP_SECONDS = 1800.0
_PLM_KEY = _PLM.value


def _lm_onsets(events: Iterable[MovementEvent], lo: float, hi: float) -> list[float]:
    """Onsets of the limb movements in [lo, hi), in order."""
    return sorted(e.onset for e in events if base_class(e) is _LIMB_MOVEMENT and lo <= e.onset < hi)


def _starts_with(moves: list[MovementEvent], head: list[MovementEvent]) -> bool:
    """Whether `moves` begins with the events of `head`, in their order (the same
    objects mostly: a list compares those without calling their `__eq__`)."""
    return len(head) <= len(moves) and moves[: len(head)] == head


class LiveNight:
    """`classify_night` (not final) for a night that grows one movement at a time."""

    def __init__(self, config: ClassifyConfig) -> None:
        """An empty night."""
        self.config = config
        self.full_passes = 0  # times the whole night was gone through (tests read it)
        self.labelled_count = 0  # movements labelled, over all calls (tests read it)
        self.extended = 0  # calls answered by extending the last one (tests read it)
        self.scanned = 0  # movements fed to the series scan, over all calls (tests read it)
        self.merged_in = 0  # movements put through the merge, over all calls (tests read it)
        self._seen = 0
        self._sensors: set[str] = set()  # with a side
        self._reporters: set[str] = set()  # every sensor tonight
        self._reads_posture = False
        self._flags = (False, False)
        self._settled = Settled()
        self._raw: list[MovementEvent] = []
        self._moves: list[MovementEvent] = []
        self._onsets: list[float] = []
        self._long: list[MovementEvent] = []
        self.rhythm = RhythmCache()
        self.onsets = OnsetCache()
        self._run: Run | None = None
        # The last series scan of the movements after the cut: the cut's carried members,
        # the movements fed (in onset order) and the scan after them (`_periodic`).
        self._series: tuple[tuple[int, float | None], list[MovementEvent], SeriesScan] | None = None
        self._sides: Sides | None = None  # the last `_merged`, to go on from

    @property
    def settled(self) -> int:
        """Movements before the cut (tests read it)."""
        return len(self._settled.moves)

    def classify(
        self,
        events: Sequence[MovementEvent],
        start: float,
        end: float,
        *,
        levels: Sequence[RestingMinute] = (),
        presence: Sequence[Span] | None = None,
        gaps: Sequence[Span] = (),
    ) -> NightClassification:
        """The night's labels now; `events` is the night's list so far (only appended to)."""
        new = events[self._seen :] if len(events) >= self._seen else events
        for e in new:
            self._reads_posture = self._reads_posture or e.has_posture_change
            if e.side in ("left", "right"):
                self._sensors.add(e.sensor)
            self._reporters.add(e.sensor)
        flags = (self._reads_posture, len(self._sensors) >= 2)
        found = None
        if len(events) < self._seen or flags != self._flags:
            self._flags = flags
            self._restart(events)
        elif any(e.onset < self._settled.cut for e in new):
            self._restart(events)
        else:
            self._raw += new
            self._seen = len(events)
            if presence is None and not levels and not gaps:
                found = self._extend(new, start, end)
        if found is None:
            found = self._attempt(start, end, levels, presence, gaps)
        if found is None:
            self._restart(events)
            found = self._attempt(start, end, levels, presence, gaps)
        if found is None:  # pragma: no cover - nothing settled, nothing to disagree with
            raise AssertionError("a night without a settled part cannot disagree with it")
        result, tail = found
        if len(tail.raw) >= SETTLE_AFTER:
            self._settle(tail, result.sleep, end)
        return result

    def _restart(self, events: Sequence[MovementEvent]) -> None:
        self.full_passes += 1
        self._settled = Settled()
        self._raw = list(events)
        self._seen = len(events)
        self.rhythm = RhythmCache()
        self.onsets = OnsetCache()
        self._run = None
        self._series = None
        self._sides = None

    def _attempt(
        self,
        start: float,
        end: float,
        levels: Sequence[RestingMinute],
        presence: Sequence[Span] | None,
        gaps: Sequence[Span],
    ) -> tuple[NightClassification, Tail] | None:
        """The classification, or None when the settled part would change."""
        config, s = self.config, self._settled
        sides, is_coarse = self._merged()
        sided, merged = sides.sided, sides.merged
        if s.view is not None and is_coarse != s.view.is_coarse:
            return None
        tail_moves = sorted(merged, key=lambda e: e.onset)
        periodic = set() if is_coarse else self._periodic(tail_moves)
        neutral = periodic | sides.jerks
        moves = self._index(s, tail_moves)
        long_offset = max([s.long_offset, *(e.offset for e in self._long[s.long :])])
        latest = sides.latest
        self.onsets.recent_after = latest - RECENT_VERDICT_SECONDS
        self.onsets.last = None
        sleep = period_of(
            moves,
            levels,
            start,
            end,
            is_coarse=is_coarse,
            is_final=False,
            periodic=Union(s.neutral, neutral),
            config=config.sleep,
            presence=presence,
            gaps=gaps,
            rhythm_spans=self.rhythm.spans(levels, moves, gaps, config.sleep, long_offset),
            onset_cache=self.onsets,
        )
        is_filtered = presence is not None or any(m.rhythm is not None for m in levels)
        asleep_end = sleep.wake if sleep.wake is not None else end
        if s.view is not None and (
            s.view != view_of(s.cut, sleep, config, is_coarse=is_coarse, is_filtered=is_filtered)
            or (asleep_end <= s.cut and not is_coarse)
        ):
            return None
        kept = [e for e in merged if _is_in_bed(e, sleep.in_bed_spans)] if is_filtered else merged
        around = Chain(s.context, kept)
        all_periodic = Union(s.periodic, periodic)
        labelled = [_label(e, sleep, all_periodic, around, config) for e in kept]
        self.labelled_count += len(labelled)
        tail = Tail(
            list(self._raw),
            sided,
            merged,
            tail_moves,
            neutral,
            kept,
            labelled,
            is_coarse,
            is_filtered,
        )
        self._run = None
        scan = self.onsets.last
        if (
            is_coarse
            and presence is None
            and not levels
            and not gaps
            and len(self._reporters) == 1
            and scan is not None
            and scan.at_end is not None
            and latest < end
        ):
            counts = self._counts(dict(s.counts), tail.labelled)
            self._run = Run(start, end, latest, tail, sleep, scan.at_end, counts)
            return self._result(s, tail, sleep, end, dict(counts)), tail
        return self._result(s, tail, sleep, end), tail

    def _extend(
        self, new: Sequence[MovementEvent], start: float, end: float
    ) -> tuple[NightClassification, Tail] | None:
        """The classification from the last call's when only later reports of the one
        coarse sensor came (no presence input, resting levels or gaps), None otherwise.

        A coarse sensor's labels are its duration classes, so the earlier labels stand
        and the new reports are labelled alone; the sleep period goes on from where the
        last onset search reached the end of the data (`_sleep_after`).
        """
        run, s = self._run, self._settled
        if run is None or not new or start != run.start or end < run.end:
            return None
        found = self._sleep_after(run, new, end) if len(self._reporters) == 1 else None
        if found is None:
            return None
        sleep, at_end = found
        if s.view is not None and s.view != view_of(
            s.cut, sleep, self.config, is_coarse=True, is_filtered=False
        ):
            return None
        tail = self._tail_after(run.tail, new, sleep)
        counts = self._counts(dict(run.counts), tail.labelled[len(run.tail.labelled) :])
        self._run = Run(start, end, new[-1].onset, tail, sleep, at_end, counts)
        self.extended += 1
        return self._result(s, tail, sleep, end, dict(counts)), tail

    def _sleep_after(
        self, run: Run, new: Sequence[MovementEvent], end: float
    ) -> tuple[SleepPeriod, tuple[float, float | None]] | None:
        """The sleep period with `new` after the last call's, None when the onset search
        must go through the night again.

        The last search reached the end of the data finding no onset before it, and these
        reports come after every movement it went through (see `onset.onset_after`).
        """
        latest, in_bed = run.latest, run.sleep.in_bed
        for e in new:
            if e.source is not _ZIGBEE or not latest < e.onset < end:
                return None
            latest = e.onset
        spans = [(e.onset, e.offset) for e in new]
        still = self.config.sleep.coarse_still_seconds
        found = (
            None
            if in_bed is None
            else onset_after(run.at_end, spans, in_bed, end, still=still, config=self.config.sleep)
        )
        if found is None:
            return None
        (onset, is_confirmed), at_end = found
        bed = run.sleep.in_bed_spans
        if onset is None:
            return SleepPeriod(in_bed=in_bed, out_of_bed=None, in_bed_spans=bed), at_end
        return SleepPeriod(in_bed, onset, is_onset_confirmed=is_confirmed, in_bed_spans=bed), at_end

    def _tail_after(self, t: Tail, new: Sequence[MovementEvent], sleep: SleepPeriod) -> Tail:
        """The last call's tail with a coarse sensor's later reports (labelled alone)."""
        config, s = self.config, self._settled
        sided = [
            _relabel(e, base_class(e, reads_posture=self._reads_posture), is_hypnagogic=False)
            for e in new
        ]
        merged = [e for e in sided if not _is_glitch(e, config)]
        kept = [*t.kept, *merged]
        around, periodic = Chain(s.context, kept), Union(s.periodic, ())
        labelled = [_label(e, sleep, periodic, around, config) for e in merged]
        self.labelled_count += len(labelled)
        # The night's sorted movements go on as `_index` keeps them (settling reads them).
        self._moves += merged
        self._onsets += [e.onset for e in merged]
        limit = config.sleep.transition_min_seconds
        self._long += [e for e in merged if e.duration_seconds >= limit]
        return Tail(
            list(self._raw),
            [*t.sided, *sided],
            [*t.merged, *merged],
            [*t.moves, *merged],
            t.neutral | {e.onset for e in merged if is_jerk_shaped(e, config)},
            kept,
            [*t.labelled, *labelled],
            is_coarse=True,
            is_filtered=False,
        )

    def _merged(self) -> tuple[Sides, bool]:
        """After the cut: one event per movement (base classes), the same without
        glitches, the onsets of the jerk-shaped ones and the latest onset (`Sides`); and
        whether the whole night is a coarse sensor's.

        On a one-sensor bed this goes on from the last call's when the movements after
        the cut are those it had and later ones: the merge only sorts them then, and
        each movement's base class, glitch test and shape are its own.
        """
        raw, config = self._raw, self.config
        last = self._sides
        if (
            last is not None
            and not self._flags[1]
            and last.reads_posture == self._reads_posture
            and _starts_with(raw, last.raw)
            and all(e.onset >= last.latest for e in raw[len(last.raw) :])
        ):
            new = raw[len(last.raw) :]
            before = last
        else:
            new, before = raw, None
        sided = [
            _relabel(e, base_class(e, reads_posture=self._reads_posture), is_hypnagogic=False)
            for e in merge_sides(new, config, is_two_sided=self._flags[1])
        ]
        merged = [e for e in sided if not _is_glitch(e, config)]
        self.merged_in += len(new)
        is_zigbee = all(e.source is _ZIGBEE for e in merged)
        jerks = frozenset(e.onset for e in merged if is_jerk_shaped(e, config))
        latest = max((e.onset for e in new), default=-math.inf)
        if before is not None:
            sided, merged = [*before.sided, *sided], [*before.merged, *merged]
            is_zigbee = is_zigbee and before.is_zigbee
            jerks = before.jerks | jerks
            latest = max(latest, before.latest)
        sides = Sides(self._reads_posture, list(raw), sided, merged, is_zigbee, jerks, latest)
        self._sides = sides
        is_coarse = bool(self._settled.moves or merged) and self._settled.is_zigbee and is_zigbee
        return sides, is_coarse

    def _periodic(self, tail_moves: list[MovementEvent]) -> set[float]:
        """Onsets of the after-cut members of PLM series (the scan goes on from the cut).

        The scan of the last call goes on when these movements begin with the ones it
        was fed, from the same cut (new movements after the others): a scan is fed in
        onset order, so feeding it the rest gives what a scan of them all would.
        """
        carried = self._settled.carried
        last = self._series
        if last is not None and last[0] == carried and _starts_with(tail_moves, last[1]):
            scan, fed = last[2], last[1]
            rest = tail_moves[len(fed) :]
        else:
            scan, fed, rest = SeriesScan(self.config, *carried), [], tail_moves
        for e in rest:
            scan.feed(e)
        self.scanned += len(rest)
        self._series = (carried, [*fed, *rest], scan)
        return {e.onset for series in scan.found() for e in series}

    def _index(self, s: Settled, tail_moves: list[MovementEvent]) -> Moves:
        """The night's sorted movements: the settled ones, then the rest (swapped in)."""
        del self._moves[len(s.moves) :]
        del self._onsets[len(s.moves) :]
        del self._long[s.long :]
        self._moves += tail_moves
        self._onsets += [e.onset for e in tail_moves]
        limit = self.config.sleep.transition_min_seconds
        self._long += [e for e in tail_moves if e.duration_seconds >= limit]
        return Moves(
            self._moves,
            self._onsets,
            self._long,
            min(s.first_onset, tail_moves[0].onset) if tail_moves else s.first_onset,
            max([s.last_offset, *(e.offset for e in tail_moves)]),
        )

    @staticmethod
    def _counts(counts: dict[str, int], labelled: Iterable[MovementEvent]) -> dict[str, int]:
        """`counts` with the labelled movements added (in place)."""
        for e in labelled:
            value = CLASS_VALUES[e.cls]
            counts[value] = counts.get(value, 0) + 1
        return counts

    def _result(
        self,
        s: Settled,
        tail: Tail,
        sleep: SleepPeriod,
        end: float,
        counts: dict[str, int] | None = None,
    ) -> NightClassification:
        """The classification of the settled part and `tail` (`counts`: their movements
        per class, when known already)."""
        if counts is None:
            counts = self._counts(dict(s.counts), tail.labelled)
        plmi = pi = None
        onset = sleep.sleep_onset
        if not tail.is_coarse and onset is not None:
            asleep_end = sleep.wake if sleep.wake is not None else end
            hours = (asleep_end - onset) / HOUR
            if hours > 0.0:
                plm = s.counts.get(_PLM_KEY, 0) + sum(
                    1 for e in tail.labelled if e.cls is _PLM and onset <= e.onset < asleep_end
                )
                plmi = plm / hours
            state = s.periodicity if onset <= s.cut else PERIODICITY_START
            lms = _lm_onsets(tail.kept, onset, asleep_end)
            pi = periodicity_of(periodicity_feed(state, lms, self.config))
        return NightClassification(
            events=Chain(s.labelled, tail.labelled),
            sleep=sleep,
            plm_index=plmi,
            periodicity_index=pi,
            is_final=False,
            is_lower_bound=tail.is_coarse,
            glitches=s.glitches + len(tail.sided) - len(tail.merged),
            class_counts=counts,
        )

    def _cut(self, tail: Tail, sleep: SleepPeriod, end: float) -> float | None:
        """The latest onset the night can be cut at now, None for none after the cut."""
        config, s = self.config, self._settled
        latest = max(e.onset for e in tail.raw)
        is_one_reporter = tail.is_coarse and len(self._reporters) == 1
        keep = ONE_REPORTER_KEEP_SECONDS if is_one_reporter else KEEP_SECONDS
        limit = min(latest - keep, end)
        if not tail.is_coarse:  # a coarse sensor's labels do not depend on the sleep period
            if sleep.wake is not None:
                limit = min(limit, sleep.wake)
            if sleep.sleep_onset is None or not sleep.is_onset_confirmed:
                searched = self.onsets.last
                if searched is None:
                    limit = min(limit, latest - UNCONFIRMED_KEEP_SECONDS)
                else:
                    limit = min(limit, searched.open_from + config.onset_window[0])
        raw = sorted(e.onset for e in tail.raw)
        is_two_sided = self._flags[1]
        scan = None if tail.is_coarse else SeriesScan(config, *s.carried)
        best, previous = None, -math.inf
        for e in tail.moves:
            if e.onset >= limit:
                break
            is_clean = scan is None or scan.can_cut_at(e.onset)
            i = bisect_left(raw, e.onset)
            if (
                is_clean
                and previous < e.onset
                and i > 0
                and (not is_two_sided or e.onset - raw[i - 1] > config.same_movement_seconds)
            ):
                best = e.onset
            if scan is not None:
                scan.feed(e)
            previous = e.onset
        return best

    def _settle(self, tail: Tail, sleep: SleepPeriod, end: float) -> None:
        """Move the cut forward as far as nothing before it can change any more."""
        cut = self._cut(tail, sleep, end)
        if cut is None:
            return
        config, s = self.config, self._settled
        moved = [e for e in tail.moves if e.onset < cut]
        if not tail.is_coarse:
            scan = SeriesScan(config, *s.carried)
            for e in moved:
                scan.feed(e)
            s.periodic |= {e.onset for series in scan.found() for e in series}
            s.carried = (scan.open_members, scan.last_onset)
        kept = [e for e in tail.kept if e.onset < cut]
        labelled = [lab for lab in tail.labelled if lab.onset < cut]
        s.labelled += labelled
        for e in labelled:
            value = CLASS_VALUES[e.cls]
            s.counts[value] = s.counts.get(value, 0) + 1
        s.glitches += sum(1 for e in tail.sided if e.onset < cut) - len(moved)
        s.neutral |= {t for t in tail.neutral if t < cut}
        limit = config.sleep.transition_min_seconds
        long = [e for e in moved if e.duration_seconds >= limit]
        s.long += len(long)
        s.long_offset = max([s.long_offset, *(e.offset for e in long)])
        s.moves += moved
        s.first_onset = min(s.first_onset, moved[0].onset)
        s.last_offset = max([s.last_offset, *(e.offset for e in moved)])
        s.is_zigbee = s.is_zigbee and all(e.source is _ZIGBEE for e in moved)
        onset = sleep.sleep_onset
        if onset is None:
            s.periodicity = PERIODICITY_START
        else:
            state = s.periodicity if onset <= s.cut else PERIODICITY_START
            s.periodicity = periodicity_feed(state, _lm_onsets(kept, onset, math.inf), config)
        iso = config.jerk_isolation_seconds
        s.context = [o for o in [*s.context, *kept] if o.offset >= cut - iso]
        s.cut = cut
        self._run = None  # its tail is partly settled now
        self.onsets.stable_before = cut
        s.view = view_of(cut, sleep, config, is_coarse=tail.is_coarse, is_filtered=tail.is_filtered)
        self._raw = [e for e in self._raw if e.onset >= cut]
