"""Decoders for ESPHome and Zigbee2MQTT payloads: valid shapes, every rejection, fuzzing."""

from __future__ import annotations

import json
import math
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed import esphome
from sleepenv.bed.core.model import EnvelopeFrame, ZigbeeVibration
from sleepenv.bed.esphome import decode_envelope, decode_status
from sleepenv.bed.zigbee2mqtt import decode_vibration, encode_sensitivity
from sleepenv.mqtt.payload import REJECTION_REASONS, DecodeLimits
from sleepenv.rejection import Rejection

NOW = 1_760_000_000.0
LIMITS = DecodeLimits()


def frame(**fields: Any) -> bytes:
    """A JSON envelope frame, valid unless fields override it (None removes a key)."""
    obj: dict[str, Any] = {"t": NOW - 1, "hz": 10, "rms": [0.5, 1.0, 2.0]}
    obj.update(fields)
    return json.dumps({k: v for k, v in obj.items() if v is not None}).encode()


DJT11LM = {
    "action": "vibration",
    "vibration": True,
    "strength": 14,
    "angle_x": 2,
    "angle_y": -1,
    "angle_z": 88,
    "x_axis": 18,
    "y_axis": -9,
    "z_axis": 1020,
    "battery": 100,
    "linkquality": 96,
}


def vibration(**fields: Any) -> bytes:
    """A DJT11LM state payload, valid unless fields override it (None removes a key)."""
    obj: dict[str, Any] = {**DJT11LM, **fields}
    return json.dumps({k: v for k, v in obj.items() if v is not None}).encode()


def rejected(result: object) -> str:
    """The rejection reason, failing the test if the payload was accepted."""
    assert isinstance(result, Rejection), f"accepted: {result!r}"
    assert result.reason in REJECTION_REASONS
    return result.reason


# --- ESPHome envelope frames -------------------------------------------------------


def test_full_frame_decodes_every_field() -> None:
    payload = frame(peak=[1.0, 2.0, 3.0], gravity=[0.01, -0.02, 0.99], extra={"x": 1})
    result = decode_envelope(payload, NOW)
    assert result == EnvelopeFrame(
        t=NOW - 1,
        hz=10.0,
        rms=(0.5, 1.0, 2.0),
        peak=(1.0, 2.0, 3.0),
        gravity=(0.01, -0.02, 0.99),
    )


def test_minimal_frame_leaves_optional_fields_empty() -> None:
    result = decode_envelope(frame(peak=None), NOW)
    assert isinstance(result, EnvelopeFrame)
    assert result.peak is None
    assert result.gravity is None
    assert result.end == pytest.approx(NOW - 1 + 0.3)


def test_frame_values_are_floats_even_when_sent_as_integers() -> None:
    result = decode_envelope(frame(t=int(NOW), rms=[0, 3]), NOW)
    assert isinstance(result, EnvelopeFrame)
    assert all(type(v) is float for v in (result.t, result.hz, *result.rms))


@pytest.mark.parametrize(
    ("payload", "value"),
    [(b"12.5", 12.5), (b" 3\n", 3.0), (b"0", 0.0), (b"1e3", 1000.0), (b"+.5", 0.5)],
)
def test_plain_text_number_is_one_sample_at_receive_time(payload: bytes, value: float) -> None:
    result = decode_envelope(payload, NOW)
    assert result == EnvelopeFrame(t=NOW, hz=LIMITS.plain_text_hz, rms=(value,))


