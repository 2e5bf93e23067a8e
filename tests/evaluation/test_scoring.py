"""Matching and metrics of `sleepenv evaluate` on hand-built cases."""

from __future__ import annotations

from typing import Any

import pytest

from sleepenv.evaluation.metrics import (
    Interval,
    NightScore,
    Totals,
    match,
    prf,
    quantile,
    score_night,
    score_waking,
    waking_prf,
)
from sleepenv.evaluation.report import (
    MARKDOWN_HEADER,
    markdown_row,
    rescore,
    target_row,
    targets_for,
    worse_than_naive,
)
from sleepenv.evaluation.spans import complement, detected_occupancy, occupancy_minutes


def iv(onset: float, offset: float, cls: str = "limb_movement", side: str = "sleeper") -> Interval:
    """An interval for scoring."""
    return Interval(onset, offset, cls, side)


def test_match_needs_onset_within_a_second_and_overlap() -> None:
    truth = [iv(10.0, 12.0), iv(50.0, 50.3), iv(100.0, 101.0)]
    detected = [iv(10.4, 11.0), iv(51.2, 52.0), iv(99.5, 99.9)]
    # 10.4 matches; 51.2 is 1.2 s late; 99.5–99.9 is within 1 s but does not overlap.
    assert match(truth, detected) == [(0, 0)]


def test_match_is_one_to_one_closest_first() -> None:
    truth = [iv(10.0, 11.0), iv(10.8, 12.0)]
    detected = [iv(10.7, 11.5)]
    assert match(truth, detected) == [(1, 0)]
    detected = [iv(10.1, 11.5), iv(10.9, 11.8)]
    assert sorted(match(truth, detected)) == [(0, 0), (1, 1)]


def test_zero_length_coarse_events_match_when_touching() -> None:
    assert match([iv(10.0, 12.0)], [iv(10.5, 10.5, "movement")]) == [(0, 0)]


def test_prf() -> None:
    assert prf(9, 1, 1) == {"precision": 0.9, "recall": 0.9, "f1": pytest.approx(0.9)}
    assert prf(0, 0, 0) == {"precision": None, "recall": None, "f1": None}
    assert prf(0, 3, 2)["f1"] == 0.0


def test_quantile() -> None:
    assert quantile([], 0.5) is None
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([5.0], 0.9) == 5.0


def test_score_night_counts_false_events_by_where_they_fall() -> None:
    truth = [
        iv(1000.0, 1002.0, "plm"),
        iv(1030.0, 1031.0, "plm"),
        iv(5000.0, 5001.0, "limb_movement", side="partner"),
    ]
    detected = [
        iv(1000.2, 1001.5, "plm"),  # true positive
        iv(1030.1, 1031.0, "limb_movement"),  # found, wrong class
        iv(5000.1, 5001.0, "limb_movement"),  # the partner's movement
        iv(3000.0, 3000.5, "twitch"),  # false, in quiet sleep
        iv(100.0, 100.5, "twitch"),  # false, empty bed
    ]
    s = score_night(
        truth,
        detected,
        start=0.0,
        end=7200.0,
        in_bed=(500.0, 7000.0),
        sleep=(900.0, 6900.0),
        plmi_truth=20.0,
        plmi_detected=16.0,
        onset_detected=960.0,
    )
    assert (s.tp, s.fn) == (2, 0)
    assert s.partner_detections == 1
    assert s.fp == 2
    assert (s.false_quiet, s.false_empty) == (1, 1)
    assert s.per_class["plm"] == (1, 0, 1)
    # Per class, truth is the sleeper's: the partner's limb movement is a false one there.
    assert s.per_class["limb_movement+plm"] == (2, 1, 0)
    assert s.count_error == 2  # 4 sleeper-side detections for 2 true movements
    report = Totals([s]).report()
    assert report["plm_index"]["abs_error_median"] == 4.0  # type: ignore[index]
    assert report["plm_index"]["sensitivity_15"] == 1.0  # type: ignore[index]
    assert report["sleep_onset"]["abs_error_minutes_median"] == 1.0  # type: ignore[index]


def test_a_missing_plm_index_counts_as_zero_and_misses_are_counted() -> None:
    s = score_night(
        [],
        [],
        start=0.0,
        end=3600.0,
        in_bed=(0.0, 3600.0),
        sleep=(600.0, 3000.0),
        plmi_truth=18.0,
        plmi_detected=None,
        onset_detected=None,
    )
    report = Totals([s]).report()
    assert report["plm_index"]["sensitivity_15"] == 0.0  # type: ignore[index]
    assert report["sleep_onset"]["missed"] == 1  # type: ignore[index]


