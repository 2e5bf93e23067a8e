"""Limits and helpers shared by the payload decoders (ESPHome, Zigbee2MQTT, recordings).

Decoders never raise on any input bytes: every problem becomes a `Rejection` whose
`reason` is one of `REJECTION_REASONS`, so the runner can count rejections by reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Final

from sleepenv.rejection import Rejection

REJECTION_REASONS: Final[frozenset[str]] = frozenset(
    {
        "too_large",  # payload (or recording line) over the byte limit
        "bad_encoding",  # not UTF-8
        "bad_json",  # not parseable JSON (nor a plain number where one is allowed)
        "not_an_object",  # JSON, but not an object where one is required
        "missing_field",  # a required key is absent
        "wrong_type",  # a value of the wrong JSON type (booleans are not numbers)
        "not_finite",  # NaN or ±Infinity
        "out_of_range",  # a number outside its range, or an unknown enum value
        "bad_length",  # an array with the wrong number of elements
        "time_in_future",  # timestamp too far after the receive time
        "time_in_past",  # timestamp too far before the receive time
        "empty",  # nothing but whitespace
        "too_deep",  # JSON nested deeper than MAX_JSON_DEPTH
    }
)

# Enough of the payload to recognise it in a log line, never the whole thing.
DETAIL_PREVIEW_CHARS: Final = 80
# Deeper than any payload we read (Home Assistant discovery nests about 4 levels):
# the recursive consumers of a parsed object stay far below Python's recursion limit.
MAX_JSON_DEPTH: Final = 32
# A JSON object read outside the sensor decoders (discovery, presence, device states).
MAX_OBJECT_BYTES: Final = 65536


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds that every decoded payload must respect."""

    max_payload_bytes: int = 65536
    max_values_per_frame: int = 200
    max_hz: float = 1000.0
    # Slower than this is no envelope: 10 samples at 1e-300 Hz would claim 1e301 s of
    # data and push the sensor's cursor past every later frame.
    min_hz: float = 0.5
    max_frame_seconds: float = 60.0  # one frame covers at most this long
    max_value: float = 1e6
    max_future_seconds: float = 300.0  # frame time may be at most this far after receive time
    max_past_seconds: float = 86400.0  # ... and at most this far before it
    plain_text_hz: float = 10.0  # ESPHome plain-number messages: one sample each


def preview(data: bytes | str) -> str:
    """A short, printable excerpt of a payload for a rejection's detail."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    short = text[:DETAIL_PREVIEW_CHARS]
    shown = repr(short)
    if len(text) > DETAIL_PREVIEW_CHARS:
        shown += "…"
    return shown


def reject(reason: str, detail: str) -> Rejection:
    """A `Rejection` with a reason from the fixed set and a bounded detail."""
    if reason not in REJECTION_REASONS:  # a programming error, not an input error
        raise ValueError(f"unknown rejection reason {reason!r}")
    return Rejection(reason, detail[: DETAIL_PREVIEW_CHARS * 2])


class Invalid(Exception):  # noqa: N818 - reads as `raise Invalid(...)`, like ValueError
    """Raised by the helpers below; public decoders catch it and return its rejection."""

    def __init__(self, reason: str, detail: str) -> None:
        self.rejection = reject(reason, detail)
        super().__init__(f"{reason}: {self.rejection.detail}")


def decode_text(payload: bytes, limits: DecodeLimits) -> str:
    """Check the size and decode UTF-8; raises Invalid for oversized or non-UTF-8 bytes."""
    if len(payload) > limits.max_payload_bytes:
        raise Invalid("too_large", f"{len(payload)} bytes > limit {limits.max_payload_bytes}")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = f"not UTF-8 at byte {exc.start}: {preview(payload)}"
        raise Invalid("bad_encoding", detail) from None


def parse_object(text: str, max_depth: int = MAX_JSON_DEPTH) -> dict[str, object]:
    """Parse JSON text that must be an object (NaN/Infinity tokens parse; check later).

    The one JSON parser for message payloads: raises Invalid, never anything else, for
    malformed text, nesting deeper than `max_depth` and integers too long to convert.
    """
    if not text.strip():
        raise Invalid("empty", "empty payload")
    try:
        value = json.loads(text)
    # RecursionError: deeply nested arrays; ValueError covers JSONDecodeError and
    # integers longer than Python's int/str conversion limit.
    except (ValueError, RecursionError) as exc:
        raise Invalid("bad_json", f"{type(exc).__name__}: {preview(text)}") from None
    if not isinstance(value, dict):
        raise Invalid("not_an_object", f"JSON {type(value).__name__}: {preview(text)}")
    # Fewer opening brackets in the whole text than the limit cannot nest deeper: the
    # common case (a sensor frame) skips the walk, which cost ~6 % of a frame's handling.
    brackets = text.count("[") + text.count("{")
    if brackets > max_depth and _depth_exceeds(value, max_depth):
        raise Invalid("too_deep", f"nested deeper than {max_depth}: {preview(text)}")
    return value


def json_object(payload: bytes, max_bytes: int = MAX_OBJECT_BYTES) -> dict[str, object] | Rejection:
    """A payload that must be a JSON object, or its Rejection; never raises."""
    try:
        if len(payload) > max_bytes:
            raise Invalid("too_large", f"{len(payload)} bytes > limit {max_bytes}")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid("bad_encoding", f"not UTF-8 at byte {exc.start}") from None
        return parse_object(text)
    except Invalid as exc:
        return exc.rejection


def _depth_exceeds(value: object, max_depth: int) -> bool:
    """Whether containers nest deeper than `max_depth` (iterative: no recursion to blow)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    return True
                stack.append((child, depth + 1))
    return False


