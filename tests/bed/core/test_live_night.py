"""The live night labels what the whole-night pass labels, at every moment, for less work."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed.core.classify import ClassifyConfig, NightClassification, classify_night
from sleepenv.bed.core.live import SETTLE_AFTER, LiveNight
from sleepenv.bed.core.livecache import Chain
from sleepenv.bed.core.model import MovementClass, MovementEvent, Reading, SourceKind
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec
from sleepenv.sim import generate_night
from sleepenv.sim.profiles import PROFILES
from tests.bed.core.bed_signals import T0, Bed, Move


def assert_same(live: NightClassification, whole: NightClassification) -> None:
    """Every figure the tracker publishes or stores, and every label."""
    assert tuple(live.events) == tuple(whole.events)
    assert live.counts == whole.counts
    assert live.sleep == whole.sleep
    assert live.plm_index == whole.plm_index
    assert live.periodicity_index == whole.periodicity_index
    assert live.is_lower_bound == whole.is_lower_bound
    assert live.glitches == whole.glitches
    assert live.waking_jerks == whole.waking_jerks
    assert live.hypnagogic_twitches == whole.hypnagogic_twitches


def whole_night(bed: BedTracker, now: float) -> NightClassification:
    """What the tracker's classification was before it went incremental."""
    assert bed.night_start is not None
    return classify_night(
        bed.tonight,
        bed.night_start,
        now,
        levels=bed.levels,
        config=bed.classify_config,
        presence=bed._presence_spans(),
        gaps=bed.gaps,
    )


def replay(readings: Iterable[Reading], kind: SourceKind) -> tuple[BedTracker, int]:
    """Feed a night through a tracker, checking the live labels at every classification;
    the tracker and how many moments were checked."""
    bed: BedTracker | None = None
    checked = 0
    for r in readings:
        if bed is None:
            begin = datetime.fromtimestamp(r.t, UTC).time().replace(second=0, microsecond=0)
            bed = BedTracker("bed", NightWindow(begin, begin, UTC), [SensorSpec("s", kind)])
            bed.restore(r.t, [], {}, {})
        update = bed.on_reading("s", r, r.t)
        if bed._classified_at == r.t and bed.classification is not None:
            whole = whole_night(bed, r.t)
            assert_same(bed.classification, whole)
            for event in update.events:  # fired with its label (as is when not in bed)
                labels = [e for e in whole.events if (e.onset, e.sensor) == (event.onset, "s")]
                assert [event] == labels or (not labels and event in bed.tonight)
            checked += 1
    assert bed is not None
    return bed, checked


ENVELOPE_NIGHTS = [
    ("clean", 3, 1.5),
    ("plm_heavy", 5, 3.0),
    ("restless_onset", 2, 1.5),
    ("out_midnight", 7, 1.0),
]


@pytest.mark.parametrize(("profile", "seed", "hours"), ENVELOPE_NIGHTS)
def test_envelope_nights_label_live_as_the_whole_night_does(
    profile: str, seed: int, hours: float
) -> None:
    night = generate_night(seed, profile, hours=hours)
    bed, checked = replay(night.frames(), SourceKind.ENVELOPE)
    assert checked > 60  # every new movement and every resting minute
    if profile == "plm_heavy":
        assert bed.live.settled > 0  # the check covered a night that was cut
    end = night.truth.end
    final = bed.classify_final(end)
    assert final == classify_night(
        bed.tonight,
        bed.night_start or end,
        end,
        levels=bed.levels,
        is_final=True,
        presence=bed._presence_spans(),
        gaps=bed.gaps,
    )


def test_a_shared_bed_is_labelled_live_as_the_whole_night_does() -> None:
    """The partner lies down first; once the sleeper's getting in shows the bed is shared,
    the onset search allows more restless minutes: live, the search and its saved point
    start again with that allowance, and every moment matches the whole night."""
    moves = [Move(580, 50, 1.0), Move(2400, 60, 4.0)]
    moves += [Move(2900 + k * 120.0, 2.0, 1.5) for k in range(3)]  # 3 restless minutes
    bed = Bed(3 * 3600.0, occupied=[(2430, 3 * 3600.0)], partner=[(600, 3 * 3600.0)], moves=moves)
    tracker, checked = replay(bed.frames(), SourceKind.ENVELOPE)
    assert checked > 150  # every resting minute
    final = tracker.classify_final(T0 + 3 * 3600.0)
    onset = final.sleep.sleep_onset
    assert onset is not None
    assert T0 + 2460 <= onset <= T0 + 2500  # confirmed with the shared allowance


