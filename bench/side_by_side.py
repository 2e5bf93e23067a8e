"""sleepenv side by side with Node-RED and a bare paho subscriber: Zigbee report in → count out.

Run: python bench/side_by_side.py [--rounds 5] [--quick] [--stock-broker]
Writes bench/results/side_by_side.{json,md} (with --quick: side_by_side_quick.{json,md} in the
temporary directory, unless --out says where).

Three peers answer the same Zigbee vibration reports on one Mosquitto:

- sleepenv: `sleepenv run` of this tree (as `publish_latency.py` starts it, fresh data dir),
  whose answer is `movements_tonight` (one report a second apart by `last_seen` is one
  movement, so detection stays out of the way);
- Node-RED 4.x (pinned below), installed with npm into ~/.cache/sleepenv/bench/node-red
  when missing, running `bench/peers/counter_flow.json`: mqtt in → count → mqtt out;
- the floor, `bench/peers/paho_floor.py`: counts and publishes each count.

Every answer is a QoS 1 publish. Each run is one fresh process of one peer: spawned, probed
with a report every 20 ms until its first answer (start-up), then one scenario:

- paced: 100 reports/s for 10 s; latency from sending report i to the count reaching i
  (p50/p99), and the longest stretch without a count update;
- burst600 / burst2000: the reports sent at once; reports/s from the first report sent to
  the count reaching the last, and the peer's CPU time (user + system, /proc) per report.

Peak RSS (VmHWM) is read at the end of each run. Peers take turns within each scenario of
each round, so a spell of load elsewhere on the machine hits all of them; ratios are
given per round and their median. Then `sleepenv analyze --json` of an 8 h 10 Hz `clean`
night (CPU of the whole command), against a floor that only parses each line with
`json.loads`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from analyze_speed import analyze
from paho.mqtt.enums import CallbackAPIVersion
from publish_latency import (
    CONFIG,
    RUNNER,
    Subscriber,
    count_of,
    nodelay,
    percentile,
    report,
)

import sleepenv.mqtt.broker as broker_module
from sleepenv.mqtt.broker import MosquittoProcess, free_port, start_mosquitto
from sleepenv.sim import generate_night, write_recording

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / "bench" / "peers"
RESULTS = ROOT / "bench" / "results"
NODE_RED_VERSION = "4.1.15"  # 4.1.x still runs on Node.js 18.5+
NODE_RED_DIR = Path.home() / ".cache" / "sleepenv" / "bench" / "node-red"
PEERS = ("sleepenv", "node-red", "floor")
LABELS = {"sleepenv": "sleepenv", "node-red": f"Node-RED {NODE_RED_VERSION}", "floor": "floor"}
# Today's figures from issue 12, which the RSS and start-up targets must not exceed.
TODAY_RSS_MIB = 43.0
TODAY_STARTUP_S = 0.62
FLAT_LIMIT = 1.25  # "flat": CPU per report in the long burst ≤ this × the short one's


@dataclass(frozen=True)
class Plan:
    """How much to send."""

    rounds: int
    paced_rate: float
    paced_seconds: float
    bursts: tuple[int, int]
    analyze_hours: float


FULL = Plan(rounds=5, paced_rate=100.0, paced_seconds=10.0, bursts=(600, 2000), analyze_hours=8)
QUICK = Plan(rounds=1, paced_rate=100.0, paced_seconds=3.0, bursts=(200, 600), analyze_hours=1)


def ensure_node_red() -> Path:
    """red.js of the pinned Node-RED, installed with npm into the cache when missing."""
    red = NODE_RED_DIR / "node_modules" / "node-red" / "red.js"
    package = red.parent / "package.json"
    if package.exists() and json.loads(package.read_text())["version"] == NODE_RED_VERSION:
        return red
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SystemExit("Node-RED needs node and npm on PATH")
    NODE_RED_DIR.mkdir(parents=True, exist_ok=True)
    print(f"installing node-red@{NODE_RED_VERSION} into {NODE_RED_DIR}", flush=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--omit=dev", f"node-red@{NODE_RED_VERSION}"],
        cwd=NODE_RED_DIR,
        check=True,
    )
    return red


class Counts(Subscriber):
    """The count a peer publishes: every (arrival, value), and a wait for a value."""

    def __init__(
        self, broker: MosquittoProcess, name: str, topic: str, parse: Callable[[bytes], int]
    ) -> None:
        """Subscribe to the peer's count topic."""
        self.parse = parse
        self.counts: list[tuple[float, int]] = []
        self.highest = 0
        self.changed = threading.Condition()
        super().__init__(broker, name, [topic])

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        at, value = time.monotonic(), self.parse(bytes(message.payload))
        with self.changed:
            self.counts.append((at, value))
            self.highest = max(self.highest, value)
            self.changed.notify_all()

    def wait_for(self, value: int, seconds: float) -> bool:
        """Block until the count reached `value` (True) or `seconds` passed (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.highest >= value, seconds)

    def reached(self, value: int, since: float) -> float | None:
        """When the count first reached `value`, among arrivals since `since`."""
        with self.changed:
            return next((at for at, c in self.counts if at >= since and c >= value), None)


def spawn(
    peer: str, broker: MosquittoProcess, tag: str, tmp: Path, red: Path
) -> subprocess.Popen[bytes]:
    """Start one peer answering reports on zigbee2mqtt/<tag>."""
    if peer == "sleepenv":
        config = tmp / "bench.yaml"
        config.write_text(CONFIG.format(host=broker.host, port=broker.port, name=tag, data=tmp))
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        return subprocess.Popen([sys.executable, "-c", RUNNER, str(config), "-"], env=env)
    if peer == "node-red":
        flows = tmp / "flows.json"
        shutil.copy(PEERS_DIR / "counter_flow.json", flows)
        env = {
            **os.environ,
            "BENCH_MQTT_HOST": broker.host,
            "BENCH_MQTT_PORT": str(broker.port),
            "BENCH_TOPIC_IN": f"zigbee2mqtt/{tag}",
            "BENCH_TOPIC_OUT": f"{tag}/count",
        }
        argv = ["node", str(red), "--userDir", str(tmp), "--port", str(free_port()), str(flows)]
        # Node-RED logs each start to stdout; the other peers only speak up on errors.
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    argv = [sys.executable, str(PEERS_DIR / "paho_floor.py"), broker.host, str(broker.port)]
    return subprocess.Popen([*argv, f"zigbee2mqtt/{tag}", f"{tag}/count"])


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_ns(pid: int) -> int:
    """On-CPU nanoseconds of all of a process's live threads (schedstat; ticks are too coarse)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return total