def test_plain_text_uses_configured_rate() -> None:
    result = decode_envelope(b"1", NOW, DecodeLimits(plain_text_hz=2.0))
    assert isinstance(result, EnvelopeFrame)
    assert result.hz == 2.0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # plain text
        (b"nan", "not_finite"),
        (b"NaN", "not_finite"),
        (b"inf", "not_finite"),
        (b"-Infinity", "not_finite"),
        (b"1e999", "not_finite"),
        (b"-1", "out_of_range"),
        (b"2e6", "out_of_range"),
        (b"", "empty"),
        (b" \n\t", "empty"),
        (b"ON", "bad_json"),
        (b"0x10", "bad_json"),
        (b"1_000", "bad_json"),
        ("١٢".encode(), "bad_json"),  # non-ASCII digits that float() would accept
        # encoding, size and shape
        (b"\xff\xfe{}", "bad_encoding"),
        (b'{"t": "\xc3\x28"}', "bad_encoding"),
        (b"[" * 70_000, "too_large"),
        (b"[" * 50_000, "bad_json"),  # nested garbage within the size limit
        (b'{"t": 1', "bad_json"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'"12.5"', "not_an_object"),
        (b"true", "not_an_object"),
        (b"null", "not_an_object"),
        # missing fields and wrong types
        (frame(t=None), "missing_field"),
        (frame(hz=None), "missing_field"),
        (frame(rms=None), "missing_field"),
        (frame(t="1760000000"), "wrong_type"),
        (frame(t=True), "wrong_type"),
        (frame(hz=True), "wrong_type"),
        (frame(rms=[1.0, True]), "wrong_type"),
        (frame(rms=[1.0, "2"]), "wrong_type"),
        (frame(rms=[1.0, None]), "wrong_type"),
        (frame(rms=[[1.0]]), "wrong_type"),
        (frame(rms={"0": 1.0}), "wrong_type"),
        (frame(rms="1,2,3"), "wrong_type"),
        (frame(peak="high"), "wrong_type"),
        (frame(gravity={"x": 0}), "wrong_type"),
        # non-finite numbers (json.loads accepts these tokens)
        (b'{"t": 1760000000, "hz": 10, "rms": [NaN]}', "not_finite"),
        (b'{"t": 1760000000, "hz": 10, "rms": [Infinity]}', "not_finite"),
        (b'{"t": 1760000000, "hz": 10, "rms": [1], "peak": [-Infinity]}', "not_finite"),
        (b'{"t": NaN, "hz": 10, "rms": [1]}', "not_finite"),
        (b'{"t": 1760000000, "hz": Infinity, "rms": [1]}', "not_finite"),
        (b'{"t": 1760000000, "hz": 10, "rms": [1e999]}', "not_finite"),
        # ranges and lengths
        (frame(rms=[0.1, -0.1]), "out_of_range"),
        (frame(rms=[2e6]), "out_of_range"),
        (frame(peak=[1.0, -1.0, 1.0]), "out_of_range"),
        (frame(hz=0), "out_of_range"),
        (frame(hz=-10), "out_of_range"),
        (frame(hz=1001), "out_of_range"),
        # 1e-300 Hz would make three values span 3e300 s and push the cursor past
        # every later frame (issue: one such frame blocked a sensor for good)
        (frame(hz=1e-300), "out_of_range"),
        (frame(hz=0.5, rms=[1.0] * 40), "out_of_range"),  # 80 s in one frame
        (frame(rms=[10**400]), "out_of_range"),  # an integer no float can hold
        (frame(rms=[]), "bad_length"),
        (frame(rms=[1.0] * 201), "bad_length"),
        (frame(rms=[1.0] * 5000), "bad_length"),
        (frame(peak=[1.0, 2.0]), "bad_length"),
        (frame(gravity=[0.0, 1.0]), "bad_length"),
        (frame(gravity=[0.0, 0.0, 1.0, 0.0]), "bad_length"),
        # time window
        (frame(t=NOW + 301), "time_in_future"),
        (frame(t=NOW * 2), "time_in_future"),
        (frame(t=NOW - 86_401), "time_in_past"),
        (frame(t=0), "time_in_past"),
    ],
)
def test_envelope_rejections(payload: bytes, reason: str) -> None:
    assert rejected(decode_envelope(payload, NOW)) == reason


def test_time_window_edges_are_inclusive() -> None:
    assert isinstance(decode_envelope(frame(t=NOW + 300), NOW), EnvelopeFrame)
    assert isinstance(decode_envelope(frame(t=NOW - 86_400), NOW), EnvelopeFrame)


def test_limits_are_configurable() -> None:
    tight = DecodeLimits(max_payload_bytes=40, max_values_per_frame=2, max_value=1.5)
    assert rejected(decode_envelope(frame(rms=[1.0, 1.0]), NOW, tight)) == "too_large"
    small = DecodeLimits(max_values_per_frame=2, max_value=1.5)
    assert rejected(decode_envelope(frame(rms=[1.0, 1.0, 1.0]), NOW, small)) == "bad_length"
    assert rejected(decode_envelope(frame(rms=[1.0, 2.0]), NOW, small)) == "out_of_range"
    assert isinstance(decode_envelope(frame(rms=[1.0, 1.5]), NOW, small), EnvelopeFrame)


