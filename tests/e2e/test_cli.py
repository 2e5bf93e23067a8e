"""The other commands as a user runs them: check-config, analyze, record, history, demo."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.publish as paho_publish
import pytest
import yaml
from PIL import Image

from sleepenv.mqtt.broker import MosquittoProcess, free_port
from tests.helpers.frames import Burst, frames, payload

EXAMPLE = Path(__file__).parents[2] / "config" / "sleepenv.example.yaml"


def sleepenv(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "sleepenv", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def test_check_config_accepts_the_documented_example() -> None:
    proc = sleepenv("check-config", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "config OK" in proc.stdout
    assert "bedroom" in proc.stdout


def test_check_config_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "mqtt:\n  host: x\n  pasword: oops\n"
        "beds:\n  - id: Main Bed\n    name: b\n    timezone: Mars/Olympus\n"
        "    sensors:\n      - kind: piezo\n        topic: a/#\n"
    )
    proc = sleepenv("check-config", str(bad))
    assert proc.returncode == 2
    err = proc.stderr
    assert "mqtt.pasword: unknown key; allowed here: host, port" in err
    assert "beds[0].id" in err
    assert "beds[0].sensors[0].kind: Input should be 'envelope' or 'zigbee_vibration'" in err
    assert "beds[0].sensors[0].topic" in err


def test_check_config_reports_unknown_time_zone(tmp_path: Path) -> None:
    cfg = tmp_path / "tz.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "beds": [
                    {
                        "id": "a",
                        "name": "A",
                        "timezone": "Mars/Olympus",
                        "sensors": [{"kind": "envelope", "topic": "x"}],
                    }
                ]
            }
        )
    )
    proc = sleepenv("check-config", str(cfg))
    assert proc.returncode == 2
    assert "beds[0].timezone: unknown time zone 'Mars/Olympus'" in proc.stderr
    # Checked on the YAML and again on the settings: reported once.
    assert proc.stderr.count("unknown time zone") == 1


def test_check_config_never_prints_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "mqtt": {"username": "u", "password": "hunter2secret"},
                "beds": [{"id": "a", "name": "A", "sensors": [{"kind": "envelope", "topic": "x"}]}],
            }
        )
    )
    proc = sleepenv(
        "check-config", str(cfg), env={**os.environ, "SLEEPENV_MQTT__PASSWORD": "envsecret42"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "hunter2secret" not in proc.stdout + proc.stderr
    assert "envsecret42" not in proc.stdout + proc.stderr
    assert "password: (set)" in proc.stdout


def test_check_config_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("beds:\n  - id: a\n   name: [unclosed\n")
    proc = sleepenv("check-config", str(cfg))
    assert proc.returncode == 2
    assert "line 3" in proc.stderr


def test_analyze_json_matches_the_contract(tmp_path: Path) -> None:
    t0 = 1_767_650_000.0
    rec = tmp_path / "night.jsonl"
    bursts = (Burst(t0 + 30, 0.3), Burst(t0 + 60, 2.0), Burst(t0 + 100, 15.0))
    with rec.open("w") as fh:
        for f in frames(t0, 140, bursts):
            fh.write(
                json.dumps({"t": f.t, "topic": "bed/env", "payload": json.loads(payload(f))}) + "\n"
            )
        fh.write("this line is garbage\n")
    proc = sleepenv("analyze", str(rec), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= {
        "source",
        "start",
        "end",
        "sleep_onset",
        "events",
        "counts",
        "plm_index",
        "rejected",
    }
    assert doc["source"] == "envelope"
    assert doc["start"] == t0
    assert doc["counts"] == {"twitch": 1, "limb_movement": 1, "rollover": 1}
    assert [round(e["onset"]) for e in doc["events"]] == [round(b.onset) for b in bursts]
    assert all(set(e) >= {"onset", "offset", "class", "peak"} for e in doc["events"])
    assert doc["rejected"] == 1


def test_analyze_bare_frames_without_wrapper(tmp_path: Path) -> None:
    t0 = 1_767_650_000.0
    rec = tmp_path / "bare.jsonl"
    rec.write_text(
        "".join(payload(f).decode() + "\n" for f in frames(t0, 80, (Burst(t0 + 40, 2.0),)))
    )
    doc = json.loads(sleepenv("analyze", str(rec), "--json").stdout)
    assert doc["counts"] == {"limb_movement": 1}


def test_record_writes_what_analyze_reads(
    tmp_path: Path, mosquitto: MosquittoProcess, prefix: str
) -> None:
    out = tmp_path / "rec.jsonl"
    topic = f"{prefix}/bed/env"
    rec = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sleepenv",
            "record",
            "--topic",
            topic,
            "--out",
            str(out),
            "--host",
            mosquitto.host,
            "--port",
            str(mosquitto.port),
            "--count",
            "5",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    # The recorder subscribes a moment after it starts: publish until it has had five.
    while rec.poll() is None and time.monotonic() < deadline:
        paho_publish.single(topic, "1.5", qos=1, hostname=mosquitto.host, port=mosquitto.port)
        time.sleep(0.2)
    _, err = rec.communicate(timeout=20)
    assert rec.returncode == 0, err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 5
    assert all(line["topic"] == topic and line["payload"] == "1.5" for line in lines)


def test_history_reads_nights_from_the_store(tmp_path: Path) -> None:
    from sleepenv.bed.core.model import NightSummary  # noqa: PLC0415
    from sleepenv.bed.store import Store  # noqa: PLC0415

    store = Store(tmp_path / "sleepenv.db")
    store.save_night(NightSummary("main", "2026-11-20", 1.0, 2.0, {"twitch": 3, "rollover": 7}))
    store.close()
    proc = sleepenv("history", "--data-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "2026-11-20" in proc.stdout
    assert "10" in proc.stdout


def test_history_without_data_says_so(tmp_path: Path) -> None:
    proc = sleepenv("history", "--data-dir", str(tmp_path / "empty"))
    assert proc.returncode == 0
    assert "no nights stored yet" in proc.stdout


def assert_night_chart(path: Path, size: tuple[int, int]) -> None:
    """`path` is a whole PNG image of `size` pixels."""
    with Image.open(path) as image:
        assert (image.format, image.size) == ("PNG", size)
        image.verify()  # every chunk there, none damaged


@pytest.mark.timeout(300)
def test_demo_plays_a_night_and_prints_the_summary(tmp_path: Path) -> None:
    out_dir = tmp_path / "charts"
    proc = sleepenv(
        *("demo", "--hours", "1", "--speed", "600", "--seed", "4", "--out", str(out_dir)),
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "broker: Mosquitto" in out
    assert "Movements per hour" in out
    total = next(line for line in out.splitlines() if line.strip("│ ").startswith("total"))
    simulated, detected = (int(x) for x in total.replace("│", " ").split()[1:3])
    assert simulated > 0
    assert abs(detected - simulated) <= max(2, simulated // 5)
    # The service closed the night itself; its chart, with the bedroom's evening under
    # it, is where the last lines say.
    assert "morning: the service closed the night of " in out
    chart = out_dir / "night-chart.png"
    assert_night_chart(chart, (800, 740))
    assert f"night chart: {chart}\n" in out
    last_words = " ".join(out.split()[-12:])
    assert last_words.endswith("as Home Assistant shows it on the bed's last-night chart")


def test_demo_stopped_mid_night_stops_its_broker(tmp_path: Path) -> None:
    """SIGTERM (a service manager, `timeout`, a closed terminal) ends the demo as Ctrl-C
    does: quickly, and without leaving its Mosquitto behind on the port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sleepenv", "demo", "--port", str(port), "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # Mid-evening, the night's player long connected (cancelled while it connects,
        # aiomqtt 2.5 logs an error of its own).
        for line in proc.stdout:
            if "wind_down" in line or "wind-down" in line:
                break
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        # The service's own stop takes a few seconds (workers, last flush, `offline`).
        _, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr, stderr
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass  # nothing listens there any more
    assert not (tmp_path / "night-chart.png").exists()


@pytest.mark.timeout(300)
def test_demo_falls_back_to_the_embedded_broker(tmp_path: Path) -> None:
    proc = sleepenv(
        *("demo", "--hours", "0.5", "--speed", "900", "--broker", "amqtt"),
        *("--out", str(tmp_path)),
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "using the embedded amqtt broker" in proc.stdout
    assert "Movements per hour" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert_night_chart(tmp_path / "night-chart.png", (800, 740))
