"""Stored nights and factors as the insights read them."""

from __future__ import annotations

import math

from sleepenv.bed.core.model import NightSummary
from sleepenv.insights.core.factors import NightFactors, Outcome
from sleepenv.insights.records import factors_from_json, factors_to_json, outcomes_of, records


def _night(night: str, end: float | None = 9.0 * 3600) -> NightSummary:
    return NightSummary(
        bed_id="main",
        night=night,
        start=0.0,
        end=end,
        counts={"hypnic_jerk": 3, "twitch": 12, "rollover": 5},
        sleep_onset=1800.0 + 600.0,
        plm_index=4.5,
        waking_jerks=1,
        in_bed_spans=((600.0, 8 * 3600.0),),
    )


def test_factors_round_trip_and_bad_values_are_unknown() -> None:
    factors = NightFactors(room_celsius=18.5, caffeine_late=True, bedtime_offset_minutes=-20.0)
    assert factors_from_json(factors_to_json(factors)) == factors
    damaged = {"room_celsius": "warm", "caffeine_late": 1, "screen_minutes": math.inf}
    assert factors_from_json(damaged) == NightFactors()
    assert factors_from_json({"exercise_late": False}).exercise_late is False


def test_outcomes_of_a_stored_night() -> None:
    out = outcomes_of(_night("2026-11-01"))
    assert out == {
        Outcome.HYPNIC_JERKS: 3.0,
        Outcome.TWITCHES: 12.0,
        Outcome.WAKING_JERKS: 1.0,
        Outcome.ONSET_MINUTES: 30.0,  # in bed at 600 s, asleep at 2400 s
        Outcome.PLM_INDEX: 4.5,
    }
    older = NightSummary("main", "2026-10-01", 0.0, 1.0, {}, waking_jerks=None)
    assert outcomes_of(older)[Outcome.WAKING_JERKS] is None  # not known then, not zero
    assert outcomes_of(older)[Outcome.ONSET_MINUTES] is None


def test_records_keep_closed_nights_oldest_first_with_their_factors() -> None:
    nights = [_night("2026-11-03", end=None), _night("2026-11-02"), _night("2026-11-01")]
    stored = {"2026-11-02": {"caffeine_late": True}}
    got = records(nights, stored)
    assert [r.night for r in got] == ["2026-11-01", "2026-11-02"]  # the open night waits
    assert got[1].factors.caffeine_late is True
    assert got[0].factors == NightFactors()  # nothing stored: every factor unknown
