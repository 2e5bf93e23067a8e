"""First-hour mistakes as a new user makes them: one clear line, a non-zero exit, no device."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_cli import sleepenv

BED = {"id": "a", "name": "A", "sensors": [{"kind": "envelope", "topic": "bed/env"}]}


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener standing in for somebody else's broker (or a device's endpoint)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.3)
    try:
        yield sock
    finally:
        sock.close()


def was_contacted(sock: socket.socket) -> bool:
    """True when anything connected to the listener."""
    try:
        conn, _ = sock.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


def write(path: Path, data: object) -> Path:
    """Write `data` as YAML to `path`."""
    path.write_text(yaml.safe_dump(data))
    return path


def assert_one_clear_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Non-zero, no traceback, and the message says what was wrong."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


# -- item 8: topics --------------------------------------------------------------------


def test_run_refuses_colliding_topics_before_connecting(
    tmp_path: Path, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    cfg = write(
        tmp_path / "c.yaml",
        {
            "mqtt": {"host": "127.0.0.1", "port": port},
            "beds": [BED, {**BED, "id": "b"}, {**BED, "id": "c", "sensors": [
                {"kind": "envelope", "topic": "$SYS/broker/load"}]}],
            "storage": {"data_dir": str(tmp_path / "data")},
        },
    )  # fmt: skip
    for args in (("check-config", str(cfg)), ("run", "--config", str(cfg))):
        proc = sleepenv(*args, timeout=60)
        assert proc.returncode == 2
        assert_one_clear_error(
            proc,
            "beds[1].sensors[0].topic: topic 'bed/env' is already used by beds[0].sensors[0].topic",
            "beds[2].sensors[0].topic: '$SYS/broker/load' cannot be used",
        )
    assert not was_contacted(listener)
    assert not (tmp_path / "data").exists()


# -- item 9: TLS files -----------------------------------------------------------------


def test_run_refuses_a_garbage_ca_file_and_an_encrypted_key(
    tmp_path: Path, listener: socket.socket
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("garbage\n")
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    key = tmp_path / "key.pem"
    key.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    tls = {"enabled": True, "ca_file": str(ca), "cert_file": str(cert), "key_file": str(key)}
    mqtt = {"host": "127.0.0.1", "port": listener.getsockname()[1], "tls": tls}
    cfg = write(tmp_path / "tls.yaml", {"mqtt": mqtt, "beds": [BED]})
    proc = sleepenv("run", "--config", str(cfg), timeout=60)
    assert proc.returncode == 2
    assert_one_clear_error(
        proc,
        f"mqtt.tls.ca_file: {ca} holds no PEM certificate",
        f"mqtt.tls.key_file: {key} is protected by a pass phrase",
    )
    assert not was_contacted(listener)


# -- habits from a Home Assistant entity -------------------------------------------------


def test_run_refuses_a_habit_entity_without_a_home_assistant_api(
    tmp_path: Path, listener: socket.socket
) -> None:
    habits = {"caffeine": {"entity": "counter.coffees_today"}}
    cfg = write(
        tmp_path / "habits.yaml",
        {
            "mqtt": {"host": "127.0.0.1", "port": listener.getsockname()[1]},
            "beds": [BED],
            "storage": {"data_dir": str(tmp_path / "data")},
            "guidance": {"bedrooms": [{"id": "bedroom", "habits": habits}]},
        },
    )
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISOR_TOKEN"}
    for args in (("check-config", str(cfg)), ("run", "--config", str(cfg))):
        proc = sleepenv(*args, timeout=60, env=env)
        assert proc.returncode == 2
        assert_one_clear_error(
            proc,
            "guidance.bedrooms[0].habits.caffeine.entity: counter.coffees_today is read "
            "through Home Assistant's API, but none is configured (allowed: set "
            "guidance.homeassistant.url and token",
        )
    assert not was_contacted(listener)
    assert not (tmp_path / "data").exists()


# -- item 13: the demo's port ----------------------------------------------------------


def test_demo_refuses_a_port_that_is_taken(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    proc = sleepenv("demo", "--port", str(port), "--hours", "0.5", timeout=60)
    assert proc.returncode == 2
    assert_one_clear_error(proc, f"port {port} on 127.0.0.1 is taken", "Leave out --port")
    assert "broker:" not in proc.stdout
    assert not was_contacted(listener)


def test_demo_refuses_an_out_dir_it_cannot_make(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = sleepenv("demo", "--out", str(blocker / "charts"), "--hours", "0.5", timeout=60)
    assert proc.returncode == 2
    assert_one_clear_error(proc, f"--out: cannot make the directory {blocker / 'charts'}: ")
    assert "broker:" not in proc.stdout  # refused before playing anything


def test_demo_help_says_where_the_chart_goes() -> None:
    wide = {**os.environ, "COLUMNS": "400"}  # no line break inside a file name
    text = " ".join(sleepenv("demo", "--help", env=wide).stdout.split())
    assert "--out DIR" in text
    assert "which the demo saves as DIR/night-chart.png" in text
    assert "default sleepenv-demo/ in the current directory" in text


# -- item 14: tracebacks turned into messages -------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("demo", "--profile", "bogus"), "invalid choice: 'bogus' (choose from "),
        (("evaluate", "--profile", "nope"), "'nope'"),  # the evaluation lists the profiles
        (("demo", "--hours", "0.1"), "--hours: '0.1': allowed: 0.5 hours or more"),
        (("demo", "--speed", "nan"), "--speed: 'nan': allowed: a finite number above 0"),
        (("run", "--speed", "0"), "--speed: '0': allowed: a finite number above 0"),
        (("run", "--speed", "nan"), "--speed: 'nan': allowed: a finite number above 0"),
        (("run", "--start-at", "yesterday"), "--start-at: 'yesterday': allowed: an ISO date"),
        (("demo", "--port", "70000"), "--port: '70000': allowed: 1 to 65535"),
        (("run", "--log-level", "loud"), "invalid choice: 'LOUD'"),
    ],
)
def test_bad_arguments_give_one_line(args: tuple[str, ...], says: str) -> None:
    proc = sleepenv(*args, timeout=60)
    assert proc.returncode == 2
    assert_one_clear_error(proc, says)


def test_analyze_a_missing_or_empty_or_useless_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    proc = sleepenv("analyze", str(missing))
    assert_one_clear_error(proc, f"cannot analyze {missing}: no such file")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    proc = sleepenv("analyze", str(empty))
    assert_one_clear_error(proc, f"cannot analyze {empty}: the file is empty")
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not a frame\n")
    proc = sleepenv("analyze", str(junk), "--json")
    assert_one_clear_error(proc, f"cannot analyze {junk}:")
    assert proc.stdout == ""


def test_plan_json_into_a_closed_pipe_is_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sleepenv", "plan", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # like `| head` that has read what it wanted
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141
    assert err == ""


def test_unusable_config_files_give_one_line_each(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"beds:\n  - id: a\n    name: Caf\xe9\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("beds: " + "[" * 100_000 + "\n")
    for cfg, says in ((latin, "not UTF-8 text"), (deep, "nested more than 32 levels deep")):
        proc = sleepenv("check-config", str(cfg))
        assert proc.returncode == 2
        assert_one_clear_error(proc, says)


def test_check_config_says_data_dir_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "data"
    file.write_text("")
    cfg = write(tmp_path / "c.yaml", {"beds": [BED], "storage": {"data_dir": str(file)}})
    proc = sleepenv("check-config", str(cfg))
    assert proc.returncode == 2
    assert_one_clear_error(proc, f"storage.data_dir: {file} is a file, not a directory")


def test_help_lists_allowed_values() -> None:
    from sleepenv.cli.types import MIN_DEMO_HOURS  # noqa: PLC0415
    from sleepenv.sim.night import MIN_HOURS  # noqa: PLC0415
    from sleepenv.sim.profiles import PROFILES  # noqa: PLC0415

    assert MIN_HOURS == MIN_DEMO_HOURS
    assert "{" + ",".join(sorted(PROFILES)) + "}" in sleepenv("demo", "--help").stdout
    assert "{DEBUG,INFO,WARNING,ERROR}" in sleepenv("run", "--help").stdout


# -- item 15: every problem in one run ------------------------------------------------


def test_check_config_reports_everything_at_once(tmp_path: Path) -> None:
    cfg = tmp_path / "many.yaml"
    cfg.write_text(
        "mqtt:\n  host: x\n  pasword: oops\n  keepalive: soon\n"
        "beds:\n"
        "  - id: a\n    name: A\n    timezone: Mars/Olympus\n"
        "    sensors: [{kind: envelope, topic: a/env}]\n"
        "  - id: a\n    name: B\n    sensors: [{kind: envelope, topic: b/env}]\n"
        "log_level: INFO\nlog_level: DEBUG\n"
    )
    proc = sleepenv("check-config", str(cfg))
    assert proc.returncode == 2
    assert_one_clear_error(
        proc,
        "5 config problem(s)",
        "mqtt.pasword: unknown key; allowed here: host, port",
        "mqtt.keepalive: Input should be a valid integer",
        "beds[0].timezone: unknown time zone 'Mars/Olympus'",
        "beds[1].id: bed id 'a' is already used by beds[0].id",
        "log_level: key given twice (lines 13 and 14)",
    )
