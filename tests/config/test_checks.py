"""Config rules across fields and the machine: topics, ids, YAML keys, TLS files, data dir."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sleepenv.config.environment import data_dir_problems, environment_problems, tls_problems
from sleepenv.config.settings import ConfigError, check, load_yaml, read_yaml


def bed(ident: str, topic: str, **extra: Any) -> dict[str, Any]:
    """A bed with one envelope sensor on `topic`."""
    return {"id": ident, "name": ident, "sensors": [{"kind": "envelope", "topic": topic}], **extra}


def guidance(*devices: dict[str, Any]) -> dict[str, Any]:
    """A guidance section with one bedroom holding `devices`."""
    return {"bedrooms": [{"id": "room", "devices": list(devices)}]}


def problems(data: dict[str, Any]) -> list[str]:
    """The pure validation's problems for `data`."""
    return check(data)[1]


# -- item 8: topics that collide ------------------------------------------------------


def test_a_sensor_topic_used_by_two_beds_names_both_paths() -> None:
    lines = problems({"beds": [bed("a", "bed/env"), bed("b", "bed/env")]})
    assert len(lines) == 1
    assert lines[0].startswith("beds[1].sensors[0].topic: topic 'bed/env' is already used by")
    assert "beds[0].sensors[0].topic" in lines[0]


def test_a_sensor_topic_equal_to_a_device_or_presence_topic_is_refused() -> None:
    device = {"id": "lamp", "role": "light", "topic": "zigbee2mqtt/lamp"}
    lines = problems({"beds": [bed("a", "zigbee2mqtt/lamp")], "guidance": guidance(device)})
    assert lines == [
        "guidance.bedrooms[0].devices[0].topic: topic 'zigbee2mqtt/lamp' is already used by "
        "beds[0].sensors[0].topic; only one of them would receive its messages (each sensor, "
        "status and presence topic must be used once, and not by a guidance device)"
    ]
    lines = problems({"beds": [bed("a", "x/env", presence_topic="x/env")]})
    assert len(lines) == 1
    assert lines[0].startswith("beds[0].presence_topic: topic 'x/env' is already used by")
    assert "beds[0].sensors[0].topic" in lines[0]


def test_our_own_topics_the_discovery_prefix_and_sys_are_refused() -> None:
    data = {
        "mqtt": {"base_topic": "sleepenv", "discovery_prefix": "homeassistant"},
        "beds": [
            bed("a", "sleepenv/a/state"),
            bed("b", "homeassistant/status"),
            bed("c", "$SYS/broker/uptime"),
            bed("d", "sleepenv/status"),
            bed("e", "sleepenv/bed/envelope", presence_topic="sleepenv/guidance/x/phase"),
        ],
    }
    lines = problems(data)
    assert [line.split(":")[0] for line in lines] == [
        *(f"beds[{i}].sensors[0].topic" for i in range(4)),
        "beds[4].presence_topic",
    ]
    assert "mqtt.base_topic is 'sleepenv'" in lines[0]
    assert "mqtt.discovery_prefix is 'homeassistant'" in lines[1]
    assert "$SYS" in lines[2]
    assert all("allowed:" in line for line in lines)
    # Only what sleepenv publishes is refused: `sleepenv/bed/envelope` (beds[4]) is fine.
    assert problems({"beds": [bed("bed_x", "sleepenv/bed/envelope")]}) == []


def test_a_sensor_on_a_devices_command_topic_is_refused() -> None:
    device = {"id": "lamp", "role": "light", "topic": "zigbee2mqtt/lamp"}
    lines = problems({"beds": [bed("a", "zigbee2mqtt/lamp/set")], "guidance": guidance(device)})
    assert len(lines) == 1
    assert lines[0].startswith("beds[0].sensors[0].topic: sleepenv sends commands")
    assert "guidance.bedrooms[0].devices[0].topic" in lines[0]


def test_devices_may_share_a_group_topic_and_other_topics_are_fine() -> None:
    lamp = {"id": "lamp", "role": "light", "topic": "zigbee2mqtt/group"}
    plug = {"id": "plug", "role": "screen", "topic": "zigbee2mqtt/group"}
    data = {
        "beds": [bed("a", "a/env", presence_topic="a/presence"), bed("b", "b/env")],
        "guidance": guidance(lamp, plug),
    }
    assert problems(data) == []


# -- item 15: every problem in one run, duplicate ids and keys ------------------------


def test_duplicate_ids_name_the_id_and_both_paths() -> None:
    data = {
        "beds": [bed("a", "a/env"), bed("a", "b/env")],
        "guidance": {
            "bedrooms": [
                {"id": "r", "devices": [{"id": "d", "role": "light", "topic": "z/1"}] * 2},
                {"id": "r"},
            ]
        },
    }
    lines = problems(data)
    assert "beds[1].id: bed id 'a' is already used by beds[0].id (bed ids must be unique)" in lines
    assert any(line.startswith("guidance.bedrooms[1].id: bedroom id 'r'") for line in lines)
    assert any(
        line.startswith("guidance.bedrooms[0].devices[1].id: device id 'd' is already used by ")
        and "guidance.bedrooms[0].devices[0].id" in line
        for line in lines
    )


