"""CPU per movement of a bed's tracker as its night grows, this tree against an earlier one.

Run: python bench/classify_incremental.py --base REV [--rounds 3] [--this REV]
Writes bench/results/classify_incremental.{json,md}.

A Zigbee vibration sensor reports one movement per report (detection stays out of the
way, classification is what is left): ten movements of getting into bed, half an hour
still (the onset is found and confirmed), then a movement every 8–20 s, 3,050 in all.
Each report goes through `BedTracker.on_reading` with a fake clock, as the service calls
it; the CPU time of the 50 reports after the night reached 100, 500, 1,000 and 3,000
movements gives µs per movement there. Trees run in fresh processes taking turns, the
median of the rounds per tree; `--base` (and `--this`, default the working tree) are
checked out into temporary git worktrees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench_trees import checked_out

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
AT = (100, 500, 1000, 3000)
MEASURED = 50
# Runs inside each tree's own interpreter environment: only APIs both trees share.
RUNNER = """
import json, random, sys, time
from datetime import UTC, time as clock_time
from sleepenv.bed.core.model import SourceKind, ZigbeeVibration
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec

at, measured = json.loads(sys.argv[1]), int(sys.argv[2])
rng = random.Random(12)
t = 1767571200.0 + 60.0  # 2026-01-05 00:01 UTC
times = []
for i in range(max(at) + measured):
    t += 30.0 if i < 10 else 1800.0 if i == 10 else rng.uniform(8.0, 20.0)
    times.append(t)
window = NightWindow(clock_time(0), clock_time(23, 59, 59), UTC)
bed = BedTracker("bench", window, [SensorSpec("z", SourceKind.ZIGBEE_VIBRATION)])
bed.restore(times[0] - 1.0, [], {}, {})
spent = {}
for i, t in enumerate(times):
    reading = ZigbeeVibration(t, "vibration", strength=10.0 + (i % 7))
    c0 = time.process_time()
    bed.on_reading("z", reading, t)
    c1 = time.process_time()
    for n in at:
        if n <= i < n + measured:
            spent[n] = spent.get(n, 0.0) + c1 - c0
assert len(bed.tonight) == len(times), len(bed.tonight)
print(json.dumps({str(n): spent[n] / measured * 1e6 for n in at}))
"""


def run_once(src: Path) -> dict[str, float]:
    """µs of CPU per movement at each night length, for the tree at `src`."""
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(AT), str(MEASURED)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def table(base: str, this: str, medians: dict[str, dict[str, float]]) -> str:
    """The markdown table of the medians and their ratio."""
    rows = [
        f"| movements tonight | base `{base}` µs/movement | this `{this}` µs/movement | ratio |",
        "|---:|---:|---:|---:|",
    ]
    for n in AT:
        b, t = medians["base"][str(n)], medians["this"][str(n)]
        rows.append(f"| {n:,} | {b:,.0f} | {t:,.0f} | {b / t:.1f}× |")
    return "\n".join(rows) + "\n"


def main() -> int:
    """Time both trees in turns and write the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--this", help="git revision to measure (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        trees = {"base": stack.enter_context(checked_out(args.base, Path(tmp) / "base"))}
        if args.this:
            trees["this"] = stack.enter_context(checked_out(args.this, Path(tmp) / "this"))
        else:
            trees["this"] = ROOT / "src"
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, src in trees.items():
                runs[name].append(run_once(src))
    medians = {
        name: {str(n): statistics.median(r[str(n)] for r in rs) for n in AT}
        for name, rs in runs.items()
    }
    this = args.this or "working tree"
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {"base": args.base, "this": this, "medians_us": medians, "runs_us": runs}
    (RESULTS / "classify_incremental.json").write_text(json.dumps(document, indent=2) + "\n")
    text = table(args.base, this, medians)
    (RESULTS / "classify_incremental.md").write_text(
        f"# CPU per movement as the night grows (median of {args.rounds} rounds)\n\n{text}"
    )
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
