"""The shape of a night: getting in, restless pre-sleep, sleep with PLM series, getting up.

Getting in happens at 0–3 s into the recording on `entry_at_start_prob` of nights,
otherwise uniform over `entry_minutes`. Nights shorter than 4 h (`entry_full_hours`)
compress the entry window, the pre-sleep and the post-wake phases in proportion
(pre-sleep at least 3 min), and the entry is never later than 25 min before the end, so
that short test nights still contain a sleep.

Absences (out of bed mid-night): an awakening rollover, a getting-up bout, 5–15 min of
empty bed, a getting-in bout, 2–8 min of settling (rollovers, twitches), then ≥ 5.5 still
minutes. They are drawn only where the sleep can hold them; randomised profiles draw one
with `absence_prob` only on nights with ≥ 3 h of sleep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from sleepenv.bed.core.model import MovementClass
from sleepenv.sim.params import NightParams, log_uniform
from sleepenv.sim.profiles import Profile
from sleepenv.sim.timeline import LIMB_GAP_SECONDS, PAD_SECONDS, Timeline, poisson
from sleepenv.sim.truth import PARTNER, TruthEvent

MIN = 60.0
# Still time after sleep onset that no event may break (the 5-min onset rule, plus margin).
STILL_SECONDS = 330.0
# Hypnic jerks fall within this window around sleep onset (docs/sleep-science.md).
JERK_WINDOW = (-600.0, 900.0)
# (onset relative to the series start, duration, amplitude) of each PLM of a series.
Series = list[tuple[float, float, float]]
_RESTLESS = {"limb": 0.5, "rollover": 0.25, "twitch": 0.25}
# Settling after coming back to bed: no limb movements, so none can join a PLM series.
_SETTLE = {"rollover": 0.5, "twitch": 0.5}
# Latest entry: this long before the end of the recording.
ENTRY_MARGIN_SECONDS = 25.0 * MIN
# Randomised absences only on nights with at least this much sleep.
ABSENCE_MIN_SLEEP_SECONDS = 3.0 * 3600.0
# Room an absence needs besides the time away (awakening, bouts, settling, stillness).
_ABSENCE_EXTRA_SECONDS = 2.0 * MIN + 2.0 * 100.0 + 8.0 * MIN + STILL_SECONDS + 2.0 * PAD_SECONDS


@dataclass(frozen=True, slots=True)
class Phases:
    """The timeline of one night: key moments and all true events."""

    in_bed: float | None
    sleep_onset: float | None
    wake: float | None
    out_of_bed: float | None
    events: tuple[TruthEvent, ...]
    glitches: tuple[float, ...]
    waking_jerks: tuple[float, ...] = ()  # onsets of the jerks that woke the sleeper
    absences: tuple[tuple[float, float], ...] = ()  # (getting-up offset, getting-in onset)


def plan_night(
    rng: Random, profile: Profile, params: NightParams, start: float, hours: float
) -> Phases:
    """Draw the timeline of a night of `hours` starting at `start`."""
    end = start + hours * 3600.0
    if not profile.is_occupied:
        return Phases(None, None, None, None, (), ())
    k = min(1.0, hours / 4.0)
    tl = Timeline(rng, params, start)
    entry = tl.add(tl.draw("entry", _entry_time(rng, profile, start, hours)))
    presleep = max(3.0 * MIN, rng.uniform(*profile.presleep_minutes) * MIN * k)
    waking: tuple[float, ...] = ()
    if profile.has_restless_onset:
        onset, waking_jerk = _restless_presleep(tl, entry.offset, presleep)
        waking = (waking_jerk,)
    else:
        onset = tl.walk(entry.offset, entry.offset + presleep, (60.0, 180.0), _RESTLESS)
    wake = end - rng.uniform(15.0, 30.0) * MIN * max(k, 0.25)
    out_of_bed = _awake_and_getup(tl, wake, end)
    absences, windows = _absences(tl, profile, onset, wake)
    _plm_series(tl, profile, onset, wake, windows)
    _onset_extras(tl, profile, entry.offset, onset, wake)
    _sleep_events(tl, profile, onset + STILL_SECONDS, wake - 30.0)
    events = tl.events
    if profile.has_partner:
        events = sorted(events + _partner_events(rng, params, start, end, k), key=_onset)
    return Phases(
        in_bed=entry.onset,
        sleep_onset=onset,
        wake=wake,
        out_of_bed=out_of_bed,
        events=tuple(events),
        glitches=_glitches(tl, profile, entry.offset, out_of_bed),
        waking_jerks=waking,
        absences=absences,
    )


def _entry_time(rng: Random, profile: Profile, start: float, hours: float) -> float:
    """When getting in starts: right at the start, or within the profile's window."""
    at_start = rng.random() < profile.entry_at_start_prob
    u = rng.random()
    if at_start:
        return start + 3.0 * u
    lo, hi = profile.entry_minutes
    scale = min(1.0, hours / profile.entry_full_hours)
    latest = max(0.0, hours * 3600.0 - ENTRY_MARGIN_SECONDS)
    return start + min((lo + u * (hi - lo)) * MIN * scale, latest)