def waking_night(truth: list[float], detected: list[float]) -> NightScore:
    """A one-hour night scored only for its waking jerks."""
    return score_night(
        [],
        [],
        start=0.0,
        end=3600.0,
        in_bed=(0.0, 3600.0),
        sleep=(600.0, 3000.0),
        waking_truth=truth,
        waking_detected=detected,
    )


def test_waking_jerk_onsets_match_one_to_one_within_a_second() -> None:
    # 1000.4 matches 1000.0; 2001.2 is 1.2 s late; of two detections near 3000 only the
    # closer one is the match, the other is false.
    assert score_waking([1000.0, 2000.0, 3000.0], [1000.4, 2001.2, 2999.1, 3000.3]) == (2, 2, 1)
    assert score_waking([], [500.0]) == (0, 1, 0)
    assert score_waking([500.0], []) == (0, 0, 1)


def test_instants_match_on_the_onset_alone_only_when_asked() -> None:
    truth, detected = [iv(10.0, 10.0)], [iv(10.5, 10.5)]
    assert match(truth, detected) == []  # zero-length, 0.5 s apart: no overlap
    assert match(truth, detected, needs_overlap=False) == [(0, 0)]


def test_waking_jerk_report_over_nights() -> None:
    nights = [
        waking_night([1000.0], [1000.2]),  # found
        waking_night([1000.0], []),  # missed
        waking_night([1000.0], [1000.1, 1500.0]),  # found, plus a false one
        waking_night([], []),  # none, none found
    ]
    report = Totals(nights).report()["waking_jerks"]
    assert isinstance(report, dict)
    assert (report["tp"], report["fp"], report["fn"]) == (2, 1, 1)
    assert report["precision"] == pytest.approx(2 / 3)
    assert report["recall"] == pytest.approx(2 / 3)
    assert report["false_per_night"] == 0.25
    # detected minus true per night: 0, -1, +1, 0
    assert report["count_error"] == {"mean_signed": 0.0, "mean_abs": 0.5, "exact_nights": 0.5}
    # "at least one tonight" is called right on nights 1, 3 and 4
    assert report["night_call_agreement"] == 0.75


def test_without_true_waking_jerks_only_false_ones_per_night_are_reported() -> None:
    report = Totals([waking_night([], [1500.0]), waking_night([], [])]).report()["waking_jerks"]
    assert isinstance(report, dict)
    assert (report["precision"], report["recall"], report["f1"]) == (None, None, None)
    assert report["false_per_night"] == 0.5
    assert report["night_call_agreement"] == 0.5
    # prf itself would call that precision 0: waking_prf leaves it undefined on purpose.
    assert prf(0, 1, 0)["precision"] == 0.0
    assert waking_prf(0, 1, 0)["precision"] is None
    assert waking_prf(1, 1, 0)["precision"] == 0.5


def test_headline_cell_for_waking_jerks_and_for_reports_that_predate_them() -> None:
    metrics = Totals([waking_night([], [1500.0]), waking_night([], [])]).report()
    report = {"profile": "clean", "source": "envelope", "metrics": metrics}
    assert markdown_row(rescore(report)).endswith("| – / – / 0.50 |")
    del metrics["waking_jerks"]  # an evaluation JSON written before the metric existed
    assert markdown_row(rescore(report)).endswith("| not run |")


def test_complement_of_spans_within_the_night() -> None:
    assert complement([(10.0, 20.0), (15.0, 30.0), (50.0, 60.0)], 0.0, 100.0) == [
        (0.0, 10.0),
        (30.0, 50.0),
        (60.0, 100.0),
    ]
    assert complement([], 0.0, 5.0) == [(0.0, 5.0)]
    assert complement([(-5.0, 200.0)], 0.0, 100.0) == []


def test_occupancy_minutes_compare_each_minute_at_its_middle() -> None:
    truth = [(600.0, 3000.0)]  # minutes 10–49 occupied of 60
    assert occupancy_minutes(truth, truth, 0.0, 3600.0) == (60, 60)
    # Detected from minute 12 (2 minutes late) and out 1 min early, with a false
    # 5-minute absence: 2 + 1 + 5 = 8 wrong.
    detected = [(720.0, 1500.0), (1800.0, 2940.0)]
    assert occupancy_minutes(truth, detected, 0.0, 3600.0) == (52, 60)
    assert occupancy_minutes([], [], 0.0, 3600.0) == (60, 60)  # empty, and said so
    assert occupancy_minutes([], [(0.0, 3600.0)], 0.0, 3600.0) == (0, 60)


