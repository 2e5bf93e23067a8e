"""A small regression floor for detection + classification on a few synthetic nights.

Not the evaluation (that is `sleepenv evaluate`, ≥ 100 nights per profile, results in
bench/results/): a fast guard that numbers measured there do not silently collapse.
"""

from __future__ import annotations

import pytest

from sleepenv.bed.core.classify import ClassifyConfig
from sleepenv.evaluation.metrics import Totals
from sleepenv.evaluation.runner import Job, evaluate_night

SEEDS = (11, 12, 13)


@pytest.fixture(scope="module")
def clean() -> dict[str, object]:
    """Scores of three 3-hour clean nights."""
    totals = Totals()
    for seed in SEEDS:
        totals.add(evaluate_night(Job(seed, "clean", 3.0, ClassifyConfig())))
    return totals.report()


def test_clean_floor(clean: dict[str, object]) -> None:
    any_movement = clean["any_movement"]
    per_class = clean["per_class"]
    onset = clean["sleep_onset"]
    assert isinstance(any_movement, dict)
    assert isinstance(per_class, dict)
    assert isinstance(onset, dict)
    assert any_movement["f1"] >= 0.85
    assert per_class["limb_movement+plm"]["f1"] >= 0.85
    assert per_class["rollover"]["f1"] >= 0.85
    assert onset["missed"] == 0
    assert onset["abs_error_minutes_median"] <= 10.0
    quiet = clean["false_per_hour_quiet_sleep"]
    assert isinstance(quiet, float)
    assert quiet <= 1.0


def test_empty_bed_floor() -> None:
    totals = Totals()
    for seed in SEEDS[:2]:
        totals.add(evaluate_night(Job(seed, "empty_bed", 2.0, ClassifyConfig())))
    report = totals.report()
    empty = report["false_per_hour_empty_bed"]
    assert isinstance(empty, float)
    assert empty <= 0.5
    onset = report["sleep_onset"]
    assert isinstance(onset, dict)
    assert onset["false_onsets"] == 0
