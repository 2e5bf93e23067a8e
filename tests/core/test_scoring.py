"""Matching and metrics of `sleepenv evaluate` on hand-built cases."""

from __future__ import annotations

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
from sleepenv.evaluation.runner import markdown_row, rescore


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