def test_field_errors_and_duplicate_ids_come_together() -> None:
    data = {"mqtt": {"prot": 1, "keepalive": "soon"}, "beds": [bed("a", "x"), bed("a", "y")]}
    text = "\n".join(problems(data))
    assert "mqtt.prot: unknown key" in text
    assert "mqtt.keepalive:" in text
    assert "beds[1].id: bed id 'a'" in text


def test_duplicate_yaml_keys_are_errors_with_their_path(tmp_path: Path) -> None:
    cfg = tmp_path / "dup.yaml"
    cfg.write_text(
        "beds:\n  - id: a\n    name: A\n    name: B\n    sensors: []\nlog_level: INFO\n"
        "log_level: DEBUG\n"
    )
    data, lines = load_yaml(cfg)
    assert lines == [
        "beds[0].name: key given twice (lines 3 and 4); keep one",
        "log_level: key given twice (lines 6 and 7); keep one",
    ]
    assert data["log_level"] == "DEBUG"
    with pytest.raises(ConfigError, match="key given twice"):
        read_yaml(cfg)


def test_merge_keys_and_anchors_are_not_duplicates(tmp_path: Path) -> None:
    cfg = tmp_path / "anchors.yaml"
    cfg.write_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\nagain: *b\n")
    assert load_yaml(cfg)[1] == []