class Reports:
    """Sends a peer numbered Zigbee reports, one second apart by `last_seen`."""

    def __init__(self, broker: MosquittoProcess, tag: str, n: int) -> None:
        """Connect; `n` reports will follow the start-up probe's."""
        self.topic = f"zigbee2mqtt/{tag}"
        self.first_ms = int((time.time() - n - 3600) * 1000)
        self.index = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{tag}-pub")
        self.client.max_inflight_messages_set(0)  # the burst goes out at once
        self.client.connect(broker.host, broker.port)
        nodelay(self.client)
        self.client.loop_start()

    def send(self) -> float:
        """Publish the next report (QoS 1, as a sensor does); when it was sent."""
        at = time.monotonic()
        self.client.publish(self.topic, report(self.index, self.first_ms), qos=1)
        self.index += 1
        return at

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def paced_figures(
    counts: Counts, sent: list[float], base: int, t0: float, end: float
) -> dict[str, float]:
    """Report i → count base + i latencies, and the longest time without a count update."""
    latency = []
    for i, at in enumerate(sent, start=1):
        answered = counts.reached(base + i, at)
        if answered is not None:
            latency.append(answered - at)
    with counts.changed:
        marks = [at for at, _ in counts.counts if t0 <= at <= end]
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    return {
        "p50_ms": round(percentile(latency, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latency, 0.99) * 1000, 2),
        "longest_count_gap_ms": round(max(gaps, default=0) * 1000, 1),
    }


