"""Classification and the sleep period on hand-built nights (no detector, no event loop)."""

from __future__ import annotations

from sleepenv.bed.core.classify import (
    AMBIGUOUS,
    ClassifyConfig,
    classify_night,
    merge_sides,
    periodic_series,
    periodicity_index,
)
from sleepenv.bed.core.model import MovementClass, MovementEvent, RestingMinute, SourceKind
from sleepenv.bed.core.sleep import SleepConfig, find_sleep_onset, occupied_spans_by_level

T0 = 1_767_650_400.0  # 22:00 UTC
MIN = 60.0
LM = MovementClass.LIMB_MOVEMENT


def ev(
    onset_min: float,
    seconds: float = 1.0,
    cls: MovementClass = LM,
    strength: float = 1.5,
    **kw: object,
) -> MovementEvent:
    """A movement `onset_min` minutes into the night."""
    onset = T0 + onset_min * MIN
    return MovementEvent(onset, onset + seconds, 1.0, cls, strength=strength, **kw)  # type: ignore[arg-type]


def entry(at_min: float) -> MovementEvent:
    """Getting into bed: a long movement with a posture change."""
    return ev(at_min, 60.0, MovementClass.BOUT, 4.0, has_posture_change=True)


def levels(in_min: float, out_min: float, hours: float = 8.0) -> list[RestingMinute]:
    """Per-minute resting levels: the floor (0.2, no breathing) outside the bed, 1.0 and
    clear breathing in it."""
    return [
        RestingMinute(T0 + m * MIN, 1.0, 6.0)
        if in_min + 1 <= m < out_min
        else RestingMinute(T0 + m * MIN, 0.2, 1.0)
        for m in range(int(hours * 60))
    ]


def restless_then_still(onset_min: float) -> list[MovementEvent]:
    """In bed at 5 min, a movement every 2 min until `onset_min`, then stillness."""
    out = [entry(5.0)]
    t = 8.0
    while t < onset_min:
        out.append(ev(t))
        t += 2.0
    return out


def test_onset_is_the_start_of_the_first_confirmed_still_run() -> None:
    events = restless_then_still(30.0)
    night = classify_night(events, T0, T0 + 8 * 3600, levels=levels(5, 470), is_final=True)
    last = max(e.offset for e in events)
    assert night.sleep.sleep_onset == last
    assert night.sleep.is_onset_confirmed
    assert night.sleep.in_bed == events[0].onset


def test_an_awakening_after_a_still_run_restarts_the_search() -> None:
    events = restless_then_still(20.0)
    # Still for 6 min, then a burst of wake-like movement (an awakening) for 6 min.
    # (not periodic: intervals over 90 s, or it would be a PLM-like series)
    awake = [ev(m, 2.0) for m in (27.0, 28.8, 30.9, 32.7, 34.5)]
    night = classify_night(events + awake, T0, T0 + 8 * 3600, levels=levels(5, 470), is_final=True)
    assert night.sleep.sleep_onset == awake[-1].offset


def test_coarse_source_needs_ten_still_minutes() -> None:
    zig = [
        ev(m, 0.0, MovementClass.MOVEMENT, source=SourceKind.ZIGBEE_VIBRATION, is_lower_bound=True)
        for m in (5, 10, 14, 22)  # 8 min still after 14: not enough; 22 then still
    ]
    onset, _ = find_sleep_onset(zig, zig[0].onset, T0 + 8 * 3600, is_coarse=True)
    assert onset == zig[-1].offset


def test_provisional_onset_until_the_confirmation_window_has_passed() -> None:
    events = restless_then_still(30.0)
    now = T0 + 38 * MIN  # 8 still minutes: a run, but not yet confirmed
    night = classify_night(events, T0, now, levels=levels(5, 470)[:38])
    assert night.sleep.sleep_onset is not None
    assert not night.sleep.is_onset_confirmed


def test_four_periodic_limb_movements_in_sleep_are_plm_three_are_not() -> None:
    base = restless_then_still(30.0)
    three = [ev(60.0 + 0.5 * i) for i in range(3)]  # every 30 s
    night = classify_night(base + three, T0, T0 + 8 * 3600, levels=levels(5, 470), is_final=True)
    assert night.counts.get("plm", 0) == 0
    four = [*three, ev(61.5)]
    night = classify_night(base + four, T0, T0 + 8 * 3600, levels=levels(5, 470), is_final=True)
    assert night.counts["plm"] == 4
    assert night.plm_index is not None
    assert night.plm_index > 0


def test_intervals_outside_the_profile_break_a_series() -> None:
    wasm = ClassifyConfig()
    aasm = ClassifyConfig(plm_profile="aasm")
    every_7s = [ev(100.0 + 7.0 * i / 60.0) for i in range(5)]
    assert periodic_series(every_7s, wasm) == []
    assert len(periodic_series(every_7s, aasm)) == 1
    too_far = [ev(100.0 + 1.6 * i) for i in range(5)]  # 96 s apart
    assert periodic_series(too_far, wasm) == []


