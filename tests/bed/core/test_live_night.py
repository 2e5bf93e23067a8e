"""The live night labels what the whole-night pass labels, at every moment, for less work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from random import Random

import pytest

from sleepenv.bed.core.classify import ClassifyConfig, NightClassification, classify_night
from sleepenv.bed.core.live import SETTLE_AFTER, LiveNight
from sleepenv.bed.core.livecache import Chain
from sleepenv.bed.core.model import MovementClass, MovementEvent, Reading, SourceKind
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec
from sleepenv.sim import generate_night


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