def run_once(
    broker: MosquittoProcess, peer: str, scenario: str, tag: str, plan: Plan, red: Path
) -> dict[str, Any]:
    """Spawn `peer`, measure its start-up, drive one scenario, stop it."""
    count_topic = f"{tag}/bed/movements_tonight" if peer == "sleepenv" else f"{tag}/count"
    counts = Counts(broker, tag, count_topic, count_of)
    n = int(plan.paced_rate * plan.paced_seconds) if scenario == "paced" else int(scenario[5:])
    reports = Reports(broker, tag, n)
    result: dict[str, Any] = {"peer": peer, "scenario": scenario, "reports": n}
    with tempfile.TemporaryDirectory(prefix="sleepenv-sbs-") as tmp:
        spawned = time.monotonic()
        proc = spawn(peer, broker, tag, Path(tmp), red)
        try:
            while not counts.wait_for(1, 0.02):
                if time.monotonic() - spawned > 60 or proc.poll() is not None:
                    raise RuntimeError(f"{peer}: no answer within 60 s of its start")
                reports.send()
            first = counts.reached(1, spawned)
            assert first is not None
            result["startup_s"] = round(first - spawned, 3)
            time.sleep(0.5)  # the probe's last answers
            base = counts.highest
            cpu0 = cpu_ns(proc.pid)
            t0 = time.monotonic()
            sent: list[float] = []
            for i in range(n):
                if scenario == "paced":
                    delay = t0 + i / plan.paced_rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                sent.append(reports.send())
            done = counts.wait_for(base + n, 120)
            end = counts.reached(base + n, t0)
            time.sleep(0.3)  # what the peer still does after its last answer
            cpu = (cpu_ns(proc.pid) - cpu0) / 1e9
            result["peak_rss_mib"] = round(peak_rss_mib(proc.pid), 1)
            result["answered"] = counts.highest - base
            if not done or end is None:
                result["error"] = f"count reached {counts.highest - base} of {n} in 120 s"
                return result
            result["cpu_us_per_report"] = round(cpu / n * 1e6, 1)
            if scenario == "paced":
                result |= paced_figures(counts, sent, base, t0, end)
            else:
                result["reports_per_s"] = round(n / (end - t0))
        finally:
            stop(proc)
            reports.close()
            counts.close()
    return result


def parse_only(recording: Path) -> float:
    """CPU seconds of a fresh interpreter that only `json.loads` every line of `recording`."""
    code = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code, str(recording)], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def med(values: list[float]) -> float | None:
    """Median, None for no values."""
    return statistics.median(values) if values else None


def summarise(
    runs: list[dict[str, Any]], plan: Plan, analyze_s: list[float], parse_s: list[float]
) -> dict[str, Any]:
    """Medians per peer and scenario, and sleepenv's ratios to the others per round."""
    scenarios = ["paced", *(f"burst{n}" for n in plan.bursts)]
    keys = ("reports_per_s", "cpu_us_per_report", "p50_ms", "p99_ms", "longest_count_gap_ms")
    medians: dict[str, dict[str, dict[str, float | None]]] = {}
    for peer in PEERS:
        medians[peer] = {}
        for s in scenarios:
            mine = [r for r in runs if r["peer"] == peer and r["scenario"] == s]
            medians[peer][s] = {k: med([r[k] for r in mine if k in r]) for k in keys}
            medians[peer][s]["peak_rss_mib"] = med([r["peak_rss_mib"] for r in mine])
        starts = [r["startup_s"] for r in runs if r["peer"] == peer]
        medians[peer]["startup_s"] = {"median": med(starts), "max": max(starts)}
    ratios: dict[str, dict[str, list[float]]] = {}
    for other in ("node-red", "floor"):
        for s in scenarios:
            for k in keys:
                per_round = []
                for r in range(plan.rounds):
                    a = [x for x in runs if x["round"] == r and x["peer"] == "sleepenv"]
                    b = [x for x in runs if x["round"] == r and x["peer"] == other]
                    a_s = next((x.get(k) for x in a if x["scenario"] == s), None)
                    b_s = next((x.get(k) for x in b if x["scenario"] == s), None)
                    if a_s and b_s:
                        per_round.append(round(a_s / b_s, 3))
                if per_round:
                    ratios.setdefault(other, {})[f"{s}.{k}"] = per_round
    night = plan.analyze_hours * 3600
    return {
        "medians": medians,
        "ratios": ratios,
        "analyze": {
            "hours": plan.analyze_hours,
            "cpu_s": analyze_s,
            "median_cpu_s": med(analyze_s),
            "times_real_time": round(night / statistics.median(analyze_s)),
            "parse_only_cpu_s": parse_s,
            "parse_only_median_s": med(parse_s),
        },
    }