# The JSON types a number decodes to (bool, a subclass of int, is not among them).
_NUMBER_TYPES: Final = frozenset({int, float})


def finite_number(value: object) -> float | None:
    """A JSON number as a finite float; None for booleans, non-numbers, NaN, ±inf, huge ints."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def as_number(value: object, name: str, lo: float, hi: float) -> float:
    """A finite JSON number in [lo, hi] as float; booleans and strings are wrong types."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid("wrong_type", f"{name}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise Invalid("out_of_range", f"{name}: integer too large") from None
    if not math.isfinite(number):
        raise Invalid("not_finite", f"{name}: {number}")
    if not lo <= number <= hi:
        raise Invalid("out_of_range", f"{name}: {number:g} not in [{lo:g}, {hi:g}]")
    return number


def optional_number(obj: dict[str, object], key: str, lo: float, hi: float) -> float | None:
    """`obj[key]` as a checked number, or None when the key is absent or null."""
    value = obj.get(key)
    return None if value is None else as_number(value, key, lo, hi)


def as_number_array(
    value: object, name: str, lo: float, hi: float, max_len: int
) -> tuple[float, ...]:
    """A JSON array of 1..max_len checked numbers as a tuple of floats."""
    if not isinstance(value, list):
        raise Invalid("wrong_type", f"{name}: expected an array, got {type(value).__name__}")
    if not 1 <= len(value) <= max_len:
        raise Invalid("bad_length", f"{name}: {len(value)} values, allowed 1..{max_len}")
    # Per frame, not per value: when every item is an int or a float (never a bool,
    # whose type is bool), the floats' sum is finite and min/max lie in [lo, hi], each
    # value passes `as_number` unchanged. Anything else (or a sum that overflows) takes
    # the value-by-value path, which finds the first bad item and its reason.
    if set(map(type, value)) <= _NUMBER_TYPES:
        try:
            numbers = tuple(map(float, value))
        except OverflowError:
            numbers = ()
        if numbers and math.isfinite(sum(numbers)) and lo <= min(numbers) and max(numbers) <= hi:
            return numbers
    return tuple(as_number(item, f"{name}[{i}]", lo, hi) for i, item in enumerate(value))


def check_time(t: float, received_at: float, limits: DecodeLimits) -> None:
    """Raise Invalid unless `t` lies within the allowed window around `received_at`."""
    if t > received_at + limits.max_future_seconds:
        raise Invalid("time_in_future", f"t is {t - received_at:.0f} s after receive time")
    if t < received_at - limits.max_past_seconds:
        raise Invalid("time_in_past", f"t is {received_at - t:.0f} s before receive time")
