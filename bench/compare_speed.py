"""Detection speed of this tree against an earlier revision, in one run (ratios, not rates).

Run: python bench/compare_speed.py --base REV [--rounds 5] [--hours 8]
Writes bench/results/compare_speed.{json,md}.

Both trees read the same synthetic night (made once, here, as the JSON payloads a sensor
sends) through their own decode → detect → count pipeline, in fresh processes taking
turns, so load on the machine hits both alike. CPU time per run is compared, the median
of the rounds per tree. The base revision is checked out into a temporary git worktree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_trees import checked_out

from sleepenv.sim import frame_to_payload, generate_night

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# Runs inside each tree's own interpreter environment: only APIs both trees share.
RUNNER = """
import json, sys, time
from datetime import UTC
from pathlib import Path
from sleepenv.bed.pipeline import Pipeline
from sleepenv.config.settings import Settings

settings = Settings(
    beds=[{"id": "bench", "name": "Bench", "sensors": [{"kind": "envelope", "topic": "b/env"}]}],
    night={"start": "00:00", "end": "23:59:59"},
    storage={"data_dir": sys.argv[2]},
)
lines = Path(sys.argv[1]).read_bytes().splitlines()
start = json.loads(lines[0])["t"]
pipeline = Pipeline(settings, {"bench": UTC})
t0 = time.process_time()
for i, payload in enumerate(lines):
    pipeline.handle("b/env", payload, start + i + 1.0)
print(time.process_time() - t0)
"""


def run_once(src: Path, data: Path, scratch: Path) -> float:
    """CPU seconds for one pass of the night through the pipeline of the tree at `src`."""
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, str(data), str(scratch)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Time both trees in turns and write the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        checked_out(args.base, Path(tmp) / "base") as base_src,
    ):
        data = Path(tmp) / "night.jsonl"
        night = generate_night(7, "clean", hours=args.hours)
        data.write_bytes(
            b"\n".join(json.dumps(frame_to_payload(f)).encode() for f in night.frames())
        )
        trees = {"base": base_src, "this": ROOT / "src"}
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name, src in trees.items():
                seconds[name].append(run_once(src, data, Path(tmp)))
            print(f"round {r + 1}: " + ", ".join(f"{n} {s[-1]:.2f} s" for n, s in seconds.items()))
    median = {name: statistics.median(s) for name, s in seconds.items()}
    ratio = median["this"] / median["base"]
    result = {"base": args.base, "hours": args.hours, "cpu_seconds": seconds, "ratio": ratio}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    table = (
        f"| tree | median CPU s for {args.hours:g} h | runs |\n|---|---|---|\n"
        f"| base ({args.base}) | {median['base']:.2f} | {len(seconds['base'])} |\n"
        f"| this tree | {median['this']:.2f} | {len(seconds['this'])} |\n\n"
        f"This tree takes {ratio:.2f}× the base's CPU time for the same night.\n"
    )
    (RESULTS / "compare_speed.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
