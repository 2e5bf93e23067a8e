"""Settings: strict validation, YAML paths in errors, env overrides, no secrets leaked."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepenv.config.settings import ConfigError, load_settings, read_yaml, validate, yaml_path

BED = {"id": "main", "name": "Main", "sensors": [{"kind": "envelope", "topic": "bed/env"}]}


def test_defaults() -> None:
    s = validate({"beds": [BED]})
    assert s.mqtt.port == 1883
    assert s.mqtt.discovery_prefix == "homeassistant"
    assert s.mqtt.base_topic == "sleepenv"
    assert s.mqtt.tls.verify is True
    assert s.night.start.hour == 18
    assert s.night.end.hour == 12


def test_env_overrides_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEEPENV_MQTT__PASSWORD", "from-env")
    monkeypatch.setenv("SLEEPENV_MQTT__PORT", "8883")
    s = validate({"mqtt": {"host": "broker", "port": 1883, "password": "from-yaml"}, "beds": [BED]})
    assert s.mqtt.host == "broker"
    assert s.mqtt.port == 8883
    assert s.mqtt.password is not None
    assert s.mqtt.password.get_secret_value() == "from-env"
    assert "from-env" not in repr(s)


def test_every_problem_is_reported_with_its_path() -> None:
    with pytest.raises(ConfigError) as err:
        validate(
            {
                "mqtt": {"port": 0, "colour": "red"},
                "beds": [
                    {"id": "ok", "name": "A", "sensors": [{"kind": "envelope", "topic": "x"}]},
                    {"id": "ok", "name": "", "sensors": []},
                ],
            }
        )
    text = "\n".join(err.value.problems)
    assert "mqtt.port:" in text
    assert "mqtt.colour: unknown key; allowed here: host, port" in text
    assert "beds[1].name:" in text
    assert "beds[1].sensors:" in text


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="bed ids must be unique"):
        validate({"beds": [BED, BED]})
    with pytest.raises(ConfigError, match="off_factor must be below on_factor"):
        validate({"beds": [BED], "detection": {"on_factor": 2, "off_factor": 3}})
    with pytest.raises(ConfigError, match="cert_file and key_file"):
        validate({"beds": [BED], "mqtt": {"tls": {"enabled": True, "cert_file": "/a.pem"}}})


def test_missing_beds_says_required() -> None:
    with pytest.raises(ConfigError) as err:
        validate({})
    assert err.value.problems[0].startswith("beds: required, but missing")


def test_yaml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("beds: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        read_yaml(listy)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")


def test_yaml_path_format() -> None:
    assert yaml_path(("beds", 0, "sensors", 1, "kind")) == "beds[0].sensors[1].kind"
    assert yaml_path(()) == "(top level)"
