"""Matching and metrics of `sleepenv evaluate` on hand-built cases."""

from __future__ import annotations

import pytest

from sleepenv.evaluation.metrics import (
    Interval,
    Totals,
    match,
    prf,
    quantile,
    score_night,
)


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
