"""sleepenv side by side with Node-RED and a bare paho subscriber: messages in, answers out.

Run: python bench/side_by_side.py [--rounds 5] [--quick] [--stock-broker] [--envelope-rate 1000]
Writes bench/results/side_by_side.{json,md} (with --quick: side_by_side_quick.{json,md} in the
temporary directory, unless --out says where).

Three peers answer the same Zigbee vibration reports, then the same envelope frames, on one
Mosquitto:

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

Then the same peers on a fine sensor's envelope frames (`dense_night.py`: ESP32 frames of
10 samples at 10 Hz, a movement every ~6 s after a ten-minute warm-up): sleepenv configured
with an envelope sensor runs its full detection and publishes each movement's event and
states; the floor and Node-RED count the frames as they count reports. Each run warms its
peer up with the night's first ten minutes, then:

- env_burst: 2,000 frames sent at once, ending with a frame that completes a movement;
  frames/s to sleepenv's last event (the others: to their count), and CPU time per frame;
- env_paced: 1,000 frames/s for 10 s (the issue's rate; --envelope-rate changes it);
  latency from sending a frame that completes a movement to that movement's event (and to
  the next `last_movement` state), p50/p99; for the others frame → count. The frames/s
  actually sent and their lag behind the schedule are in the table too.

Peak RSS (VmHWM) is read at the end of each run. Peers take turns within each scenario of
each round, so a spell of load elsewhere on the machine hits all of them; ratios are
given per round and their median. Then `sleepenv analyze --json` of an 8 h 10 Hz `clean`
night (CPU of the whole command), against a floor that only parses each line with
`json.loads`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
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

import dense_night
import paho.mqtt.client as mqtt
from analyze_speed import analyze
from paho.mqtt.enums import CallbackAPIVersion
from publish_latency import (
    RUNNER,
    Subscriber,
    config_text,
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
    envelope_burst: int
    envelope_rate: float
    envelope_seconds: float

    @property
    def scenarios(self) -> list[str]:
        """Every scenario, in the order each round runs them."""
        return ["paced", *(f"burst{n}" for n in self.bursts), "env_burst", "env_paced"]


FULL = Plan(
    rounds=5,
    paced_rate=100.0,
    paced_seconds=10.0,
    bursts=(600, 2000),
    analyze_hours=8,
    envelope_burst=2000,
    envelope_rate=1000.0,
    envelope_seconds=10.0,
)
QUICK = Plan(
    rounds=1,
    paced_rate=100.0,
    paced_seconds=3.0,
    bursts=(200, 600),
    analyze_hours=1,
    envelope_burst=600,
    envelope_rate=1000.0,
    envelope_seconds=2.0,
)


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
    peer: str,
    broker: MosquittoProcess,
    tag: str,
    tmp: Path,
    red: Path,
    night: dense_night.DenseNight | None = None,
) -> subprocess.Popen[bytes]:
    """Start one peer answering reports on zigbee2mqtt/<tag> (with `night`: the dense
    night's envelope frames on <tag>/envelope)."""
    topic_in = f"zigbee2mqtt/{tag}" if night is None else f"{tag}/envelope"
    if peer == "sleepenv":
        config = tmp / "bench.yaml"
        if night is None:
            text = config_text(broker.host, broker.port, tag, str(tmp))
        else:
            text = night.config(broker.host, broker.port, tag, str(tmp))
        config.write_text(text)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        return subprocess.Popen([sys.executable, "-c", RUNNER, str(config), "-"], env=env)
    if peer == "node-red":
        flows = tmp / "flows.json"
        shutil.copy(PEERS_DIR / "counter_flow.json", flows)
        env = {
            **os.environ,
            "BENCH_MQTT_HOST": broker.host,
            "BENCH_MQTT_PORT": str(broker.port),
            "BENCH_TOPIC_IN": topic_in,
            "BENCH_TOPIC_OUT": f"{tag}/count",
        }
        argv = ["node", str(red), "--userDir", str(tmp), "--port", str(free_port()), str(flows)]
        # Node-RED logs each start to stdout; the other peers only speak up on errors.
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    argv = [sys.executable, str(PEERS_DIR / "paho_floor.py"), broker.host, str(broker.port)]
    return subprocess.Popen([*argv, topic_in, f"{tag}/count"])


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


class Heard(Subscriber):
    """What a peer publishes in the envelope runs: its count (the floor's and Node-RED's
    count, sleepenv's frames_received), sleepenv's events by onset and its last_movement
    updates (the state every movement changes), each with its arrival time."""

    def __init__(self, broker: MosquittoProcess, tag: str, *, is_sleepenv: bool) -> None:
        """Subscribe to the peer's topics."""
        self.changed = threading.Condition()
        self.counts: list[tuple[float, int]] = []
        self.onsets: dict[str, float] = {}  # an event's onset → when it first arrived
        self.state_at: list[float] = []  # arrivals of last_movement
        bed = f"{tag}/bed"
        topics = (
            [f"{bed}/event", f"{bed}/last_movement", f"{bed}/frames_received"]
            if is_sleepenv
            else [f"{tag}/count"]
        )
        super().__init__(broker, f"{tag}-env", topics)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        at, topic, payload = time.monotonic(), message.topic, bytes(message.payload)
        with self.changed:
            if topic.endswith("/event"):
                self.onsets.setdefault(json.loads(payload)["onset"], at)
            elif topic.endswith("/last_movement"):
                self.state_at.append(at)
            else:
                self.counts.append((at, int(payload)))
            self.changed.notify_all()

    @property
    def highest(self) -> int:
        """The highest count so far (0 before the first)."""
        with self.changed:
            return max((c for _, c in self.counts), default=0)

    def wait(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Block until `predicate` holds (True) or `seconds` passed (False)."""
        with self.changed:
            return self.changed.wait_for(predicate, seconds)

    def count_reached(self) -> Callable[[int], float | None]:
        """When the count first reached a value (a lookup over the arrivals so far)."""
        with self.changed:
            arrivals = sorted(self.counts)
        times = [at for at, _ in arrivals]
        highest = list(itertools.accumulate((c for _, c in arrivals), max))

        def reached(value: int) -> float | None:
            i = bisect.bisect_left(highest, value)
            return times[i] if i < len(times) else None

        return reached


class Frames:
    """Sends a peer the dense night's envelope frames by index, as an ESP32 (QoS 1)."""

    def __init__(self, broker: MosquittoProcess, tag: str, payloads: list[bytes]) -> None:
        """Connect."""
        self.topic = f"{tag}/envelope"
        self.payloads = payloads
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{tag}-frames")
        self.client.max_inflight_messages_set(0)  # a burst goes out at once
        self.client.connect(broker.host, broker.port)
        nodelay(self.client)
        self.client.loop_start()

    def send(self, i: int) -> float:
        """Publish frame i; when it was sent."""
        at = time.monotonic()
        self.client.publish(self.topic, self.payloads[i], qos=1)
        return at

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


def envelope_frames(night: dense_night.DenseNight, scenario: str, plan: Plan) -> range:
    """The frames a run measures: after the warm-up, a burst that ends with a frame that
    completes a movement, or the frames of the paced seconds."""
    first = night.warm_up
    if scenario == "env_burst":
        return range(first, night.last_event_at_or_before(first + plan.envelope_burst - 1) + 1)
    return range(first, first + int(plan.envelope_rate * plan.envelope_seconds))


def warm_up(
    heard: Heard,
    frames: Frames,
    night: dense_night.DenseNight,
    proc: subprocess.Popen[bytes],
    *,
    is_sleepenv: bool,
) -> tuple[float, int]:
    """Probe with a frame every 20 ms until the peer answers, then send the rest of the
    warm-up at once and wait until it is handled. The spawn → first answer time, and the
    count by then (frames sent before the peer subscribed are not counted)."""
    spawned = time.monotonic()
    i = 0
    while not heard.wait(lambda: bool(heard.onsets or heard.counts), 0.02):
        if time.monotonic() - spawned > 60 or proc.poll() is not None or i >= night.warm_up:
            raise RuntimeError("no answer within 60 s of its start")
        frames.send(i)
        i += 1
    first = time.monotonic() - spawned
    for j in range(i, night.warm_up):
        frames.send(j)
    if is_sleepenv:
        last = night.events[night.warm_up - 1][-1]
        if not heard.wait(lambda: last in heard.onsets, 60):
            raise RuntimeError("the warm-up's last movement was not published within 60 s")
        return first, 0
    deadline = time.monotonic() + 60
    count = -1
    while count != heard.highest:  # the count has stopped at the frames it received
        if time.monotonic() > deadline:
            raise RuntimeError("the warm-up was not counted within 60 s")
        count = heard.highest
        time.sleep(0.3)
    return first, count


def envelope_figures(
    heard: Heard,
    night: dense_night.DenseNight,
    sent: dict[int, float],
    base: int,
    *,
    is_sleepenv: bool,
) -> dict[str, float]:
    """Latency from sending a frame to its answer: sleepenv's event (frames that complete
    a movement) and the next last_movement; the others' count of that frame (`base`
    when the first was sent)."""
    latency: list[float] = []
    state: list[float] = []
    if is_sleepenv:
        with heard.changed:
            onsets, state_at = dict(heard.onsets), sorted(heard.state_at)
        expected = [(i, o) for i in sent if i in night.events for o in night.events[i]]
        for i, onset in expected:
            if onset in onsets:
                latency.append(onsets[onset] - sent[i])
        for i in {i for i, _ in expected}:
            k = bisect.bisect_left(state_at, sent[i])
            if k < len(state_at):
                state.append(state_at[k] - sent[i])
        figures: dict[str, float] = {
            "events_expected": len(expected),
            "events_matched": len(latency),
        }
    else:
        reached = heard.count_reached()
        for k, at in enumerate(sent.values(), start=1):
            answered = reached(base + k)
            if answered is not None:
                latency.append(answered - at)
        figures = {}
    figures["p50_ms"] = round(percentile(latency, 0.5) * 1000, 2)
    figures["p99_ms"] = round(percentile(latency, 0.99) * 1000, 2)
    if state:
        figures["state_p99_ms"] = round(percentile(state, 0.99) * 1000, 2)
    return figures


def send_frames(
    frames: Frames, measured: range, rate: float | None
) -> tuple[dict[int, float], list[float]]:
    """Send the measured frames, at once or at `rate` a second: when each was sent, and
    (at a rate) how late against its schedule."""
    t0 = time.monotonic()
    sent: dict[int, float] = {}
    lag: list[float] = []
    for k, i in enumerate(measured):
        if rate is not None:
            due = t0 + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent[i] = frames.send(i)
            lag.append(sent[i] - due)
        else:
            sent[i] = frames.send(i)
    return sent, lag


def run_envelope(
    broker: MosquittoProcess,
    peer: str,
    scenario: str,
    tag: str,
    plan: Plan,
    red: Path,
    night: dense_night.DenseNight,
) -> dict[str, Any]:
    """Spawn `peer`, warm it up with the dense night's first frames, then send it a burst
    of frames at once (env_burst) or frames at a fixed rate (env_paced)."""
    is_sleepenv = peer == "sleepenv"
    heard = Heard(broker, tag, is_sleepenv=is_sleepenv)
    frames = Frames(broker, tag, night.payloads)
    measured = envelope_frames(night, scenario, plan)
    result: dict[str, Any] = {"peer": peer, "scenario": scenario, "frames": len(measured)}
    with tempfile.TemporaryDirectory(prefix="sleepenv-sbs-") as tmp:
        proc = spawn(peer, broker, tag, Path(tmp), red, night)
        try:
            first_answer, base = warm_up(heard, frames, night, proc, is_sleepenv=is_sleepenv)
            result["first_answer_s"] = round(first_answer, 3)
            time.sleep(0.5)  # what the warm-up still left to do
            cpu0 = cpu_ns(proc.pid)
            t0 = time.monotonic()
            sent, lag = send_frames(
                frames, measured, plan.envelope_rate if scenario == "env_paced" else None
            )
            last_frame = night.last_event_at_or_before(measured[-1])
            last = night.events[last_frame][-1]
            n = len(measured)
            done = (
                (lambda: last in heard.onsets)
                if is_sleepenv
                else (lambda: heard.highest >= base + n)
            )
            is_done = heard.wait(done, 120)
            end = heard.onsets.get(last) if is_sleepenv else heard.count_reached()(base + n)
            time.sleep(0.3)  # what the peer still does after its last answer
            cpu = (cpu_ns(proc.pid) - cpu0) / 1e9
            result["peak_rss_mib"] = round(peak_rss_mib(proc.pid), 1)
            if not is_done or end is None:
                result["error"] = "the last frame was not answered within 120 s"
                return result
            result["cpu_us_per_frame"] = round(cpu / len(measured) * 1e6, 1)
            if scenario == "env_paced":
                result |= envelope_figures(heard, night, sent, base, is_sleepenv=is_sleepenv)
                span = sent[measured[-1]] - sent[measured[0]]
                result["sent_per_s"] = round((len(measured) - 1) / span)
                result["send_lag_p99_ms"] = round(percentile(lag, 0.99) * 1000, 2)
            else:
                result["frames_per_s"] = round(len(measured) / (end - t0))
                if is_sleepenv:
                    onsets = [o for i in measured for o in night.events.get(i, ())]
                    result["events_expected"] = len(onsets)
                    result["events_matched"] = sum(o in heard.onsets for o in onsets)
        finally:
            stop(proc)
            frames.close()
            heard.close()
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
    scenarios = plan.scenarios
    keys = (
        "reports_per_s",
        "cpu_us_per_report",
        "p50_ms",
        "p99_ms",
        "longest_count_gap_ms",
        "frames_per_s",
        "cpu_us_per_frame",
        "state_p99_ms",
        "sent_per_s",
        "send_lag_p99_ms",
    )
    medians: dict[str, dict[str, dict[str, float | None]]] = {}
    for peer in PEERS:
        medians[peer] = {}
        for s in scenarios:
            mine = [r for r in runs if r["peer"] == peer and r["scenario"] == s]
            medians[peer][s] = {k: med([r[k] for r in mine if k in r]) for k in keys}
            medians[peer][s]["peak_rss_mib"] = med([r["peak_rss_mib"] for r in mine])
        starts = [r["startup_s"] for r in runs if r["peer"] == peer and "startup_s" in r]
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


def envelope_targets(
    m: dict[str, Any], fl: dict[str, list[float]], plan: Plan
) -> list[dict[str, Any]]:
    """The issue's two envelope targets: frame → event p99, CPU per frame against the floor."""
    p99 = m["sleepenv"]["env_paced"]["p99_ms"]
    rate = f"{plan.envelope_rate:g} frames/s"
    sent = m["sleepenv"]["env_paced"]["sent_per_s"]
    burst, paced = fl.get("env_burst.cpu_us_per_frame"), fl.get("env_paced.cpu_us_per_frame")
    ratio = statistics.median(burst) if burst else None
    return [
        {
            "target": f"envelope frame → event p99 ≤ 5 ms at 1 kHz (here {rate}, "
            f"sent at {fmt(sent)}/s)",
            "measured": f"{fmt(p99, 1)} ms",
            "met": p99 is not None and p99 <= 5.0,
        },
        {
            "target": "CPU per envelope frame (full detection) ≤ 2× the floor",
            "measured": f"{fmt(ratio, 2)}× in the burst"
            + (f", {statistics.median(paced):.2f}× at {rate}" if paced else ""),
            "met": ratio is not None and ratio <= 2.0,
        },
    ]


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
    burst = f"envelope burst, {plan.envelope_burst:,} frames"
    row(f"{burst}: frames/s (sleepenv: to its last event)", "frames_per_s", "env_burst")
    row(f"{burst}: CPU µs per frame (sleepenv: full detection)", "cpu_us_per_frame", "env_burst")
    fr = f"{plan.envelope_rate:,.0f} frames/s"
    row(f"envelope frame → event p50 at {fr} (ms; others: → count)", "p50_ms", "env_paced", 2)
    row(f"envelope frame → event p99 at {fr} (ms; others: → count)", "p99_ms", "env_paced", 2)
    row(f"envelope frame → `last_movement` p99 at {fr} (ms)", "state_p99_ms", "env_paced", 2)
    row(f"CPU µs per frame at {fr}", "cpu_us_per_frame", "env_paced")
    paced = [m[p]["env_paced"] for p in PEERS]
    rows.append(
        f"| frames/s sent at {fr} (p99 lag behind the schedule, ms) | "
        + " | ".join(f"{fmt(x['sent_per_s'])} ({fmt(x['send_lag_p99_ms'], 1)})" for x in paced)
        + " | – | – |"
    )
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
        *envelope_targets(m, fl, plan),
        {
            "target": f"(the same p99 bound for a Zigbee report → count at {rate})",
            "measured": f"{fmt(p99, 1)} ms",
            "met": p99 is not None and p99 <= 5.0,
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
    scenarios = plan.scenarios
    runs: list[dict[str, Any]] = []
    analyze_s: list[float] = []
    parse_s: list[float] = []
    broker = start_mosquitto()
    k = 0
    try:
        with tempfile.TemporaryDirectory(prefix="sleepenv-sbs-night-") as tmp:
            recording = Path(tmp) / "night.jsonl"
            write_recording(generate_night(1, "clean", hours=plan.analyze_hours), recording)
            # The frames' own times: a night that ended five minutes ago.
            seconds = max(plan.envelope_burst, plan.envelope_rate * plan.envelope_seconds) + 60
            start = time.time() - dense_night.WARM_UP_SECONDS - seconds - 360
            night = dense_night.build(start, seconds)
            for r in range(plan.rounds):
                for scenario in scenarios:
                    # The first peer of a round changes, so none always runs after another.
                    order = PEERS[r % 3 :] + PEERS[: r % 3]
                    for peer in order:
                        k += 1
                        if scenario.startswith("env_"):
                            result = run_envelope(
                                broker, peer, scenario, f"sbs{k}", plan, red, night
                            )
                        else:
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
        "--envelope-rate",
        type=float,
        help="frames/s of the paced envelope run (default 1000, the issue's rate)",
    )
    parser.add_argument(
        "--stock-broker",
        action="store_true",
        help="Mosquitto as installed (without `set_tcp_nodelay true`, which this sets)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = dataclasses.replace(plan, rounds=args.rounds)
    if args.envelope_rate:
        plan = dataclasses.replace(plan, envelope_rate=args.envelope_rate)
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
