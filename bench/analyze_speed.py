"""`sleepenv analyze` of a simulated night: this tree against an earlier revision.

Run: python bench/analyze_speed.py --base REV [--this REV] [--rounds 5] [--hours 8]
Writes bench/results/analyze_speed.{json,md}.

Makes `sleepenv record`-format recordings of one night each of the `clean`, `noisy` and
`zigbee` profiles (seed 1), checks that both trees' `analyze --json` output is
byte-identical for each, then runs `analyze` of the `clean` night in fresh processes,
the two trees taking turns, and compares the median CPU time (user + system of the whole
command, start-up included). The base revision is checked out into a temporary git
worktree, and so is `--this` when given (else the working tree runs, with whatever is
uncommitted in it); both trees run on this interpreter, with their bytecode cached.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from bench_trees import checked_out

from sleepenv.sim import generate_night, write_recording

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PROFILES = ("clean", "noisy", "zigbee")


def analyze(src: Path, recording: Path) -> tuple[bytes, float]:
    """The `analyze --json` output of the tree at `src`, and the command's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "sleepenv", "analyze", "--json", str(recording)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.stdout, cpu


def main() -> int:
    """Compare outputs, time both trees in turns, write the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--this", default=None, help="git revision (default: the working tree)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        checked_out(args.base, Path(tmp) / "base") as base_src,
        checked_out(args.this, Path(tmp) / "this")
        if args.this
        else nullcontext(ROOT / "src") as this_src,
    ):
        trees = {"base": base_src, "this": this_src}
        recordings = {}
        for profile in PROFILES:
            recordings[profile] = Path(tmp) / f"{profile}.jsonl"
            write_recording(generate_night(1, profile, hours=args.hours), recordings[profile])
        identical = {}
        for profile, path in recordings.items():
            outputs = {name: analyze(src, path)[0] for name, src in trees.items()}
            identical[profile] = outputs["base"] == outputs["this"]
            print(f"{profile}: analyze --json identical: {identical[profile]}")
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name, src in trees.items():
                seconds[name].append(analyze(src, recordings["clean"])[1])
            print(f"round {r + 1}: " + ", ".join(f"{n} {s[-1]:.2f} s" for n, s in seconds.items()))
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.this or "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    median = {name: statistics.median(s) for name, s in seconds.items()}
    night_seconds = args.hours * 3600
    result = {
        "base": args.base,
        "this": head,
        "hours": args.hours,
        "cpu_seconds": seconds,
        "median": median,
        "ratio": median["this"] / median["base"],
        "identical_json": identical,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analyze_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = "".join(
        f"| {label} | {median[name]:.2f} | {night_seconds / median[name]:,.0f}× "
        f"| {', '.join(f'{s:.2f}' for s in seconds[name])} |\n"
        for name, label in (("base", f"base ({args.base})"), ("this", f"this tree ({head})"))
    )
    same = ", ".join(f"{p} {'yes' if ok else 'NO'}" for p, ok in identical.items())
    table = (
        f"`sleepenv analyze --json` of a {args.hours:g} h `clean` night (seed 1, 10 Hz), CPU "
        f"of the whole command, median of {args.rounds} runs per tree taking turns.\n\n"
        "| tree | median CPU s | × real time | runs |\n|---|---|---|---|\n"
        f"{rows}\n"
        f"This tree takes {result['ratio']:.2f}× the base's CPU time. "
        f"`analyze --json` byte-identical between the trees: {same}.\n"
    )
    (RESULTS / "analyze_speed.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
