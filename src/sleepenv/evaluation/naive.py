"""A deliberately naive detector: the floor that sleepenv's own detection must beat.

The simplest thing that could work on 10 Hz envelope frames, with textbook numbers only
(docs/sleep-science.md) and nothing tuned on the simulator:

- baseline = median of the last 60 s of quiet samples; noise = MAD × 1.4826 (≥ 1e-3);
- an event starts above baseline + 5 × noise and ends after 0.5 s below baseline +
  2 × noise; it counts when at least 0.2 s of it was above baseline + 5 × noise (the
  scoring rule's minimum; shorter is a glitch); a gap > 1 s in the
  samples closes an open event as truncated;
- class from the width at half peak: < 0.5 s twitch, ≤ 10 s limb movement, ≤ 45 s
  rollover, longer a bout;
- getting in / out = the first / last movement ≥ 20 s long; sleep onset = the start of
  the first 5 still minutes after getting in; wake = the onset of the chain of movements
  (less than 5 min apart) that leads into getting out;
- hypnic jerk = a twitch or limb movement ≤ 2 s wide, ≥ 15 × noise high, from 10 min
  before to 15 min after onset; PLM = runs of ≥ 4 limb movements 10–90 s apart in sleep.

Pure: readings in, the same document keys the scorer reads from `analyze_readings` out.
"""

from __future__ import annotations

import bisect
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sleepenv.bed.core.model import EnvelopeFrame

BASELINE_SECONDS = 60.0
MAD_TO_SD = 1.4826
NOISE_FLOOR = 1e-3
ON_FACTOR = 5.0
OFF_FACTOR = 2.0
OFF_SECONDS = 0.5
MIN_ON_SECONDS = 0.2
MAX_GAP_SECONDS = 1.0
REFRESH_SECONDS = 1.0  # how often baseline and noise are recomputed from the window
# Upper bounds of the half-peak width per class (seconds); wider is a bout.
WIDTH_CLASSES = ((0.5, "twitch"), (10.0, "limb_movement"), (45.0, "rollover"))
IN_OUT_SECONDS = 20.0
STILL_SECONDS = 300.0
JERK_MAX_WIDTH_SECONDS = 2.0
JERK_FACTOR = 15.0
JERK_WINDOW = (-600.0, 900.0)
PLM_INTERVAL = (10.0, 90.0)
PLM_MIN_RUN = 4


@dataclass(frozen=True, slots=True)
class NaiveEvent:
    """One detected movement; `peak` is above the baseline at its start, in sensor units."""

    onset: float
    offset: float
    peak: float
    noise: float
    width_seconds: float
    cls: str
    is_truncated: bool = False


def classify_width(width_seconds: float) -> str:
    """The class of a movement from its width at half peak."""
    if width_seconds < WIDTH_CLASSES[0][0]:
        return WIDTH_CLASSES[0][1]
    for upper, cls in WIDTH_CLASSES[1:]:
        if width_seconds <= upper:
            return cls
    return "bout"


def robust_stats(sorted_values: Sequence[float]) -> tuple[float, float]:
    """(median, MAD × 1.4826 with its floor) of already sorted values."""
    med = _median(sorted_values)
    deviations = sorted(abs(v - med) for v in sorted_values)
    return med, max(NOISE_FLOOR, MAD_TO_SD * _median(deviations))


def _median(xs: Sequence[float]) -> float:
    n = len(xs)
    mid = n // 2
    return xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2.0


@dataclass(slots=True)
class _Open:
    """The event under way: where it started, and its samples (time, value)."""

    onset: float
    baseline: float
    noise: float
    samples: list[tuple[float, float]]
    below_since: float | None = None


