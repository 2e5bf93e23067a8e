"""`sleepenv plan` and the guidance config section, in process (no broker, no device)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from sleepenv.cli.main import main
from sleepenv.config.settings import ConfigError, validate

EXAMPLE = Path(__file__).parents[2] / "config" / "sleepenv.example.yaml"
KINDS = {"light", "climate", "media", "notify"}


def _config(tmp_path: Path, **guidance: Any) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["guidance"].update(guidance)
    path = tmp_path / "sleepenv.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _plan(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["plan", "--json", *args]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def _phases(room: dict[str, Any]) -> dict[str, datetime]:
    return {p["name"]: datetime.fromisoformat(p["start"]) for p in room["phases"]}


def test_plan_without_config_uses_the_example_bedroom(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLEEPENV_CONFIG", raising=False)
    result = _plan(capsys, "--date", "2026-11-18")
    (room,) = result["bedrooms"]
    assert room["id"] == "bedroom"
    assert [p["name"] for p in room["phases"]] == [
        "caffeine_cutoff",
        "wind_down",
        "no_screen",
        "lights_out",
        "wake",
        "day",
    ]
    for action in room["actions"]:
        assert set(action) == {
            "at",
            "device",
            "kind",
            "brightness_pct",
            "color_temp_kelvin",
            "setpoint_celsius",
            "state",
        }
        assert action["kind"] in KINDS
        assert action["state"] in {"on", "off", None}
        assert datetime.fromisoformat(action["at"]).utcoffset() is not None


def test_plan_json_of_the_example_config(capsys: pytest.CaptureFixture[str]) -> None:
    room = _plan(capsys, "--config", str(EXAMPLE), "--date", "2026-11-20")["bedrooms"][0]
    phases = _phases(room)
    assert phases["lights_out"].isoformat() == "2026-11-20T23:30:00+01:00"  # Friday exception
    assert phases["wind_down"].isoformat() == "2026-11-20T22:00:00+01:00"
    assert phases["wake"].isoformat() == "2026-11-21T08:30:00+01:00"  # Saturday morning
    off = [a for a in room["actions"] if a["kind"] == "light" and a["state"] == "off"]
    assert [a["at"] for a in off] == ["2026-11-20T23:30:00+01:00"]
    setpoints = [a["setpoint_celsius"] for a in room["actions"] if a["kind"] == "climate"]
    assert setpoints == [18.0, 20.0]
    dims = [a for a in room["actions"] if a["kind"] == "light" and a["state"] is None]
    assert dims[0]["brightness_pct"] == 20
    assert dims[0]["color_temp_kelvin"] == 2700
    assert dims[-1]["color_temp_kelvin"] == 2200


def test_plan_spring_forward_bedtime_in_the_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["guidance"]["bedrooms"][0]["schedule"] = {"bedtime": "02:30", "wake": "09:00"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    room = _plan(capsys, "--config", str(path), "--date", "2026-03-28")["bedrooms"][0]
    phases = _phases(room)
    assert phases["lights_out"].isoformat() == "2026-03-29T03:30:00+02:00"
    assert phases["wind_down"].isoformat() == "2026-03-29T01:00:00+01:00"
    assert (phases["lights_out"] - phases["no_screen"]).total_seconds() == 3600


def test_plan_autumn_wake_in_the_repeated_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["guidance"]["bedrooms"][0]["schedule"] = {"bedtime": "22:00", "wake": "02:30"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    room = _plan(capsys, "--config", str(path), "--date", "2026-10-24")["bedrooms"][0]
    phases = _phases(room)
    assert phases["wake"].isoformat() == "2026-10-25T02:30:00+02:00"
    assert phases["day"].isoformat() == "2026-10-25T02:00:00+01:00"  # 30 real minutes later


def test_plan_text_and_bad_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--config", str(_config(tmp_path, enforce=True))]) == 0
    out = capsys.readouterr().out
    assert "lights_out" in out
    assert "turn off" in out
    assert main(["plan", "--date", "tomorrow"]) == 2


def test_guidance_config_errors_name_their_path() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["guidance"]["bedrooms"][0]["devices"].append({"id": "x", "role": "lamp", "topic": "t"})
    data["guidance"]["bedrooms"][0]["devices"].append({"id": "y", "role": "light"})
    data["guidance"]["climate"]["safe_min_celsius"] = 25
    data["guidance"]["colour"] = 1
    with pytest.raises(ConfigError) as err:
        validate(data)
    text = "\n".join(err.value.problems)
    assert "guidance.bedrooms[0].devices[4].role" in text
    assert "guidance.bedrooms[0].devices[5]" in text
    assert "needs `topic`" in text
    assert "guidance.climate" in text
    assert "guidance.colour: unknown key; allowed here: enabled, enforce" in text


def test_check_config_summarises_guidance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "guidance: on at start; screens: remind only" in out
    assert "fri: bed 23:30" in out
    assert "climate radiator: zigbee2mqtt zigbee2mqtt/Bedroom TRV" in out
    assert "    habits: the bedroom's buttons only; exercise is late within 3 h of bedtime\n" in out


def test_check_config_lists_a_bedrooms_habit_entities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["guidance"]["homeassistant"] = {"url": "http://ha:8123/api", "token": "secret-t0ken"}
    data["guidance"]["bedrooms"][0]["habits"] = {
        "caffeine": {"entity": "counter.coffees_today"},
        "exercise": {"entity": "sensor.phone_activity", "states": ["running", "on_bicycle"]},
        "late_exercise_hours": 2.5,
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "    habits: caffeine from counter.coffees_today, exercise from sensor.phone_activity "
        "(running, on_bicycle); exercise is late within 2.5 h of bedtime\n"
    ) in out
    assert "secret-t0ken" not in out


def test_bad_bedroom_time_zone_is_a_config_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["guidance"]["bedrooms"][0]["timezone"] = "Mars/Olympus"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SystemExit) as exit_:
        main(["check-config", str(path)])
    assert exit_.value.code == 2
    assert "guidance.bedrooms[0].timezone" in capsys.readouterr().err