def test_a_long_restless_start_on_a_fine_sensor_settles_as_it_goes() -> None:
    """Over two hours of tossing and turning and a false onset before sleep, with
    occupancy from breathing evidence: every live classification is the whole-night one,
    and most of the stretch settles before the onset."""
    profile = replace(
        PROFILES["restless_onset"], presleep_minutes=(150.0, 170.0), entry_at_start_prob=1.0
    )
    night = generate_night(2, profile, hours=3.5)
    onset = night.truth.sleep_onset
    assert onset is not None
    bed, checked = replay((f for f in night.frames() if f.t < onset), SourceKind.ENVELOPE)
    assert checked > 150
    assert bed.live.settled > len(bed.tonight) // 2
    assert bed.live.full_passes <= 1  # the false onset standing in after two hours in bed


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_zigbee_nights_label_live_as_the_whole_night_does(seed: int) -> None:
    night = generate_night(seed, "zigbee", hours=8.0)
    bed, checked = replay(night.zigbee_readings(), SourceKind.ZIGBEE_VIBRATION)
    assert checked > 20
    assert bed.live.settled > 0  # the night was cut: the check covered settled parts


def _movement(t: float, rng: Random) -> MovementEvent:
    """A limb movement, a twitch or now and then a rollover, as a fine sensor reports it."""
    r = rng.random()
    cls, seconds = (
        (MovementClass.ROLLOVER, 6.0)
        if r < 0.05
        else (MovementClass.TWITCH, 0.3)
        if r < 0.4
        else (MovementClass.LIMB_MOVEMENT, 1.5)
    )
    return MovementEvent(t, t + seconds, 2.0, cls, SourceKind.ENVELOPE, "s", strength=2.0)


def test_work_per_movement_does_not_grow_with_the_night() -> None:
    """An operation count: movements labelled per new movement, early and late."""
    rng = Random(7)
    config = ClassifyConfig()
    live = LiveNight(config)
    events: list[MovementEvent] = []
    t, start = 1000.0, 1000.0
    labelled: list[int] = []
    for _ in range(3000):
        t += rng.choice((12.0, 25.0, 40.0, 300.0, 700.0))
        events.append(_movement(t, rng))
        before = live.labelled_count
        got = live.classify(events, start, t + 2.0)
        labelled.append(live.labelled_count - before)
        if len(events) % 500 == 0:
            assert_same(got, classify_night(events, start, t + 2.0, config=config))
    assert live.full_passes == 0  # never gone through whole again
    late, early = max(labelled[2500:]), max(labelled[100:600])
    assert late <= 3 * SETTLE_AFTER
    assert late <= early + SETTLE_AFTER


def test_a_late_movement_before_the_cut_reclassifies_the_whole_night() -> None:
    rng = Random(3)
    live = LiveNight(ClassifyConfig())
    events = [_movement(1000.0 + 30.0 * i, rng) for i in range(400)]
    for n in range(1, len(events) + 1):
        live.classify(events[:n], 0.0, events[n - 1].offset + 1.0)
    assert live.settled > 0
    passes = live.full_passes
    events.append(_movement(1015.0, rng))  # from long ago (another sensor's late report)
    got = live.classify(events, 0.0, events[-2].offset + 1.0)
    assert live.full_passes == passes + 1
    assert_same(got, classify_night(events, 0.0, events[-2].offset + 1.0))


def test_a_classification_keeps_the_settled_part_it_was_given() -> None:
    """The settled list grows after a classification was handed out: that one must not."""
    rng = Random(5)
    settled = [_movement(10.0 * i, rng) for i in range(3)]
    rest = [_movement(100.0, rng)]
    chain = Chain(settled, rest)
    settled.append(rest[0])  # the next settling moves it over
    assert list(chain) == [*settled[:3], rest[0]]
    assert list(reversed(chain)) == [rest[0], *reversed(settled[:3])]
    assert len(chain) == 4
    assert chain[3] is rest[0]
    assert chain[-4] is settled[0]
    with pytest.raises(IndexError):
        chain[4]


# -- before a sleep onset: nothing waits for one to settle ---------------------------------


def _restless(t: float, rng: Random) -> MovementEvent:
    """Tossing and turning while awake: mostly turns, some limb movements and twitches,
    now and then a startle (short and strong: a hypnic jerk near an onset)."""
    r = rng.random()
    cls, seconds, strength = (
        (MovementClass.ROLLOVER, 6.0, 2.0)
        if r < 0.5
        else (MovementClass.LIMB_MOVEMENT, 1.5, 2.0)
        if r < 0.75
        else (MovementClass.TWITCH, 0.3, 2.0)
        if r < 0.92
        else (MovementClass.LIMB_MOVEMENT, 1.0, 6.0)
    )
    return MovementEvent(t, t + seconds, 2.0, cls, SourceKind.ENVELOPE, "s", strength=strength)


