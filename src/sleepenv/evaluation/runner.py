"""`sleepenv evaluate`: run `analyze` over generated nights and score it against the truth."""

from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepenv.analyze import analyze_readings
from sleepenv.core.classify import ClassifyConfig
from sleepenv.core.model import SourceKind
from sleepenv.evaluation.metrics import (
    Interval,
    NightScore,
    Totals,
    prf,
    score_night,
    waking_prf,
)
from sleepenv.sim import generate_night

# Targets of issue 4 (synthetic, 10 Hz, one sleeper, clean profile).
TARGETS: dict[str, tuple[str, float]] = {
    "any_movement_f1": (">=", 0.95),
    "limb_movement+plm_f1": (">=", 0.90),
    "plm_f1": (">=", 0.90),
    "plmi_abs_error_median": ("<=", 2.0),
    "plmi_abs_error_p95": ("<=", 5.0),
    "plmi_sensitivity_15": (">=", 0.90),
    "plmi_specificity_15": (">=", 0.90),
    "rollover_f1": (">=", 0.90),
    "hypnic_jerk_precision": (">=", 0.80),
    "hypnic_jerk_recall": (">=", 0.80),
    "false_hypnic_jerks_per_night": ("<=", 0.2),
    "false_per_hour_quiet_sleep": ("<=", 1.0),
    "false_per_hour_empty_bed": ("<=", 0.2),
    "sleep_onset_error_median_minutes": ("<=", 10.0),
    "sleep_onset_error_p90_minutes": ("<=", 20.0),
}
ZIGBEE_TARGETS: dict[str, tuple[str, float]] = {
    "sleep_onset_error_median_minutes": ("<=", 15.0),
}
# Nobody in bed: only the false-event rate (and no sleep found) can be judged.
EMPTY_BED_TARGETS: dict[str, tuple[str, float]] = {
    "false_per_hour_empty_bed": ("<=", 0.2),
}


