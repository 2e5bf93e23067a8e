"""ESPHome bed sensors: JSON envelope frames, plain-text sensor states, node status."""

from __future__ import annotations

import math
import re
from math import isfinite
from typing import Final

from sleepenv.bed.core.model import EnvelopeFrame
from sleepenv.mqtt.payload import (
    DecodeLimits,
    Invalid,
    as_number,
    as_number_array,
    check_time,
    decode_text,
    parse_object,
    preview,
)
from sleepenv.rejection import Rejection

# A plain decimal number as ESPHome formats sensor states (no hex, no underscores,
# which Python's float() would otherwise accept).
_PLAIN_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# ESPHome publishes "nan" for a sensor without a value; inf for completeness.
_PLAIN_NON_FINITE: Final = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)

_DEFAULT_LIMITS: Final = DecodeLimits()
_FLOAT: Final = {float}


def decode_envelope(
    payload: bytes, received_at: float, limits: DecodeLimits = _DEFAULT_LIMITS
) -> EnvelopeFrame | Rejection:
    """Decode a JSON envelope frame or a plain-text ESPHome number; never raises."""
    try:
        stripped = decode_text(payload, limits).strip()
        if not stripped:
            raise Invalid("empty", "empty payload")
        if _PLAIN_NUMBER.fullmatch(stripped):
            # ESPHome does not timestamp its states: one sample at the receive time.
            value = as_number(float(stripped), "value", 0.0, limits.max_value)
            return EnvelopeFrame(t=received_at, hz=limits.plain_text_hz, rms=(value,))
        if _PLAIN_NON_FINITE.fullmatch(stripped):
            raise Invalid("not_finite", f"plain value {preview(stripped)}")
        return _decode_frame(parse_object(stripped), received_at, limits)
    except Invalid as exc:
        return exc.rejection


def decode_envelope_object(
    obj: dict[str, object], size: int, received_at: float, limits: DecodeLimits = _DEFAULT_LIMITS
) -> EnvelopeFrame | Rejection:
    """`decode_envelope` of a JSON-object payload its reader has already parsed; never raises.

    `obj` is the payload parsed by json's decoder and `size` its length in bytes. For a
    payload of UTF-8 text from `{` to `}` with at most MAX_JSON_DEPTH brackets in it (so
    parse_object has no nesting to check), the verdict is decode_envelope's: the same size
    check, then the same frame checks on an equal object. `analyze` hands on what it read.
    """
    try:
        if size > limits.max_payload_bytes:  # decode_text's check and words
            raise Invalid("too_large", f"{size} bytes > limit {limits.max_payload_bytes}")
        return _decode_frame(obj, received_at, limits)
    except Invalid as exc:
        return exc.rejection


def decode_status(payload: bytes) -> bool | None:
    """ESPHome's `<node>/status`: "online" → True, "offline" → False, anything else None."""
    try:
        text = payload[:64].decode("utf-8").strip().lower()
    except UnicodeDecodeError:
        return None
    return {"online": True, "offline": False}.get(text)


def _decode_frame(
    obj: dict[str, object], received_at: float, limits: DecodeLimits
) -> EnvelopeFrame:
    """Validate a JSON frame `{"t", "hz", "rms", "peak"?, "gravity"?}`; raises Invalid."""
    frame = _plain_frame(obj, received_at, limits)
    if frame is not None:
        return frame
    for key in ("t", "hz", "rms"):
        if key not in obj:
            raise Invalid("missing_field", f"frame has no {key!r}")
    # Any finite t first; its window against the receive time is checked next.
    t = as_number(obj["t"], "t", -math.inf, math.inf)
    check_time(t, received_at, limits)
    hz = as_number(obj["hz"], "hz", limits.min_hz, limits.max_hz)
    n_max = limits.max_values_per_frame
    rms = as_number_array(obj["rms"], "rms", 0.0, limits.max_value, n_max)
    if len(rms) / hz > limits.max_frame_seconds:
        raise Invalid(
            "out_of_range",
            f"{len(rms)} values at {hz:g} Hz span more than {limits.max_frame_seconds:g} s",
        )
    peak: tuple[float, ...] | None = None
    if obj.get("peak") is not None:
        peak = as_number_array(obj["peak"], "peak", 0.0, limits.max_value, n_max)
        if len(peak) != len(rms):
            raise Invalid("bad_length", f"peak has {len(peak)} values, rms {len(rms)}")
    gravity: tuple[float, float, float] | None = None
    if obj.get("gravity") is not None:
        g = as_number_array(obj["gravity"], "gravity", -limits.max_value, limits.max_value, 3)
        if len(g) != 3:
            raise Invalid("bad_length", f"gravity has {len(g)} values, expected 3")
        gravity = (g[0], g[1], g[2])
    return EnvelopeFrame(t=t, hz=hz, rms=rms, peak=peak, gravity=gravity)


def _floats(value: object, lo: float, hi: float) -> tuple[float, ...] | None:
    """A non-empty list of floats (JSON numbers with a fraction or an exponent) in
    [lo, hi] with a finite sum, as a tuple; None for anything else."""
    if type(value) is not list or not value or set(map(type, value)) != _FLOAT:
        return None
    if isfinite(sum(value)) and lo <= min(value) and max(value) <= hi:
        return tuple(value)
    return None


def _plain_frame(
    obj: dict[str, object], received_at: float, limits: DecodeLimits
) -> EnvelopeFrame | None:
    """The frame a sensor sends (floats only, every check passed), with fewer steps than
    _decode_frame's checks one by one; None for any other frame, which they then judge.

    Accepts only what those checks accept, unchanged: float(x) is x for a float, `t`
    finite within the time window, `hz` within its range, arrays of 1..max_values_per_frame
    floats in range whose sum is finite, `peak` as long as `rms`, three gravity values.
    """
    t = obj.get("t")
    hz = obj.get("hz")
    if type(t) is not float or type(hz) is not float:
        return None
    if not (
        isfinite(t)
        and received_at - limits.max_past_seconds <= t <= received_at + limits.max_future_seconds
        and limits.min_hz <= hz <= limits.max_hz
    ):
        return None
    rms = _floats(obj.get("rms"), 0.0, limits.max_value)
    if (
        rms is None
        or len(rms) > limits.max_values_per_frame
        or len(rms) / hz > limits.max_frame_seconds
    ):
        return None
    peak = obj.get("peak")
    if peak is not None:
        peak = _floats(peak, 0.0, limits.max_value)
        if peak is None or len(peak) != len(rms):
            return None
    gravity = obj.get("gravity")
    if gravity is not None:
        g = _floats(gravity, -limits.max_value, limits.max_value)
        if g is None or len(g) != 3:
            return None
        gravity = (g[0], g[1], g[2])
    return EnvelopeFrame(t=t, hz=hz, rms=rms, peak=peak, gravity=gravity)