def test_detected_occupancy_from_spans_or_in_and_out_of_bed() -> None:
    assert detected_occupancy({"in_bed_spans": [[1.0, 2.0], [5.0, None]]}, 9.0) == [
        (1.0, 2.0),
        (5.0, 9.0),
    ]
    assert detected_occupancy({"in_bed": 3.0, "out_of_bed": None}, 9.0) == [(3.0, 9.0)]
    assert detected_occupancy({"in_bed": 3.0, "out_of_bed": 7.0}, 9.0) == [(3.0, 7.0)]
    assert detected_occupancy({"in_bed": None, "out_of_bed": None}, 9.0) == []


def occupancy_night(
    detected: list[Interval],
    occupied: list[tuple[float, float]],
    occupied_detected: list[tuple[float, float]] | None,
    onset_detected: float | None = 5000.0,
) -> NightScore:
    """A 10-hour night with the given truth occupancy, scored for occupancy."""
    return score_night(
        [iv(8000.0, 8002.0)],
        detected,
        start=0.0,
        end=36000.0,
        in_bed=(occupied[0][0], occupied[-1][1]) if occupied else None,
        sleep=(5000.0, 30000.0) if occupied else None,
        onset_detected=onset_detected,
        occupied=occupied,
        occupied_detected=occupied_detected,
    )


def test_false_events_with_nobody_in_bed_count_absences_and_keep_the_margins() -> None:
    occupied = [(3600.0, 18000.0), (18900.0, 32400.0)]  # out 15 min mid-night
    detected = [
        iv(8000.2, 8001.0),  # a true movement
        iv(100.0, 101.0),  # false, before getting in
        iv(18300.0, 18301.0),  # false, while the sleeper is out mid-night
        iv(8011.0, 8012.0),  # unmatched but within 10 s of a true event: not counted
        iv(20000.0, 20001.0),  # false, but someone is in bed
        iv(34000.0, 34001.0),  # false, after getting out
    ]
    s = occupancy_night(detected, occupied, None)
    assert s.false_nobody == 3
    assert s.false_empty == 2  # the older rate sees only before getting in / after out
    assert s.nobody_hours == pytest.approx(1.0 + 0.25 + 1.0)
    assert s.occupied_hours == pytest.approx(4.0 + 3.75)
    assert s.occupancy_minutes == 0  # no detected occupancy given: not judged
    report = Totals([s]).report()
    assert report["false_per_hour_nobody_in_bed"] == pytest.approx(3 / 2.25)


def test_sleep_onset_found_counts_only_nights_in_bed_five_hours() -> None:
    long_bed = [(3600.0, 24000.0)]  # 5.7 h
    short_bed = [(3600.0, 18000.0)]  # 4 h
    nights = [
        occupancy_night([], long_bed, long_bed),  # found
        occupancy_night([], long_bed, long_bed, onset_detected=None),  # missed
        occupancy_night([], short_bed, short_bed, onset_detected=None),  # not expected
        occupancy_night([], [], [], onset_detected=None),  # nobody in bed
    ]
    report = Totals(nights).report()
    assert report["sleep_onset_found"] == {"nights": 2, "found": 1, "share": 0.5}
    assert report["occupancy"] == {
        "minutes": 2400,
        "minutes_right_pct": 100.0,
        "worst_night_pct": 100.0,
    }


def test_occupancy_over_nights_and_its_worst_night() -> None:
    bed = [(3600.0, 32400.0)]
    nights = [
        occupancy_night([], bed, bed),  # 600 of 600 right
        # Detected out 2 min after getting in: right the hour before, those 2 minutes and
        # the hour after getting out (60 + 2 + 60 of 600).
        occupancy_night([], bed, [(3600.0, 3720.0)]),
        occupancy_night([], bed, None),  # not judged
    ]
    occupancy = Totals(nights).report()["occupancy"]
    assert occupancy == {
        "minutes": 1200,
        "minutes_right_pct": pytest.approx(100.0 * 722 / 1200),
        "worst_night_pct": pytest.approx(100.0 * 122 / 600),
    }


def scored_report(
    detector: str, nights: list[NightScore], profile: str = "clean"
) -> dict[str, Any]:
    """A report as `evaluate` writes it, for hand-built night scores."""
    report = {
        "profile": profile,
        "detector": detector,
        "source": "envelope",
        "seeds": [1, len(nights)],
        "hours": 8.0,
        "metrics": Totals(nights).report(),
    }
    return rescore(report)