def _zigbee(t: float, _rng: Random) -> MovementEvent:
    """One report of a Zigbee vibration sensor: one movement of unknown size."""
    return MovementEvent(
        t, t, 10.0, MovementClass.MOVEMENT, SourceKind.ZIGBEE_VIBRATION, "z", is_lower_bound=True
    )


def _late_sleeper(
    seed: int,
    restless: int,
    *,
    is_coarse: bool = False,
    false_onset_at: int | None = None,
    asleep: int = 150,
) -> tuple[list[MovementEvent], float]:
    """`restless` movements a few seconds to a minute apart from getting into bed (one a
    second on a Zigbee sensor), a still run that fails confirmation after `false_onset_at`
    of them, then sleep; the movements and when the restless stretch ends."""
    rng = Random(seed)
    make = _zigbee if is_coarse else _restless
    t, events = 1000.0, []
    for i in range(restless):
        t += 1.0 if is_coarse else rng.uniform(5.0, 60.0)
        if i == false_onset_at:
            t += 420.0
        events.append(make(t, rng))
    restless_end = t
    t += 2400.0
    for _ in range(asleep):
        t += rng.choice((12.0, 25.0, 40.0, 300.0, 700.0))
        events.append(_zigbee(t, rng) if is_coarse else _movement(t, rng))
    return events, restless_end


def _follow(
    live: LiveNight,
    events: list[MovementEvent],
    *,
    every: int = 1,
    presence: Callable[[int], list[tuple[float, float]] | None] = lambda _: None,
    gaps: Sequence[tuple[float, float]] = (),
    since: int = 0,
) -> list[tuple[int, int]]:
    """Classify the night movement by movement, comparing with the whole-night pass every
    `every` movements and at the end; per movement, how many movements were labelled and
    how many the onset search went through (from the first `since` on: classified before)."""
    work = []
    for n in range(since + 1, len(events) + 1):
        end = events[n - 1].offset + 2.0
        labelled, steps = live.labelled_count, live.onsets.steps
        got = live.classify(events[:n], 0.0, end, presence=presence(n), gaps=gaps)
        work.append((live.labelled_count - labelled, live.onsets.steps - steps))
        if n % every == 0 or n == len(events):
            whole = classify_night(
                events[:n], 0.0, end, config=live.config, presence=presence(n), gaps=gaps
            )
            assert_same(got, whole)
    return work


@pytest.mark.parametrize("is_coarse", [False, True])
def test_a_restless_start_settles_before_any_onset(*, is_coarse: bool) -> None:
    events, restless_end = _late_sleeper(11, 600 if is_coarse else 160, is_coarse=is_coarse)
    live = LiveNight(ClassifyConfig())
    restless = [e for e in events if e.onset <= restless_end]
    _follow(live, restless)  # every classification compared
    assert live.classify(restless, 0.0, restless_end + 2.0).sleep.sleep_onset is None
    assert live.settled > len(restless) // 2  # settled with no onset yet
    _follow(live, events, every=7, since=len(restless))
    assert live.full_passes == 0
    final = live.classify(events, 0.0, events[-1].offset + 2.0).sleep
    assert final.sleep_onset is not None
    assert final.sleep_onset >= restless_end  # found late, once the restless stretch ended


@pytest.mark.parametrize("is_coarse", [False, True])
def test_work_before_an_onset_does_not_grow_with_the_night(*, is_coarse: bool) -> None:
    """An operation count: movements labelled and onset-search steps per new movement,
    early and late in a restless stretch of 3,000 movements with no onset."""
    events, restless_end = _late_sleeper(5, 3000, is_coarse=is_coarse, asleep=0)
    live = LiveNight(ClassifyConfig())
    work = _follow(live, events, every=500)
    assert live.full_passes == 0
    assert live.classify(events, 0.0, restless_end + 2.0).sleep.sleep_onset is None
    labelled, steps = [w[0] for w in work], [w[1] for w in work]
    assert max(labelled[2500:]) <= max(labelled[500:1000]) + SETTLE_AFTER
    assert max(steps[2500:]) <= max(steps[500:1000]) + SETTLE_AFTER
    # What stays unsettled is the last minutes, not the stretch since getting into bed:
    # a coarse sensor's labels do not depend on the onset, a fine one's keep the onset
    # window before the stillness since the last movement.
    if is_coarse:  # one Zigbee sensor's reports cannot arrive late: all but a few settle
        assert len(events) - live.settled <= SETTLE_AFTER
    else:
        assert events[-1].onset - events[live.settled].onset < 900.0


