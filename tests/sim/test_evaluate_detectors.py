"""`evaluate` with both detectors on the same generated nights, and the CLI around it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sleepenv.bed.core.model import SourceKind
from sleepenv.cli.evaluate import json_path
from sleepenv.cli.main import main
from sleepenv.evaluation.runner import detectors_for, evaluate


def test_both_detectors_score_the_same_nights() -> None:
    reports = evaluate(
        "clean", 2, detector="both", first_seed=1001, hours=0.5, workers=1, show_progress=False
    )
    assert list(reports) == ["sleepenv", "naive"]
    ours, naive = reports["sleepenv"], reports["naive"]
    assert ours["seeds"] == naive["seeds"] == [1001, 1002]
    assert (ours["detector"], naive["detector"]) == ("sleepenv", "naive")

    # The same truth: as many true movements behind both scores, different detections.
    assert true_events(ours) == true_events(naive) > 0
    assert ours["metrics"] != naive["metrics"]
    assert "occupancy_minutes_right_pct" in naive["targets"]


def true_events(report: dict[str, Any]) -> int:
    """True sleeper movements behind a report's any-movement score."""
    block = report["metrics"]["any_movement"]
    return int(block["tp"] + block["fn"])


def test_detectors_for_a_profile_source() -> None:
    assert detectors_for("both", SourceKind.ENVELOPE) == ("sleepenv", "naive")
    assert detectors_for("naive", SourceKind.ENVELOPE) == ("naive",)
    assert detectors_for("both", SourceKind.ZIGBEE_VIBRATION) == ("sleepenv",)
    with pytest.raises(ValueError, match="envelope"):
        detectors_for("naive", SourceKind.ZIGBEE_VIBRATION)
    with pytest.raises(ValueError, match="unknown detector"):
        detectors_for("clever", SourceKind.ENVELOPE)


def test_json_paths_per_detector(tmp_path: Path) -> None:
    out = tmp_path / "ev.json"
    assert json_path(out, "sleepenv", ["sleepenv", "naive"]) == out
    assert json_path(out, "naive", ["sleepenv", "naive"]) == tmp_path / "ev_naive.json"
    assert json_path(out, "naive", ["naive"]) == out


def test_cli_evaluate_naive_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "naive.json"
    argv = ["evaluate", "--detector", "naive", "--nights", "1", "--hours", "0.5"]
    assert (
        main([*argv, "--first-seed", "1001", "--workers", "1", "--quiet", "--json", str(out)]) == 0
    )
    report = json.loads(out.read_text())
    assert (report["detector"], report["seeds"]) == ("naive", [1001, 1001])
    assert "| clean | naive | 1 |" in capsys.readouterr().out


def test_cli_evaluate_rejects_an_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--profile", "nope", "--nights", "1", "--quiet"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err
