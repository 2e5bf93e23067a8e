"""`sleepenv evaluate`: run a detector over generated nights and score it against the truth.

Each night is generated once; with several detectors (sleepenv and the naive floor) its
frames are analysed by each, since generation is the slow part.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sleepenv.bed.analyze import analyze_readings
from sleepenv.bed.core.classify import ClassifyConfig
from sleepenv.bed.core.model import SourceKind
from sleepenv.evaluation.metrics import Interval, NightScore, Totals, score_night
from sleepenv.evaluation.naive import analyze_naive
from sleepenv.evaluation.report import DETECTORS, targets_for
from sleepenv.evaluation.spans import Span, detected_occupancy
from sleepenv.sim import NightTruth, generate_night


@dataclass(frozen=True, slots=True)
class Job:
    """One night to evaluate, by each of `detectors`."""

    seed: int
    profile: str
    hours: float
    config: ClassifyConfig
    detectors: tuple[str, ...] = ("sleepenv",)


def truth_occupied(truth: NightTruth) -> list[Span]:
    """The sleeper's true spans in bed: `occupied_spans()` where the simulator has it
    (absences mid-night split the stay), else getting in to getting out (or the end)."""
    spans = getattr(truth, "occupied_spans", None)
    if callable(spans):
        return [(float(a), float(b)) for a, b in spans()]
    if truth.in_bed is None:
        return []
    return [(truth.in_bed, truth.out_of_bed if truth.out_of_bed is not None else truth.end)]


def score_document(truth: NightTruth, doc: Mapping[str, Any]) -> NightScore:
    """Score one detector's document (the `analyze --json` keys) against the night's truth."""
    t = truth
    events = [Interval(e.onset, e.offset, e.cls.value, e.side) for e in t.events]
    detected = [Interval(e["onset"], e["offset"], e["class"]) for e in doc["events"]]
    occupied = truth_occupied(t)
    in_bed = (occupied[0][0], occupied[-1][1]) if occupied else None
    sleep = (t.sleep_onset, t.wake) if t.sleep_onset is not None and t.wake else None
    return score_night(
        events,
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
        occupied=occupied,
        occupied_detected=detected_occupancy(doc, doc.get("end") or t.end),
    )


def score_detectors(job: Job) -> dict[str, NightScore]:
    """Generate one night and score each detector of the job on it (a worker's task)."""
    night = generate_night(job.seed, job.profile, hours=job.hours)
    if night.source is not SourceKind.ENVELOPE:
        if "naive" in job.detectors:
            raise ValueError(f"the naive detector needs envelope frames, not {night.source}")
        doc = analyze_readings(night.zigbee_readings(), night.source, job.config)
        return {"sleepenv": score_document(night.truth, doc)}
    frames = list(night.frames())  # generated once, read by every detector
    scores = {}
    for detector in job.detectors:
        if detector == "sleepenv":
            doc = analyze_readings(frames, night.source, job.config)
        elif detector == "naive":
            doc = analyze_naive(frames)
        else:
            raise ValueError(f"unknown detector {detector!r}; allowed: {', '.join(DETECTORS)}")
        scores[detector] = score_document(night.truth, doc)
    return scores


def evaluate_night(job: Job) -> NightScore:
    """Generate, analyse and score one night with the job's first detector."""
    return score_detectors(job)[job.detectors[0]]


def detectors_for(detector: str, source: SourceKind) -> tuple[str, ...]:
    """The detectors that `--detector` names and that can read the profile's source."""
    chosen = DETECTORS if detector == "both" else (detector,)
    if detector not in (*DETECTORS, "both"):
        raise ValueError(f"unknown detector {detector!r}; allowed: {', '.join(DETECTORS)}, both")
    if source is not SourceKind.ENVELOPE:
        if detector == "naive":
            raise ValueError(f"the naive detector needs envelope frames, not {source}")
        chosen = ("sleepenv",)
    return chosen


def evaluate(
    profile: str,
    nights: int,
    *,
    detector: str = "sleepenv",
    first_seed: int = 1,
    hours: float = 8.0,
    plm_profile: str = "wasm",
    workers: int | None = None,
    show_progress: bool = True,
    config: ClassifyConfig | None = None,
) -> dict[str, dict[str, Any]]:
    """Score `nights` generated nights of `profile` (seeds from `first_seed`); one report
    per detector ("sleepenv", "naive", or "both"; naive is skipped on Zigbee profiles)."""
    source = generate_night(first_seed, profile, hours=hours).source
    detectors = detectors_for(detector, source)
    config = config or ClassifyConfig(plm_profile=plm_profile)
    seeds = range(first_seed, first_seed + nights)
    jobs = [Job(s, profile, hours, config, detectors) for s in seeds]
    totals = {d: Totals() for d in detectors}
    workers = workers or min(2, os.cpu_count() or 1)
    label = f"{profile} ({' + '.join(detectors)})"
    if workers <= 1:
        _collect(map(score_detectors, jobs), totals, len(jobs), label, show_progress=show_progress)
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            scores = pool.imap_unordered(score_detectors, jobs)
            _collect(scores, totals, len(jobs), label, show_progress=show_progress)
    reports = {}
    for name, total in totals.items():
        metrics = total.report()
        reports[name] = {
            "profile": profile,
            "detector": name,
            "source": source.value,
            "seeds": [first_seed, first_seed + nights - 1],
            "hours": hours,
            "plm_profile": plm_profile,
            "metrics": metrics,
            "targets": targets_for(profile, source.value, metrics),
        }
    return reports


def _collect(
    results: Iterable[dict[str, NightScore]],
    totals: dict[str, Totals],
    n: int,
    label: str,
    *,
    show_progress: bool,
) -> None:
    if not show_progress:
        for scores in results:
            _add(totals, scores)
        return
    from rich.progress import Progress  # noqa: PLC0415 - only the CLI shows progress

    with Progress() as progress:
        task = progress.add_task(f"{label}: {n} nights", total=n)
        for scores in results:
            _add(totals, scores)
            progress.advance(task)


def _add(totals: dict[str, Totals], scores: dict[str, NightScore]) -> None:
    for name, score in scores.items():
        totals[name].add(score)
