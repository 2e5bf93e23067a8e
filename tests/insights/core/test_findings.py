"""Findings across hand-built nights with known differences, in informational words."""

from __future__ import annotations

from sleepenv.insights.core.factors import (
    Factor,
    FactorRules,
    NightFactors,
    NightRecord,
    Outcome,
    exposed,
)
from sleepenv.insights.core.findings import MIN_NIGHTS, Comparison, compare_all, headline


def _night(i: int, jerks: float, caffeine: bool | None, room: float | None = 18.0) -> NightRecord:
    return NightRecord(
        night=f"2026-11-{i + 1:02d}",
        outcomes={Outcome.HYPNIC_JERKS: jerks, Outcome.TWITCHES: 10.0 + i % 3},
        factors=NightFactors(room_celsius=room, caffeine_late=caffeine),
    )


def _find(comparisons: list[Comparison], factor: Factor, outcome: Outcome) -> Comparison:
    return next(c for c in comparisons if c.factor is factor and c.outcome is outcome)


def test_late_caffeine_with_three_more_jerks_is_found_and_worded() -> None:
    noise = [0, 1, 0, 2, 1, 0, 1, 2]
    nights = [_night(i, 2 + n + 3, caffeine=True) for i, n in enumerate(noise)]
    nights += [_night(10 + i, 2 + n, caffeine=False) for i, n in enumerate(noise)]
    nights.append(_night(30, 40, caffeine=None))  # unknown: left out, not counted as "no"
    found = _find(compare_all(nights), Factor.LATE_CAFFEINE, Outcome.HYPNIC_JERKS)
    assert found.result is not None
    assert found.finding
    assert (found.n_with, found.n_without) == (8, 8)
    sentence = found.sentence()
    assert sentence.startswith("Nights after late caffeine had 3.0 more hypnic jerks a night")
    assert "(90 % interval" in sentence
    assert "8 vs 8 nights" in sentence
    assert headline(compare_all(nights)) == sentence


def test_a_factor_that_changes_nothing_is_no_finding() -> None:
    nights = [_night(i, 2 + i % 3, caffeine=i % 2 == 0) for i in range(16)]
    comparisons = compare_all(nights)
    caffeine = _find(comparisons, Factor.LATE_CAFFEINE, Outcome.TWITCHES)
    assert caffeine.result is not None
    assert not caffeine.finding
    assert headline(comparisons) == "No habit stands out yet"


def test_too_few_nights_on_one_side_says_how_many_more() -> None:
    nights = [_night(i, 5, caffeine=True) for i in range(MIN_NIGHTS - 1)]
    nights += [_night(10 + i, 2, caffeine=False) for i in range(9)]
    c = _find(compare_all(nights), Factor.LATE_CAFFEINE, Outcome.HYPNIC_JERKS)
    assert c.result is None
    assert c.nights_needed == (1, 0)
    assert "not enough nights yet" in c.sentence()
    assert "1 more with and 0 more without needed" in c.sentence()
    # No thermometer on any night: the room is unknown, never "cool".
    nights = [_night(i, 2, caffeine=None, room=None) for i in range(12)]
    room = _find(compare_all(nights), Factor.WARM_ROOM, Outcome.HYPNIC_JERKS)
    assert (room.n_with, room.n_without) == (0, 0)
    assert headline(compare_all(nights)) == "Not enough nights yet"


def test_onset_and_plm_read_as_times_and_rates() -> None:
    nights = [
        NightRecord(
            night=f"n{i}",
            outcomes={Outcome.ONSET_MINUTES: 30.0 + (i % 3), Outcome.PLM_INDEX: 2.0},
            factors=NightFactors(screen_minutes=20.0),
        )
        for i in range(6)
    ] + [
        NightRecord(
            night=f"m{i}",
            outcomes={Outcome.ONSET_MINUTES: 12.0 + (i % 3), Outcome.PLM_INDEX: 5.0},
            factors=NightFactors(screen_minutes=0.0),
        )
        for i in range(6)
    ]
    comparisons = compare_all(nights)
    onset = _find(comparisons, Factor.SCREENS, Outcome.ONSET_MINUTES).sentence()
    plm = _find(comparisons, Factor.SCREENS, Outcome.PLM_INDEX).sentence()
    assert onset.startswith(
        "Nights with screens in the no-screen window took 18.0 min longer to fall asleep"
    )
    assert plm.startswith("Nights with screens in the no-screen window had a PLM index 3.0/h lower")


def test_where_each_factor_draws_its_line() -> None:
    rules = FactorRules()
    assert exposed(Factor.WARM_ROOM, NightFactors(room_celsius=19.5), rules) is True
    assert exposed(Factor.WARM_ROOM, NightFactors(room_celsius=19.4), rules) is False
    assert exposed(Factor.OFF_SCHEDULE, NightFactors(bedtime_offset_minutes=-50), rules) is True
    assert exposed(Factor.OFF_SCHEDULE, NightFactors(bedtime_offset_minutes=30), rules) is False
    assert exposed(Factor.SCREENS, NightFactors(), rules) is None
    assert exposed(Factor.LATE_EXERCISE, NightFactors(exercise_late=False), rules) is False


def test_the_wind_down_is_overridden_ran_or_unknown() -> None:
    rules = FactorRules()
    factor = Factor.WIND_DOWN_OVERRIDDEN

    def night(ran: float | None, held: float | None) -> NightFactors:
        return NightFactors(wind_down_minutes=ran, wind_down_overridden_minutes=held)

    assert exposed(factor, night(90.0, 15.0), rules) is True
    assert exposed(factor, night(90.0, 14.9), rules) is False
    assert exposed(factor, night(20.0, 20.0), rules) is True  # switched off midway
    assert exposed(factor, night(0.0, 0.0), rules) is None  # guidance off or paused
    assert exposed(factor, NightFactors(), rules) is None
    overridden = [
        NightRecord(f"2026-01-{i + 1:02d}", {Outcome.HYPNIC_JERKS: 3.0 + i % 2}, night(90, 40))
        for i in range(5)
    ]
    ran = [
        NightRecord(f"2026-02-{i + 1:02d}", {Outcome.HYPNIC_JERKS: 1.0 + i % 2}, night(90, 0))
        for i in range(5)
    ]
    c = _find(compare_all(overridden + ran), factor, Outcome.HYPNIC_JERKS)
    assert (c.n_with, c.n_without) == (5, 5)
    assert c.sentence().startswith(
        "Nights with the wind-down overridden 15 min or more had 2.0 more hypnic jerks a night"
    )