def test_a_member_measured_as_a_twitch_bridges_its_series() -> None:
    """Limb movements 50 s apart with one member measured short (a twitch): without it
    the gap is 100 s and both halves (3 members each) are too short to count."""
    twitch = MovementClass.TWITCH
    first = [ev(100.0 + 50.0 * i / MIN) for i in range(3)]
    short = ev(100.0 + 150.0 / MIN, 0.3, twitch)
    second = [ev(100.0 + 50.0 * i / MIN) for i in range(4, 7)]
    assert periodic_series([*first, *second]) == []
    (series,) = periodic_series([*first, short, *second])
    assert series == [*first, short, *second]
    # Classified in its night, the short member is a PLM-like movement like the rest.
    night = classify_night(
        [entry(5.0), *first, short, *second], T0, T0 + 8 * 3600, levels=levels(5, 470),
        is_final=True,
    )  # fmt: skip
    assert {e.onset: e.cls for e in night.events}[short.onset] is MovementClass.PLM


def test_only_a_twitch_that_fits_bridges() -> None:
    twitch = MovementClass.TWITCH
    first = [ev(100.0 + 50.0 * i / MIN) for i in range(3)]
    second = [ev(100.0 + 50.0 * i / MIN) for i in range(4, 7)]
    mid = 100.0 + 150.0 / MIN
    for reason, bridge in (
        ("too short to be a weak member", ev(mid, 0.1, twitch)),
        ("too close to the last member", ev(100.0 + 105.0 / MIN, 0.3, twitch)),
        ("a startle, not a limb movement", ev(mid, 0.3, twitch, strength=8.0)),
        ("cut by a dropout", ev(mid, 0.3, twitch, is_truncated=True)),
    ):
        assert periodic_series([*first, bridge, *second]) == [], reason
    # Between members close enough to keep their series anyway, a twitch too close to
    # either of them (under 10 s) stays a twitch.
    close = [ev(100.0 + 0.5 * i) for i in range(5)]  # every 30 s
    for seconds in (5.0, 25.0):
        near = ev(100.0 + seconds / MIN, 0.3, twitch)
        (series,) = periodic_series([*close[:1], near, *close[1:]])
        assert near not in series, seconds
    # Two weak members in a row: both bridge, one after the other.
    pair = [ev(100.0 + 130.0 / MIN, 0.3, twitch), ev(100.0 + 170.0 / MIN, 0.3, twitch)]
    later = [ev(100.0 + (170.0 + 45.0 * i) / MIN) for i in range(1, 4)]
    (series,) = periodic_series([*first, *pair, *later])
    assert series == [*first, *pair, *later]


def test_a_member_measured_as_a_twitch_between_members_in_range_is_counted() -> None:
    """Limb movements 40 s apart keep their series without it, but a weak member halfway
    between them (measured short, a twitch) is one of its movements: 20 s from both."""
    twitch = MovementClass.TWITCH
    members = [ev(100.0 + 40.0 * i / MIN) for i in range(5)]
    weak = ev(100.0 + 60.0 / MIN, 0.3, twitch)
    (without,) = periodic_series(members)
    assert weak not in without
    (series,) = periodic_series([*members[:2], weak, *members[2:]])
    assert series == [*members[:2], weak, *members[2:]]
    night = classify_night(
        [entry(5.0), *members[:2], weak, *members[2:]], T0, T0 + 8 * 3600,
        levels=levels(5, 470), is_final=True,
    )  # fmt: skip
    labels = {e.onset: e.cls for e in night.events}
    assert labels[weak.onset] is MovementClass.PLM
    assert night.counts["plm"] == 6
    # It is no evidence of a series: three limb movements with one filled in are not
    # one, while a twitch bridging a gap too long still counts (see above).
    three = members[1:4]
    assert periodic_series([three[0], weak, *three[1:]]) == []
    # The same rules as any bridge: too short, a startle or cut by a dropout stays out.
    for reason, other in (
        ("too short to be a weak member", ev(weak.onset, 0.1, twitch)),
        ("a startle, not a limb movement", ev(weak.onset, 0.3, twitch, strength=8.0)),
        ("cut by a dropout", ev(weak.onset, 0.3, twitch, is_truncated=True)),
    ):
        (series,) = periodic_series([*members[:2], other, *members[2:]])
        assert other not in series, reason


def test_a_rollover_or_dropout_breaks_a_series() -> None:
    series = [ev(100.0 + 0.5 * i) for i in range(6)]
    roll = ev(101.2, 8.0, MovementClass.ROLLOVER, 5.0, has_posture_change=True)
    broken = periodic_series([*series, roll])
    assert all(len(s) < 6 for s in broken)
    truncated = [*series[:3], ev(101.5, 1.0, is_truncated=True), *series[4:]]
    assert periodic_series(truncated) == []


