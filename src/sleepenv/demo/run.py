"""`sleepenv demo`: a local broker, a simulated bed sensor and the real service, no config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sleepenv.bed.core.model import SourceKind
from sleepenv.bootstrap import Hooks, build_service
from sleepenv.cli.common import on_stop_signal
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.demo.bounded import (
    SERVICE_STOP_SECONDS,
    ServiceStuckError,
    Watchdog,
    run_bounded,
    stop_service,
)
from sleepenv.demo.guidance import clock_start, console_hooks, demo_bedroom, with_guidance
from sleepenv.demo.morning import (
    DemoClock,
    DemoStepError,
    close_night,
    has_room,
    prepare_out,
    save_night_chart,
    wait_until,
    watch_chart,
)
from sleepenv.demo.summary import DemoRun, class_table, hourly_table, sleep_line
from sleepenv.mqtt.broker import AmqttBroker, MosquittoProcess, free_port, start_mosquitto
from sleepenv.mqtt.client import make_client
from sleepenv.service import Service
from sleepenv.sim.night import SimNight, generate_night
from sleepenv.sim.recording import frame_to_payload, zigbee_to_payload

# The bed id the shipped dashboard (automations/dashboards/sleepenv.yaml) is written for.
DEMO_BED = "bedroom"
SENSOR_TOPIC = "sleepenv_demo/bed/envelope"
ZIGBEE_TOPIC = "sleepenv_demo/bed/vibration"
# The simulated sensor's online/offline, as ESPHome's `<node>/status` (the player's will).
SENSOR_STATUS_TOPIC = "sleepenv_demo/bed/status"
BATCH_REAL_SECONDS = 0.02
DEMO_HOST = "127.0.0.1"  # where start_mosquitto and AmqttBroker listen
BROKER_STOP_SECONDS = 10.0


@contextlib.asynccontextmanager
async def local_broker(
    console: Console, port: int | None, kind: str = "auto", watchdog: Watchdog | None = None
) -> AsyncIterator[tuple[str, int]]:
    """Mosquitto from PATH on a free loopback port, else (or if asked) embedded amqtt; a
    Mosquitto is stopped too when `watchdog` finds the demo stuck."""
    mosquitto: MosquittoProcess | None = None
    amqtt: AmqttBroker | None = None
    why = "as asked"
    if kind != "amqtt":
        try:
            mosquitto = await asyncio.to_thread(start_mosquitto, port)
        except FileNotFoundError:
            if kind == "mosquitto":
                raise
            why = "no Mosquitto on PATH"
    if mosquitto is not None:
        if watchdog is not None:
            watchdog.on_stall(mosquitto.close)
        host, bound = mosquitto.host, mosquitto.port
        console.print(f"broker: Mosquitto on {host}:{bound}")
    else:
        amqtt = AmqttBroker(port or free_port())
        await amqtt.start()
        host, bound = amqtt.host, amqtt.port
        console.print(f"broker: {why}, using the embedded amqtt broker on {host}:{bound}")
    try:
        yield host, bound
    finally:
        if mosquitto is not None:
            mosquitto.close()
        if amqtt is not None:
            try:
                async with asyncio.timeout(BROKER_STOP_SECONDS):
                    await amqtt.stop()
            except TimeoutError:
                console.print(
                    f"broker: the embedded broker did not stop within {BROKER_STOP_SECONDS:g} s"
                )


def demo_settings(
    host: str, port: int, data_dir: Path, source: SourceKind = SourceKind.ENVELOPE
) -> Settings:
    """One bed with one sensor of the night's kind, on the demo broker, storing into
    `data_dir`."""
    topic = ZIGBEE_TOPIC if source is SourceKind.ZIGBEE_VIBRATION else SENSOR_TOPIC
    return Settings(
        mqtt={"host": host, "port": port, "client_id": "sleepenv-demo"},
        beds=[
            {
                "id": DEMO_BED,
                "name": "Demo bed",
                "sensors": [
                    {"kind": source.value, "topic": topic, "status_topic": SENSOR_STATUS_TOPIC}
                ],
            }
        ],
        storage={"data_dir": data_dir},
    )


def night_start() -> float:
    """Yesterday 22:30 local time, so the whole night is inside the default night window."""
    yesterday = datetime.now().astimezone() - timedelta(days=1)
    return yesterday.replace(hour=22, minute=30, second=0, microsecond=0).timestamp()


def sensor_messages(night: SimNight) -> Iterator[tuple[float, str, bytes]]:
    """(time, topic, payload) of what the night's sensor sends, made as they are asked for:
    Zigbee2MQTT reports for the zigbee profile, envelope frames for the others."""
    # Made all at once, an 8 h night's frames held the event loop (the service's too) for
    # 2 s, more on a busy machine: the clock ran ahead meanwhile and Ctrl-C waited.
    if night.source is SourceKind.ZIGBEE_VIBRATION:
        for r in night.zigbee_readings():
            yield r.t, ZIGBEE_TOPIC, json.dumps(zigbee_to_payload(r)).encode()
        return
    for f in night.frames():
        yield f.end, SENSOR_TOPIC, json.dumps(frame_to_payload(f)).encode()


async def play(
    settings: Settings, night: SimNight, clock: ScaledClock, console: Console
) -> float | None:
    """Publish the night's sensor messages in step with the scaled clock, with a progress
    bar; the time of the last one sent."""
    truth = night.truth
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[sim]}"),
        TimeRemainingColumn(),
    )
    async with make_client(settings.mqtt, SENSOR_STATUS_TOPIC, "-player") as client:
        await client.publish(SENSOR_STATUS_TOPIC, b"online", qos=1, retain=True)
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("playing the night", total=truth.end - truth.start, sim="")
            last: float | None = None
            wanted = clock.speed
            for at, topic, payload in sensor_messages(night):
                if at > clock.now():
                    # Caught up with the data: no reason to stay slow. (A sparse sensor's
                    # next report can be an hour away; slowed down to 1x, the demo would
                    # wait that hour, silently.)
                    if clock.speed < wanted:
                        clock.set_speed(wanted)
                    await clock.sleep_until(at)
                await client.publish(topic, payload, qos=1)
                last = at
                # The service shares this process: on a slow or busy machine the clock
                # would run hours ahead of the data it has handled (past the night's
                # end, which closes the night early). Slow the clock while it is ahead.
                lag = clock.now() - at
                if lag > MAX_LAG_SECONDS and clock.speed > 1.0:
                    clock.set_speed(max(1.0, clock.speed / 2))
                elif lag < MAX_LAG_SECONDS / 4 and clock.speed < wanted:
                    clock.set_speed(min(wanted, clock.speed * 2))
                progress.update(
                    task,
                    completed=at - truth.start,
                    sim=datetime.fromtimestamp(at, UTC).astimezone().strftime("%H:%M"),
                )
    return last


# How far (simulated seconds) the demo's clock may run ahead of the frames it has sent.
MAX_LAG_SECONDS = 120.0
CONNECT_TIMEOUT_SECONDS = 10.0


async def wait_drained(service: Service, last_t: float, timeout_seconds: float = 30.0) -> None:
    """Wait until the service has admitted the last message (a frame's end, a report's
    time); DemoStepError after `timeout_seconds`."""
    tracker = service.pipeline.trackers[DEMO_BED]
    await wait_until(
        lambda: max(tracker.cursors().values(), default=0.0) >= last_t - 0.01,
        timeout_seconds=timeout_seconds,
        failure="the service did not take in the night's last sensor message",
    )


async def demo_async(
    args: argparse.Namespace, console: Console, watchdog: Watchdog | None = None
) -> int:
    """The whole demo; returns the exit code."""
    start = night_start()
    night = generate_night(args.seed, args.profile, start=start, hours=args.hours)
    guided = not getattr(args, "no_guidance", False)
    clock = DemoClock(clock_start(start) if guided else start, args.speed)
    run = DemoRun(night)
    with tempfile.TemporaryDirectory(prefix="sleepenv-demo-") as tmp:
        async with (
            local_broker(console, args.port, args.broker, watchdog) as (host, port),
            contextlib.AsyncExitStack() as stack,
        ):
            settings = demo_settings(host, port, Path(tmp), night.source)
            if guided:
                settings = with_guidance(settings, start, args.hours)
            hooks = Hooks(
                on_event=lambda _bed, event: run.detected.append(event),
                guidance=console_hooks(console) if guided else None,
            )
            service = build_service(settings, clock, hooks)
            if guided:
                await stack.enter_async_context(
                    demo_bedroom(console, host, port, clock, service, start)
                )
            stop = asyncio.Event()
            service_task = asyncio.create_task(service.run(stop), name="service")
            try:
                await night_to_chart(run, service, settings, clock, console, args)
                if args.keep_running:
                    if run.chart is not None:
                        run.chart.show(console)
                    await keep_running(console, host, port, clock)
            finally:
                # Also when cancelled (Ctrl-C, SIGTERM): the service says `offline` and
                # lets go of the broker before the broker stops.
                stop.set()
                try:
                    await stop_service(service_task, SERVICE_STOP_SECONDS)
                except ServiceStuckError as exc:
                    run.problems.append(str(exc))
    if run.chart is not None:
        run.chart.show(console)  # last: what the demo leaves behind
    for problem in run.problems:
        sys.stderr.write(f"sleepenv: {problem}\n")
    return 1 if run.problems else 0


async def night_to_chart(
    run: DemoRun,
    service: Service,
    settings: Settings,
    clock: DemoClock,
    console: Console,
    args: argparse.Namespace,
) -> None:
    """The night, its morning and the tables; then the chart the service publishes, saved.
    A step that does not happen in time goes to `run.problems`."""
    async with watch_chart(settings, DEMO_BED, service) as watch:
        try:
            await night_and_morning(run, service, settings, clock, console, args)
        except DemoStepError as exc:
            run.problems.append(str(exc))
        console.print(hourly_table(run))
        console.print(class_table(run))
        console.print(sleep_line(run))
        if run.problems:
            return
        try:
            png = await watch.chart(service)
            run.chart = save_night_chart(
                Path(args.out), png, has_room=has_room(service, run.closed)
            )
        except DemoStepError as exc:
            run.problems.append(str(exc))


async def night_and_morning(
    run: DemoRun,
    service: Service,
    settings: Settings,
    clock: DemoClock,
    console: Console,
    args: argparse.Namespace,
) -> None:
    """Play the night through the service, then its morning until the service closes it."""
    await wait_until(
        service.is_connected.is_set,
        timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        failure="the service did not connect to the demo's broker",
    )
    console.print(
        f"service: connected; playing a {args.hours:g} h night "
        f"(profile {args.profile}, seed {args.seed}, {run.night.source.value} sensor) "
        f"at {args.speed:g}x"
    )
    last = await play(settings, run.night, clock, console)
    if last is not None:
        await wait_drained(service, last)
    run.closed = await close_night(service, clock, console, DEMO_BED, args.speed)
    # Stored with the final labels when the night closed.
    run.final = service.store.events(DEMO_BED, run.closed.night)


async def keep_running(console: Console, host: str, port: int, clock: ScaledClock) -> None:
    """Leave broker and service up at real-time speed until Ctrl-C or SIGTERM."""
    clock.set_speed(1.0)
    console.print(
        f"\nbroker and service keep running on {host}:{port}. Try:\n"
        f"  mosquitto_sub -h {host} -p {port} -v -t '#'\n"
        f"or point Home Assistant's MQTT integration at {host}:{port}. Ctrl-C stops."
    )
    done = asyncio.Event()
    on_stop_signal(done.set)
    await done.wait()


def port_user(port: int, host: str = DEMO_HOST) -> str | None:
    """What already holds `port` on `host` (a socket bound there, or a listener), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Mosquitto binds: connections in TIME_WAIT do not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    # Where a bind beside a wildcard listener succeeds, a connection still finds it.
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return "something accepts connections there (another broker?)"
    return None


def run_demo(args: argparse.Namespace) -> int:
    """Entry point for `sleepenv demo`."""
    console = Console()
    if args.speed <= 0:
        console.print("--speed must be positive")
        return 2
    if args.port is not None:
        # A taken port would mean publishing the demo's night and a retained "Demo bed"
        # device into someone else's broker: refuse before starting anything.
        used = port_user(args.port)
        if used is not None:
            sys.stderr.write(
                f"sleepenv: port {args.port} on {DEMO_HOST} is taken ({used}); the demo only "
                "uses a broker it starts itself. Leave out --port for a free one, or pick "
                "another.\n"
            )
            return 2
    problem = prepare_out(Path(args.out))
    if problem is not None:
        sys.stderr.write(f"sleepenv: --out: {problem}\n")
        return 2
    return run_bounded(lambda watchdog: demo_async(args, console, watchdog))