class _Detector:
    """Baseline + hysteresis over a stream of samples (state only, no I/O)."""

    def __init__(self) -> None:
        self.window: deque[float] = deque()
        self.sorted: list[float] = []
        self.size = 600
        self.dt = 0.1
        self.baseline = 0.0
        self.noise = NOISE_FLOOR
        self.stale = True
        self.refresh_at = float("-inf")
        self.cursor: float | None = None
        self.open: _Open | None = None
        self.events: list[NaiveEvent] = []

    def frame(self, frame: EnvelopeFrame) -> None:
        """Feed one frame; samples at or before the cursor (duplicates, late) are skipped."""
        self.dt = 1.0 / frame.hz
        self.size = max(1, round(BASELINE_SECONDS * frame.hz))
        for i, value in enumerate(frame.rms):
            t = frame.t + i * self.dt
            if self.cursor is not None and t <= self.cursor + 1e-6:
                continue
            if self.cursor is not None and t - self.cursor > MAX_GAP_SECONDS:
                self.close(self.cursor + self.dt, truncated=True)
            self.cursor = t
            self.sample(t, value)

    def sample(self, t: float, v: float) -> None:
        """One sample: learn the baseline first (1 s), then detect."""
        if len(self.window) < round(1.0 / self.dt):
            self.learn(v)
            return
        if self.stale and t >= self.refresh_at:
            # Once a second is plenty for a 60 s window, and keeps a night to seconds.
            self.baseline, self.noise = robust_stats(self.sorted)
            self.stale = False
            self.refresh_at = t + REFRESH_SECONDS
        ev = self.open
        if ev is None:
            if v > self.baseline + ON_FACTOR * self.noise:
                self.open = _Open(t, self.baseline, self.noise, [(t, v)])
            else:
                self.learn(v)
            return
        ev.samples.append((t, v))
        if t - ev.onset > BASELINE_SECONDS:
            # A level step (getting in) would otherwise hold the event open for ever.
            self.learn(v)
        if v < self.baseline + OFF_FACTOR * self.noise:
            ev.below_since = t if ev.below_since is None else ev.below_since
            if t + self.dt - ev.below_since >= OFF_SECONDS:
                self.close(ev.below_since, truncated=False)
        else:
            ev.below_since = None

    def learn(self, v: float) -> None:
        """Add a quiet sample to the trailing baseline window."""
        self.window.append(v)
        bisect.insort(self.sorted, v)
        while len(self.window) > self.size:
            old = self.window.popleft()
            del self.sorted[bisect.bisect_left(self.sorted, old)]
        self.stale = True

    def close(self, offset: float, *, truncated: bool) -> None:
        """End the open event (if any) at `offset` and measure it."""
        ev = self.open
        if ev is None:
            return
        self.open = None
        kept = [(t, v) for t, v in ev.samples if t < offset]
        on = ev.baseline + ON_FACTOR * ev.noise
        if sum(1 for _, v in kept if v > on) * self.dt < MIN_ON_SECONDS - 1e-9:
            return  # a glitch
        peak = max(v for _, v in kept) - ev.baseline
        half = ev.baseline + peak / 2.0
        above = [t for t, v in kept if v >= half]
        width = above[-1] + self.dt - above[0]  # sample i covers [t_i, t_i + dt)
        self.events.append(
            NaiveEvent(ev.onset, offset, peak, ev.noise, width, classify_width(width), truncated)
        )


def detect(frames: Iterable[EnvelopeFrame]) -> list[NaiveEvent]:
    """Every movement in the frames, in order (an event open at the end is truncated)."""
    det = _Detector()
    for frame in frames:
        det.frame(frame)
    if det.cursor is not None:
        det.close(det.cursor + det.dt, truncated=True)
    return det.events


def occupancy(events: Sequence[NaiveEvent]) -> tuple[NaiveEvent | None, NaiveEvent | None]:
    """(getting in, getting out): the first and the last movement ≥ 20 s long; getting
    out is None when the only such movement is getting in."""
    long = [e for e in events if e.offset - e.onset >= IN_OUT_SECONDS]
    if not long:
        return None, None
    return long[0], (long[-1] if len(long) > 1 else None)


def find_sleep_onset(events: Sequence[NaiveEvent], after: float, before: float) -> float | None:
    """The start of the first 5 movement-free minutes in [after, before)."""
    candidate = after
    for e in events:
        if e.offset <= candidate:
            continue
        if e.onset >= before:
            break
        if e.onset - candidate >= STILL_SECONDS:
            return candidate
        candidate = max(candidate, e.offset)
    return candidate if before - candidate >= STILL_SECONDS else None


