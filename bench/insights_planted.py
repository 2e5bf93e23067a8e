"""Whether the insights find the habits' planted effects, and nothing else.

Run: python bench/insights_planted.py [--runs 100] [--nights 14]
Writes bench/results/insights_planted.{json,md}.

Each run is a simulated stretch of nights (sleepenv.sim.habits): every night draws its
habits independently (late caffeine 40 %, late exercise 30 %, screens in the window 50 %,
room 17-21.5 °C, bedtime ± 40 min), the planted effects change the sleeper (late caffeine:
+2 hypnic jerks and 12 min longer to fall asleep; screens: 10 min longer; a room at
19.5 °C or warmer: 1.6 × the twitches), and the insights compare the nights' true
outcomes. Two arms: with the effects, and with none planted at all.

Reported beside sleepenv's method (permutation p-values, Benjamini-Hochberg at 5 %) is the
naive rule a person reading a chart would use: any comparison with an uncorrected p below
0.05 is a finding. Measured: how often each planted effect is found (recall); in the
no-effect arm, the share of runs with any finding (target <= 5 %); in the effect arm, the
share of runs with a finding on a pair nothing was planted on. The outcomes are the
simulator's truth, so this checks the statistics, not the detector.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from rich.progress import Progress

from sleepenv.insights.core.factors import Factor, NightRecord, Outcome
from sleepenv.insights.core.findings import Comparison, compare_all
from sleepenv.sim import generate_night
from sleepenv.sim.habits import NO_EFFECTS, HabitEffects, fortnight_nights, night_seed, truth_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
NAIVE_P = 0.05


def run_records(seed: int, nights: int, effects: HabitEffects) -> list[NightRecord]:
    """The true records of one simulated stretch of `nights` nights with these effects."""
    return [
        truth_record(label, generate_night(night_seed(seed, i), profile).truth, habits)
        for i, (label, habits, profile) in enumerate(fortnight_nights(seed, nights, effects))
    ]


def found(comparisons: list[Comparison], *, naive: bool) -> set[tuple[Factor, Outcome]]:
    """The (factor, outcome) pairs found: the insights' findings, or every p < 0.05."""
    if naive:
        return {
            (c.factor, c.outcome)
            for c in comparisons
            if c.result is not None and c.result.p_value < NAIVE_P
        }
    return {(c.factor, c.outcome) for c in comparisons if c.finding}


def arm(runs: int, nights: int, effects: HabitEffects, label: str) -> dict[str, object]:
    """Recall and false findings of both rules over `runs` stretches with these effects."""
    planted = effects.planted()
    hits: dict[str, Counter[str]] = {"sleepenv": Counter(), "naive": Counter()}
    any_false = Counter[str]()
    false_pairs = Counter[str]()
    false_by_pair: dict[str, Counter[str]] = {"sleepenv": Counter(), "naive": Counter()}
    tested = 0
    with Progress() as progress:
        task = progress.add_task(f"{label}: {runs} runs of {nights} nights", total=runs)
        for seed in range(1, runs + 1):
            comparisons = compare_all(run_records(seed, nights, effects))
            tested += sum(c.result is not None for c in comparisons)
            for method, counter in hits.items():
                got = found(comparisons, naive=method == "naive")
                for pair in got & planted:
                    counter[f"{pair[0]}->{pair[1]}"] += 1
                wrong = got - planted
                any_false[method] += bool(wrong)
                false_pairs[method] += len(wrong)
                false_by_pair[method].update(f"{f}->{o}" for f, o in wrong)
            progress.advance(task)
    return {
        "runs": runs,
        "nights": nights,
        "planted": sorted(f"{f}->{o}" for f, o in planted),
        "recall": {m: {k: v / runs for k, v in sorted(c.items())} for m, c in hits.items()},
        "runs_with_a_false_finding": {m: any_false[m] / runs for m in hits},
        "false_findings_per_comparison": {m: false_pairs[m] / max(tested, 1) for m in hits},
        "comparisons_per_run": tested / runs,
        "false_findings_by_pair": {m: dict(c.most_common()) for m, c in false_by_pair.items()},
    }


def markdown(results: dict[str, dict[str, object]]) -> str:
    """The results as the Markdown report."""
    lines = ["# Insights on planted effects", ""]
    for name, r in results.items():
        lines += [f"## {name}: {r['runs']} runs of {r['nights']} nights", ""]
        lines += ["| | sleepenv (BH 5 %) | naive (p < 0.05) |", "|---|---|---|"]
        fals = r["runs_with_a_false_finding"]
        assert isinstance(fals, dict)
        lines.append(
            f"| runs with any false finding | {fals['sleepenv']:.0%} | {fals['naive']:.0%} |"
        )
        per = r["false_findings_per_comparison"]
        assert isinstance(per, dict)
        lines.append(
            f"| false findings per comparison | {per['sleepenv']:.1%} | {per['naive']:.1%} |"
        )
        recall = r["recall"]
        assert isinstance(recall, dict)
        planted = r["planted"]
        assert isinstance(planted, list)
        for pair in planted:
            s, n = recall["sleepenv"].get(pair, 0.0), recall["naive"].get(pair, 0.0)
            lines.append(f"| found: {pair} | {s:.0%} | {n:.0%} |")
        by_pair = r["false_findings_by_pair"]
        assert isinstance(by_pair, dict)
        if by_pair["sleepenv"]:
            worst = ", ".join(f"{k} ({v})" for k, v in by_pair["sleepenv"].items())
            lines += ["", f"sleepenv's findings on pairs nothing was planted on: {worst}."]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Run both arms for each stretch length and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--nights", type=int, nargs="+", default=[14, 28])
    args = parser.parse_args()
    results: dict[str, dict[str, object]] = {}
    for nights in args.nights:
        results[f"no effect planted, {nights} nights"] = arm(
            args.runs, nights, NO_EFFECTS, f"no effect, {nights} nights"
        )
        results[f"effects planted, {nights} nights"] = arm(
            args.runs, nights, HabitEffects(), f"effects, {nights} nights"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "insights_planted.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (RESULTS / "insights_planted.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