def fmt(value: float | None, digits: int = 0) -> str:
    """A number for the table (– for none)."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def ratio_cell(values: list[float] | None) -> str:
    """Median ratio, with the per-round ratios after it."""
    if not values:
        return "–"
    each = ", ".join(f"{v:.2f}" for v in values)
    return f"**{statistics.median(values):.2f}×** ({each})"


def table(summary: dict[str, Any], plan: Plan) -> tuple[str, list[dict[str, Any]]]:
    """The markdown table and the targets, each with its verdict."""
    m, ratios = summary["medians"], summary["ratios"]
    short, long = (f"burst{n}" for n in plan.bursts)
    nr, fl = ratios.get("node-red", {}), ratios.get("floor", {})
    head = (
        "| | sleepenv | Node-RED | floor | sleepenv ÷ Node-RED, median (per round) "
        "| sleepenv ÷ floor, median |\n|---|---|---|---|---|---|\n"
    )
    rows: list[str] = []

    def row(label: str, key: str, scenario: str, digits: int = 0) -> None:
        cells = [fmt(m[p][scenario][key], digits) for p in PEERS]
        flo = fl.get(f"{scenario}.{key}")
        rows.append(
            f"| {label} | " + " | ".join(cells) + f" | {ratio_cell(nr.get(f'{scenario}.{key}'))} "
            f"| {fmt(statistics.median(flo), 2) + '×' if flo else '–'} |"
        )

    for n, s in zip(plan.bursts, (short, long), strict=True):
        row(f"{n:,}-report burst: reports/s (report → count)", "reports_per_s", s)
        row(f"{n:,}-report burst: CPU µs per report", "cpu_us_per_report", s)
    rate = f"{plan.paced_rate:g}/s"
    row(f"report → count p50 at {rate} (ms)", "p50_ms", "paced", 2)
    row(f"report → count p99 at {rate} (ms)", "p99_ms", "paced", 2)
    row(f"longest time without a count update at {rate} (ms)", "longest_count_gap_ms", "paced")
    row(f"CPU µs per report at {rate}", "cpu_us_per_report", "paced")
    rss = [m[p][long]["peak_rss_mib"] for p in PEERS]
    rows.append(
        f"| peak RSS after start-up and the {plan.bursts[1]:,}-report burst (MiB) | "
        + " | ".join(fmt(v, 1) for v in rss)
        + f" | {rss[0] / rss[1]:.2f}× | {rss[0] / rss[2]:.2f}× |"
    )
    st = [m[p]["startup_s"]["median"] for p in PEERS]
    rows.append(
        "| spawn → first answered report, median of all runs (s) | "
        + " | ".join(fmt(v, 2) for v in st)
        + f" | {st[0] / st[1]:.2f}× | {st[0] / st[2]:.2f}× |"
    )
    a = summary["analyze"]
    rows.append(
        f"| `analyze`, {plan.analyze_hours:g} h 10 Hz night: CPU s (× real time) "
        f"| {a['median_cpu_s']:.2f} ({a['times_real_time']:,}×) | – "
        f"| {a['parse_only_median_s']:.2f} (`json.loads` of each line) | – | – |"
    )
    flat = (m["sleepenv"][long]["cpu_us_per_report"] or 0) / (
        m["sleepenv"][short]["cpu_us_per_report"] or 1
    )
    tp = [
        statistics.median(nr[f"{s}.reports_per_s"])
        for s in (short, long)
        if nr.get(f"{s}.reports_per_s")
    ]
    gaps = [r for r in summary["runs"] if r["peer"] == "sleepenv" and "longest_count_gap_ms" in r]
    worst_gap = max((r["longest_count_gap_ms"] for r in gaps), default=None)
    p99 = m["sleepenv"]["paced"]["p99_ms"]
    targets: list[dict[str, Any]] = [
        {
            "target": "Zigbee report → count, both bursts: ≥ 1.0× Node-RED reports/s",
            "measured": ", ".join(f"{v:.2f}×" for v in tp),
            "met": len(tp) == 2 and min(tp) >= 1.0,
        },
        {
            "target": "CPU per report flat in the night's length "
            f"(long burst ≤ {FLAT_LIMIT}× short)",
            "measured": f"{flat:.2f}×",
            "met": flat <= FLAT_LIMIT,
        },
        {
            "target": "p99 ≤ 5 ms (issue: envelope frame → event at 1 kHz; here report → count "
            f"at {rate})",
            "measured": f"{fmt(p99, 1)} ms",
            "met": p99 is not None and p99 <= 5.0,
        },
        {
            "target": "CPU per envelope frame (full detection) ≤ 2× the floor",
            "measured": "not measured here (Zigbee reports only; per report: "
            f"{statistics.median(fl[f'{long}.cpu_us_per_report']):.1f}× the floor)",
            "met": None,
        },
        {
            "target": "`analyze` 8 h 10 Hz night ≥ 30,000× real time",
            "measured": f"{a['times_real_time']:,}× ({plan.analyze_hours:g} h night)",
            "met": a["times_real_time"] >= 30000,
        },
        {
            "target": f"RSS no worse than {TODAY_RSS_MIB:g} MiB",
            "measured": f"{rss[0]:.1f} MiB",
            "met": rss[0] <= TODAY_RSS_MIB,
        },
        {
            "target": f"start-up no worse than {TODAY_STARTUP_S} s",
            "measured": f"{st[0]:.2f} s",
            "met": st[0] <= TODAY_STARTUP_S,
        },
        {
            "target": f"count updated at least every 250 ms at {rate}",
            "measured": f"longest gap {fmt(worst_gap)} ms (worst run)",
            "met": worst_gap is not None and worst_gap <= 250,
        },
    ]
    verdict = {True: "met", False: "**not met**", None: "–"}
    target_md = "| target (issue 12) | measured | |\n|---|---|---|\n" + "".join(
        f"| {t['target']} | {t['measured']} | {verdict[t['met']]} |\n" for t in targets
    )
    return head + "\n".join(rows) + "\n\n" + target_md, targets


def measure(plan: Plan, red: Path) -> tuple[list[dict[str, Any]], list[float], list[float]]:
    """Every run of every peer, taking turns, and `analyze` / parse-only CPU s per round."""
    scenarios = ["paced", *(f"burst{n}" for n in plan.bursts)]
    runs: list[dict[str, Any]] = []
    analyze_s: list[float] = []
    parse_s: list[float] = []
    broker = start_mosquitto()
    k = 0
    try:
        with tempfile.TemporaryDirectory(prefix="sleepenv-sbs-night-") as tmp:
            recording = Path(tmp) / "night.jsonl"
            write_recording(generate_night(1, "clean", hours=plan.analyze_hours), recording)
            for r in range(plan.rounds):
                for scenario in scenarios:
                    # The first peer of a round changes, so none always runs after another.
                    order = PEERS[r % 3 :] + PEERS[: r % 3]
                    for peer in order:
                        k += 1
                        result = run_once(broker, peer, scenario, f"sbs{k}", plan, red)
                        result["round"] = r
                        runs.append(result)
                        print(f"round {r + 1} {json.dumps(result)}", flush=True)
                analyze_s.append(analyze(ROOT / "src", recording)[1])
                parse_s.append(parse_only(recording))
                print(f"round {r + 1} analyze {analyze_s[-1]:.2f} s, parse {parse_s[-1]:.2f} s")
    finally:
        broker.close()
    return runs, analyze_s, parse_s


def main() -> int:
    """Run the peers in turns, then `analyze`; write and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one round, smaller bursts")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, --quick 1)")
    parser.add_argument("--out", type=Path, help="JSON to write; the table goes beside it")
    parser.add_argument(
        "--stock-broker",
        action="store_true",
        help="Mosquitto as installed (without `set_tcp_nodelay true`, which this sets)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(
            args.rounds, plan.paced_rate, plan.paced_seconds, plan.bursts, plan.analyze_hours
        )
    red = ensure_node_red()
    if not args.stock_broker:
        broker_module.MOSQUITTO_CONF += "set_tcp_nodelay true\n"
    runs, analyze_s, parse_s = measure(plan, red)
    failed = [r for r in runs if "error" in r]
    summary = summarise([r for r in runs if "error" not in r], plan, analyze_s, parse_s)
    summary["runs"] = runs
    md, targets = table(summary, plan)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    intro = (
        f"sleepenv (`{head}`{' and uncommitted changes in src/' if dirty else ''})"
        f" against Node-RED {NODE_RED_VERSION} (`bench/peers/counter_flow.json`)"
        " and a bare paho subscriber (`bench/peers/paho_floor.py`) on one Mosquitto"
        f"{'' if args.stock_broker else ' with `set_tcp_nodelay true`'}, {plan.rounds} "
        f"round(s), peers taking turns, each run a fresh process. Medians; ratios per round. "
        f"CPU time per report is the steadier figure: reports/s and latency swing with other "
        "load on the machine.\n\n"
    )
    if failed:
        intro += (
            f"{len(failed)} run(s) failed: "
            + "; ".join(f"{r['peer']} {r['scenario']}: {r['error']}" for r in failed)
            + "\n\n"
        )
    out = {
        "commit": head,
        "uncommitted_src_changes": bool(dirty),
        "node_red": NODE_RED_VERSION,
        "python": sys.version.split()[0],
        "broker_tcp_nodelay": not args.stock_broker,
        "plan": plan.__dict__,
        "targets": targets,
        **summary,
    }
    default = Path(tempfile.gettempdir()) / "side_by_side_quick.json"
    path = args.out or (default if args.quick else RESULTS / "side_by_side.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    path.with_suffix(".md").write_text(intro + md)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    print(intro + md)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