def test_the_series_scan_goes_on_from_the_last_movement() -> None:
    """An operation count (issue 12): while a fine sensor's restless minutes stay
    unsettled (tossing and turning a few seconds apart, no onset yet), the PLM series
    scan and the merge of the movements go on from the last call's instead of going
    through every unsettled movement again (they do after the cut moved); the labels
    stay the whole night's."""
    rng = Random(3)
    t, events = 1000.0, []
    for _ in range(250):
        t += rng.uniform(2.0, 8.0)
        events.append(_restless(t, rng))
    live = LiveNight(ClassifyConfig())
    rescans = 0  # what scanning every unsettled movement on every call would take
    for n in range(1, len(events) + 1):
        settled = live.settled
        got = live.classify(events[:n], 0.0, events[n - 1].offset + 2.0)
        rescans += n - settled
        if n % 25 == 0:
            whole = classify_night(events[:n], 0.0, events[n - 1].offset + 2.0)
            assert_same(got, whole)
    assert live.full_passes == 0
    assert len(events) - live.settled > 100  # a long unsettled part
    assert live.scanned * 2 < rescans
    assert live.merged_in * 2 < rescans


def test_a_zigbee_report_that_cannot_move_the_onset_search_is_labelled_alone() -> None:
    """An operation count: one Zigbee sensor's reports, each classified as it arrives,
    with the data ending just after it, 700 s after it (a provisional onset there) or
    1,300 s after it (a confirmed one), and past two hours of restlessness after a still
    run that failed (that run stands in as the onset). Every call extends the last answer
    (only the new report is labelled, the onset search goes through no movement) but the
    first, the first after a settling, the first after a still run, and those while an
    earlier still run's confirmation is still open. Every answer is the whole night's."""
    rng = Random(2)
    plan = [(40, 1.0, 0.5), (2500, 3.0, 0.5), (200, 1.0, 700.0), (200, 1.0, 1300.0)]
    live = LiveNight(ClassifyConfig())
    still = live.config.sleep.coarse_still_seconds
    events: list[MovementEvent] = []
    t, answers, full, was_settled, was_open = 1000.0, set(), 0, True, False
    for phase, (count, every, lag) in enumerate(plan):
        t += 650.0 if phase == 1 else 0.0  # still, then restless again: confirmation fails
        for i in range(count):
            t += every
            events.append(_zigbee(t, rng))
            labelled, steps, settled = live.labelled_count, live.onsets.steps, live.settled
            extended = live.extended
            got = live.classify(events, 0.0, t + lag)
            onset = got.sleep.sleep_onset
            if live.extended == extended:
                assert was_settled or was_open or t - events[-2].offset >= still
                full += 1
            else:
                assert (live.labelled_count - labelled, live.onsets.steps - steps) == (1, 0)
                answers.add((onset is None, onset == t, got.sleep.is_onset_confirmed))
            was_settled = live.settled != settled
            was_open = onset is not None and onset < t and not got.sleep.is_onset_confirmed
            if i % 50 == 0 or i == count - 1:
                assert_same(got, classify_night(events, 0.0, t + lag, config=live.config))
    assert live.full_passes == 0
    assert full < len(events) // 8
    # Extended answers of every kind: none, the failed still run after two hours in bed,
    # and at the last report provisional and confirmed.
    assert answers == {
        (True, False, False),
        (False, False, False),
        (False, True, False),
        (False, True, True),
    }


def test_an_onset_found_late_after_a_false_one_costs_few_whole_passes() -> None:
    """A still run that fails confirmation early, restlessness past the two hours after
    which it stands in as the onset, then sleep: the onset moves twice."""
    events, restless_end = _late_sleeper(3, 400, false_onset_at=60)
    live = LiveNight(ClassifyConfig())
    onsets = set()
    for n in range(1, len(events) + 1):
        end = events[n - 1].offset + 2.0
        got = live.classify(events[:n], 0.0, end)
        assert_same(got, classify_night(events[:n], 0.0, end, config=live.config))
        onsets.add((got.sleep.sleep_onset, got.sleep.is_onset_confirmed))
    false_onset = events[59].offset
    assert (false_onset, False) in onsets  # the fallback after two hours in bed
    assert got.sleep.sleep_onset is not None
    assert got.sleep.sleep_onset > restless_end
    assert got.sleep.is_onset_confirmed
    assert live.full_passes <= 2  # once per move of the onset into the settled part
    assert live.settled > 0


