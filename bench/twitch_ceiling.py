"""How many twitches could any detector of sleepenv's kind find? A ceiling with hindsight.

Run: python bench/twitch_ceiling.py [--profile clean] [--nights 40] [--first-seed 1]
Writes bench/results/twitch_ceiling_<profile>.{json,md}.

The issue asks for twitch F1 >= 0.85; sleepenv reaches 0.71-0.78 on the clean-noise
profiles, and the twitches it misses are 0.45-0.8 x the resting level on two to four
samples. This script asks what the envelope allows at all. For each night it scores every
sample by one statistic: the residual against the median of the previous 0.5 s (the
detector's local reference), summed over one to four samples from there and divided by
sqrt(the count), the best of the four, in units of the robust scale of that minute's
quiet residuals. A per-night threshold, c x the 99th percentile of the statistic over the
night's quiet sleep, is chosen *with hindsight* (no live detector knows the whole night,
nor where the true events are), and gives

- the share of true twitches reaching it (the best position from one sample before the
  true onset to four after), and
- false events in quiet sleep: runs of quiet samples reaching it (0.5 s apart at least),
  per hour of quiet sleep, quiet meaning asleep by the truth and at least 3 s from every
  true movement, its ringing and any glitch.

Three versions of each night, the same noise in each:

- `as sensed`: the envelope as the sensor sends it;
- `beats masked`: the samples holding a heartbeat left out of every sum, the beat times
  taken from the simulator (the best any beat-timing gate could do);
- `beats removed`: the night rendered without the heartbeat (a perfect canceller, which
  would need each beat's size and its place within a 100 ms sample).

Beside them, sleepenv itself on the same nights: the share of true twitches it finds (as
any movement, and as a twitch) and its false events an hour in quiet sleep, from the same
scoring as `sleepenv evaluate`.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sleepenv.bed.analyze import analyze_readings
from sleepenv.bed.core.classify import ClassifyConfig
from sleepenv.evaluation.metrics import Interval, match
from sleepenv.evaluation.runner import score_document
from sleepenv.sim import generate_night
from sleepenv.sim.bcg import Heart
from sleepenv.sim.render import RenderPlan
from sleepenv.sim.synth import render_frames
from sleepenv.sim.truth import NightTruth

RESULTS = Path(__file__).parent / "results"
HZ = 10
REF = 5  # samples in the local reference (0.5 s)
KMAX = 4  # longest sum, in samples
QUIET_MARGIN = 3.0  # seconds from every true movement, its ringing and a glitch
FACTORS = (1.4, 1.5, 1.6, 1.7, 1.8, 2.0, 2.2, 2.5, 3.0, 3.5, 4.0, 5.0)
VARIANTS = ("as sensed", "beats masked", "beats removed")
BUDGETS = (0.05, 0.2, 1.0)  # false events an hour in quiet sleep


@dataclasses.dataclass
class Night:
    """One night's figures for one variant: what the thresholds need."""

    quiet_hours: float
    q99: float
    # (position, statistic) of quiet positions above the lowest threshold tried, in order
    tail: list[tuple[int, float]]
    twitches: list[float]  # each true twitch's best statistic


def samples(plan: RenderPlan) -> list[float]:
    """The night's rms samples on the 10 Hz grid (NaN where a dropout left none)."""
    by_index: dict[int, float] = {}
    for frame in render_frames(plan):
        k0 = round((frame.t - plan.start) * HZ)
        for i, x in enumerate(frame.rms):
            by_index[k0 + i] = x
    n = max(by_index) + 1 if by_index else 0
    return [by_index.get(i, math.nan) for i in range(n)]


