"""Spring-mattress ringing after a movement, as it shows in a 10 Hz envelope.

The mattress rings as two close damped modes (f1 3.5–9 Hz, f2 = f1 + 0.4–2.5 Hz, a common
decay τ 0.08–0.35 s; the second mode 0.5–1.0 × the first), both excited in phase at the
movement's offset. The envelope sample is the RMS over its 100 ms of the sum of the two
damped sinusoids, so it decays and beats: it dips at 1 / (2 (f2 − f1)) and rises again.
The RMS at the offset (before the first dip) is the ring level (ratio × the movement's
amplitude).
"""

from __future__ import annotations

import cmath
import math

HZ = 10
# Midpoints per 100 ms sample for the RMS (100 Hz: well above the 23 Hz of x²'s fastest term).
SUBSAMPLES = 10
# Ringing is rendered until its bound falls below this fraction of the resting level.
STOP_REL = 0.005
MAX_SAMPLES = 60
_TWO_PI = 2.0 * math.pi


def ring_samples(
    off: float,
    start: float,
    level: float,
    modes: tuple[float, float],
    tau: float,
    balance: float,
    stop: float,
) -> tuple[float, tuple[float, ...]]:
    """(start time of the sample holding `off`, RMS of the ringing over it and each later
    sample) until the ringing's bound falls below `stop`."""
    first = math.floor((off - start) * HZ)
    t0 = start + first / HZ
    if level <= 0.0:
        return t0, ()
    # Both modes in phase at the offset: the RMS there is c (1 + balance) / sqrt(2).
    c = level * math.sqrt(2.0) / (1.0 + balance)
    k1 = complex(-1.0 / tau, _TWO_PI * modes[0])
    k2 = complex(-1.0 / tau, _TWO_PI * modes[1])
    n = min(MAX_SAMPLES, max(1, math.ceil(tau * math.log(max(level / stop, 1.0)) * HZ) + 1))
    out: list[float] = []
    full = 1.0 / (HZ * SUBSAMPLES)
    full_steps = (cmath.exp(k1 * full), cmath.exp(k2 * full))
    for j in range(n):
        lo = max(t0 + j / HZ, off) - off
        step = (t0 + (j + 1) / HZ - off - lo) / SUBSAMPLES
        r1, r2 = full_steps if j else (cmath.exp(k1 * step), cmath.exp(k2 * step))
        # each mode is Im(a) with a = exp(k u), advanced by one subsample per turn
        a1 = cmath.exp(k1 * (lo + 0.5 * step))
        a2 = cmath.exp(k2 * (lo + 0.5 * step))
        energy = 0.0
        for _ in range(SUBSAMPLES):
            x = a1.imag + balance * a2.imag
            energy += x * x
            a1 *= r1
            a2 *= r2
        out.append(c * math.sqrt(energy * step * HZ))
    return t0, tuple(out)
