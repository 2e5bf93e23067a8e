"""Recordings: writer/reader round trip, bare lines, corrupt lines, source sniffing."""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepenv.bed import recording
from sleepenv.bed.core.model import EnvelopeFrame, SourceKind
from sleepenv.bed.esphome import decode_envelope, decode_envelope_object
from sleepenv.bed.recording import (
    MAX_LINE_BYTES,
    RecordedMessage,
    own_time,
    read_recording,
    sniff_source,
    source_of,
    write_message,
)
from sleepenv.bed.zigbee2mqtt import decode_vibration
from sleepenv.mqtt.payload import REJECTION_REASONS, DecodeLimits
from sleepenv.rejection import Rejection

NOW = 1_760_000_000.0
FRAME = b'{"t":1760000000.0,"hz":10,"rms":[0.5,1.0]}'
ZIGBEE = b'{"action":"vibration","strength":14,"angle_x":2,"angle_y":-1,"angle_z":88}'


def write_lines(path: Path, lines: list[bytes]) -> Path:
    """A recording file made of exactly these lines."""
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def messages(path: Path) -> list[RecordedMessage]:
    """All messages of a recording, failing the test on any rejection."""
    out = list(read_recording(path))
    assert all(isinstance(m, RecordedMessage) for m in out), out
    return [m for m in out if isinstance(m, RecordedMessage)]


def test_round_trip_keeps_time_topic_and_payload(tmp_path: Path) -> None:
    sent = [
        (NOW, "bed/envelope", FRAME),
        (NOW + 1, "bed/sensor/rms/state", b"12.5"),
        (NOW + 2, "zigbee2mqtt/bed", ZIGBEE),
        (NOW + 3, "bed/status", b"online"),
        (NOW + 4, "bed/odd", b"[1, 2]"),
        (NOW + 5, "bed/binary", b"\xff\x00\xfe"),
        (NOW + 6, "bed/empty", b""),
    ]
    path = tmp_path / "night.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for t, topic, payload in sent:
            write_message(fh, t, topic, payload)
    got = messages(path)
    assert [(m.t, m.topic, m.line) for m in got] == [
        (t, topic, i) for i, (t, topic, _) in enumerate(sent, start=1)
    ]
    # Object payloads are stored as objects, so compare them as JSON; the rest byte for byte.
    assert json.loads(got[0].payload) == json.loads(FRAME)
    assert json.loads(got[2].payload) == json.loads(ZIGBEE)
    assert [m.payload for m in got[1:2] + got[3:]] == [
        b"12.5",
        b"online",
        b"[1, 2]",
        b"\xff\x00\xfe",
        b"",
    ]


def test_writer_stores_object_payloads_as_objects() -> None:
    buf = io.StringIO()
    write_message(buf, NOW, "bed/envelope", FRAME)
    write_message(buf, NOW, "bed/sensor/rms/state", b"12.5")
    first, second = (json.loads(line) for line in buf.getvalue().splitlines())
    assert first == {"t": NOW, "topic": "bed/envelope", "payload": json.loads(FRAME)}
    assert second == {"t": NOW, "topic": "bed/sensor/rms/state", "payload": "12.5"}


def test_recorded_frame_decodes_like_the_original(tmp_path: Path) -> None:
    path = tmp_path / "night.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        write_message(fh, NOW, "bed/envelope", FRAME)
        write_message(fh, NOW, "bed/envelope", b'{"t":1760000000,"hz":10,"rms":[NaN]}')
    first, second = messages(path)
    assert decode_envelope(first.payload, NOW) == decode_envelope(FRAME, NOW)
    assert isinstance(decode_envelope(first.payload, NOW), EnvelopeFrame)
    # NaN survives the recording, so analyze rejects it just as the live service did.
    result = decode_envelope(second.payload, NOW)
    assert isinstance(result, Rejection)
    assert result.reason == "not_finite"


