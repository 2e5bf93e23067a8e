"""What an Aqara DJT11LM vibration sensor on the bed would report for a night.

Hardware limits (docs/sleep-science.md): at most one `vibration` report per 60 s, `strength` is
the maximum over the last 300 s, and angle updates (tilt, periodic attribute reports)
keep coming during the vibration lockout. Movements weaker than ZIGBEE_MIN_REL baseline
units are not sensed at all, so most twitches are missed: counts are lower bounds.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from random import Random

from sleepenv.bed.core.model import ZigbeeVibration
from sleepenv.sim.render import RenderPlan, gravity
from sleepenv.sim.truth import NightTruth

LOCKOUT_SECONDS = 60.0
STRENGTH_WINDOW_SECONDS = 300.0
ZIGBEE_MIN_REL = 0.8
# While a long movement lasts, the device senses it again this often.
RETRIGGER_SECONDS = 5.0


def angles_xyz(g: tuple[float, float, float]) -> tuple[float, float, float]:
    """Zigbee2MQTT's angle_x/y/z (degrees of each axis above the horizontal plane)."""
    gx, gy, gz = g
    return (
        float(round(math.degrees(math.atan2(gx, math.hypot(gy, gz))))),
        float(round(math.degrees(math.atan2(gy, math.hypot(gx, gz))))),
        float(round(math.degrees(math.atan2(gz, math.hypot(gx, gy))))),
    )


def render_zigbee(truth: NightTruth, plan: RenderPlan) -> Iterator[ZigbeeVibration]:
    """The device's reports for the night, in time order."""
    rng = Random(plan.noise_key + ":zigbee")
    battery = float(rng.choice((100, 100, 97, 94, 91)))
    triggers = _triggers(rng, truth, plan)
    reports: list[ZigbeeVibration] = []

    def report(t: float, action: str | None, **kw: float) -> None:
        """Append a report carrying the current angles, battery and link quality."""
        tilt = plan.params.head_tilt if plan.is_occupied(t) else 0.005
        angles = angles_xyz(gravity(plan.posture.angle_at(t), tilt))
        lq = float(rng.randint(60, 130))
        reports.append(
            ZigbeeVibration(t, action, angle_xyz=angles, battery=battery, linkquality=lq, **kw)
        )

    times = [t for t, _ in triggers]
    last = -math.inf
    for t, _ in triggers:
        at = t + rng.uniform(0.1, 0.8)
        if at - last >= LOCKOUT_SECONDS:
            lo = bisect_right(times, at - STRENGTH_WINDOW_SECONDS)
            hi = bisect_right(times, at)
            report(at, "vibration", strength=max(s for _, s in triggers[lo:hi]))
            last = at
    for _on, off, a, b in plan.posture.segments:
        report(off + rng.uniform(0.5, 2.0), "tilt", angle=float(round(abs(b - a))))
    t = truth.start + rng.uniform(0.0, 3000.0)
    while t < truth.end:
        report(t, None)
        t += rng.uniform(3000.0, 3600.0)
    reports.sort(key=lambda r: r.t)
    return iter([r for r in reports if r.t < truth.end])


def _triggers(rng: Random, truth: NightTruth, plan: RenderPlan) -> list[tuple[float, float]]:
    """(time, strength) of every moment the device senses vibration."""
    out: list[tuple[float, float]] = []
    for ev in truth.events:
        rel = ev.peak / plan.params.base_at(ev.onset - truth.start)
        if rel < ZIGBEE_MIN_REL:
            continue
        strength = float(max(1, round(6.0 * rel + 2.0 + rng.gauss(0.0, 1.0))))
        t = ev.onset
        while t <= ev.offset:
            out.append((t, strength))
            t += RETRIGGER_SECONDS
    out.sort()
    return out
