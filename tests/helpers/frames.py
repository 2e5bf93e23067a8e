"""Hand-built envelope frames with movements at known times, independent of sleepenv.sim."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from sleepenv.bed.core.model import EnvelopeFrame

HZ = 10


@dataclass(frozen=True)
class Burst:
    """A movement: `amplitude` × baseline added for `duration` seconds from `onset`."""

    onset: float
    duration: float
    amplitude: float = 12.0


def frames(
    start: float,
    seconds: int,
    bursts: tuple[Burst, ...] = (),
    seed: int = 0,
    baseline: float = 1.0,
) -> Iterator[EnvelopeFrame]:
    """One frame a second: breathing + noise around `baseline`, plus the bursts."""
    rng = random.Random(seed)
    for s in range(seconds):
        rms = []
        for i in range(HZ):
            t = start + s + i / HZ
            value = baseline * (1 + 0.1 * math.sin(2 * math.pi * 0.25 * t)) + rng.gauss(0, 0.03)
            for b in bursts:
                if b.onset <= t < b.onset + b.duration:
                    value += baseline * b.amplitude
            rms.append(round(max(value, 0.0), 4))
        yield EnvelopeFrame(t=start + s, hz=HZ, rms=tuple(rms), peak=tuple(rms))


def payload(frame: EnvelopeFrame) -> bytes:
    """The JSON frame an ESP32 sensor would publish."""
    import json  # noqa: PLC0415

    return json.dumps({"t": frame.t, "hz": frame.hz, "rms": list(frame.rms)}).encode()
