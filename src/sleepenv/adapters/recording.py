"""Recordings of sensor messages as JSON lines: written by `sleepenv record`, read by `analyze`.

A line is either a wrapper `{"t": <unix>, "topic": "...", "payload": {...} | "..."}` or a
bare payload object (an envelope frame or a Zigbee2MQTT state) as people paste them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from sleepenv.adapters.decode import (
    Invalid,
    as_number,
    json_object,
    parse_object,
    preview,
    reject,
)
from sleepenv.core.model import Rejection, SourceKind

# A wrapped 64 KiB payload grows when JSON-escaped; anything much longer is not ours.
MAX_LINE_BYTES: Final = 1 << 20
# Without a time of their own, bare lines are assumed to follow each other by this much.
BARE_LINE_STEP_SECONDS: Final = 1.0

_ZIGBEE_KEYS: Final = frozenset({"action", "vibration", "angle_x", "strength"})


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One message of a recording: receive time (None if unknown), topic, raw payload."""

    t: float | None
    topic: str | None
    payload: bytes
    line: int


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
    record = {"t": t, "topic": topic, "payload": body}
    fh.write(json.dumps(record, separators=(",", ":")) + "\n")


def read_recording(path: Path) -> Iterator[RecordedMessage | Rejection]:
    """Stream a recording line by line; a bad line becomes a Rejection naming its number."""
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
                message = _parse_line(raw.strip(), line_no, previous_t)
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
        obj = _as_object(message.payload)
        if obj is None:
            if _is_plain_number(message.payload):  # ESPHome plain-text state
                return SourceKind.ENVELOPE
            continue
        if "rms" in obj:
            return SourceKind.ENVELOPE
        if _ZIGBEE_KEYS & obj.keys():
            return SourceKind.ZIGBEE_VIBRATION
    raise ValueError(f"no envelope frame or Zigbee vibration payload in {max_messages} messages")


def own_time(message: RecordedMessage) -> float | None:
    """The time a message carries itself (an envelope frame's `t`), else when it was
    received (None if unknown).

    A frame recorded from a replay (the demo plays last night at high speed) arrives
    long after its own time; judged against the arrival time it would be rejected as
    too old, so a recording is analysed by the frames' own clock.
    """
    obj = _as_object(message.payload)
    t = obj.get("t") if obj is not None else None
    if isinstance(t, int | float) and not isinstance(t, bool) and _finite(t):
        return float(t)
    return message.t


def _parse_line(raw: bytes, line_no: int, previous_t: float | None) -> RecordedMessage:
    """One non-blank line as a message; raises Invalid."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("bad_encoding", f"not UTF-8: {preview(raw)}") from None
    obj = parse_object(text)
    if "topic" in obj and "payload" in obj:
        return _unwrap(obj, line_no)
    own_t = obj.get("t")
    t: float | None
    if isinstance(own_t, int | float) and not isinstance(own_t, bool) and _finite(own_t):
        t = float(own_t)
    elif previous_t is not None:
        t = previous_t + BARE_LINE_STEP_SECONDS
    else:
        t = None
    return RecordedMessage(t=t, topic=None, payload=raw, line=line_no)


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
    elif isinstance(body, str):
        try:
            payload = body.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no byte string produced
            raise Invalid("bad_encoding", f"payload: {preview(body)}") from None
    else:
        raise Invalid(
            "wrong_type", f"payload: expected an object or string, got {type(body).__name__}"
        )
    return RecordedMessage(t=t, topic=topic, payload=payload, line=line_no)


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
