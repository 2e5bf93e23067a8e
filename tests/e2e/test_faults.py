"""Black box: storage faults, SIGKILL during a backlog and the healthcheck (issue 15, items 3,
10, 11, 12), with `python -m sleepenv run` as a subprocess against a real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sleepenv.mqtt.broker import MosquittoProcess
from tests.e2e.test_run import Runner, count, start_at_ts, write_config
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import publish_many, watch


def stored_events(db: Path) -> int:
    """Events in the database, read by a second connection."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


async def wait_stored(db: Path, n: int, seconds: float = 15.0) -> None:
    """Wait (up to `seconds`) until another process has stored `n` events."""
    deadline = time.monotonic() + seconds
    while await asyncio.to_thread(stored_events, db) < n and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


def stored_frames(db: Path) -> int:
    """The stored `frames_received` counter."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM counters WHERE key='frames_received'").fetchone()
    return int(row[0]) if row else 0


def healthcheck(config: Path) -> subprocess.CompletedProcess[str]:
    """`sleepenv healthcheck --config FILE` as a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "sleepenv", "healthcheck", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_file_that_is_not_a_database_exits_once_with_one_line(
    tmp_path: Path, mosquitto: MosquittoProcess, prefix: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sleepenv.db").write_bytes(b"this is a shopping list, not a database\n" * 100)
    config = write_config(tmp_path / "c.yaml", mosquitto, prefix, data)
    proc = subprocess.run(
        [sys.executable, "-m", "sleepenv", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, proc.stderr
    assert f"{data / 'sleepenv.db'} is not a sleepenv database" in errors[0]
    assert "connected" not in proc.stderr


async def test_a_full_disk_is_buffered_and_written_when_space_returns(
    runner: Runner, mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    topic = f"{prefix}/bed/env"
    t0 = start_at_ts(runner) - 300
    db = tmp_path / "data" / "sleepenv.db"
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
        runner.start()
        assert runner.proc is not None
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "online", 15)
        # No file of the service may grow past 4 KiB: every SQLite write now fails
        # (EFBIG, as on a full disk; Python ignores SIGXFSZ).
        resource.prlimit(runner.proc.pid, resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        bursts = (Burst(t0 + 30, 0.3), Burst(t0 + 60, 2.0))
        await publish_many(
            mosquitto.host, mosquitto.port, [(topic, payload(f)) for f in frames(t0, 90, bursts)]
        )
        # The service carries on: counts are published while the writes wait in memory.
        await w.wait_for(lambda: count(w, prefix) == "2", 15)
        assert stored_events(db) == 0
        # Space is back: what was buffered is written.
        unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        resource.prlimit(runner.proc.pid, resource.RLIMIT_FSIZE, unlimited)
        await wait_stored(db, 2)
        assert stored_events(db) == 2
        code, out = runner.signal(signal.SIGTERM)
    assert code == 0, out
    assert "Traceback" not in out
    assert out.count("cannot write to the database") == 1, out
    assert "works again" in out


async def test_sigkill_during_a_backlog_loses_nothing(
    runner: Runner, mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    topic = f"{prefix}/bed/env"
    t0 = start_at_ts(runner) - 900
    # Twenty limb movements, 30 s apart, in 620 frames.
    bursts = tuple(Burst(t0 + 20 + 30 * i, 2.0) for i in range(20))
    backlog = [(topic, payload(f)) for f in frames(t0, 620, bursts)]
    db = tmp_path / "data" / "sleepenv.db"
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
        runner.start()
        # One frame before the night's, so we know the subscription is in place.
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "online", 15)
        probe = [(topic, payload(next(frames(t0 - 10, 1))))]
        for _ in range(15):
            await publish_many(mosquitto.host, mosquitto.port, probe)
            with contextlib.suppress(TimeoutError):
                await w.wait_for(lambda: w.text(f"{prefix}/main/frames_received") == "1", 1)
                break
        assert w.text(f"{prefix}/main/frames_received") == "1"
        assert runner.proc is not None
        runner.proc.kill()  # the broker keeps the persistent session and queues for it
        runner.proc.wait()
        runner.proc = None
        await publish_many(mosquitto.host, mosquitto.port, backlog)
        # Back, and killed again while it works through the backlog.
        runner.start()
        await w.wait_for(lambda: int(w.text(f"{prefix}/main/frames_received") or 0) > 1, 15)
        assert runner.proc is not None
        runner.proc.kill()
        runner.proc.wait()
        runner.proc = None
        runner.start()
        await w.wait_for(lambda: w.text(f"{prefix}/main/frames_received") == "621", 30)
        # Every frame exactly once. Every movement at most once; a fresh detector learns
        # its baseline from the frames the broker redelivers, but when the kill fell just
        # after an acknowledgement few come back, and a movement starting within the
        # remaining seconds of its 10 s warm-up is missed (README: Faults).
        await w.wait_for(lambda: count(w, prefix) in ("19", "20"), 30)
        code, out = runner.signal(signal.SIGTERM)
    assert code == 0, out
    assert stored_events(db) in (19, 20)
    assert str(stored_events(db)) == count(w, prefix)
    assert stored_frames(db) == 621


DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"


def write_secure_broker(directory: Path, port: int, denied_topic: str) -> Path:
    """A Mosquitto config with user `sleepenv` (password `right`) who may not subscribe
    to `denied_topic`: the dynamic-security plugin answers such a SUBACK with a failure,
    as the Home Assistant add-on's auth plugin does (a plain acl_file grants it and
    silently delivers nothing)."""
    dynsec = directory / "dynsec.json"
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(dynsec), "sleepenv", "right"],
        check=True,
        capture_output=True,
    )
    document = json.loads(dynsec.read_text())
    document["defaultACLAccess"] = dict.fromkeys(
        ("publishClientSend", "publishClientReceive", "subscribe", "unsubscribe"), True
    )
    deny = {"acltype": "subscribePattern", "topic": denied_topic, "priority": 0, "allow": False}
    document["roles"] = [{"rolename": "no_sensor", "acls": [deny]}]
    document["clients"][0]["roles"] = [{"rolename": "no_sensor"}]
    dynsec.write_text(json.dumps(document))
    conf = directory / "mosquitto.conf"
    conf.write_text(
        # `user`: as root, Mosquitto would switch users and lose the test directory.
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"persistence false\nplugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {dynsec}\n"
    )
    return conf


async def test_healthcheck_is_unhealthy_with_a_wrong_password_or_an_acl_block(
    tmp_path: Path, prefix: str
) -> None:
    from sleepenv.mqtt.broker import free_port, wait_for_port  # noqa: PLC0415

    port = free_port()
    conf = write_secure_broker(tmp_path, port, f"{prefix}/bed/env")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        wait_for_port("127.0.0.1", port)
        fake = MosquittoProcess(port=port)
        for password, says in (
            ("wrong", "not connected to the MQTT broker"),
            ("right", f"refused the subscription to {prefix}/bed/env"),
        ):
            config = write_config(tmp_path / f"{password}.yaml", fake, prefix, tmp_path / password)
            text = config.read_text().replace("mqtt:\n", "mqtt:\n  username: sleepenv\n")
            config.write_text(text.replace("mqtt:\n", f"mqtt:\n  password: {password}\n"))
            day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 86400))
            runner = Runner(config, f"{day}T23:00:00+01:00")
            runner.start()
            try:
                deadline = time.monotonic() + 20
                proc = await asyncio.to_thread(healthcheck, config)
                while says not in proc.stdout and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    proc = await asyncio.to_thread(healthcheck, config)
                assert proc.returncode == 1, proc.stdout
                assert proc.stdout.startswith("unhealthy:"), proc.stdout
                assert says in proc.stdout
            finally:
                code, out = runner.signal(signal.SIGTERM)
            assert code == 0, out
            assert "Traceback" not in out
    finally:
        broker.terminate()
        broker.wait()


