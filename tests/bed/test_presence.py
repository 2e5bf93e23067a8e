"""Bed-presence payloads and what a presence input does to the night."""

from __future__ import annotations

import pytest

from sleepenv.bed.core.classify import classify_night
from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.presence import decode_presence


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"ON", True),
        (b"off", False),
        (b"true", True),
        (b"not_home", False),
        (b'{"occupancy": true, "battery": 90}', True),
        (b'{"presence": false}', False),
        (b'{"state": "ON"}', True),
        (b"{bad json", None),
        (b"[1, 2]", None),
        (b"\xff\xfe", None),
        (b"maybe", None),
        (b"x" * 5000, None),
    ],
)
def test_decode_presence(payload: bytes, expected: bool | None) -> None:
    assert decode_presence(payload) is expected


def test_presence_spans_override_the_signal() -> None:
    t0 = 1_767_650_400.0
    moves = [
        MovementEvent(t0 + 60 * m, t0 + 60 * m + 1, 1.0, MovementClass.LIMB_MOVEMENT)
        for m in (5, 7, 9, 11, 40, 42, 44)
    ]
    # Without presence or level contrast, seven movements in eight hours look like an
    # empty bed.
    night = classify_night(moves, t0, t0 + 8 * 3600, is_final=True)
    assert night.sleep.sleep_onset is None
    # The presence sensor says the person only got into bed at minute 39.
    presence = [(t0 + 39 * 60, t0 + 7 * 3600)]
    night = classify_night(moves, t0, t0 + 8 * 3600, is_final=True, presence=presence)
    assert night.sleep.in_bed == t0 + 39 * 60
    assert night.sleep.sleep_onset == moves[-1].offset
    assert night.sleep.out_of_bed == t0 + 7 * 3600