def targets_for(profile: str, source: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue that applies to the profile, with its value and verdict."""
    flat = flatten(metrics)
    if source == SourceKind.ZIGBEE_VIBRATION.value:
        targets = ZIGBEE_TARGETS
    elif profile == "empty_bed":
        targets = EMPTY_BED_TARGETS
    else:
        targets = TARGETS
    return {k: _check(flat.get(k), op, v) for k, (op, v) in targets.items()}


def rescore(report: dict[str, Any]) -> dict[str, Any]:
    """Recompute P/R/F1 from the stored counts and the target verdicts (metric fixes
    without re-running hours of nights)."""
    metrics = report["metrics"]
    for block in [metrics["any_movement"], *metrics["per_class"].values()]:
        block.update(prf(block["tp"], block["fp"], block["fn"]))
    waking = metrics.get("waking_jerks")  # absent from reports written before it existed
    if waking is not None:
        waking.update(waking_prf(waking["tp"], waking["fp"], waking["fn"]))
    report["targets"] = targets_for(report["profile"], report["source"], metrics)
    return report


@dataclass(frozen=True, slots=True)
class Job:
    """One night to evaluate."""

    seed: int
    profile: str
    hours: float
    config: ClassifyConfig


def evaluate_night(job: Job) -> NightScore:
    """Generate, analyse and score one night (runs in a worker process)."""
    night = generate_night(job.seed, job.profile, hours=job.hours)
    config = job.config
    if night.source is SourceKind.ENVELOPE:
        doc = analyze_readings(night.frames(), night.source, config)
    else:
        doc = analyze_readings(night.zigbee_readings(), night.source, config)
    t = night.truth
    truth = [Interval(e.onset, e.offset, e.cls.value, e.side) for e in t.events]
    detected = [Interval(e["onset"], e["offset"], e["class"]) for e in doc["events"]]
    in_bed = (t.in_bed, t.out_of_bed) if t.in_bed is not None and t.out_of_bed else None
    sleep = (t.sleep_onset, t.wake) if t.sleep_onset is not None and t.wake else None
    return score_night(
        truth,
        detected,
        start=t.start,
        end=t.end,
        in_bed=in_bed,
        sleep=sleep,
        plmi_truth=t.plm_index,
        plmi_detected=doc["plm_index"],
        onset_detected=doc["sleep_onset"],
        waking_truth=t.waking_jerks,
        waking_detected=doc["waking_jerks"],
    )


def evaluate(
    profile: str,
    nights: int,
    *,
    first_seed: int = 1,
    hours: float = 8.0,
    plm_profile: str = "wasm",
    workers: int | None = None,
    show_progress: bool = True,
    config: ClassifyConfig | None = None,
) -> dict[str, Any]:
    """Score `nights` generated nights of `profile`; the evaluation report."""
    config = config or ClassifyConfig(plm_profile=plm_profile)
    jobs = [Job(s, profile, hours, config) for s in range(first_seed, first_seed + nights)]
    totals = Totals()
    workers = workers or min(2, os.cpu_count() or 1)
    if workers <= 1:
        _collect(map(evaluate_night, jobs), totals, len(jobs), profile, show_progress)
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            scores = pool.imap_unordered(evaluate_night, jobs)
            _collect(scores, totals, len(jobs), profile, show_progress)
    metrics = totals.report()
    source = generate_night(first_seed, profile, hours=hours).source
    return {
        "profile": profile,
        "source": source.value,
        "seeds": [first_seed, first_seed + nights - 1],
        "hours": hours,
        "plm_profile": plm_profile,
        "metrics": metrics,
        "targets": targets_for(profile, source.value, metrics),
    }


def _collect(results: Any, totals: Totals, n: int, profile: str, show_progress: bool) -> None:
    if not show_progress:
        for score in results:
            totals.add(score)
        return
    from rich.progress import Progress  # noqa: PLC0415 - only the CLI shows progress

    with Progress() as progress:
        task = progress.add_task(f"{profile}: {n} nights", total=n)
        for score in results:
            totals.add(score)
            progress.advance(task)


def flatten(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The headline numbers under the names the targets use."""
    pc = metrics["per_class"]
    plmi = metrics["plm_index"]
    onset = metrics["sleep_onset"]
    waking = metrics.get("waking_jerks", {})
    return {
        "any_movement_f1": metrics["any_movement"]["f1"],
        "limb_movement+plm_f1": pc["limb_movement+plm"]["f1"],
        "plm_f1": pc["plm"]["f1"],
        "plmi_abs_error_median": plmi["abs_error_median"],
        "plmi_abs_error_p95": plmi["abs_error_p95"],
        "plmi_sensitivity_15": plmi["sensitivity_15"],
        "plmi_specificity_15": plmi["specificity_15"],
        "rollover_f1": pc["rollover"]["f1"],
        "hypnic_jerk_precision": pc["hypnic_jerk"]["precision"],
        "hypnic_jerk_recall": pc["hypnic_jerk"]["recall"],
        "false_hypnic_jerks_per_night": metrics["false_hypnic_jerks_per_night"],
        "false_per_hour_quiet_sleep": metrics["false_per_hour_quiet_sleep"],
        "false_per_hour_empty_bed": metrics["false_per_hour_empty_bed"],
        "sleep_onset_error_median_minutes": onset["abs_error_minutes_median"],
        "sleep_onset_error_p90_minutes": onset["abs_error_minutes_p90"],
        "twitch_recall": pc["twitch"]["recall"],
        "waking_jerk_precision": waking.get("precision"),
        "waking_jerk_recall": waking.get("recall"),
        "false_waking_jerks_per_night": waking.get("false_per_night"),
    }


def _check(value: float | None, op: str, target: float) -> dict[str, Any]:
    if value is None:
        return {"value": None, "target": f"{op} {target}", "met": None}
    met = value >= target if op == ">=" else value <= target
    return {"value": round(value, 4), "target": f"{op} {target}", "met": met}


def markdown_row(report: dict[str, Any]) -> str:
    """One table row of headline numbers for bench/results/README-style tables."""
    f = flatten(report["metrics"])
    keys = [
        "any_movement_f1",
        "limb_movement+plm_f1",
        "plm_f1",
        "rollover_f1",
        "hypnic_jerk_precision",
        "hypnic_jerk_recall",
        "twitch_recall",
        "plmi_abs_error_median",
        "plmi_abs_error_p95",
        "plmi_sensitivity_15",
        "plmi_specificity_15",
        "false_per_hour_quiet_sleep",
        "false_per_hour_empty_bed",
        "sleep_onset_error_median_minutes",
        "sleep_onset_error_p90_minutes",
    ]
    cells = [_cell(f.get(k)) for k in keys]
    cells.append(_waking_cell(report["metrics"]))
    return f"| {report['profile']} | {report['metrics']['nights']} | " + " | ".join(cells) + " |"


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _waking_cell(metrics: dict[str, Any]) -> str:
    """Waking jerks as one cell, "P / R / false per night"; "not run" for reports written
    before the metric existed (unlike "–", which means undefined: none to find)."""
    waking = metrics.get("waking_jerks")
    if waking is None:
        return "not run"
    keys = ("precision", "recall", "false_per_night")
    return " / ".join(_cell(waking[k]) for k in keys)


MARKDOWN_HEADER = (
    "| profile | nights | any F1 | LM+PLM F1 | PLM F1 | rollover F1 | jerk P | jerk R "
    "| twitch R | PLMI err med | PLMI err p95 | PLMI≥15 sens | PLMI≥15 spec "
    "| false/h quiet | false/h empty | onset err med (min) | onset err p90 (min) "
    "| waking jerk P / R / false per night |\n"
) + ("|---" * 18 + "|")


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write the report as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