def residuals(x: Sequence[float]) -> list[float]:
    """Each sample minus the median of the REF samples before it (NaN near gaps)."""
    out = [math.nan] * len(x)
    for i in range(REF, len(x)):
        window = x[i - REF : i]
        if any(math.isnan(v) for v in window) or math.isnan(x[i]):
            continue
        out[i] = x[i] - sorted(window)[REF // 2]
    return out


def statistic(r: Sequence[float], masked: Sequence[bool]) -> list[float]:
    """Best of sum(r[i:i+k]) / sqrt(k) for k = 1..KMAX, over unmasked finite samples."""
    n = len(r)
    out = [-math.inf] * n
    for i in range(n):
        total = 0.0
        count = 0
        best = -math.inf
        for j in range(i, min(i + KMAX, n)):
            v = r[j]
            if math.isnan(v):
                break
            if masked[j]:
                continue
            total += v
            count += 1
            s = total / math.sqrt(count)
            best = max(best, s)
        out[i] = best
    return out


def quiet_flags(plan: RenderPlan, truth: NightTruth, n: int) -> list[bool]:
    """Samples asleep by the truth, in bed, and clear of every movement and glitch."""
    flags = [False] * n
    if truth.sleep_onset is None or truth.wake is None:
        return flags
    for i in range(round((truth.sleep_onset - plan.start) * HZ), n):
        t = plan.start + i / HZ
        if t > truth.wake:
            break
        flags[i] = plan.is_occupied(t)
    busy = [(b.on, max(b.end, b.off)) for b in plan.bursts]
    busy += [(g, g) for g in truth.glitches]
    for a, b in busy:
        lo = max(0, math.floor((a - QUIET_MARGIN - plan.start) * HZ))
        hi = min(n, math.ceil((b + QUIET_MARGIN - plan.start) * HZ) + 1)
        flags[lo:hi] = [False] * (hi - lo)
    return flags


def minute_scale(
    r: Sequence[float], quiet: Sequence[bool], masked: Sequence[bool]
) -> Callable[[int], float]:
    """The robust scale (MAD x 1.4826) of each minute's quiet residuals, by sample index."""
    per_minute: dict[int, list[float]] = {}
    for i, v in enumerate(r):
        if quiet[i] and not masked[i] and not math.isnan(v):
            per_minute.setdefault(i // (60 * HZ), []).append(abs(v))
    scales = {m: sorted(v)[len(v) // 2] * 1.4826 for m, v in per_minute.items() if len(v) >= 60}
    keys = sorted(scales)

    def scale_at(i: int) -> float:
        if not keys:
            return 1.0
        k = min(bisect.bisect_left(keys, i // (60 * HZ)), len(keys) - 1)
        return scales[keys[k]] or 1.0

    return scale_at


def night_figures(plan: RenderPlan, truth: NightTruth, x: list[float], masked: list[bool]) -> Night:
    """Score one version of a night: the quiet tail and every true twitch's statistic."""
    r = residuals(x)
    quiet = quiet_flags(plan, truth, len(x))
    scale_at = minute_scale(r, quiet, masked)
    stat = statistic(r, masked)
    norm = [stat[i] / scale_at(i) for i in range(len(x))]
    quiet_values = sorted(norm[i] for i in range(len(x)) if quiet[i] and math.isfinite(norm[i]))
    q99 = quiet_values[int(0.99 * len(quiet_values))] if quiet_values else math.inf
    lowest = min(FACTORS) * q99
    tail = [(i, norm[i]) for i in range(len(x)) if quiet[i] and norm[i] >= lowest]
    twitches = []
    for e in truth.events:
        if e.side != "sleeper" or e.cls.value != "twitch":
            continue
        i0 = round((e.onset - plan.start) * HZ)
        around = [norm[i] for i in range(max(0, i0 - 1), min(len(x), i0 + 5))]
        twitches.append(max(around, default=-math.inf))
    return Night(len(quiet_values) / (3600 * HZ), q99, tail, twitches)


def beat_mask(plan: RenderPlan, n: int) -> list[bool]:
    """True on the samples a heartbeat of the sleeper's falls on (the simulator's beats)."""
    p = plan.params
    masked = [False] * n
    heart = Heart(plan.noise_key + ":heart", p.heart_hz, p.hrv, plan.start)
    for tb in heart.beats_before(plan.start + n / HZ):
        first = math.floor((tb - plan.start) * HZ)
        last = math.floor((tb + p.bcg_seconds - plan.start) * HZ)
        for i in range(max(0, first), min(n, last + 1)):
            masked[i] = True
    return masked


def sleepenv_figures(seed: int, profile: str, hours: float) -> dict[str, float]:
    """What sleepenv finds on the same night: twitches (any class, as twitch), false events."""
    night = generate_night(seed, profile, hours=hours)
    doc = analyze_readings(night.frames(), night.source, ClassifyConfig())
    truth = [e for e in night.truth.events if e.side == "sleeper"]
    t_iv = [Interval(e.onset, e.offset, e.cls.value, e.side) for e in truth]
    d_iv = [Interval(e["onset"], e["offset"], e["class"]) for e in doc["events"]]
    pairs = dict(match(t_iv, d_iv))
    twitch = [i for i, e in enumerate(truth) if e.cls.value == "twitch"]
    found = [i for i in twitch if i in pairs]
    as_twitch = [i for i in found if doc["events"][pairs[i]]["class"] == "twitch"]
    score = score_document(night.truth, doc)
    return {
        "twitches": len(twitch),
        "found": len(found),
        "as_twitch": len(as_twitch),
        "false_quiet": score.false_quiet,
        "quiet_hours": score.quiet_hours,
    }


def evaluate_threshold(nights: Sequence[Night], factor: float) -> tuple[float, float]:
    """(twitch recall, false events an hour in quiet sleep) at factor x each night's q99."""
    found = total = false = 0
    hours = 0.0
    for night in nights:
        th = factor * night.q99
        total += len(night.twitches)
        found += sum(1 for s in night.twitches if s >= th)
        last = -(10**9)
        for i, v in night.tail:
            if v >= th:
                if i - last > REF:
                    false += 1
                last = i
        hours += night.quiet_hours
    return (found / total if total else math.nan, false / hours if hours else math.nan)


def best_within(curve: Sequence[dict[str, float]], budget: float) -> float | None:
    """The highest recall among thresholds with at most `budget` false events an hour."""
    ok = [row["recall"] for row in curve if row["false_per_hour"] <= budget]
    return max(ok) if ok else None


def run(profile: str, seeds: range, hours: float) -> dict[str, Any]:
    """Every night of `seeds` in the three versions, and sleepenv on the same nights."""
    per_variant: dict[str, list[Night]] = {v: [] for v in VARIANTS}
    mine = {"twitches": 0, "found": 0, "as_twitch": 0, "false_quiet": 0.0, "quiet_hours": 0.0}
    started = time.monotonic()
    for done, seed in enumerate(seeds, 1):
        night = generate_night(seed, profile, hours=hours)
        plan, truth = night.plan, night.truth
        x = samples(plan)
        none = [False] * len(x)
        per_variant["as sensed"].append(night_figures(plan, truth, x, none))
        per_variant["beats masked"].append(night_figures(plan, truth, x, beat_mask(plan, len(x))))
        no_beats = dataclasses.replace(plan, params=dataclasses.replace(plan.params, bcg_rel=0.0))
        x0 = samples(no_beats)
        per_variant["beats removed"].append(night_figures(no_beats, truth, x0, [False] * len(x0)))
        for key, value in sleepenv_figures(seed, profile, hours).items():
            mine[key] += value
        elapsed = time.monotonic() - started
        left = elapsed / done * (len(seeds) - done)
        print(
            f"\r{profile}: night {done}/{len(seeds)}, about {left:.0f} s left ",
            end="",
            file=sys.stderr,
        )
    print(file=sys.stderr)
    curves = {
        v: [
            dict(
                zip(
                    ("factor", "recall", "false_per_hour"),
                    (f, *evaluate_threshold(ns, f)),
                    strict=True,
                )
            )
            for f in FACTORS
        ]
        for v, ns in per_variant.items()
    }
    return {
        "profile": profile,
        "seeds": [seeds.start, seeds.stop - 1],
        "hours": hours,
        "twitches": mine["twitches"],
        "curves": curves,
        "best_within": {v: {str(b): best_within(c, b) for b in BUDGETS} for v, c in curves.items()},
        "sleepenv": {
            "recall_any_class": mine["found"] / mine["twitches"] if mine["twitches"] else None,
            "recall_as_twitch": mine["as_twitch"] / mine["twitches"] if mine["twitches"] else None,
            "false_per_hour_quiet_sleep": (
                mine["false_quiet"] / mine["quiet_hours"] if mine["quiet_hours"] else None
            ),
        },
    }


def _fmt(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def markdown(result: dict[str, Any]) -> str:
    """The result as the table bench/README.md quotes."""
    lo, hi = result["seeds"]
    mine = result["sleepenv"]
    lines = [
        f"Twitch ceiling on `{result['profile']}`, seeds {lo}-{hi} ({result['twitches']} true "
        "twitches): the best twitch recall a per-night threshold chosen with hindsight reaches "
        "with at most this many false events an hour in quiet sleep.",
        "",
        "| signal | ≤ " + " | ≤ ".join(f"{b}/h" for b in BUDGETS) + " |",
        "|---|" + "---|" * len(BUDGETS),
    ]
    for v in VARIANTS:
        row = result["best_within"][v]
        lines.append(f"| {v} | " + " | ".join(_fmt(row[str(b)]) for b in BUDGETS) + " |")
    lines += [
        "",
        f"sleepenv on the same nights: twitch recall {_fmt(mine['recall_any_class'])} as any "
        f"movement, {_fmt(mine['recall_as_twitch'])} as a twitch, "
        f"{_fmt(mine['false_per_hour_quiet_sleep'])} false events an hour in quiet sleep.",
        "",
        "Every threshold tried (factor × the night's 99th percentile of the statistic in "
        "quiet sleep):",
        "",
        "| signal | factor | twitch recall | false events/h in quiet sleep |",
        "|---|---|---|---|",
    ]
    for v in VARIANTS:
        for row in result["curves"][v]:
            lines.append(
                f"| {v} | {row['factor']} | {_fmt(row['recall'])} | {_fmt(row['false_per_hour'])} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ceiling for one profile and write its JSON and Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="clean")
    parser.add_argument("--nights", type=int, default=40)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args.profile, range(args.first_seed, args.first_seed + args.nights), args.hours)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"twitch_ceiling_{args.profile}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result)
    stem.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