def test_corrupt_line_in_the_middle_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    buf = io.StringIO()
    write_message(buf, NOW, "a", FRAME)
    write_message(buf, NOW + 1, "b", FRAME)
    good = buf.getvalue().encode().splitlines()
    path = write_lines(tmp_path / "r.jsonl", [good[0], b'{"t": 1, "topic": "a", "payl', good[1]])
    out = list(read_recording(path))
    assert len(out) == 3
    first, bad, last = out
    assert isinstance(first, RecordedMessage)
    assert first.line == 1
    assert isinstance(bad, Rejection)
    assert bad.reason == "bad_json"
    assert bad.detail.startswith("line 2:")
    assert isinstance(last, RecordedMessage)
    assert (last.line, last.topic, last.t) == (3, "b", NOW + 1)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "bad_json"),
        (b"[1, 2]", "not_an_object"),
        (b"\xff\xfe", "bad_encoding"),
        (b'{"t": 1, "topic": 5, "payload": "x"}', "wrong_type"),
        (b'{"t": "noon", "topic": "a", "payload": "x"}', "wrong_type"),
        (b'{"t": NaN, "topic": "a", "payload": "x"}', "not_finite"),
        (b'{"t": 1, "topic": "a", "payload": [1]}', "wrong_type"),
        (b'{"t": 1, "topic": "a", "payload": 12.5}', "wrong_type"),
        (b'{"t": 1, "topic": "a", "payload": "\\ud800"}', "bad_encoding"),
        # The same in write_message's layout, with an object payload.
        (b'{"t":"noon","topic":"a","payload":{}}', "wrong_type"),
        (b'{"t":true,"topic":"a","payload":{}}', "wrong_type"),
        (b'{"t":NaN,"topic":"a","payload":{}}', "not_finite"),
        (b'{"t":-1e999,"topic":"a","payload":{}}', "not_finite"),
        (b'{"t":1' + b"0" * 400 + b',"topic":"a","payload":{}}', "out_of_range"),
        (b'{"t":1,"topic":5,"payload":{}}', "wrong_type"),
        (b'{"t":1,"topic":"a","payload":{"a":1}', "bad_json"),
        (b'{"t":1,"topic":"a","payload":{"a":1}}}', "bad_json"),
        (b'{"t":1,"topic":"a","payload":' + b"[" * 40 + b"]" * 40 + b"}", "too_deep"),
    ],
)
def test_bad_lines_name_their_line_number(tmp_path: Path, line: bytes, reason: str) -> None:
    path = write_lines(tmp_path / "r.jsonl", [FRAME, line, FRAME])
    out = list(read_recording(path))
    assert [type(m) for m in out] == [RecordedMessage, Rejection, RecordedMessage]
    bad = out[1]
    assert isinstance(bad, Rejection)
    assert bad.reason == reason
    assert bad.detail.startswith("line 2:")


def test_overlong_line_is_skipped_without_losing_the_next(tmp_path: Path) -> None:
    huge = b'{"rms": [' + b"1," * MAX_LINE_BYTES + b"1]}"
    path = write_lines(tmp_path / "r.jsonl", [huge, FRAME])
    out = list(read_recording(path))
    assert len(out) == 2
    assert isinstance(out[0], Rejection)
    assert out[0].reason == "too_large"
    assert out[0].detail.startswith("line 1:")
    assert isinstance(out[1], RecordedMessage)
    assert out[1].line == 2
    assert out[1].payload == FRAME


def test_bare_lines_take_their_own_time_else_previous_plus_one(tmp_path: Path) -> None:
    lines = [
        ZIGBEE,  # no time yet: the caller decides
        FRAME,  # its own t
        ZIGBEE,  # previous + 1 s
        b'{"t": true, "action": "tilt"}',  # a boolean is no time: previous + 1 s
        b"",  # blank lines are skipped, but still counted
        b'{"t": 1760000100, "topic": "x", "payload": "1"}',  # wrapper
        ZIGBEE,
    ]
    got = messages(write_lines(tmp_path / "r.jsonl", lines))
    assert [(m.t, m.topic, m.line) for m in got] == [
        (None, None, 1),
        (NOW, None, 2),
        (NOW + 1, None, 3),
        (NOW + 2, None, 4),
        (NOW + 100, "x", 6),
        (NOW + 101, None, 7),
    ]
    assert got[0].payload == ZIGBEE


