"""The service's resident memory after start and after drawing the nightly chart.

Run: python bench/chart_memory.py [--movements 300]
Writes bench/results/chart_memory.{json,md}.

A real Mosquitto, and for each way of drawing a fresh process running the service with
one bed and the guidance bedroom that follows it: its RSS once connected and settled, then
after the chart of a stored 8-hour night (with the bedroom's evening, so the chart has its
bedroom panel) is drawn and published, then after a second chart. `child` is how the
service draws (a fresh interpreter per chart, `python -m sleepenv.report.entity`, that
exits after it); `thread` is how it drew before (in a worker thread of the service's own process, so
matplotlib stays imported). The child's peak RSS is the largest of the reaped children's
(`RUSAGE_CHILDREN`); processes left are the service's children after the second chart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from random import Random
from typing import Any

import aiomqtt

from sleepenv.bed import discovery
from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary
from sleepenv.bed.store import Store
from sleepenv.bootstrap import build_service
from sleepenv.config.settings import Settings
from sleepenv.insights.core.bedroom import BedroomNight, to_json
from sleepenv.mqtt.broker import start_mosquitto
from sleepenv.report import entity as chart_entity

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MODES = ("child", "thread")
SETTLE_SECONDS = 3.0  # after start or a chart: the child exits, the heap settles
CHART_SECONDS = 120.0


def rss_mib() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def child_processes() -> int:
    """How many child processes this process has now."""
    me = str(os.getpid())
    n = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text()
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        n += stat.rsplit(")", 1)[-1].split()[1] == me
    return n


def store_night(data_dir: Path, movements: int, night: str) -> NightSummary:
    """A closed 8-hour night with `movements` movements, written to the service's store."""
    rng = Random(14)
    t0 = time.time() - 2 * 86400
    classes = [MovementClass.TWITCH] * 6 + [MovementClass.LIMB_MOVEMENT] * 6
    classes += [MovementClass.PLM] * 5 + [MovementClass.ROLLOVER] * 2
    classes += [MovementClass.HYPNIC_JERK]
    summary = NightSummary(
        "main", night, t0 - 600, t0 + 8 * 3600, {}, sleep_onset=t0 + 1200, plm_index=12.0,
        in_bed_spans=((t0 - 300, t0 + 8 * 3600),), wake=t0 + 8 * 3600 - 600,
    )  # fmt: skip
    # The bedroom's evening as the guidance records it: a reading a minute, the phases,
    # screens and a late caffeine, so that the chart has its bedroom panel.
    room = BedroomNight(
        target_celsius=18.0,
        temperatures=tuple((t0 - 7200 + 60 * i, 20.5 - 2.5 * i / 600) for i in range(600)),
        wind_down_at=t0 - 5400, no_screen_at=t0 - 3600, lights_out_at=t0,
        screen_on=((t0 - 3000, t0 - 2400), (t0 + 600, t0 + 900)),
        caffeine_cutoff_at=t0 - 8 * 3600, caffeine=(t0 - 6 * 3600,),
    )  # fmt: skip
    store = Store(data_dir / "sleepenv.db")
    try:
        for i in range(movements):
            at = t0 + i * 8 * 3600 / movements + rng.random() * 30
            event = MovementEvent(at, at + rng.uniform(0.3, 9), 2.0, rng.choice(classes))
            store.add_event("main", night, event)
        store.save_night(summary)
        store.save_bedroom("bedroom", night, to_json(room))
    finally:
        store.close()
    return summary


# Replaces Renderer.render, whose signature (with `self`) it must keep.
async def draw_in_thread(self: chart_entity.Renderer, night: Any) -> bytes:  # noqa: ARG001
    """How the service drew before: in a worker thread of its own process."""
    return await asyncio.to_thread(chart_entity.render, night)