async def test_healthcheck_is_healthy_until_the_database_is_deleted(
    runner: Runner, mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    topic = f"{prefix}/bed/env"
    t0 = start_at_ts(runner) - 300
    db = tmp_path / "data" / "sleepenv.db"
    async with watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w:
        runner.start()
        await w.wait_for(lambda: w.text(f"{prefix}/status") == "online", 15)
        deadline = time.monotonic() + 20
        proc = await asyncio.to_thread(healthcheck, runner.config)
        while proc.returncode != 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            proc = await asyncio.to_thread(healthcheck, runner.config)
        assert proc.stdout.startswith("healthy: connected, subscribed and storing"), proc.stdout
        await publish_many(
            mosquitto.host,
            mosquitto.port,
            [(topic, payload(f)) for f in frames(t0, 60, (Burst(t0 + 20, 2.0),))],
        )
        await w.wait_for(lambda: count(w, prefix) == "1", 15)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
        deadline = time.monotonic() + 20
        proc = await asyncio.to_thread(healthcheck, runner.config)
        while proc.returncode == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            proc = await asyncio.to_thread(healthcheck, runner.config)
        assert proc.returncode == 1
        assert "was deleted while sleepenv was running" in proc.stdout
        # Later movements are stored again, in a new file, with tonight's first one.
        more = frames(t0 + 60, 60, (Burst(t0 + 80, 2.0),), seed=2)
        await publish_many(mosquitto.host, mosquitto.port, [(topic, payload(f)) for f in more])
        await w.wait_for(lambda: count(w, prefix) == "2", 15)
        await wait_stored(db, 2)
        assert stored_events(db) == 2
        code, out = runner.signal(signal.SIGTERM)
    assert code == 0, out
    assert out.count("was deleted while sleepenv was running") == 1, out
    assert "Traceback" not in out
