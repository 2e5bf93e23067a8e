"""Publishing latency and throughput: Zigbee report in → count and event out, over Mosquitto.

Run: python bench/publish_latency.py [--base /tmp/base] [--rounds 2] [--in-flight 1,4,16]
     [--broker-nodelay] [--path-only] [--out bench/results/publish_latency.json]

Each run starts `sleepenv run` of a source tree (this one, and with `--base` another
checkout, e.g. `git worktree add /tmp/base <rev>`) as its own process against one
Mosquitto, with a fresh data dir, and drives it with a Zigbee vibration sensor (one
report is one movement, so it isolates the publish path from detection):

- paced: 100 reports/s for 10 s. Latency from sending report i to the first
  `movements_tonight` >= i and to the i-th event arriving at a subscriber (p50/p99),
  and the longest stretch without a `movements_tonight` update while events flow;
- burst: 2,000 reports sent at once. Events/s from the first report to the last event,
  count updates seen while events were still arriving, and the most events in a row
  without one.

Then the publish path alone, in this process: 2,000 events, each followed by a count
state, through one awaited publish after another (the path before) and through a
Publisher with 1 to 64 publishes in flight; events/s and CPU µs of the event loop's
thread per event.

Trees take turns (base, this, base, this, ...). Compare within one run: the machine is
shared and noisy. `--in-flight` runs this tree once per window size;
`--broker-nodelay` turns on Mosquitto's `set_tcp_nodelay` (off by default), without
which the broker's own delayed segments dominate the latency.
Writes JSON plus a short markdown table next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

import sleepenv.mqtt.broker as broker_module
from sleepenv.mqtt.broker import MosquittoProcess, start_mosquitto

HERE = Path(__file__).resolve().parent.parent
PACED_RATE = 100.0
PACED_SECONDS = 10.0
BURST = 2000
PATH_WINDOWS = (1, 2, 4, 8, 16, 32, 64)
CONFIG = """\
mqtt: {{host: "{host}", port: {port}, client_id: "{name}", base_topic: "{name}",
       discovery_prefix: "{name}ha"}}
beds:
  - id: bed
    name: Bench
    timezone: UTC
    sensors: [{{kind: zigbee_vibration, topic: "zigbee2mqtt/{name}"}}]
night: {{start: "{night_start}", end: "{night_end}"}}
storage: {{data_dir: "{data}"}}
log_level: WARNING
"""
# The reports a run sends are up to ~1.6 h old by their `last_seen`: the night window
# reaches this far either side of the run, whatever the time of day. (A fixed 00:00 to
# 23:59:59 put such reports sent in the first ~1.6 h after midnight UTC in a night that
# had ended, and the service answered none of them.)
NIGHT_MARGIN_SECONDS = 3 * 3600.0


def config_text(host: str, port: int, name: str, data: str) -> str:
    """The service's config for a run under topics `name/...`, its night around now."""
    now = time.time()
    start, end = (
        time.strftime("%H:%M", time.gmtime(now + d))
        for d in (-NIGHT_MARGIN_SECONDS, NIGHT_MARGIN_SECONDS)
    )
    return CONFIG.format(
        host=host, port=port, name=name, data=data, night_start=start, night_end=end
    )


# Runs `sleepenv run`, with the publish window set when asked (this tree only).
RUNNER = """
import sys
if sys.argv[2] != "-":
    import sleepenv.mqtt.publisher as p
    p.MAX_IN_FLIGHT = int(sys.argv[2])
from sleepenv.cli.main import main
raise SystemExit(main(["run", "--config", sys.argv[1]]))
"""


def report(i: int, first_ms: int) -> bytes:
    """The i-th vibration report, a second after the one before by its `last_seen`.

    Without `last_seen` sleepenv stamps a report with its arrival, and reports that close
    make one movement; a second apart, each is one.
    """
    return json.dumps(
        {"action": "vibration", "strength": i % 97, "last_seen": first_ms + 1000 * i}
    ).encode()