def test_detail_never_echoes_a_long_payload() -> None:
    secretish = "x" * 5000
    result = decode_envelope(f'{{"t": {secretish}'.encode(), NOW)
    assert isinstance(result, Rejection)
    assert result.reason == "bad_json"
    assert result.detail.count("x") <= 80
    assert len(result.detail) < 200


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"online", True),
        (b"offline", False),
        (b" online\n", True),
        (b"ONLINE", True),
        (b"", None),
        (b"on", None),
        (b"1", None),
        (b"\xff", None),
        (b"online" * 100, None),
    ],
)
def test_decode_status(payload: bytes, expected: bool | None) -> None:
    assert decode_status(payload) is expected


# --- Zigbee2MQTT DJT11LM -----------------------------------------------------------


def test_djt11lm_vibration_report() -> None:
    result = decode_vibration(vibration(), NOW)
    assert result == ZigbeeVibration(
        t=NOW,
        action="vibration",
        strength=14.0,
        angle=None,
        angle_xyz=(2.0, -1.0, 88.0),
        battery=100.0,
        linkquality=96.0,
    )


def test_djt11lm_tilt_carries_angle() -> None:
    result = decode_vibration(vibration(action="tilt", angle=17), NOW)
    assert isinstance(result, ZigbeeVibration)
    assert result.action == "tilt"
    assert result.angle == 17.0


@pytest.mark.parametrize("action", [None, "", "drop"])
def test_djt11lm_attribute_updates_and_drop(action: str | None) -> None:
    payload = vibration(action=None) if action is None else vibration(action=action)
    result = decode_vibration(payload, NOW)
    assert isinstance(result, ZigbeeVibration)
    assert result.action == (action or None)


def test_djt11lm_explicit_null_action_is_attribute_update() -> None:
    result = decode_vibration(b'{"action": null, "linkquality": 40}', NOW)
    assert result == ZigbeeVibration(t=NOW, action=None, linkquality=40.0)


def test_djt11lm_partial_axes_are_not_a_posture() -> None:
    result = decode_vibration(vibration(angle_z=None), NOW)
    assert isinstance(result, ZigbeeVibration)
    assert result.angle_xyz is None


@pytest.mark.parametrize(
    ("last_seen", "expected"),
    [
        ((NOW - 2) * 1000, NOW - 2),  # Zigbee2MQTT last_seen: epoch (milliseconds)
        ("2025-10-09T08:53:18.000Z", 1_759_999_998.0),  # ISO_8601 (UTC)
        ("2025-10-09T10:53:18+02:00", 1_759_999_998.0),  # ISO_8601_local
    ],
)
def test_djt11lm_last_seen_sets_the_time(last_seen: object, expected: float) -> None:
    result = decode_vibration(vibration(last_seen=last_seen), NOW)
    assert isinstance(result, ZigbeeVibration)
    assert result.t == pytest.approx(expected)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (vibration(action="shake"), "out_of_range"),
        (vibration(action="VIBRATION"), "out_of_range"),
        (vibration(action=1), "wrong_type"),
        (vibration(action=["vibration"]), "wrong_type"),
        (vibration(strength="14"), "wrong_type"),
        (vibration(strength=True), "wrong_type"),
        (vibration(strength=-1), "out_of_range"),
        (vibration(angle_x=181), "out_of_range"),
        (vibration(angle_y=-181), "out_of_range"),
        (vibration(angle=400), "out_of_range"),
        (vibration(battery=101), "out_of_range"),
        (vibration(linkquality=256), "out_of_range"),
        (b'{"action": "vibration", "strength": NaN}', "not_finite"),
        (b'{"action": "tilt", "angle": Infinity}', "not_finite"),
        (vibration(last_seen="yesterday"), "wrong_type"),
        (vibration(last_seen="2025-10-09T08:53:18"), "wrong_type"),  # no offset: ambiguous
        (vibration(last_seen=True), "wrong_type"),
        (vibration(last_seen=(NOW + 3600) * 1000), "time_in_future"),
        (vibration(last_seen=NOW), "time_in_past"),  # seconds where ms were expected
        (vibration(last_seen="2020-01-01T00:00:00Z"), "time_in_past"),
        (b'{"temperature": 19.6, "humidity": 48.2}', "missing_field"),
        (b"{}", "missing_field"),
        (b"[]", "not_an_object"),
        (b"vibration", "bad_json"),
        (b"", "empty"),
        (b"\x80", "bad_encoding"),
        (b"{" * 70_000, "too_large"),
    ],
)
def test_vibration_rejections(payload: bytes, reason: str) -> None:
    assert rejected(decode_vibration(payload, NOW)) == reason


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("high", {"sensitivity": "high"}),
        ("low", {"sensitivity": "low"}),
        (" Medium ", {"sensitivity": "medium"}),
        (1, {"sensitivity": 1}),
        (21, {"sensitivity": 21}),
    ],
)
def test_encode_sensitivity(level: str | int, expected: dict[str, object]) -> None:
    assert json.loads(encode_sensitivity(level)) == expected