def test_reader_streams_lazily(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.jsonl", [FRAME] * 3)
    it = read_recording(path)
    first = next(it)
    assert isinstance(first, RecordedMessage)
    # Lines appended after reading began are still seen: nothing was read ahead.
    with path.open("ab") as fh:
        fh.write(ZIGBEE + b"\n")
    rest = list(it)
    assert len(rest) == 3
    assert isinstance(rest[-1], RecordedMessage)
    assert rest[-1].payload == ZIGBEE


def recorded(*payloads: bytes) -> list[RecordedMessage | Rejection]:
    """Messages as read_recording would yield them."""
    return [RecordedMessage(t=None, topic=None, payload=p, line=i) for i, p in enumerate(payloads)]


@pytest.mark.parametrize(
    ("stream", "kind"),
    [
        (recorded(FRAME), SourceKind.ENVELOPE),
        (recorded(b"12.5"), SourceKind.ENVELOPE),
        (recorded(ZIGBEE), SourceKind.ZIGBEE_VIBRATION),
        (recorded(b'{"vibration": true}'), SourceKind.ZIGBEE_VIBRATION),
        (recorded(b'{"angle_x": 1, "angle_y": 2, "angle_z": 3}'), SourceKind.ZIGBEE_VIBRATION),
        (recorded(b"online", b'{"battery": 90}', ZIGBEE), SourceKind.ZIGBEE_VIBRATION),
        ([Rejection("bad_json", "line 1"), *recorded(FRAME)], SourceKind.ENVELOPE),
    ],
)
def test_sniff_source(stream: list[RecordedMessage | Rejection], kind: SourceKind) -> None:
    assert sniff_source(stream) == kind
    assert sniff_source(stream) == kind.value  # also usable as the plain string


def test_sniff_source_gives_up_on_unknown_shapes() -> None:
    with pytest.raises(ValueError, match="no envelope frame"):
        sniff_source(recorded(b"online", b'{"temperature": 19.5}'))
    with pytest.raises(ValueError, match="no envelope frame"):
        sniff_source(recorded(b"online", FRAME), max_messages=1)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=60), max_size=8))
def test_arbitrary_lines_never_raise(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    for message in read_recording(path):
        if isinstance(message, Rejection):
            assert message.reason in REJECTION_REASONS
            assert message.detail.startswith("line ")
        else:
            assert 1 <= message.line <= len(lines)


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(st.floats(0, 2e9), st.text(min_size=1, max_size=20), st.binary(max_size=60)),
        max_size=8,
    )
)
def test_any_payload_survives_write_then_read(
    sent: list[tuple[float, str, bytes]],
) -> None:
    buf = io.StringIO()
    for t, topic, payload in sent:
        write_message(buf, t, topic, payload)
    got = _read_text(buf.getvalue())
    assert [(m.t, m.topic) for m in got] == [(t, topic) for t, topic, _ in sent]
    for m, (_, _, payload) in zip(got, sent, strict=True):
        assert m.payload == payload or json.loads(m.payload) == json.loads(payload)