def _onset(ev: TruthEvent) -> float:
    return ev.onset


def _restless_presleep(tl: Timeline, lo: float, length: float) -> tuple[float, float]:
    """Restlessness, a false onset (a still stretch ended by a hypnic jerk and an
    awakening), more restlessness, then the real onset; returns (onset, the jerk's onset)."""
    rng = tl.rng
    still = rng.uniform(3.5 * MIN, 7.0 * MIN)
    second = rng.uniform(4.0 * MIN, 8.0 * MIN)
    first = max(2.0 * MIN, length - still - second)
    last = tl.walk(lo, lo + first, (40.0, 150.0), _RESTLESS)
    tl.busy.add(last, last + still)  # keep onset twitches out of the false-onset stillness
    jerk = tl.add(tl.draw("jerk", last + still))
    awake = tl.add(tl.draw(rng.choice(("limb", "rollover")), jerk.offset + rng.uniform(9.0, 15.0)))
    onset = tl.walk(awake.offset, awake.offset + second, (40.0, 150.0), _RESTLESS)
    return onset, jerk.onset


def _onset_extras(tl: Timeline, profile: Profile, lo: float, onset: float, wake: float) -> None:
    """Hypnic jerks and hypnagogic twitches around sleep onset, outside the still period."""
    rng = tl.rng
    have = sum(1 for e in tl.events if e.cls is MovementClass.HYPNIC_JERK)
    jerks = max(0, rng.randint(*profile.hypnic_jerks) - have)
    twitches = rng.randint(*profile.onset_twitches)
    before = (max(lo + PAD_SECONDS, onset + JERK_WINDOW[0]), onset - PAD_SECONDS)
    after = (onset + STILL_SECONDS, min(onset + JERK_WINDOW[1], wake - 60.0))
    for kind, count in (("jerk", jerks), ("hypnagogic", twitches)):
        for _ in range(count):
            lo_hi = before if rng.random() < 0.6 else after
            if lo_hi[1] - lo_hi[0] > 5.0:
                tl.scatter(kind, *lo_hi)


def _awake_and_getup(tl: Timeline, wake: float, end: float) -> float:
    """The waking movement, restless minutes in bed, and getting up; returns out_of_bed."""
    out_of_bed = end - (end - wake) * tl.rng.uniform(0.15, 0.5)
    getup = tl.add(tl.draw_ending("getup", out_of_bed))
    first = tl.add(tl.draw("limb", wake))
    kinds = {"limb": 0.4, "rollover": 0.4, "twitch": 0.2}
    tl.walk(first.offset, getup.onset - 30.0, (60.0, 240.0), kinds, getup.onset - PAD_SECONDS)
    return getup.offset


def _absences(
    tl: Timeline, profile: Profile, onset: float, wake: float
) -> tuple[tuple[tuple[float, float], ...], list[tuple[float, float]]]:
    """Times out of bed mid-night; returns the absences (out, back) and the windows
    (awakening to the end of the renewed stillness) that nothing else may enter."""
    rng = tl.rng
    lo, hi = onset + STILL_SECONDS + 10.0 * MIN, wake - 15.0 * MIN
    is_drawn = rng.random() < profile.absence_prob
    count = rng.randint(*profile.absence_count)
    if not is_drawn or (profile.absence_prob < 1.0 and wake - onset < ABSENCE_MIN_SLEEP_SECONDS):
        return (), []
    absences: list[tuple[float, float]] = []
    windows: list[tuple[float, float]] = []
    slot = (hi - lo) / count
    for i in range(count):
        away = rng.uniform(*profile.absence_minutes) * MIN
        room = slot - away - _ABSENCE_EXTRA_SECONDS
        if room <= 0.0:
            continue
        t0 = lo + i * slot + PAD_SECONDS + rng.uniform(0.0, room)
        awake = tl.add(tl.draw("rollover", t0))
        getup = tl.add(tl.draw("getup", awake.offset + rng.uniform(10.0, 60.0)))
        entry = tl.add(tl.draw("entry", getup.offset + away))
        settle = rng.uniform(2.0, 8.0) * MIN
        again = tl.walk(entry.offset, entry.offset + settle, (60.0, 180.0), _SETTLE)
        window = (t0 - PAD_SECONDS, again + STILL_SECONDS)
        tl.block(*window)
        absences.append((getup.offset, entry.onset))
        windows.append(window)
    return tuple(absences), windows


