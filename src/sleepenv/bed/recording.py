"""Recordings of sensor messages as JSON lines: written by `sleepenv record` and the
simulator, read by `analyze`.

A line is either a wrapper `{"t": <unix>, "topic": "...", "payload": {...} | "..."}` or a
bare payload object (an envelope frame or a Zigbee2MQTT state) as people paste them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import BinaryIO, Final, Literal, Protocol

from sleepenv.bed.core.model import SourceKind
from sleepenv.mqtt.payload import (
    MAX_JSON_DEPTH,
    DecodeLimits,
    Invalid,
    as_number,
    json_object,
    parse_object,
    preview,
    reject,
)
from sleepenv.rejection import Rejection

# A wrapped 64 KiB payload grows when JSON-escaped; anything much longer is not ours.
MAX_LINE_BYTES: Final = 1 << 20
# Without a time of their own, bare lines are assumed to follow each other by this much.
BARE_LINE_STEP_SECONDS: Final = 1.0

_ZIGBEE_KEYS: Final = frozenset({"action", "vibration", "angle_x", "strength"})

# How write_message lays out a wrapper line: these keys in this order, no spaces.
_WRAPPER_T: Final = '{"t":'
_WRAPPER_TOPIC: Final = ',"topic":'
_WRAPPER_PAYLOAD: Final = ',"payload":'
# The same decoder as json.loads uses, for reading one value at a given position.
_JSON: Final = json.JSONDecoder()
# An object payload is handed on as written in the line when it is at most this long.
# Re-serialised it could be up to 6 times longer (a raw DEL byte becomes `\u007f`, `é`
# `\u00e9`, `1e15` `1000000000000000.0`) or much shorter (spaces), and only its length
# could change a decoder's verdict (everything else depends on the parsed value): this
# far below the decoders' size limit, both forms pass it. Longer payloads are
# re-serialised as before.
_VERBATIM_MAX_BYTES: Final = DecodeLimits().max_payload_bytes // 7


class _Unread(Enum):
    """The payload's own time was not read with the line: own_time parses the payload."""

    UNREAD = "unread"


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One message of a recording: receive time (None if unknown), topic, raw payload."""

    t: float | None
    topic: str | None
    payload: bytes
    line: int
    # The payload's own finite `t` (None: it has none), found when the line was parsed,
    # so that own_time need not parse the payload again.
    payload_t: float | Literal[_Unread.UNREAD] | None = field(
        default=_Unread.UNREAD, repr=False, compare=False
    )
    # The payload as the line's reader parsed it (an object), when read_recording was
    # asked to keep it: the decoder then need not parse it again (decode_envelope_object).
    parsed: dict[str, object] | None = field(default=None, repr=False, compare=False)


class TextSink(Protocol):
    """Anything with a `write(str)` method, such as a file opened in text mode."""

    def write(self, s: str, /) -> object:
        """Write text."""


def write_message(fh: TextSink, t: float, topic: str, payload: bytes) -> None:
    """Append one `{"t", "topic", "payload"}` line; a JSON-object payload stays an object."""
    body: object = _as_object(payload)
    if body is None:
        # surrogateescape keeps non-UTF-8 bytes; read_recording reverses it exactly.
        body = payload.decode("utf-8", "surrogateescape")
    write_line(fh, t, topic, body)


def write_line(fh: TextSink, t: float, topic: str, body: object) -> None:
    """Append one `{"t", "topic", "payload"}` line for a payload already decoded (an
    object, or the payload's text)."""
    record = {"t": t, "topic": topic, "payload": body}
    fh.write(json.dumps(record, separators=(",", ":")) + "\n")


def read_recording(
    path: Path, *, keep_parsed: bool = False
) -> Iterator[RecordedMessage | Rejection]:
    """Stream a recording line by line; a bad line becomes a Rejection naming its number.

    `keep_parsed`: a payload read in write_message's layout comes with its parsed object
    (`parsed`), for a reader that decodes each message as it comes (`analyze`). Parsed, a
    payload takes about five times its length in memory: not for holding a whole night.
    """
    previous_t: float | None = None
    with path.open("rb") as fh:
        line_no = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            line_no += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(fh)
                yield reject("too_large", f"line {line_no}: longer than {MAX_LINE_BYTES} bytes")
                continue
            if not raw.strip():
                continue  # blank lines (a trailing newline, hand edits) carry nothing
            try:
                message = _parse_line(raw.strip(), line_no, previous_t, keep=keep_parsed)
            except Invalid as exc:
                rejection = exc.rejection
                yield reject(rejection.reason, f"line {line_no}: {rejection.detail}")
                continue
            if message.t is not None:
                previous_t = message.t
            yield message


def sniff_source(
    messages: Iterable[RecordedMessage | Rejection], max_messages: int = 1000
) -> SourceKind:
    """Tell envelope frames from Zigbee vibration payloads by the shape of the payloads."""
    for i, message in enumerate(messages):
        if i >= max_messages:
            break
        if isinstance(message, Rejection):
            continue
        source = source_of(message)
        if source is not None:
            return source
    raise ValueError(no_source_found(max_messages))


def source_of(message: RecordedMessage) -> SourceKind | None:
    """What kind of sensor sent this message, if its payload's shape tells (sniff_source)."""
    obj = message.parsed if message.parsed is not None else _as_object(message.payload)
    if obj is None:
        if _is_plain_number(message.payload):  # ESPHome plain-text state
            return SourceKind.ENVELOPE
        return None
    if "rms" in obj:
        return SourceKind.ENVELOPE
    if _ZIGBEE_KEYS & obj.keys():
        return SourceKind.ZIGBEE_VIBRATION
    return None


def no_source_found(max_messages: int) -> str:
    """Why sniff_source gave up."""
    return f"no envelope frame or Zigbee vibration payload in {max_messages} messages"


def own_time(message: RecordedMessage) -> float | None:
    """The time a message carries itself (an envelope frame's `t`), else when it was
    received (None if unknown).

    A frame recorded from a replay (the demo plays last night at high speed) arrives
    long after its own time; judged against the arrival time it would be rejected as
    too old, so a recording is analysed by the frames' own clock.
    """
    t = message.payload_t
    if t is _Unread.UNREAD:
        obj = _as_object(message.payload)
        t = None if obj is None else _finite_t(obj)
    return message.t if t is None else t


def _finite_t(obj: dict[str, object]) -> float | None:
    """An object's `t` as float when it is a finite number (not a boolean), else None."""
    t = obj.get("t")
    if isinstance(t, int | float) and not isinstance(t, bool) and _finite(t):
        return float(t)
    return None


def _parse_line(
    raw: bytes, line_no: int, previous_t: float | None, *, keep: bool = False
) -> RecordedMessage:
    """One non-blank line as a message (keeping a payload read in write_message's layout
    as parsed if `keep`); raises Invalid."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("bad_encoding", f"not UTF-8: {preview(raw)}") from None
    message = _read_wrapper(raw, text, line_no, keep=keep)
    if message is not None:
        return message
    obj = parse_object(text)
    if "topic" in obj and "payload" in obj:
        return _unwrap(obj, line_no)
    own_t = _finite_t(obj)
    t: float | None
    if own_t is not None:
        t = own_t
    elif previous_t is not None:
        t = previous_t + BARE_LINE_STEP_SECONDS
    else:
        t = None
    return RecordedMessage(t=t, topic=None, payload=raw, line=line_no, payload_t=own_t)


def _read_wrapper(
    raw: bytes, text: str, line_no: int, *, keep: bool = False
) -> RecordedMessage | None:
    """A line as write_message lays it out, with an object payload of at most
    _VERBATIM_MAX_BYTES, read without re-serialising the payload; None for any other line.

    Each value is read by the decoder json.loads uses, so a line taken here is one
    json.loads reads to the same object; the payload keeps the bytes of the line. Lines
    not taken (other layouts, nesting to check, bad JSON, values _unwrap rejects) go the
    general way, which accepts and rejects them exactly as before. With `keep`, the
    payload object is kept as `parsed`: UTF-8 text from `{` to `}` with at most
    MAX_JSON_DEPTH brackets, as decode_envelope_object requires.
    """
    parts = _wrapper_parts(text)
    if parts is None:
        return None
    t, topic, begin, end, body = parts
    if not isinstance(topic, str):
        return None  # _unwrap words the rejection
    when: float | None = None
    if t is not None:
        if isinstance(t, bool) or not isinstance(t, int | float) or not _finite(t):
            return None  # likewise
        when = float(t)
    # Indices into the text are indices into the bytes when every character is ASCII.
    payload = raw[begin:end] if len(raw) == len(text) else text[begin:end].encode()
    if len(payload) > _VERBATIM_MAX_BYTES:
        return None
    return RecordedMessage(
        t=when,
        topic=topic,
        payload=payload,
        line=line_no,
        payload_t=_finite_t(body),
        parsed=body if keep else None,
    )


def _wrapper_parts(text: str) -> tuple[object, object, int, int, dict[str, object]] | None:
    """`t`, `topic`, where the payload begins and ends, and the payload, for a wrapper
    line in write_message's layout whose payload is an object; None for any other line."""
    if not text.startswith(_WRAPPER_T) or not text.endswith("}"):
        return None
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        return None  # parse_object decides whether it nests too deeply
    try:
        t, i = _JSON.raw_decode(text, len(_WRAPPER_T))
        if not text.startswith(_WRAPPER_TOPIC, i):
            return None
        topic, i = _JSON.raw_decode(text, i + len(_WRAPPER_TOPIC))
        if not text.startswith(_WRAPPER_PAYLOAD, i):
            return None
        begin = i + len(_WRAPPER_PAYLOAD)
        body, end = _JSON.raw_decode(text, begin)
    # As parse_object: JSONDecodeError, integers too long to convert, deep nesting.
    except (ValueError, RecursionError):
        return None
    return (t, topic, begin, end, body) if isinstance(body, dict) and end == len(text) - 1 else None


def _unwrap(obj: dict[str, object], line_no: int) -> RecordedMessage:
    """A `{"t", "topic", "payload"}` wrapper as a message; raises Invalid."""
    topic = obj["topic"]
    if not isinstance(topic, str):
        raise Invalid("wrong_type", f"topic: expected a string, got {type(topic).__name__}")
    t = None if obj.get("t") is None else as_number(obj["t"], "t", -math.inf, math.inf)
    body = obj["payload"]
    if isinstance(body, dict):
        try:
            payload = json.dumps(body, separators=(",", ":")).encode()
        except RecursionError:
            raise Invalid("bad_json", "payload: nested too deeply") from None
        return RecordedMessage(t, topic, payload, line_no, payload_t=_finite_t(body))
    if isinstance(body, str):
        try:
            payload = body.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no byte string produced
            raise Invalid("bad_encoding", f"payload: {preview(body)}") from None
        return RecordedMessage(t=t, topic=topic, payload=payload, line=line_no)
    raise Invalid("wrong_type", f"payload: expected an object or string, got {type(body).__name__}")


def _as_object(payload: bytes) -> dict[str, object] | None:
    """The payload as a JSON object, or None if it is anything else."""
    value = json_object(payload, len(payload))
    return value if isinstance(value, dict) else None


def _is_plain_number(payload: bytes) -> bool:
    """Whether the payload is a bare number, as ESPHome sends sensor states."""
    try:
        float(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def _finite(value: float) -> bool:
    """math.isfinite that also survives integers too large for a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _skip_rest_of_line(fh: BinaryIO) -> None:
    """Consume an overlong line in bounded chunks so memory stays flat."""
    while True:
        chunk = fh.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return
