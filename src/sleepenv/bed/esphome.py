"""ESPHome bed sensors: JSON envelope frames, plain-text sensor states, node status."""

from __future__ import annotations

import math
import re
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