def find_wake(events: Sequence[NaiveEvent], onset: float, getting_out: NaiveEvent) -> float:
    """The onset of the chain of movements (each < 5 min after the last) into getting out."""
    wake = getting_out.onset
    for e in reversed(events):
        if e.onset >= wake or e.onset <= onset:
            continue
        if wake - e.offset >= STILL_SECONDS:
            break
        wake = e.onset
    return wake


def label_hypnic_jerks(events: list[NaiveEvent], onset: float) -> None:
    """Relabel narrow, strong twitches/limb movements near sleep onset (in place)."""
    lo, hi = onset + JERK_WINDOW[0], onset + JERK_WINDOW[1]
    for i, e in enumerate(events):
        is_candidate = e.cls in ("twitch", "limb_movement") and lo <= e.onset <= hi
        if (
            is_candidate
            and e.width_seconds <= JERK_MAX_WIDTH_SECONDS
            and e.peak >= JERK_FACTOR * e.noise
        ):
            events[i] = replace(e, cls="hypnic_jerk")


def label_plm(events: list[NaiveEvent], onset: float, wake: float) -> int:
    """Relabel runs of ≥ 4 limb movements 10–90 s apart in sleep as PLM; their count."""
    lms = [i for i, e in enumerate(events) if e.cls == "limb_movement" and onset <= e.onset < wake]
    runs: list[list[int]] = []
    for i in lms:
        gap = events[i].onset - events[runs[-1][-1]].onset if runs else None
        if gap is not None and PLM_INTERVAL[0] <= gap <= PLM_INTERVAL[1]:
            runs[-1].append(i)
        else:
            runs.append([i])
    count = 0
    for run in runs:
        if len(run) >= PLM_MIN_RUN:
            count += len(run)
            for i in run:
                events[i] = replace(events[i], cls="plm")
    return count


def analyze_naive(frames: Iterable[EnvelopeFrame]) -> dict[str, Any]:
    """The naive detector's document, with the keys the scorer reads from `analyze_readings`
    (`events` with onset/offset/class, `sleep_onset`, `plm_index`, `in_bed`, `out_of_bed`,
    `in_bed_spans`, ...). Nobody found getting in: nobody in bed, so no events count."""
    frames = list(frames)
    start = frames[0].t if frames else None
    end = max(f.end for f in frames) if frames else None
    events = detect(frames)
    getting_in, getting_out = occupancy(events)
    doc: dict[str, Any] = {
        "detector": "naive",
        "source": "envelope",
        "start": start,
        "end": end,
        "events": [],
        "counts": {},
        "sleep_onset": None,
        "wake": None,
        "plm_index": None,
        "in_bed": None,
        "out_of_bed": None,
        "in_bed_spans": [],
        "waking_jerks": [],
    }
    if getting_in is None or end is None:
        return doc
    last = getting_out.offset if getting_out is not None else end
    kept = [e for e in events if getting_in.onset <= e.onset <= last]
    before = getting_out.onset if getting_out is not None else end
    onset = find_sleep_onset(kept, getting_in.offset, before)
    wake = end if getting_out is None else None
    if onset is not None and getting_out is not None:
        wake = find_wake(kept, onset, getting_out)
    plm_index = None
    if onset is not None and wake is not None and wake > onset:
        label_hypnic_jerks(kept, onset)
        plm_count = label_plm(kept, onset, wake)
        plm_index = plm_count / ((wake - onset) / 3600.0)
    else:
        onset = wake = None
    doc.update(
        events=[_event_json(e) for e in kept],
        counts=dict(Counter(e.cls for e in kept)),
        # Rounded as `analyze` rounds them, so both detectors are compared alike.
        sleep_onset=_round(onset),
        wake=_round(wake),
        plm_index=_round(plm_index, 2),
        in_bed=_round(getting_in.onset),
        out_of_bed=_round(getting_out.offset) if getting_out is not None else None,
        in_bed_spans=[[_round(getting_in.onset), _round(last)]],
    )
    return doc


def _event_json(e: NaiveEvent) -> dict[str, Any]:
    return {
        "onset": round(e.onset, 3),
        "offset": round(e.offset, 3),
        "class": e.cls,
        "peak": round(e.peak, 4),
        "width_seconds": round(e.width_seconds, 3),
        "is_truncated": e.is_truncated,
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