def test_periodicity_index() -> None:
    periodic = [ev(100.0 + 0.5 * i) for i in range(5)]  # 4 intervals of 30 s
    assert periodicity_index(periodic) == 1.0
    scattered = [ev(100.0 + 3.0 * i) for i in range(5)]
    assert periodicity_index(scattered) == 0.0


def test_hypnic_jerk_only_in_the_onset_window_and_strong() -> None:
    base = restless_then_still(30.0)
    onset = max(e.offset for e in base)
    near = ev((onset - T0) / MIN + 8.0, 1.2, LM, strength=8.0)  # 8 min after onset
    weak = ev((onset - T0) / MIN + 9.0, 1.2, LM, strength=2.0)
    late = ev(200.0, 1.2, LM, strength=8.0)  # hours later: not a hypnic jerk
    night = classify_night(
        [*base, near, weak, late], T0, T0 + 8 * 3600, levels=levels(5, 470), is_final=True
    )
    by_onset = {e.onset: e.cls for e in night.events}
    assert by_onset[near.onset] is MovementClass.HYPNIC_JERK
    assert by_onset[weak.onset] is LM
    assert by_onset[late.onset] is LM


def test_twitches_in_the_onset_window_are_hypnagogic() -> None:
    base = restless_then_still(30.0)
    onset = max(e.offset for e in base)
    twitch = ev((onset - T0) / MIN + 7.0, 0.3, MovementClass.TWITCH, 1.0)
    later = ev(300.0, 0.3, MovementClass.TWITCH, 1.0)
    night = classify_night(
        [*base, twitch, later], T0, T0 + 8 * 3600, levels=levels(5, 470), is_final=True
    )
    flags = {e.onset: e.is_hypnagogic for e in night.events}
    assert flags[twitch.onset]
    assert not flags[later.onset]
    assert night.hypnagogic_twitches == 1


def test_strong_events_that_do_not_ring_are_glitches() -> None:
    base = restless_then_still(30.0)
    glitch = ev(200.0, 0.2, MovementClass.TWITCH, strength=12.0)
    night = classify_night([*base, glitch], T0, T0 + 8 * 3600, levels=levels(5, 470))
    assert night.glitches == 1
    assert glitch.onset not in {e.onset for e in night.events}


def test_zigbee_never_outputs_plm_and_is_a_lower_bound() -> None:
    zig = [
        ev(100.0 + 0.5 * i, 0.0, MovementClass.MOVEMENT, source=SourceKind.ZIGBEE_VIBRATION)
        for i in range(8)
    ]
    night = classify_night(zig, T0, T0 + 8 * 3600, is_final=True)
    assert "plm" not in night.counts
    assert night.is_lower_bound
    assert night.plm_index is None


def test_two_sensors_attribute_to_the_side_with_clearly_more_energy() -> None:
    left = ev(100.0, 2.0, strength=4.0, sensor="left", side="left")
    right = ev(100.0 + 0.2 / MIN, 2.0, strength=1.0, sensor="right", side="right")
    merged = merge_sides([left, right])
    assert len(merged) == 1
    assert merged[0].side == "left"
    even_right = ev(100.0 + 0.2 / MIN, 2.0, strength=3.5, sensor="right", side="right")
    merged = merge_sides([left, even_right])
    assert len(merged) == 1
    assert merged[0].side == AMBIGUOUS
    alone = ev(200.0, 2.0, strength=1.0, sensor="right", side="right")
    assert [e.side for e in merge_sides([left, right, alone])] == ["left", "right"]


def test_occupancy_by_level_needs_contrast() -> None:
    """The fallback for levels stored without breathing evidence."""
    flat = [RestingMinute(T0 + i * MIN, 1.0) for i in range(100)]
    assert occupied_spans_by_level(flat) is None
    spans = occupied_spans_by_level([RestingMinute(m.t, m.level) for m in levels(5, 470)])
    assert spans == [(T0 + 6 * MIN, T0 + 470 * MIN)]


def test_empty_quiet_bed_has_no_sleep() -> None:
    night = classify_night([ev(100.0)], T0, T0 + 8 * 3600, levels=[], is_final=True)
    assert night.sleep.in_bed is None
    assert night.sleep.sleep_onset is None


def test_wake_is_the_first_movement_of_the_final_awakening() -> None:
    base = restless_then_still(30.0)
    asleep = [ev(100.0), ev(250.0, 5.0, MovementClass.ROLLOVER, 5.0, has_posture_change=True)]
    waking = [ev(440.0), ev(442.0), ev(445.0), ev(448.0)]
    getup = ev(452.0, 60.0, MovementClass.BOUT, 5.0, has_posture_change=True)
    night = classify_night(
        [*base, *asleep, *waking, getup], T0, T0 + 8 * 3600, levels=levels(5, 454), is_final=True
    )
    assert night.sleep.wake == waking[0].onset
    assert night.sleep.out_of_bed == getup.offset
    total = night.sleep.total_sleep_seconds
    assert total is not None
    assert total > 6 * 3600
    assert SleepConfig().still_seconds == 300.0