def test_unreadable_yaml_gives_one_line(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"beds: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 at offset 9\)"):
        load_yaml(latin)
    deep = tmp_path / "deep.yaml"
    deep.write_text("beds: " + "[" * 100_000)
    with pytest.raises(ConfigError, match="nested more than 32 levels deep"):
        load_yaml(deep)
    nested = tmp_path / "nested.yaml"
    nested.write_text("beds: " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(ConfigError, match="line 1: nested more than 32 levels deep"):
        load_yaml(nested)


def test_unknown_time_zones_are_found_without_a_valid_model() -> None:
    data = {
        "mqtt": {"prot": 1},
        "beds": [bed("a", "x", timezone="Mars/Olympus")],
        "guidance": {"bedrooms": [{"id": "r", "timezone": "Nowhere"}]},
    }
    lines = environment_problems(data)
    assert lines == [
        "beds[0].timezone: unknown time zone 'Mars/Olympus' (allowed: an IANA name such as "
        "Europe/Berlin or America/New_York)",
        "guidance.bedrooms[0].timezone: unknown time zone 'Nowhere' (allowed: an IANA name such "
        "as Europe/Berlin or America/New_York)",
    ]


# -- item 14: a data_dir that is a file ------------------------------------------------


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    assert data_dir_problems(str(file))[0].startswith(f"storage.data_dir: {file} is a file")
    below = file / "sub"
    assert f"cannot be created: {file} is a file" in data_dir_problems(str(below))[0]
    assert data_dir_problems(str(tmp_path / "new" / "dir")) == []
    assert data_dir_problems(None) == []


# -- item 9: TLS files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate, its key, and the same key encrypted, made by openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    key = str(d / "key.pem")
    run = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    subprocess.run(
        [*run, "-subj", "/CN=test", "-keyout", key, "-out", str(d / "cert.pem")],
        check=True,
        capture_output=True,
    )
    encrypt = [openssl, "pkey", "-in", key, "-aes256", "-passout", "pass:secret"]
    subprocess.run([*encrypt, "-out", str(d / "encrypted.pem")], check=True, capture_output=True)
    return d


def tls(**files: Path) -> dict[str, Any]:
    """An enabled TLS section with these files."""
    return {"enabled": True, **{k: str(v) for k, v in files.items()}}


def test_good_tls_files_pass(pki: Path) -> None:
    files = tls(ca_file=pki / "cert.pem", cert_file=pki / "cert.pem", key_file=pki / "key.pem")
    assert tls_problems(files) == []


def test_a_ca_file_without_certificates_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("this is not a certificate\n")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    lines = tls_problems(tls(ca_file=garbage))
    assert lines == [
        f"mqtt.tls.ca_file: {garbage} holds no PEM certificate (allowed: a PEM bundle of "
        "-----BEGIN CERTIFICATE----- blocks)"
    ]
    (line,) = tls_problems(tls(ca_file=broken))
    assert line.startswith(f"mqtt.tls.ca_file: {broken} is not a usable CA bundle")
    assert tls_problems({"enabled": False, "ca_file": str(garbage)}) == []


def test_an_encrypted_key_is_refused_without_a_prompt(pki: Path) -> None:
    files = tls(cert_file=pki / "cert.pem", key_file=pki / "encrypted.pem")
    (line,) = tls_problems(files)
    assert line.startswith(f"mqtt.tls.key_file: {pki / 'encrypted.pem'} is protected by a pass")
    assert "allowed: an unencrypted key" in line


def test_a_key_that_is_not_a_key_or_not_the_certificates_is_refused(
    pki: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.pem"
    other.write_text("no key here")
    (line,) = tls_problems(tls(cert_file=pki / "cert.pem", key_file=other))
    assert "holds no PEM private key" in line
    (line,) = tls_problems(tls(cert_file=pki / "key.pem", key_file=pki / "key.pem"))
    assert line.startswith("mqtt.tls.cert_file:")
    assert "holds no PEM certificate" in line


# -- habits from Home Assistant entities ---------------------------------------------------


def habits_config(habits: dict[str, Any], **ha: Any) -> dict[str, Any]:
    """One bed and one bedroom whose habits come from `habits`."""
    room = {"id": "room", "habits": habits}
    return {"beds": [bed("a", "bed/env")], "guidance": {"homeassistant": ha, "bedrooms": [room]}}


def test_habit_entities_need_a_rule_and_name_their_path() -> None:
    assert problems(habits_config({"caffeine": {"entity": "counter.coffees_today"}})) == []
    lines = problems(
        habits_config(
            {
                "caffeine": {"entity": "Coffee"},
                "exercise": {"entity": "input_select.activity"},
                "sleep": {"entity": "input_boolean.x"},
            }
        )
    )
    assert len(lines) == 3
    assert lines[0].startswith("guidance.bedrooms[0].habits.caffeine.entity: String should match")
    assert "counter.coffees_today" in lines[0]  # what is allowed
    assert lines[1].startswith(
        "guidance.bedrooms[0].habits.exercise: Value error, input_select.activity needs "
        "`states`, the states that count as a press (allowed: binary_sensor, input_boolean, "
        "switch: turning on is one press; counter, input_number, number, sensor: each increase"
    )
    assert lines[2] == (
        "guidance.bedrooms[0].habits.sleep: unknown key; allowed here: caffeine, exercise, "
        "late_exercise_hours"
    )
    lines = problems(
        habits_config({"exercise": {"entity": "sensor.phone", "states": ["running", "Unknown"]}})
    )
    assert lines == [
        "guidance.bedrooms[0].habits.exercise: Value error, `states` cannot hold unavailable "
        "or unknown: they never count"
    ]
    assert problems(habits_config({"exercise": {"entity": "sensor.phone", "states": []}})) == [
        "guidance.bedrooms[0].habits.exercise.states: List should have at least 1 item after "
        "validation, not 0"
    ]


def test_late_exercise_hours_are_a_bedrooms_setting_within_half_an_hour_and_12() -> None:
    settings, lines = check(habits_config({"late_exercise_hours": 1.5}))
    assert lines == []
    assert settings is not None
    assert settings.guidance is not None
    assert settings.guidance.bedrooms[0].habits.late_exercise_hours == 1.5
    settings, _ = check(habits_config({}))
    assert settings is not None
    assert settings.guidance is not None
    assert settings.guidance.bedrooms[0].habits.late_exercise_hours == 3.0
    assert problems(habits_config({"late_exercise_hours": 0.25})) == [
        "guidance.bedrooms[0].habits.late_exercise_hours: Input should be greater than or "
        "equal to 0.5"
    ]
    assert problems(habits_config({"late_exercise_hours": 13})) == [
        "guidance.bedrooms[0].habits.late_exercise_hours: Input should be less than or equal to 12"
    ]
    assert problems(habits_config({"late_exercise_hours": "late"}))[0].startswith(
        "guidance.bedrooms[0].habits.late_exercise_hours: Input should be a valid number"
    )


def test_a_habit_entity_without_a_home_assistant_api_is_a_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    data = habits_config(
        {
            "caffeine": {"entity": "counter.coffees_today"},
            "exercise": {"entity": "sensor.phone", "states": ["running"]},
        },
        url="http://ha:8123/api",
    )
    settings, lines = check(data)
    assert lines == []
    assert settings is not None
    assert environment_problems(data, settings) == [
        "guidance.bedrooms[0].habits.caffeine.entity: counter.coffees_today is read through "
        "Home Assistant's API, but none is configured (allowed: set guidance.homeassistant.url "
        "and token, or run as the add-on; or remove it and press the bedroom's button instead)",
        "guidance.bedrooms[0].habits.exercise.entity: sensor.phone is read through "
        "Home Assistant's API, but none is configured (allowed: set guidance.homeassistant.url "
        "and token, or run as the add-on; or remove it and press the bedroom's button instead)",
    ]
    data["guidance"]["homeassistant"]["token"] = "t"
    settings, _ = check(data)
    assert environment_problems(data, settings) == []
    del data["guidance"]["homeassistant"]["token"]
    monkeypatch.setenv("SUPERVISOR_TOKEN", "sup")  # the add-on: the Supervisor is the API
    settings, _ = check(data)
    assert environment_problems(data, settings) == []