def movement_night(detected: list[Interval], onset: float | None) -> NightScore:
    """A 6-hour night with two true limb movements and one twitch, in bed all along."""
    truth = [iv(8000.0, 8003.0), iv(9000.0, 9002.0), iv(9500.0, 9500.2, "twitch")]
    bed = [(0.0, 21600.0)]
    return score_night(
        truth,
        detected,
        start=0.0,
        end=21600.0,
        in_bed=bed[0],
        sleep=(3000.0, 20000.0),
        plmi_truth=0.0,
        plmi_detected=0.0,
        onset_detected=onset,
        occupied=bed,
        occupied_detected=bed,
    )


def test_worse_than_naive_is_direction_aware_and_flags_what_sleepenv_lacks() -> None:
    all_found = [iv(8000.1, 8003.0), iv(9000.1, 9002.0), iv(9500.0, 9500.2, "twitch")]
    naive = scored_report("naive", [movement_night(all_found, 3060.0)])
    # sleepenv: the twitch missed, no sleep onset, and a false event (higher false rate).
    ours_events = [*all_found[:2], iv(12000.0, 12001.0)]
    ours = scored_report("sleepenv", [movement_night(ours_events, None)])
    worse = {w["metric"]: (w["sleepenv"], w["naive"]) for w in worse_than_naive(ours, naive)}
    assert worse["any_movement_f1"] == (pytest.approx(2 / 3), 1.0)
    assert worse["twitch_f1"] == (0.0, 1.0)
    assert worse["sleep_onset_found"] == (0.0, 1.0)
    assert worse["sleep_onset_error_median_minutes"] == (None, 1.0)  # naive has one
    assert "false_per_hour_quiet_sleep" in worse  # lower is better: 1 false vs none
    assert "occupancy_minutes_right_pct" not in worse  # equal is not worse
    assert "plm_f1" not in worse  # undefined for both
    # Naive calls a false hypnic jerk (precision 0) where sleepenv calls none (None):
    # not worse, and there is no true jerk to miss.
    assert naive["metrics"]["per_class"]["hypnic_jerk"]["precision"] is None
    jerky = scored_report(
        "naive", [movement_night([*all_found, iv(15000.0, 15000.3, "hypnic_jerk")], 3060.0)]
    )
    assert jerky["metrics"]["per_class"]["hypnic_jerk"]["precision"] == 0.0
    assert "hypnic_jerk_precision" not in {w["metric"] for w in worse_than_naive(ours, jerky)}
    # The other way round, only what naive lacks or does worse shows up.
    better = {w["metric"] for w in worse_than_naive({**naive, "detector": "x"}, ours)}
    assert "any_movement_f1" not in better
    assert "sleep_onset_error_median_minutes" not in better
    with pytest.raises(ValueError, match="seeds"):
        worse_than_naive(ours, {**naive, "seeds": [1001, 1016]})


def test_issue_10_targets_per_profile() -> None:
    found = [iv(8000.1, 8003.0), iv(9000.1, 9002.0), iv(12000.0, 12001.0)]  # F1 0.67 + false
    metrics = Totals([movement_night(found, 3060.0)]).report()
    clean = targets_for("clean", "envelope", metrics)
    assert clean["any_movement_f1"]["target"] == ">= 0.97"
    assert clean["any_movement_f1"]["met"] is False
    assert targets_for("noisy", "envelope", metrics)["any_movement_f1"]["target"] == ">= 0.93"
    assert clean["sleep_onset_found"] == {"value": 1.0, "target": ">= 1.0", "met": True}
    assert clean["occupancy_minutes_right_pct"]["met"] is True
    assert clean["sleep_onset_error_median_minutes"]["met"] is True  # 1 min ≤ 5
    assert clean["twitch_f1"]["met"] is False  # the twitch was missed
    assert clean["false_per_hour_nobody_in_bed"]["value"] is None  # never empty
    assert set(targets_for("empty_bed", "envelope", metrics)) == {
        "false_per_hour_nobody_in_bed",
        "occupancy_minutes_right_pct",
    }


def test_table_rows_have_the_header_columns_and_name_the_detector() -> None:
    columns = MARKDOWN_HEADER.splitlines()[0].count("|")
    report = scored_report("naive", [movement_night([], None)])
    row = markdown_row(report)
    assert row.startswith("| clean | naive | 1 | 0.00 |")
    assert row.count("|") == columns
    assert target_row("noisy").count("|") == columns
    assert target_row("noisy").startswith("| target (noisy) |  |  | ≥ 0.93 | ≥ 0.85 |")
    del report["detector"]  # reports before issue 10 were all sleepenv's
    assert markdown_row(report).startswith("| clean | sleepenv |")