def test_occupancy_revised_before_the_onset_is_labelled_as_the_whole_night_does() -> None:
    """Getting into bed re-dated later, then a stretch out of bed and a data gap inside
    the restless stretch: movements out of bed drop, the onset search starts anew."""
    events, restless_end = _late_sleeper(8, 200)

    def presence(n: int) -> list[tuple[float, float]]:
        if n < 80:
            return [(900.0, math.inf)]
        if n < 140:
            return [(events[20].onset - 1.0, math.inf)]  # got in later than thought
        return [(events[20].onset - 1.0, events[100].offset), (events[110].onset, math.inf)]

    gap = (events[120].offset + 1.0, events[120].offset + 200.0)
    live = LiveNight(ClassifyConfig())
    _follow(live, events, presence=presence, gaps=[gap])
    assert live.full_passes >= 2  # each revision reached the settled part
    final = live.classify(events, 0.0, events[-1].offset + 2.0, presence=presence(len(events)))
    assert final.sleep.in_bed == events[20].onset - 1.0
    assert final.sleep.sleep_onset is not None
    assert final.sleep.sleep_onset > restless_end


segments = st.lists(
    st.tuples(
        st.sampled_from(
            ("restless", "zigbee", "zigbee_late", "still", "asleep", "plm", "plm_bridged")
        ),
        st.integers(1, 40),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(segments, st.integers(0, 2**16), st.sampled_from((None, 0, 2)))
def test_any_night_is_labelled_live_as_the_whole_night_does(
    plan: list[tuple[str, int]], seed: int, revised: int | None
) -> None:
    """Restless and still stretches, sleep, PLM series and Zigbee reports (a second
    sensor's late) in any order, with presence revised or not: every live classification
    is the whole-night one."""
    rng = Random(seed)
    t, events = 1000.0, []
    for kind, count in plan:
        for _ in range(count):
            if kind == "still":
                t += rng.uniform(200.0, 900.0)
                continue
            if kind == "plm":
                t += rng.uniform(15.0, 40.0)
                events.append(
                    MovementEvent(
                        t, t + 1.5, 2.0, MovementClass.LIMB_MOVEMENT, SourceKind.ENVELOPE, "s"
                    )
                )
                continue
            if kind == "plm_bridged":  # a member measured short: a twitch bridges the gap
                for cls, seconds in (
                    (MovementClass.TWITCH, 0.3),
                    (MovementClass.LIMB_MOVEMENT, 1.5),
                ):
                    t += rng.uniform(35.0, 55.0)
                    events.append(MovementEvent(t, t + seconds, 2.0, cls, SourceKind.ENVELOPE, "s"))
                continue
            if kind == "zigbee_late":  # a second sensor, its report arriving late
                late = _zigbee(t - rng.uniform(0.0, 400.0), rng)
                events.append(replace(late, sensor="z2"))
                continue
            t += rng.uniform(0.5, 4.0) if kind == "zigbee" else rng.uniform(3.0, 90.0)
            make = {"restless": _restless, "zigbee": _zigbee, "asleep": _movement}[kind]
            events.append(make(t, rng))
    if not events:
        return
    moment = events[len(events) // 2].onset

    def presence(n: int) -> list[tuple[float, float]] | None:
        if revised is None:
            return None
        if revised == 0 or n < len(events) // 2:
            return [(events[0].onset, math.inf)]
        return [(events[0].onset, moment), (moment + 30.0, math.inf)]

    _follow(LiveNight(ClassifyConfig()), events, presence=presence)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 40),
            st.sampled_from((0.3, 1.0, 4.0, 60.0)),
            st.sampled_from((0.0, 300.0, 599.0, 600.0, 650.0, 1199.0, 1200.0, 1900.0, 7300.0)),
            st.sampled_from((0.5, 300.0, 700.0, 1300.0, 3600.0)),
        ),
        min_size=1,
        max_size=10,
    ),
    st.integers(0, 2**16),
)
def test_one_zigbee_sensor_is_labelled_live_as_the_whole_night_does(
    plan: list[tuple[int, float, float, float]], seed: int
) -> None:
    """Runs of one Zigbee sensor's reports, each run after a pause (up to longer than two
    still runs), the data ending a while after each report: every live classification
    (most extend the last one) is the whole-night one."""
    rng = Random(seed)
    live = LiveNight(ClassifyConfig())
    t, end, events = 1000.0, 0.0, []
    for count, every, pause, lag in plan:
        t += pause
        for _ in range(count):
            t += rng.uniform(0.5, 1.5) * every
            events.append(_zigbee(t, rng))
            end = max(end, t + rng.uniform(0.5, 1.0) * lag)
            got = live.classify(events, 0.0, end)
            assert_same(got, classify_night(events, 0.0, end, config=live.config))