def _read_text(text: str) -> list[RecordedMessage]:
    """read_recording over text, via a temporary file (hypothesis forbids tmp_path reuse)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.jsonl"
        path.write_text(text, encoding="utf-8")
        return messages(path)


# -- object payloads are handed on as written, with the same verdicts as before ---------

json_scalars = (
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=200)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6), st.floats(0, 2e9))
def test_recorded_object_payload_is_what_the_recorder_serialised(
    body: dict[str, object], t: float
) -> None:
    buf = io.StringIO()
    write_message(buf, t, "bed/envelope", json.dumps(body).encode())
    (got,) = _read_text(buf.getvalue())
    # Byte for byte what re-serialising the parsed payload gave before.
    assert got.payload == json.dumps(json.loads(got.payload), separators=(",", ":")).encode()
    assert got.payload == json.dumps(body, separators=(",", ":")).encode()


def _read_by_reparsing(path: Path) -> list[RecordedMessage | Rejection]:
    """read_recording with every payload re-serialised from the parsed line, as before."""
    with patch.object(recording, "_read_wrapper", lambda *_, **__: None):
        return list(read_recording(path))


def _decoded(message: RecordedMessage | Rejection) -> object:
    """What analyze makes of a message: a rejection as is, else both decoders' results."""
    if isinstance(message, Rejection):
        return message
    payload = message.payload
    # The payload's own time found with the line is what parsing the payload gives.
    reparsed = RecordedMessage(message.t, message.topic, payload, message.line)
    assert own_time(message) == own_time(reparsed)
    assert source_of(message) == source_of(reparsed)
    if message.parsed is not None:
        # Handed to the decoder as parsed, the payload gets the verdict its bytes get,
        # under a size limit it passes and one it does not.
        for limits in (DecodeLimits(), DecodeLimits(max_payload_bytes=len(payload) - 1)):
            as_parsed = decode_envelope_object(message.parsed, len(payload), NOW, limits)
            assert repr(as_parsed) == repr(decode_envelope(payload, NOW, limits))
    return (
        message.t,
        message.topic,
        message.line,
        repr(decode_envelope(payload, NOW)),  # repr: NaN in a rejection compares equal
        repr(decode_vibration(payload, NOW)),
        repr(own_time(message)),
        recording._as_object(payload) is not None,
    )


wrapper_lines = st.builds(
    lambda t, topic, body, spaced, cut: json.dumps(
        {"t": t, "topic": topic, "payload": body},
        separators=(", ", ": ") if spaced else (",", ":"),
        ensure_ascii=not spaced,
    ).encode()[:cut],
    st.sampled_from([None, True, math.nan, -math.inf, "1", 10**400]) | st.floats(),
    st.text(max_size=6) | st.integers(),
    st.dictionaries(st.sampled_from(["t", "hz", "rms", "peak", "action", "angle_x"]), json_values)
    | st.fixed_dictionaries(
        {"t": st.floats(NOW - 10, NOW + 10), "hz": st.just(10), "rms": st.lists(st.floats())}
    )
    | json_values,
    st.booleans(),
    st.sampled_from([None, None, None, -1, -2]) | st.integers(0, 200),
)

bare_lines = st.builds(
    lambda body: json.dumps(body).encode(),
    st.dictionaries(st.sampled_from(["t", "hz", "rms", "action"]), json_values)
    | st.fixed_dictionaries({"t": st.sampled_from([math.nan, True, 1, 10**400, "1"])}),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(wrapper_lines | bare_lines | st.binary(max_size=40), min_size=1, max_size=6))
def test_reading_without_reserialising_changes_no_verdict(
    tmp_path: Path, lines: list[bytes]
) -> None:
    path = write_lines(tmp_path / "r.jsonl", lines)
    fast = list(read_recording(path, keep_parsed=True))
    slow = _read_by_reparsing(path)
    assert [_decoded(m) for m in fast] == [_decoded(m) for m in slow]
    assert all(isinstance(m, Rejection) or m.parsed is None for m in read_recording(path))


def test_large_or_hand_laid_payloads_are_reserialised_as_before(tmp_path: Path) -> None:
    # Raw DEL bytes, each 6 bytes re-serialised: too long to be sure of the size limit.
    # Spaces around the wrapper's keys: not write_message's layout.
    big = {"t": NOW, "hz": 10, "rms": [0.5], "note": "\x7f" * 9400}
    spaced = b'{"t": 1760000000.0, "topic": "a", "payload": {"t": 1760000000.0, "rms": [1]}}'
    lines = [
        json.dumps(
            {"t": NOW, "topic": "a", "payload": big}, ensure_ascii=False, separators=(",", ":")
        ).encode(),
        spaced,
        b'{"t":1760000000.0,"topic":"a","payload":{"t": 1760000000.0,  "rms":[1e15]}}',
    ]
    got = messages(write_lines(tmp_path / "r.jsonl", lines))
    assert got[0].payload == json.dumps(big, separators=(",", ":")).encode()
    assert got[1].payload == b'{"t":1760000000.0,"rms":[1]}'
    # Laid out as write_message does and short: the bytes of the file.
    assert got[2].payload == b'{"t": 1760000000.0,  "rms":[1e15]}'