@pytest.mark.parametrize("level", ["max", "", "5", 0, 22, -1, True, 2.5])
def test_encode_sensitivity_rejects_other_levels(level: Any) -> None:
    with pytest.raises(ValueError, match="sensitivity"):
        encode_sensitivity(level)


# --- properties --------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
number = st.integers(-10, 10**7) | st.floats(allow_nan=True, allow_infinity=True)
# Objects shaped like the real payloads, so fuzzing reaches the field checks.
frame_like = st.fixed_dictionaries(
    {
        "t": st.one_of(number, st.floats(NOW - 100_000, NOW + 1000), json_values),
        "hz": st.one_of(number, json_values),
        "rms": st.one_of(st.lists(number, max_size=210), json_values),
    },
    optional={"peak": st.lists(number, max_size=5) | json_values, "gravity": json_values},
)
vibration_like = st.fixed_dictionaries(
    {},
    optional={
        key: st.one_of(number, json_values, st.sampled_from(["vibration", "tilt", "drop"]))
        for key in (
            "action",
            "strength",
            "angle",
            "angle_x",
            "angle_y",
            "angle_z",
            "battery",
            "linkquality",
            "last_seen",
        )
    },
)


def encode(value: object) -> bytes:
    """JSON text for any value, including NaN/Infinity tokens."""
    return json.dumps(value).encode()


def check_envelope(result: object) -> None:
    """The invariants every envelope decode result must satisfy."""
    if isinstance(result, Rejection):
        assert result.reason in REJECTION_REASONS
        assert len(result.detail) <= 160
        return
    assert isinstance(result, EnvelopeFrame)
    assert math.isfinite(result.t)
    assert NOW - LIMITS.max_past_seconds <= result.t <= NOW + LIMITS.max_future_seconds
    assert 0 < result.hz <= LIMITS.max_hz
    assert 1 <= len(result.rms) <= LIMITS.max_values_per_frame
    values = [*result.rms, *(result.peak or ())]
    assert all(math.isfinite(v) and 0 <= v <= LIMITS.max_value for v in values)
    assert result.peak is None or len(result.peak) == len(result.rms)
    assert result.gravity is None or all(math.isfinite(g) for g in result.gravity)


def check_vibration(result: object) -> None:
    """The invariants every vibration decode result must satisfy."""
    if isinstance(result, Rejection):
        assert result.reason in REJECTION_REASONS
        return
    assert isinstance(result, ZigbeeVibration)
    assert result.action in {None, "vibration", "tilt", "drop"}
    numbers = [result.t, result.strength, result.angle, result.battery, result.linkquality]
    assert all(math.isfinite(n) for n in numbers if n is not None)
    assert all(-180 <= a <= 180 for a in (result.angle_xyz or ()))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    check_envelope(decode_envelope(payload, NOW))
    check_vibration(decode_vibration(payload, NOW))
    assert decode_status(payload) in {True, False, None}


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_never_raises(value: object) -> None:
    check_envelope(decode_envelope(encode(value), NOW))
    check_vibration(decode_vibration(encode(value), NOW))