class Subscriber:
    """Records (monotonic time, topic, payload) of everything under the run's topics."""

    def __init__(
        self, broker: MosquittoProcess, name: str, topics: list[str] | None = None
    ) -> None:
        """Subscribe to the run's count and event topics (or `topics`)."""
        self.log: list[tuple[float, str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-sub")
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        nodelay(self.client)
        topics = topics or [f"{name}/bed/movements_tonight", f"{name}/bed/event"]
        self.client.subscribe([(t, 1) for t in topics])
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.log.append((time.monotonic(), message.topic, bytes(message.payload)))

    def snapshot(self) -> list[tuple[float, str, bytes]]:
        """What arrived so far."""
        with self.lock:
            return list(self.log)

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


def nodelay(client: mqtt.Client) -> None:
    """TCP_NODELAY on the bench's own clients, so their latency is not in the figures."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def count_of(payload: bytes) -> int:
    """movements_tonight's value (plain, or {"count": n, ...} in some revisions)."""
    data = json.loads(payload)
    return int(data["count"] if isinstance(data, dict) else data)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def wait_until(predicate: Any, seconds: float) -> bool:
    """Poll `predicate` until it holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(
    broker: MosquittoProcess, tree: Path, name: str, mode: str, in_flight: str
) -> dict[str, Any]:
    """Start the service of `tree`, drive it, stop it, return the figures."""
    with tempfile.TemporaryDirectory(prefix="sleepenv-bench-") as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(config_text(broker.host, broker.port, name, tmp))
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        service = subprocess.Popen([sys.executable, "-c", RUNNER, str(config), in_flight], env=env)
        sub = Subscriber(broker, name)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-pub")
        pub.connect(broker.host, broker.port)
        nodelay(pub)
        pub.loop_start()
        try:
            count_topic = f"{name}/bed/movements_tonight"
            ready = wait_until(lambda: any(t == count_topic for _, t, _ in sub.snapshot()), 30)
            if not ready:
                raise RuntimeError(f"{tree}: the service published no count within 30 s")
            time.sleep(0.5)
            n = int(PACED_RATE * PACED_SECONDS) if mode == "paced" else BURST
            cpu0 = cpu_seconds(service.pid)
            sent: list[float] = []
            first_ms = int((time.time() - n - 60) * 1000)
            t0 = time.monotonic()
            for i in range(n):
                if mode == "paced":
                    delay = t0 + i / PACED_RATE - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                sent.append(time.monotonic())
                pub.publish(f"zigbee2mqtt/{name}", report(i, first_ms), qos=1)
            wait_until(
                lambda: sum(1 for _, t, _ in sub.snapshot() if t.endswith("/event")) >= n, 120
            )
            time.sleep(0.3)  # a last count update
            cpu = cpu_seconds(service.pid) - cpu0
        finally:
            pub.loop_stop()
            pub.disconnect()
            service.terminate()
            service.wait(timeout=30)
            sub.close()
    return analyse(sub.snapshot(), sent, name, cpu)


def analyse(
    log: list[tuple[float, str, bytes]], sent: list[float], name: str, cpu: float
) -> dict[str, Any]:
    """Latencies, rates and the interleaving of counts and events."""
    n = len(sent)
    t_start = sent[0]
    events = [at for at, t, _ in log if t == f"{name}/bed/event" and at >= t_start]
    counts = [(at, count_of(p)) for at, t, p in log if t == f"{name}/bed/movements_tonight"]
    counts = [(at, c) for at, c in counts if at >= t_start]
    count_lat: list[float] = []
    j = 0
    for i, at in enumerate(sent, start=1):
        while j < len(counts) and counts[j][1] < i:
            j += 1
        if j < len(counts):
            count_lat.append(counts[j][0] - at)
    event_lat = [e - s for s, e in zip(sent, events, strict=False)]
    flowing = [at for at, _ in counts if events and events[0] <= at <= events[-1]]
    marks = [events[0], *flowing, events[-1]] if events else []
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    # Most events in a row without a count update in between.
    run = longest = 0
    for _, t, _ in (x for x in log if x[0] >= t_start):
        if t.endswith("/event"):
            run += 1
            longest = max(longest, run)
        else:
            run = 0
    span = (events[-1] - t_start) if events else float("nan")
    return {
        "reports": n,
        "events": len(events),
        "final_count": counts[-1][1] if counts else None,
        "count_updates": len(counts),
        "count_updates_while_events_flow": len(flowing),
        "longest_count_gap_ms": round(max(gaps) * 1000, 1) if gaps else None,
        "most_events_without_count": longest,
        "count_p50_ms": round(percentile(count_lat, 0.5) * 1000, 2) if count_lat else None,
        "count_p99_ms": round(percentile(count_lat, 0.99) * 1000, 2) if count_lat else None,
        "event_p50_ms": round(percentile(event_lat, 0.5) * 1000, 2) if event_lat else None,
        "event_p99_ms": round(percentile(event_lat, 0.99) * 1000, 2) if event_lat else None,
        "events_per_second": round(len(events) / span) if events else 0,
        "cpu_us_per_event": round(cpu / max(1, len(events)) * 1e6),
    }


async def publish_path(broker: MosquittoProcess, name: str, window: int | None) -> dict[str, Any]:
    """2,000 events, each followed by a count, through the publish path alone.

    `window` None is the path before: one awaited QoS 1 publish after another, the count
    after the events (as `Service._flush` did); else a Publisher with that window.
    """
    import aiomqtt  # noqa: PLC0415 - only this scenario needs asyncio

    from sleepenv.mqtt.publisher import Publisher  # noqa: PLC0415

    event, count = f"{name}/event", f"{name}/count"
    sub = Subscriber(broker, name, [event, count])
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    try:
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=name,
            socket_options=options,
            max_inflight_messages=0,  # as make_client does
        ) as client:
            t0, cpu0 = time.monotonic(), time.thread_time()
            coalesced = 0
            if window is None:
                for i in range(BURST):
                    await client.publish(event, b'{"i": %d}' % i, qos=1)
                await client.publish(count, str(BURST).encode(), qos=1, retain=True)
            else:
                publisher = Publisher(max_in_flight=window)
                publisher.attach(client)
                for i in range(BURST):
                    publisher.message(event, b'{"i": %d}' % i)
                    publisher.state(count, str(i + 1).encode())
                    if i % 50 == 49:
                        await asyncio.sleep(0)  # as the service yields between messages
                await publisher.drain()
                coalesced = publisher.states_coalesced
            acked = time.monotonic() - t0
            # The event loop's thread only: the subscriber runs in a thread of its own.
            cpu = time.thread_time() - cpu0
            wait_until(lambda: sum(1 for _, t, _ in sub.snapshot() if t == event) >= BURST, 60)
    finally:
        sub.close()
    log = sub.snapshot()
    events = [at for at, t, _ in log if t == event]
    counts = [at for at, t, _ in log if t == count]
    return {
        "messages": BURST,
        "events_received": len(events),
        "count_updates": len(counts),
        "count_updates_while_events_flow": sum(1 for at in counts if at < events[-1]),
        "states_coalesced": coalesced,
        "acked_seconds": round(acked, 3),
        "events_per_second": round(BURST / acked),
        "cpu_us_per_event": round(cpu / BURST * 1e6, 1),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-field median over runs (None when a run had no value)."""
    keys = runs[0].keys()
    out: dict[str, Any] = {}
    for k in keys:
        values = [r[k] for r in runs if r[k] is not None]
        out[k] = statistics.median(values) if values else None
    return out


ROWS = [
    ("count_p50_ms", "report → count p50 (ms)"),
    ("count_p99_ms", "report → count p99 (ms)"),
    ("event_p50_ms", "report → event p50 (ms)"),
    ("event_p99_ms", "report → event p99 (ms)"),
    ("longest_count_gap_ms", "longest time without a count update while events flow (ms)"),
    ("count_updates_while_events_flow", "count updates while events flow"),
    ("most_events_without_count", "most events in a row without a count update"),
    ("events_per_second", "events/s"),
    ("cpu_us_per_event", "service CPU per event (µs)"),
]


def table(results: dict[str, Any]) -> str:
    """A markdown table: one column per tree (and window size), paced and burst rows."""
    columns = list(results["medians"])
    lines: list[str] = []
    if columns:
        lines += [
            "| scenario | metric | " + " | ".join(columns) + " |",
            "|---|---|" + "---|" * len(columns),
        ]
        for mode in ("paced", "burst"):
            for key, label in ROWS:
                cells = [str(results["medians"][c][mode][key]) for c in columns]
                lines.append(f"| {mode} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Publish path alone (2,000 events, each followed by a count; events/s until the last"
        " PUBACK):",
        "",
        "| window | events/s | CPU µs per event | count updates while events flow "
        "| states coalesced |",
        "|---|---|---|---|---|",
    ]
    for label, m in results["publish_path"].items():
        lines.append(
            f"| {label} | {m['events_per_second']} | {m['cpu_us_per_event']} "
            f"| {m['count_updates_while_events_flow']} "
            f"| {m['states_coalesced']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the trees in turn and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, help="another source tree to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-flight", default="", help="window sizes to try, e.g. 1,4,16")
    parser.add_argument(
        "--broker-nodelay",
        action="store_true",
        help="Mosquitto with `set_tcp_nodelay true` (its default is off)",
    )
    parser.add_argument("--path-only", action="store_true", help="only the publish path")
    parser.add_argument("--out", default="bench/results/publish_latency.json")
    args = parser.parse_args()
    trees: list[tuple[str, Path, str]] = []
    if args.base is not None:
        trees.append(("base", args.base.resolve(), "-"))
    if args.in_flight:
        trees += [(f"this, {w} in flight", HERE, w) for w in args.in_flight.split(",")]
    else:
        trees.append(("this", HERE, "-"))
    if args.broker_nodelay:
        broker_module.MOSQUITTO_CONF += "set_tcp_nodelay true\n"
    broker = start_mosquitto()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        label: {"paced": [], "burst": []} for label, _, _ in trees
    }
    try:
        k = 0
        for r in range(0 if args.path_only else args.rounds):
            for mode in ("paced", "burst"):
                for label, tree, window in trees:
                    k += 1
                    result = run_once(broker, tree, f"pb{k}", mode, window)
                    runs[label][mode].append(result)
                    print(f"round {r + 1} {mode:5} {label}: {json.dumps(result)}", flush=True)
        path: dict[str, list[dict[str, Any]]] = {}
        for r in range(args.rounds):
            for size in [None, *PATH_WINDOWS]:
                label = "one awaited publish at a time" if size is None else f"{size} in flight"
                k += 1
                result = asyncio.run(publish_path(broker, f"pp{k}", size))
                path.setdefault(label, []).append(result)
                print(f"round {r + 1} path  {label}: {json.dumps(result)}", flush=True)
    finally:
        broker.close()
    results = {
        "python": sys.version.split()[0],
        "broker_tcp_nodelay": args.broker_nodelay,
        "rounds": args.rounds,
        "paced": {"rate_per_second": PACED_RATE, "seconds": PACED_SECONDS},
        "burst": BURST,
        "runs": runs,
        "publish_path": {label: median_of(rs) for label, rs in path.items()},
        "publish_path_runs": path,
        "medians": {
            label: {mode: median_of(rs) for mode, rs in modes.items()}
            for label, modes in runs.items()
            if not args.path_only
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    md = table(results)
    out.with_suffix(".md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