async def run_service(host: str, port: int, mode: str, movements: int) -> dict[str, Any]:
    """The service in this process: its RSS after start and after two charts."""
    if mode == "thread":
        chart_entity.Renderer.render = draw_in_thread  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings(
            mqtt={"host": host, "port": port, "client_id": f"bench-{mode}",
                  "base_topic": f"bench{mode}", "discovery_prefix": f"bench{mode}ha"},
            beds=[{"id": "main", "name": "Main bed",
                   "sensors": [{"kind": "envelope", "topic": f"bench{mode}/bed/env"}]}],
            storage={"data_dir": data_dir},
            guidance={"bedrooms": [{"id": "bedroom", "bed": "main"}]},
        )  # fmt: skip
        topic = discovery.chart_topic(settings.mqtt, "main")
        service = build_service(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        result: dict[str, Any] = {"mode": mode}
        try:
            async with aiomqtt.Client(host, port) as client:
                await client.subscribe(topic)
                await asyncio.wait_for(service.is_connected.wait(), 10)
                await asyncio.sleep(SETTLE_SECONDS)
                result["rss_after_start_mib"] = rss_mib()
                for i, night in enumerate(("2026-01-05", "2026-01-06"), start=1):
                    summary = store_night(data_dir, movements, night)
                    # Asked for the way a closing night asks for its chart.
                    service.bed.want_chart("main", summary)
                    async with asyncio.timeout(CHART_SECONDS):
                        async for message in client.messages:
                            if isinstance(message.payload, bytes) and message.payload:
                                result["png_bytes"] = len(message.payload)
                                break
                    await asyncio.sleep(SETTLE_SECONDS)
                    result[f"rss_after_chart_{i}_mib"] = rss_mib()
            result["processes_left"] = child_processes()
            result["chart_failures"] = service.chart_failures
            result["matplotlib_imported"] = "matplotlib" in sys.modules
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    result["child_peak_rss_mib"] = children if mode == "child" else None
    return result


def measure(host: str, port: int, mode: str, movements: int) -> dict[str, Any]:
    """One fresh process running the service in `mode`."""
    out = subprocess.run(
        [sys.executable, __file__, "--run", mode, "--host", host, "--port", str(port),
         "--movements", str(movements)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def write(results: list[dict[str, Any]], movements: int) -> None:
    """bench/results/chart_memory.{json,md}."""
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"machine": machine, "movements": movements, "runs": results}
    (RESULTS / "chart_memory.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = [
        f"# The service's RSS around the nightly chart ({movements} movements, 8 h, with the "
        "bedroom's panel)",
        "",
        f"Machine: {machine}. RSS of the service's process, {SETTLE_SECONDS:g} s after each step.",
        "",
        "| drawn in | after start, MiB | after a chart, MiB | after a second chart, MiB "
        "| child's peak, MiB | processes left | matplotlib in the service |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        child = f"{r['child_peak_rss_mib']:.0f}" if r["child_peak_rss_mib"] else "–"
        lines.append(
            f"| {r['mode']} | {r['rss_after_start_mib']:.0f} | {r['rss_after_chart_1_mib']:.0f}"
            f" | {r['rss_after_chart_2_mib']:.0f} | {child} | {r['processes_left']}"
            f" | {'yes' if r['matplotlib_imported'] else 'no'} |"
        )
    lines += ["", f"PNG size: {results[0]['png_bytes'] // 1024} KiB; chart failures: "
              f"{', '.join(str(r['chart_failures']) for r in results)}.", ""]  # fmt: skip
    (RESULTS / "chart_memory.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    """Measure each way of drawing, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movements", type=int, default=300, help="movements in the night")
    parser.add_argument("--run", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        result = asyncio.run(run_service(args.host, args.port, args.run, args.movements))
        print(json.dumps(result))
        return
    broker = start_mosquitto()
    try:
        results = [measure(broker.host, broker.port, mode, args.movements) for mode in MODES]
    finally:
        broker.close()
    write(results, args.movements)


if __name__ == "__main__":
    main()
