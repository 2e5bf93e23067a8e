"""Screen minutes (pure): the screen time that counts against tonight's no-screen window."""

from __future__ import annotations

from sleepenv.guidance.core.timeline import NightPlan


def no_screen_seconds(plan: NightPlan, last: float, now: float) -> float:
    """The part of `last`..`now` inside the plan's no-screen window (its start until
    lights-out), in seconds; several screens on at once count once, by the caller."""
    lo, hi = max(last, plan.no_screen_at), min(now, plan.bedtime_at)
    return max(hi - lo, 0.0)
