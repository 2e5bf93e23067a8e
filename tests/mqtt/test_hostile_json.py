"""Every JSON read of a message survives what a broker can carry (issue 15, item 1)."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from sleepenv.addon.supervisor import SupervisorClient, SupervisorError, read_options
from sleepenv.bed.discovery import check_discovery, is_stale_discovery
from sleepenv.bed.presence import decode_presence
from sleepenv.config.settings import MqttSettings
from sleepenv.guidance.core.actions import DeviceState
from sleepenv.guidance.devices.homeassistant import decode_state
from sleepenv.guidance.devices.zigbee2mqtt import decode, decode_or_reject, mired_to_kelvin
from sleepenv.guidance.settings import DeviceSettings
from sleepenv.health import read_heartbeat
from sleepenv.mqtt.backoff import Backoff
from sleepenv.mqtt.payload import MAX_JSON_DEPTH, json_object, parse_object
from sleepenv.mqtt.payload import Invalid as DecodeInvalid
from sleepenv.rejection import Rejection
from sleepenv.sim.bedroom import LIGHT as SIM_LIGHT
from sleepenv.sim.bedroom import SimBedroom
from tests.addon.fake_supervisor import TOKEN, FakeSupervisor

DEEP_ARRAY = b"[" * 100_000
HOSTILE = [
    DEEP_ARRAY,
    b"[" * 4_000,
    b"[" * 60_000,
    b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
    b'{"sleepenv_":' + b"[" * 900 + b"]" * 900 + b"}",  # under the recursion limit
    b'{"x": ' + b"9" * 5_000 + b"}",  # beyond the int/str conversion limit
    b'{"x": 1' + b"0" * 400 + b"}",  # an int beyond a float
    b'{"x": NaN, "y": Infinity, "z": -Infinity}',
    b'{"x": 1e999}',
    b"\xff\xfe{}",
    b"",
    b"null",
    b'"sleepenv_"',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_json_object_never_raises(payload: bytes) -> None:
    result = json_object(payload)
    assert isinstance(result, dict | Rejection)


def test_deep_nesting_is_a_rejection_not_a_crash() -> None:
    result = json_object(DEEP_ARRAY, len(DEEP_ARRAY))
    assert isinstance(result, Rejection)
    assert result.reason == "bad_json"
    nested = b'{"a":' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}"
    rejected = json_object(nested)
    assert isinstance(rejected, Rejection)
    assert rejected.reason == "too_deep"
    assert isinstance(json_object(b'{"a": {"b": [[1]]}}'), dict)
    with pytest.raises(DecodeInvalid):
        parse_object('{"a": 1, "b": ' + "[" * 40 + "]" * 40 + "}")


@pytest.mark.parametrize("payload", HOSTILE)
def test_discovery_clean_up_survives(payload: bytes) -> None:
    mqtt = MqttSettings()
    topic = "homeassistant/sensor/x/config"
    padded = b"sleepenv_" + payload  # past the cheap "mentions sleepenv_" filter
    for body in (payload, padded):
        result = check_discovery(mqtt, set(), topic, body)
        assert isinstance(result, bool | Rejection)
        assert is_stale_discovery(mqtt, set(), topic, body) is False


def test_discovery_of_100k_nested_arrays_is_rejected() -> None:
    payload = b'{"unique_id": "sleepenv_x", "p": ' + DEEP_ARRAY + b"}"
    result = check_discovery(MqttSettings(), set(), "homeassistant/a/b/config", payload)
    assert isinstance(result, Rejection)


@pytest.mark.parametrize("payload", [*HOSTILE, b'{"occupancy": ' + b"[" * 4000 + b"}"])
def test_presence_survives(payload: bytes) -> None:
    assert decode_presence(payload) is None


LIGHT = DeviceSettings(id="lights", role="light", topic="z2m/lights")
CLIMATE = DeviceSettings(
    id="trv", role="climate", topic="z2m/trv", setpoint_key="current_heating_setpoint"
)


@pytest.mark.parametrize("device", [LIGHT, CLIMATE])
@pytest.mark.parametrize("payload", HOSTILE)
def test_device_state_survives(payload: bytes, device: DeviceSettings) -> None:
    result = decode_or_reject(payload, device)
    assert isinstance(result, DeviceState | Rejection)
    assert decode(payload, device) == (None if isinstance(result, Rejection) else result)


@pytest.mark.parametrize(
    "color_temp", ["1e-320", "0", "-5", "1e308", "5e-324", "1" + "0" * 400, "0.5"]
)
def test_hostile_color_temp_is_unknown_not_an_overflow(color_temp: str) -> None:
    payload = f'{{"state":"ON","brightness":100,"color_temp":{color_temp}}}'.encode()
    state = decode(payload, LIGHT)
    assert state is not None
    assert state.is_on is True
    assert state.color_temp_kelvin is None


def test_mired_to_kelvin_in_range() -> None:
    assert mired_to_kelvin(454) == 2203
    assert mired_to_kelvin(1e-320) is None


def test_home_assistant_state_with_a_huge_integer() -> None:
    attrs = {"brightness": 10**400, "color_temp_kelvin": float("nan")}
    state = decode_state(
        "on",
        attrs,
        DeviceSettings(id="l", role="light", backend="homeassistant", entity_id="light.l"),
    )
    assert state.brightness_pct is None
    assert state.color_temp_kelvin is None


# Files and answers read through the same parser: what it rejects, they reject.


@pytest.mark.parametrize("payload", HOSTILE)
def test_add_on_options_reject_what_the_parser_rejects(payload: bytes, tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    path.write_bytes(payload)
    expected = json_object(payload, len(payload))
    if isinstance(expected, dict):
        assert read_options(path) == expected
        return
    with pytest.raises(SupervisorError, match=str(path)):
        read_options(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("{not json", "not valid JSON"),
        ('{"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('"options"', "must be a JSON object"),
    ],
)
def test_add_on_options_say_why(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SupervisorError, match=message):
        read_options(path)


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_hostile_heartbeat_is_unhealthy(payload: bytes, tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    path.write_bytes(payload)
    assert read_heartbeat(path, time.time(), 60.0) == (
        False,
        f"unhealthy: {path} is not a heartbeat of this version",
    )


def test_heartbeat_problems_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    path.write_text('{"t": 1, "problems": "none"}', encoding="utf-8")
    assert read_heartbeat(path, time.time(), 60.0)[0] is False
    path.write_text('{"t": 1, "problems": []}', encoding="utf-8")
    assert read_heartbeat(path, time.time(), 60.0)[0] is True


@pytest.mark.parametrize("payload", HOSTILE)
def test_the_simulated_bedroom_records_only_json_objects(payload: bytes) -> None:
    room = SimBedroom()
    topic = room.topic(SIM_LIGHT)
    room.received(topic, payload, 1.0)
    expected = json_object(payload)
    assert room.commands == ([(1.0, topic, expected)] if isinstance(expected, dict) else [])


async def test_a_deeply_nested_supervisor_answer_is_an_error() -> None:
    fake = FakeSupervisor(config_script=[(200, "[" * 100_000)])
    await fake.start()
    try:
        async with aiohttp.ClientSession() as session:
            fast = Backoff(first_seconds=0.01, cap_seconds=0.01)
            client = SupervisorClient(session, TOKEN, fake.url, backoff=fast)
            with pytest.raises(SupervisorError, match="invalid JSON"):
                await client.get_json("/core/api/config")
    finally:
        await fake.stop()
