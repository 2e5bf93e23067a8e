"""Score sleepenv and the naive floor against synthetic ground truth, for every profile.

Run: python bench/evaluate_all.py [--nights 100] [--first-seed 1] [--profiles clean ...]
     python bench/evaluate_all.py --table-only     (rebuild the table from the JSON files)
Writes <out>/evaluate_<profile>.json (sleepenv), <out>/evaluate_<profile>_naive.json (the
naive floor, same nights) and <out>/evaluate.md, <out> being bench/results by default.
Seeds 1-100 are the reported ones; tuning uses 1001-1016 (`--first-seed 1001 --nights 16`).
The same as `sleepenv evaluate --detector both --nights N --profile P --json FILE`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from sleepenv.evaluation.report import (
    DETECTOR_CHOICES,
    MARKDOWN_HEADER,
    markdown_row,
    rescore,
    target_row,
    worse_lines,
    worse_than_naive,
    write_report,
)
from sleepenv.evaluation.runner import evaluate
from sleepenv.sim import PROFILES as SIM_PROFILES

RESULTS = Path(__file__).parent / "results"
PROFILES = (
    "clean",
    "noisy",
    "plm_heavy",
    "partner",
    "restless_onset",
    "empty_bed",
    "zigbee",
    "ringing",
    "drift",
    "bcg_strong",
    "in_from_start",
    "out_midnight",
    "empty_first_hour",
)
WAKING_NOTE = (
    "Waking jerk column: precision / recall of the onsets of hypnic jerks followed by an "
    "awakening (matched within 1 s), and false ones per night; `–` = undefined (no true "
    "waking jerks in the profile), `not run` = that profile's JSON predates the metric. "
    "The naive floor never reports waking jerks."
)
TARGET_NOTE = (
    "Targets (issue 10) apply to every envelope profile, any-movement F1 ≥ 0.93 on noisy "
    "and ≥ 0.97 elsewhere; `empty_bed` is judged on false events and occupancy only, "
    "`zigbee` on onset only (the naive floor needs envelope frames: no naive row). "
    "`onset found` needs nights with someone in bed ≥ 5 h (`–` on shorter nights)."
)


def result_path(out: Path, profile: str, detector: str) -> Path:
    """evaluate_<profile>.json for sleepenv, evaluate_<profile>_naive.json for naive."""
    suffix = "" if detector == "sleepenv" else f"_{detector}"
    return out / f"evaluate_{profile}{suffix}.json"


def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    report = rescore(json.loads(path.read_text()))
    write_report(report, path)
    return report


def table(profiles: list[str], out: Path) -> str:
    """Both detectors' rows per profile side by side, target misses and "worse than naive"."""
    rows = [target_row("clean"), target_row("noisy")]
    misses, worse = [], []
    for profile in profiles:
        ours = _load(result_path(out, profile, "sleepenv"))
        naive = _load(result_path(out, profile, "naive"))
        rows += [markdown_row(r) for r in (ours, naive) if r is not None]
        if ours is not None:
            missed = [
                f"{name} {check['value']} (target {check['target']})"
                for name, check in ours["targets"].items()
                if check["met"] is False
            ]
            if missed:
                misses.append(f"- **{profile}** misses: " + "; ".join(missed))
        if ours is not None and naive is not None:
            try:
                worse += worse_lines(profile, worse_than_naive(ours, naive))
            except ValueError as exc:  # different seeds or hours: not comparable
                worse.append(f"- **{profile}**: not compared ({exc})")
    lines = [MARKDOWN_HEADER, *rows, "", TARGET_NOTE, "", WAKING_NOTE, ""]
    lines += ["Target misses (sleepenv):", "", *misses, ""]
    lines += ["Where sleepenv is worse than the naive floor:", "", *worse]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:
    """Evaluate each profile that the simulator has; skip (and say so) the others."""
    for profile in args.profiles:
        if profile not in SIM_PROFILES:
            print(f"{profile}: skipped, the simulator has no such profile yet")
            continue
        began = time.monotonic()
        reports = evaluate(
            profile,
            args.nights,
            detector=args.detector,
            first_seed=args.first_seed,
            hours=args.hours,
            workers=args.workers,
            show_progress=not args.quiet,
        )
        for name, report in reports.items():
            write_report(report, result_path(args.out, profile, name))
        print(f"{profile}: {' + '.join(reports)}, {time.monotonic() - began:.0f} s")


def main() -> None:
    """Run the profiles (or only rebuild the table) and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nights", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=1, help="tuning seeds start at 1001")
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES))
    parser.add_argument("--detector", choices=DETECTOR_CHOICES, default="both")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        run(args)
    text = table(list(PROFILES), args.out)
    (args.out / "evaluate.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
