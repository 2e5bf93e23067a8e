"""How long the nightly chart takes to draw, and how much memory drawing adds.

Run: python bench/render_chart.py [--rounds 5] [--movements 300]
Writes bench/results/render_chart.{json,md}.

Each measurement runs in a fresh process that first imports what the service has loaded
anyway (sleepenv.service and the chart's data module), then draws an 8-hour night with the
given number of movements and the bedroom's panel under it (a thermometer reading a
minute, the phases, screens, a late caffeine; one process draws it without the panel, for
comparison): the first drawing (which imports matplotlib and loads its
fonts) and warm ones after it. Extra RSS is the process's peak resident memory after
drawing minus its resident memory just before, i.e. what rendering in the service's own
process costs. Two starts are measured: with matplotlib's font cache in place (every
start but the first on a machine) and with an empty cache directory (the very first).
Issue 14 asks for under 2 s and 60 MiB on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 2.0
TARGET_MIB = 60.0

RUNNER = """
import json, resource, sys, time
from datetime import UTC
from random import Random

import sleepenv.service  # noqa: F401 - what the service has imported already
from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary
from sleepenv.insights.core.bedroom import BedroomNight
from sleepenv.report.night import from_store


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


movements, rounds, with_bedroom = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
rng = Random(14)
t0 = 1_767_650_400.0
classes = [MovementClass.TWITCH] * 6 + [MovementClass.LIMB_MOVEMENT] * 6 + [
    MovementClass.PLM] * 5 + [MovementClass.ROLLOVER] * 2 + [MovementClass.HYPNIC_JERK]
events = [MovementEvent(t0, t0 + 60, 5.0, MovementClass.BOUT)]
for _ in range(movements - 2):
    at = t0 + 120 + rng.random() * 8 * 3600 - 240
    events.append(MovementEvent(at, at + rng.uniform(0.3, 9), 2.0, rng.choice(classes)))
events.append(MovementEvent(t0 + 8 * 3600 - 90, t0 + 8 * 3600, 5.0, MovementClass.BOUT))
summary = NightSummary("bench", "2026-01-05", t0 - 4 * 3600, t0 + 8 * 3600, {},
                       sleep_onset=t0 + 1200, plm_index=12.0)
# The bedroom's panel as guidance draws it: a thermometer a minute from 30 min before the
# wind-down to the morning, the phases, two screen-on stretches, a late caffeine.
room = BedroomNight(
    target_celsius=18.0,
    temperatures=tuple((t0 - 7200 + 60 * i, 20.5 - 2.5 * i / 600) for i in range(600)),
    wind_down_at=t0 - 5400, no_screen_at=t0 - 3600, lights_out_at=t0,
    screen_on=((t0 - 3000, t0 - 2400), (t0 + 600, t0 + 900)),
    overridden=((t0 - 2000, t0 - 1200),),
    caffeine_cutoff_at=t0 - 8 * 3600, caffeine=(t0 - 6 * 3600,),
)
night = from_store(summary, events, UTC, bedroom=room if with_bedroom else None)
before = rss_mib()
start = time.perf_counter()
from sleepenv.report.chart import render_night
first_png = render_night(night)
first = time.perf_counter() - start
warm = []
for _ in range(rounds):
    start = time.perf_counter()
    render_night(night)
    warm.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"first_seconds": first, "warm_seconds": warm, "rss_before_mib": before,
                  "rss_peak_mib": peak, "extra_rss_mib": peak - before,
                  "png_bytes": len(first_png), "movements": len(events)}))
"""


def measure(
    movements: int, rounds: int, cache_dir: Path | None, *, with_bedroom: bool = True
) -> dict[str, Any]:
    """One fresh process drawing the night once cold and `rounds` times warm."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["MPLCONFIGDIR"] = str(cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, str(movements), str(rounds), "1" if with_bedroom else "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Measure, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="warm drawings per process")
    parser.add_argument("--starts", type=int, default=3, help="processes with a font cache")
    parser.add_argument("--movements", type=int, default=300, help="movements in the night")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cached = Path(tmp) / "mpl"
        cold = measure(args.movements, args.rounds, cached)  # also fills the cache
        warm = [measure(args.movements, args.rounds, cached) for _ in range(args.starts)]
        plain = measure(args.movements, args.rounds, cached, with_bedroom=False)
    firsts = [w["first_seconds"] for w in warm]
    renders = [s for w in warm for s in w["warm_seconds"]]
    extra = [w["extra_rss_mib"] for w in warm]
    python = platform.python_version()
    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {python}",
        "movements": warm[0]["movements"],
        "png_bytes": warm[0]["png_bytes"],
        "first_render_seconds_median": statistics.median(firsts),
        "first_render_seconds_max": max(firsts),
        "warm_render_seconds_median": statistics.median(renders),
        "warm_render_seconds_max": max(renders),
        "extra_rss_mib_median": statistics.median(extra),
        "extra_rss_mib_max": max(extra),
        "empty_font_cache_first_render_seconds": cold["first_seconds"],
        "empty_font_cache_extra_rss_mib": cold["extra_rss_mib"],
        "target_seconds": TARGET_SECONDS,
        "target_extra_rss_mib": TARGET_MIB,
        "meets_target": max(firsts) < TARGET_SECONDS and max(extra) < TARGET_MIB,
        "without_panel_first_render_seconds": plain["first_seconds"],
        "without_panel_extra_rss_mib": plain["extra_rss_mib"],
        "runs": {"empty_font_cache": cold, "with_font_cache": warm, "without_panel": plain},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "render_chart.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = [
        f"# Nightly chart: render time and memory ({summary['movements']} movements, 8 h, "
        "with the bedroom's panel)",
        "",
        f"Machine: {summary['machine']}. Target (issue 14): under {TARGET_SECONDS:g} s and "
        f"{TARGET_MIB:g} MiB extra RSS.",
        "",
        "| what | median | max |",
        "|---|---|---|",
        f"| first render in a process (imports matplotlib), s | {statistics.median(firsts):.2f} "
        f"| {max(firsts):.2f} |",
        f"| later renders, s | {statistics.median(renders):.2f} | {max(renders):.2f} |",
        f"| extra RSS, MiB | {statistics.median(extra):.1f} | {max(extra):.1f} |",
        f"| first render with an empty font cache, s | {cold['first_seconds']:.2f} | |",
        f"| extra RSS with an empty font cache, MiB | {cold['extra_rss_mib']:.1f} | |",
        f"| without the panel: first render, s | {plain['first_seconds']:.2f} | |",
        f"| without the panel: extra RSS, MiB | {plain['extra_rss_mib']:.1f} | |",
        "",
        f"PNG size: {summary['png_bytes'] / 1024:.0f} KiB. Meets the target: "
        f"{'yes' if summary['meets_target'] else 'no'}.",
    ]
    (RESULTS / "render_chart.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
