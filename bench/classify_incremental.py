"""CPU per movement of a bed's tracker as its night grows, this tree against an earlier one.

Run: python bench/classify_incremental.py --base REV [--rounds 3] [--this REV]
Writes bench/results/classify_incremental.{json,md}.

Three nights, each movement classified as it comes:

- `asleep`: a Zigbee vibration sensor reports one movement per report (detection stays
  out of the way, classification is what is left): ten movements of getting into bed,
  half an hour still (the onset is found and confirmed), then a movement every 8–20 s,
  3,050 in all; measured at 100, 500, 1,000 and 3,000 movements.
- `zigbee_restless`: the same sensor reporting every second from getting into bed, so no
  sleep onset is ever found (what a burst of reports looks like to the tracker); measured
  at 600 and 3,000 movements.
- `envelope_restless`: a fine (envelope) sensor's movements while tossing and turning,
  2–10 s apart (turns, limb movements, twitches, now and then a startle), no onset
  either; the live classification alone (`LiveNight.classify`, what the tracker calls per
  movement; `classify_night` in a tree from before it existed), since detection would
  dominate; measured at 600 and 3,000 movements.

The Zigbee nights go through `BedTracker.on_reading` with a fake clock, as the service
calls it. The CPU time of the 50 movements after the night reached each length gives µs
per movement there. Trees run in fresh processes taking turns, the median of the rounds
per tree; `--base` (and `--this`, default the working tree) are checked out into
temporary git worktrees.
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
SCENARIOS = {
    "asleep": (100, 500, 1000, 3000),
    "zigbee_restless": (600, 3000),
    "envelope_restless": (600, 3000),
}
TITLES = {
    "asleep": "Zigbee, asleep after half an hour",
    "zigbee_restless": "Zigbee, a report every second, no onset",
    "envelope_restless": "envelope, restless, no onset",
}
MEASURED = 50
# Runs inside each tree's own interpreter environment: only APIs both trees share.
RUNNER = """
import json, random, sys, time
from datetime import UTC, time as clock_time
from sleepenv.bed.core.model import MovementClass, MovementEvent, SourceKind, ZigbeeVibration
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec

scenario, at, measured = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
rng = random.Random(12)
t = 1767571200.0 + 60.0  # 2026-01-05 00:01 UTC
count = max(at) + measured
spent = {}


def take(i, seconds):
    for n in at:
        if n <= i < n + measured:
            spent[n] = spent.get(n, 0.0) + seconds


if scenario == "envelope_restless":
    try:
        from sleepenv.bed.core.classify import ClassifyConfig
        from sleepenv.bed.core.live import LiveNight

        classify = LiveNight(ClassifyConfig()).classify
    except ImportError:  # a tree from before the live night: the whole night each time
        from sleepenv.bed.core.classify import classify_night as classify
    events = []
    start = t
    for i in range(count):
        t += rng.uniform(2.0, 10.0)
        r = rng.random()
        cls, seconds, strength = (
            (MovementClass.ROLLOVER, 6.0, 2.0) if r < 0.5
            else (MovementClass.LIMB_MOVEMENT, 1.5, 2.0) if r < 0.75
            else (MovementClass.TWITCH, 0.3, 2.0) if r < 0.92
            else (MovementClass.LIMB_MOVEMENT, 1.0, 6.0)
        )
        events.append(
            MovementEvent(t, t + seconds, 2.0, cls, SourceKind.ENVELOPE, "s", strength=strength)
        )
        c0 = time.process_time()
        night = classify(events, start, t + seconds + 1.0)
        take(i, time.process_time() - c0)
    assert night.sleep.sleep_onset is None, night.sleep
else:
    times = []
    for i in range(count):
        if scenario == "asleep":
            t += 30.0 if i < 10 else 1800.0 if i == 10 else rng.uniform(8.0, 20.0)
        else:
            t += 1.0
        times.append(t)
    window = NightWindow(clock_time(0), clock_time(23, 59, 59), UTC)
    bed = BedTracker("bench", window, [SensorSpec("z", SourceKind.ZIGBEE_VIBRATION)])
    bed.restore(times[0] - 1.0, [], {}, {})
    for i, t in enumerate(times):
        reading = ZigbeeVibration(t, "vibration", strength=10.0 + (i % 7))
        c0 = time.process_time()
        bed.on_reading("z", reading, t)
        take(i, time.process_time() - c0)
    assert len(bed.tonight) == len(times), len(bed.tonight)
    if scenario == "zigbee_restless":
        assert bed.classification.sleep.sleep_onset is None, bed.classification.sleep
print(json.dumps({str(n): spent[n] / measured * 1e6 for n in at}))
"""


def run_once(src: Path, scenario: str) -> dict[str, float]:
    """µs of CPU per movement at each night length of `scenario`, for the tree at `src`."""
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, scenario, json.dumps(SCENARIOS[scenario]), str(MEASURED)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def table(base: str, this: str, medians: dict[str, dict[str, dict[str, float]]]) -> str:
    """The markdown table of the medians and their ratio, per night."""
    rows = [
        f"| night | movements tonight | base `{base}` µs/movement "
        f"| this `{this}` µs/movement | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for scenario, at in SCENARIOS.items():
        for n in at:
            b, t = medians[scenario]["base"][str(n)], medians[scenario]["this"][str(n)]
            rows.append(f"| {TITLES[scenario]} | {n:,} | {b:,.0f} | {t:,.0f} | {b / t:.1f}× |")
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
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            scenario: {name: [] for name in trees} for scenario in SCENARIOS
        }
        for _ in range(args.rounds):
            for scenario in SCENARIOS:
                for name, src in trees.items():
                    runs[scenario][name].append(run_once(src, scenario))
    medians = {
        scenario: {
            name: {str(n): statistics.median(r[str(n)] for r in rs) for n in SCENARIOS[scenario]}
            for name, rs in by_tree.items()
        }
        for scenario, by_tree in runs.items()
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
