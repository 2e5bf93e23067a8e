"""Do two trees' envelope detectors make exactly the same decisions? Not a speed test.

Run: python bench/detector_equivalence.py [--base HEAD] [--this REV] [--hours 8]
     [--seeds 1-5] [--profiles clean,noisy,bcg_strong,ringing]

Simulated nights (made once, here) are sent as the JSON payloads a sensor sends through
each tree's own ESPHome decoder and EnvelopeDetector, in a fresh process per tree (the
base revision is checked out into a temporary git worktree; so is `--this`, when given,
instead of the working tree: other uncommitted changes then stay out of the comparison).
Every output (MovementEvent and MovementStarted fields, Dropouts), the per-minute
breathing evidence and level, the glitch count and what a final flush emits are written
with repr(), which prints floats exactly, and compared line by line: equal means
identical, with no tolerance.
Exit status 0 when every night matches, 1 otherwise (the first difference is printed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from bench_trees import checked_out

from sleepenv.sim import frame_to_payload, generate_night

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILES = "clean,noisy,bcg_strong,ringing"

# Runs inside each tree's own environment: only APIs both trees share.
RUNNER = """
import sys
from sleepenv.bed.esphome import decode_envelope
from sleepenv.bed.core.detector import EnvelopeDetector
from sleepenv.bed.core.model import EnvelopeFrame

out = open(sys.argv[2], "w")
for path in sys.argv[1].split(","):
    lines = open(path, "rb").read().splitlines()
    det = EnvelopeDetector(sensor="s", side="left")
    minute = None
    out.write(f"night {path.rsplit('/', 1)[-1]}\\n")
    for i, line in enumerate(lines):
        received, _, payload = line.partition(b"\t")
        frame = decode_envelope(payload, float(received))
        if not isinstance(frame, EnvelopeFrame):
            out.write(f"rejected {i} {frame!r}\\n")
            continue
        for o in det.feed(frame):
            out.write(f"{i} {o!r}\\n")
        m = int(frame.t // 60)
        if m != minute:
            minute = m
            out.write(f"minute {m} rhythm={det.take_rhythm()!r} level={det.level!r} "
                      f"moving={det.is_moving} last={det.last_sample_at!r}\\n")
    for o in det.flush(float("nan")):
        out.write(f"flush {o!r}\\n")
    out.write(f"glitches {det.glitches}\\n")
out.close()
"""


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def _write_nights(tmp: Path, profiles: list[str], seeds: list[int], hours: float) -> list[Path]:
    paths = []
    for profile in profiles:
        for seed in seeds:
            path = tmp / f"{profile}-{seed}.jsonl"
            frames = generate_night(seed, profile, hours=hours).frames()
            # Each line: the receive time (just after the frame's end), a tab, the payload.
            lines = [
                f"{f.end + 0.05!r}\t{json.dumps(frame_to_payload(f))}".encode() for f in frames
            ]
            path.write_bytes(b"\n".join(lines))
            paths.append(path)
    return paths


def _run(src: Path, nights: list[Path], out: Path) -> list[str]:
    subprocess.run(
        [sys.executable, "-c", RUNNER, ",".join(map(str, nights)), str(out)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return out.read_text().splitlines()


def main() -> int:
    """Run both trees over the same nights and compare every output line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="HEAD", help="git revision to compare against")
    parser.add_argument(
        "--this", default=None, help="git revision to compare (default: the working tree)"
    )
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seeds", default="1-5", help="a seed or a range, e.g. 1-5")
    parser.add_argument("--profiles", default=DEFAULT_PROFILES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        this_tree = checked_out(args.this, tmp / "this") if args.this else nullcontext(ROOT / "src")
        with checked_out(args.base, tmp / "base") as base_src, this_tree as this_src:
            nights = _write_nights(tmp, args.profiles.split(","), _seeds(args.seeds), args.hours)
            base = _run(base_src, nights, tmp / "base.txt")
            this = _run(this_src, nights, tmp / "this.txt")
    events = sum(1 for line in base if "MovementEvent(" in line)
    minutes = sum(1 for line in base if line.startswith("minute "))
    for i, (a, b) in enumerate(zip(base, this, strict=False)):
        if a != b:
            print(f"DIFFERENT at line {i + 1}:\n  base: {a}\n  this: {b}")
            return 1
    if len(base) != len(this):
        print(f"DIFFERENT lengths: base {len(base)} lines, this {len(this)}")
        return 1
    print(
        f"identical: {len(nights)} nights, {len(base)} lines "
        f"({events} movement events, {minutes} minutes of rhythm and level)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
