"""Throughput and memory of the movement path: decode → detect → count, in-process and over MQTT.

Run: python bench/throughput.py [--hours 8] [--out bench/results/throughput.json]
Writes JSON plus a short markdown table next to it. Numbers are for this machine and
run only; compare ratios within one run, not across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sleepenv.bed.pipeline import Pipeline
from sleepenv.bootstrap import build_service
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import start_mosquitto
from sleepenv.sim.night import generate_night
from sleepenv.sim.recording import frame_to_payload

TOPIC = "bench/bed/envelope"
PUBLISHER = f"""
import sys, paho.mqtt.client as mqtt
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub")
c.connect(sys.argv[1], int(sys.argv[2]))
c.loop_start()
infos = [c.publish("{TOPIC}", line, qos=1) for line in open(sys.argv[3], "rb").read().split(b"\\n")]
infos[-1].wait_for_publish(120)
c.loop_stop()
c.disconnect()
"""


def settings(host: str, port: int, data_dir: Path) -> Settings:
    """One bed, one envelope sensor."""
    return Settings(
        mqtt={"host": host, "port": port, "client_id": "bench"},
        beds=[{"id": "bench", "name": "Bench", "sensors": [{"kind": "envelope", "topic": TOPIC}]}],
        night={"start": "00:00", "end": "23:59:59"},
        storage={"data_dir": data_dir},
    )


def payloads(hours: float) -> tuple[float, list[bytes]]:
    """A synthetic night as the JSON payloads a sensor would send."""
    night = generate_night(7, "clean", hours=hours)
    return night.truth.start, [json.dumps(frame_to_payload(f)).encode() for f in night.frames()]


def bench_pipeline(start: float, data: list[bytes]) -> dict[str, Any]:
    """Frames per second through decoding, detection and counting, no broker."""
    from datetime import UTC  # noqa: PLC0415

    pipeline = Pipeline(settings("localhost", 1883, Path("/tmp")), {"bench": UTC})
    t0 = time.perf_counter()
    events = 0
    for i, payload in enumerate(data):
        result = pipeline.handle(TOPIC, payload, start + i + 1.0)
        if result is not None:
            events += len(result[1].events)
    seconds = time.perf_counter() - t0
    return {
        "frames": len(data),
        "samples": len(data) * 10,
        "events": events,
        "seconds": round(seconds, 3),
        "frames_per_second": round(len(data) / seconds),
    }


async def bench_mqtt(start: float, data: list[bytes]) -> dict[str, Any]:
    """Frames per second from a publisher through Mosquitto into the running service."""
    broker = start_mosquitto()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            clock = ScaledClock(start + len(data) + 5, 1.0)
            service = build_service(settings(broker.host, broker.port, Path(tmp)), clock)
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop))
            await asyncio.wait_for(service.is_connected.wait(), 10)
            tracker = service.pipeline.trackers["bench"]
            t0 = time.perf_counter()
            # The publisher runs in its own process, as a sensor would.
            frames_file = Path(tmp) / "frames.bin"
            frames_file.write_bytes(b"\n".join(data))
            pub = await asyncio.create_subprocess_exec(
                sys.executable, "-c", PUBLISHER, broker.host, str(broker.port), str(frames_file)
            )
            await pub.wait()
            while tracker.frames_received + tracker.messages_rejected < len(data):
                await asyncio.sleep(0.01)
                if time.perf_counter() - t0 > 120:
                    break
            seconds = time.perf_counter() - t0
            stop.set()
            await task
            return {
                "frames": len(data),
                "received": tracker.frames_received,
                "rejected": tracker.messages_rejected,
                "seconds": round(seconds, 3),
                "frames_per_second": round(len(data) / seconds),
            }
    finally:
        broker.close()


def main() -> int:
    """Run both benchmarks and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--out", default="bench/results/throughput.json")
    args = parser.parse_args()
    start, data = payloads(args.hours)
    results = {
        "python": sys.version.split()[0],
        "night_hours": args.hours,
        "pipeline": bench_pipeline(start, data),
        "mqtt": asyncio.run(bench_mqtt(start, data)),
        # ru_maxrss is in KiB on Linux; it includes the generated night held in memory.
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    p, m = results["pipeline"], results["mqtt"]
    table = (
        "| path | frames | seconds | frames/s | samples/s |\n|---|---|---|---|---|\n"
        f"| in-process pipeline | {p['frames']} | {p['seconds']} | {p['frames_per_second']} "
        f"| {p['frames_per_second'] * 10} |\n"
        f"| over Mosquitto (QoS 1, publisher in its own process) | {m['frames']} "
        f"| {m['seconds']} | {m['frames_per_second']} | {m['frames_per_second'] * 10} |\n\n"
        f"Peak RSS of the whole benchmark process: {results['max_rss_mib']} MiB\n"
    )
    out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