def _plm_series(
    tl: Timeline,
    profile: Profile,
    onset: float,
    wake: float,
    windows: list[tuple[float, float]],
) -> None:
    """Lay out the night's PLM series in sleep, spread with random gaps between them,
    outside the absence windows."""
    rng = tl.rng
    is_high = rng.random() < profile.plm_high_prob
    target = rng.uniform(*(profile.plmi_high if is_high else profile.plmi_low))
    count = math.ceil(target * (wake - onset) / 3600.0)
    len_range = profile.series_len_high if is_high else profile.series_len_low
    series = [_draft_series(rng, n) for n in _split(rng, count, len_range)]
    edges = [onset + STILL_SECONDS, *(x for w in windows for x in w), wake - 60.0]
    segments = [
        (a + LIMB_GAP_SECONDS, b - LIMB_GAP_SECONDS)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
    if len(segments) == 1:
        _place_series(tl, series, *segments[0])
        return
    weights = [max(0.0, b - a) for a, b in segments]
    if not sum(weights):
        return
    chosen = [rng.choices(range(len(segments)), weights)[0] for _ in series]
    for i, (a, b) in enumerate(segments):
        _place_series(tl, [s for s, c in zip(series, chosen, strict=True) if c == i], a, b)


def _place_series(tl: Timeline, series: list[Series], lo: float, hi: float) -> None:
    """Place whole series in [lo, hi) with random gaps (dropping those that do not fit)."""
    rng = tl.rng
    gap = 2.0 * LIMB_GAP_SECONDS + 10.0

    def needed() -> float:
        """Seconds the series and the gaps between them take."""
        return sum(s[-1][0] + s[-1][1] for s in series) + gap * (len(series) - 1)

    while series and needed() > hi - lo:
        series.pop()
    if not series:
        return
    weights = [rng.expovariate(1.0) for _ in range(len(series) + 1)]
    spare = (hi - lo - needed()) / sum(weights)
    t = lo + weights[0] * spare
    for members, weight in zip(series, weights[1:], strict=True):
        for rel, dur, amp in members:
            tl.add(tl.draw("plm", t + rel, amp, dur))
        block_end = t + members[-1][0] + members[-1][1]
        tl.block(t, block_end)
        t = block_end + gap + weight * spare


def _split(rng: Random, count: int, len_range: tuple[int, int]) -> list[int]:
    """Split `count` PLMs into series of at least 4 members."""
    lengths: list[int] = []
    rest = count
    while rest >= 4:
        n = min(rest, rng.randint(*len_range))
        if rest - n < 4:
            n = rest
        lengths.append(n)
        rest -= n
    return lengths


def _draft_series(rng: Random, n: int) -> Series:
    """(onset relative to series start, duration, amplitude) of n periodic limb movements."""
    amp = log_uniform(rng, 0.7, 2.5)
    period = rng.uniform(18.0, 35.0)
    members: Series = []
    t = 0.0
    for i in range(n):
        if i:
            r = rng.random()
            if r < 0.85:
                t += min(40.0, max(15.0, rng.gauss(period, 4.0)))
            else:
                t += rng.uniform(10.5, 15.0) if r < 0.95 else rng.uniform(40.0, 85.0)
        dur = min(log_uniform(rng, 0.5, 5.0), 5.0)
        members.append((t, dur, amp * rng.uniform(0.8, 1.25)))
    return members


def _sleep_events(tl: Timeline, profile: Profile, lo: float, hi: float) -> None:
    """Rollovers, isolated limb movements, twitches and a rare cramp during sleep."""
    rng = tl.rng
    if hi - lo < 60.0:
        return
    sleep_h = (hi - lo) / 3600.0
    if rng.random() < profile.cramp_prob:
        tl.scatter("cramp", lo, hi)
    tl.scatter_many("rollover", poisson(rng, profile.rollovers_per_hour * sleep_h), lo, hi)
    tl.scatter_many("limb", poisson(rng, profile.limb_movements_per_hour * sleep_h), lo, hi)
    tl.scatter_many("twitch", poisson(rng, profile.twitches_per_hour * sleep_h), lo, hi)


def _partner_events(
    rng: Random, params: NightParams, start: float, end: float, k: float
) -> list[TruthEvent]:
    """The partner's night: in and out of bed, rollovers, limb movements, twitches."""
    tl = Timeline(rng, params, start, side=PARTNER)
    entry = tl.add(tl.draw("entry", start + rng.uniform(0.0, 30.0 * MIN) * k))
    getup = tl.add(tl.draw_ending("getup", end - rng.uniform(2.0, 20.0) * MIN * k))
    lo, hi = entry.offset + PAD_SECONDS, getup.onset - PAD_SECONDS
    hours = (hi - lo) / 3600.0
    tl.scatter_many("rollover", poisson(rng, 1.6 * hours), lo, hi)
    tl.scatter_many("limb", poisson(rng, 3.0 * hours), lo, hi)
    tl.scatter_many("twitch", poisson(rng, 2.0 * hours), lo, hi)
    return tl.events


def _glitches(tl: Timeline, profile: Profile, lo: float, hi: float) -> tuple[float, ...]:
    """Times of one-sample spikes (on a 0.1 s grid), away from every true event."""
    rng = tl.rng
    times: list[float] = []
    for _ in range(poisson(rng, profile.glitches_per_hour * (hi - lo) / 3600.0)):
        t = tl.start + round((rng.uniform(lo, hi) - tl.start) * 10.0) / 10.0
        if tl.busy.is_free(t - 3.0, t + 3.0):
            times.append(t)
    return tuple(sorted(times))