@settings(max_examples=300)
@given(frame_like)
def test_frame_shaped_json_is_valid_or_rejected(obj: dict[str, object]) -> None:
    check_envelope(decode_envelope(encode(obj), NOW))


@settings(max_examples=300)
@given(vibration_like)
def test_vibration_shaped_json_is_valid_or_rejected(obj: dict[str, object]) -> None:
    check_vibration(decode_vibration(encode(obj), NOW))


@given(
    st.floats(NOW - 86_000, NOW + 250),
    st.lists(st.floats(0, 1e6), min_size=1, max_size=200),
)
def test_valid_frames_round_trip(t: float, rms: list[float]) -> None:
    result = decode_envelope(frame(t=t, rms=rms, peak=rms), NOW)
    assert result == EnvelopeFrame(t=t, hz=10.0, rms=tuple(rms), peak=tuple(rms))


# Frames of floats around every limit, so the shortcut for plain frames meets each check:
# mostly valid values, now and then one at or past an edge.
edge_float = st.sampled_from([0.0, -0.0, 1e6, 1e6 + 1, -1.0, 1e308, math.inf, math.nan])
valid = st.lists(st.floats(0, 1e6), min_size=1, max_size=4)
edgy = st.lists(st.floats(0, 1e6) | edge_float, max_size=4) | st.lists(
    st.floats(0, 1e6), min_size=199, max_size=201
)
float_frame = st.fixed_dictionaries(
    {
        "t": st.sampled_from([NOW, NOW + 300.0, NOW + 300.5, NOW - 86400.0, NOW - 86401.0])
        | st.sampled_from([math.nan, 1.0, NOW + 0.25]),
        "hz": st.sampled_from([0.5, 0.49, 2.0, 10.0, 1000.0, 1000.5, 10, math.inf]),
        "rms": st.one_of(valid, valid, edgy),
    },
    optional={
        "peak": st.one_of(valid, valid, edgy, st.none(), json_values),
        "gravity": st.one_of(
            st.lists(st.floats(-2, 2), min_size=3, max_size=3),
            st.lists(st.floats(-2, 2) | edge_float, min_size=2, max_size=4),
            st.none(),
            json_values,
        ),
    },
)
TIGHT = DecodeLimits(max_value=1e308, max_frame_seconds=0.5, max_values_per_frame=3)


@settings(max_examples=1000)
@given(float_frame | float_frame | frame_like)
def test_plain_frame_shortcut_gives_what_the_checks_give(obj: dict[str, object]) -> None:
    payload = encode(obj)
    for limits in (LIMITS, TIGHT):
        fast = decode_envelope(payload, NOW, limits)
        with patch.object(esphome, "_plain_frame", lambda *_: None):
            checked = decode_envelope(payload, NOW, limits)
        assert repr(fast) == repr(checked)  # repr: floats to the bit, NaN in details too


@pytest.mark.parametrize(
    "fields",
    [
        {"rms": [1.0, math.nan]},  # min and max of [1.0, nan] are 1.0: the sum tells
        {"rms": [1e308, 1e308]},  # in range under TIGHT, their sum is not finite
        {"rms": [1.0, 2.0], "peak": [1.0]},
        {"rms": [1.0], "peak": [1.0, 2.0]},
        {"gravity": [0.0, 1.0]},
        {"gravity": [0.0, 1.0, 0.5, 0.5]},
        {"gravity": [0.0, 1.0, 0.5]},
        {"hz": 0.5, "rms": [1.0]},  # two seconds: over TIGHT's max_frame_seconds
        {"rms": [1.0, 2.0, 3.0, 4.0]},  # over TIGHT's max_values_per_frame
        {"hz": 1000.5},
        {"t": NOW + 300.5},
        {"t": NOW - 86401.0},
        {"rms": [-0.0, 0.0]},
    ],
)
def test_plain_frame_shortcut_at_each_edge(fields: dict[str, object]) -> None:
    payload = frame(**{"t": NOW, "hz": 10.0, "rms": [1.0, 2.0], **fields})
    for limits in (LIMITS, TIGHT):
        fast = decode_envelope(payload, NOW, limits)
        with patch.object(esphome, "_plain_frame", lambda *_: None):
            checked = decode_envelope(payload, NOW, limits)
        assert repr(fast) == repr(checked)
