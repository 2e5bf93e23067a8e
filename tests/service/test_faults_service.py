"""The service against a real Mosquitto: heartbeat faults, a restart after the night's end,
prompt reconnects, TLS keys that never prompt (issue 15, items 3, 11, 12 and leftovers)."""

from __future__ import annotations

import logging
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.rules import topic_problems
from sleepenv.config.settings import MqttSettings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.mqtt.client import TlsFileError, refused, tls_context
from tests.helpers.frames import Burst, frames, payload
from tests.helpers.mqtt import publish_many, watch
from tests.service.test_service import make_settings, running, state


def local(days_back: int, hour: int) -> float:
    """Unix time of `hour`:00 local time `days_back` days ago."""
    day = datetime.now().astimezone() - timedelta(days=days_back)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).timestamp()


async def test_a_heartbeat_that_cannot_be_written_is_one_error_line_not_a_crash(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "heartbeat").mkdir()  # a directory where the file should be
    clock = ScaledClock(local(1, 23), 1.0)
    settings = make_settings(mosquitto, prefix, tmp_path)
    t0 = clock.now() - 100
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(t0, 60, (Burst(t0 + 20, 2.0),))]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, clock),
    ):
        await w.wait_for(lambda: "cannot write the heartbeat file" in caplog.text, 15)
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: state(w, prefix, "movements_tonight") == "1")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "healthcheck will report unhealthy" in errors[0].getMessage().replace("`", "")


async def test_a_restart_after_the_nights_end_closes_that_night(
    mosquitto: MosquittoProcess, prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto, prefix, tmp_path)
    night_clock = ScaledClock(local(1, 23), 1.0)
    t0 = night_clock.now() - 200
    bursts = (Burst(t0 + 60, 0.3), Burst(t0 + 90, 2.0), Burst(t0 + 130, 20.0))
    msgs = [(f"{prefix}/bed/env", payload(f)) for f in frames(t0, 180, bursts)]
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, night_clock),
    ):
        await publish_many(mosquitto.host, mosquitto.port, msgs)
        await w.wait_for(lambda: state(w, prefix, "movements_tonight") == "3")
    # Down until the afternoon: the night ended (12:00) while nobody was running.
    day_clock = ScaledClock(local(0, 15), 1.0)
    async with (
        watch(mosquitto.host, mosquitto.port, [f"{prefix}/#"]) as w,
        running(settings, day_clock),
    ):
        await w.expect(
            {
                f"{prefix}/main/movements_last_night": "3",
                f"{prefix}/main/twitches_last_night": "1",
                f"{prefix}/main/rollovers_last_night": "1",
                f"{prefix}/main/movements_tonight": "0",
            }
        )
    store = Store(tmp_path / "sleepenv.db")
    try:
        night = store.nights("main", 1)[0]
    finally:
        store.close()
    # Stored as closed: it ends at the window's end, 12:00 local time.
    assert night.end == local(0, 12)
    assert night.total_movements == 3


def test_subscriptions_refused_in_the_suback_are_named() -> None:
    assert refused(["a", "b", "c"], [1, 0x80, 0]) == ["b"]


def test_an_encrypted_key_fails_cleanly_and_never_prompts(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-keyout", str(key),
            "-out", str(cert), "-days", "1", "-subj", "/CN=t", "-passout", "pass:secret",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    tls = {"enabled": True, "cert_file": str(cert), "key_file": str(key)}
    with pytest.raises(TlsFileError, match="encrypted"):
        tls_context(MqttSettings.model_validate({"tls": tls}))


def test_the_diagnostics_topic_is_not_an_input(tmp_path: Path, prefix: str) -> None:
    broker = MosquittoProcess(port=1883)
    settings = make_settings(broker, prefix, tmp_path)
    bed = settings.beds[0]
    sensor = bed.sensors[0].model_copy(update={"topic": f"{prefix}/diagnostics"})
    bad = settings.model_copy(update={"beds": [bed.model_copy(update={"sensors": [sensor]})]})
    problems = topic_problems(bad)
    assert len(problems) == 1
    assert f"{prefix}/diagnostics" in problems[0]
