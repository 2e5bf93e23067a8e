"""Score detection + classification against synthetic ground truth, for every profile.

Run: python bench/evaluate_all.py [--nights 100] [--profiles clean noisy ...]
     python bench/evaluate_all.py --table-only     (rebuild the table from the JSON files)
Writes bench/results/evaluate_<profile>.json (every metric) and bench/results/evaluate.md.
The same as `sleepenv evaluate --nights N --profile P --json FILE` per profile.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sleepenv.evaluation.runner import (
    MARKDOWN_HEADER,
    evaluate,
    markdown_row,
    rescore,
    write_report,
)

RESULTS = Path(__file__).parent / "results"
PROFILES = ("clean", "noisy", "plm_heavy", "partner", "restless_onset", "empty_bed", "zigbee")
WAKING_NOTE = (
    "Waking jerk column: precision / recall of the onsets of hypnic jerks followed by an "
    "awakening (matched within 1 s), and false ones per night; `–` = undefined (no true "
    "waking jerks in the profile), `not run` = that profile's JSON predates the metric."
)


def table(profiles: list[str]) -> str:
    """The markdown table of headline numbers, plus the target misses per profile."""
    rows, misses = [], []
    for profile in profiles:
        path = RESULTS / f"evaluate_{profile}.json"
        if not path.exists():
            continue
        report = rescore(json.loads(path.read_text()))
        write_report(report, path)
        rows.append(markdown_row(report))
        missed = [
            f"{name} {check['value']} (target {check['target']})"
            for name, check in report["targets"].items()
            if check["met"] is False
        ]
        if missed:
            misses.append(f"- **{profile}** misses (clean-profile targets): " + "; ".join(missed))
    lines = [MARKDOWN_HEADER, *rows, "", WAKING_NOTE, "", *misses]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the profiles (or only rebuild the table) and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nights", type=int, default=100)
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not args.table_only:
        for profile in args.profiles:
            began = time.monotonic()
            report = evaluate(profile, args.nights, workers=args.workers)
            write_report(report, RESULTS / f"evaluate_{profile}.json")
            print(f"{profile}: {time.monotonic() - began:.0f} s")
    text = table(list(PROFILES))
    (RESULTS / "evaluate.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
