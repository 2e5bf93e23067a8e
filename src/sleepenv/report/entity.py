"""The chart for Home Assistant's image entity: a stored night as PNG bytes in the service.

`gather` reads the store (on the event loop, like every other store access of the service);
`render` draws, and is what the service runs in a worker thread. matplotlib is imported
by `render` only, so the service's start-up never pays for it.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from sleepenv.core.model import NightSummary
from sleepenv.report.night import ChartNight, from_store
from sleepenv.settings import BedSettings

if TYPE_CHECKING:
    from sleepenv.adapters.store import Store

SCREEN_NIGHTS = 14  # the night drawn is a recent one: its evening is among these


def gather(
    store: Store, bed: BedSettings, summary: NightSummary, tz: tzinfo, room_id: str | None
) -> ChartNight:
    """What the chart of a stored night shows (`room_id`: the guidance bedroom of the bed)."""
    screen = None
    if room_id is not None:
        screen = store.screen_minutes(room_id, SCREEN_NIGHTS).get(summary.night)
    return from_store(
        summary,
        store.events(bed.id, summary.night),
        tz,
        bed_name=bed.name,
        sensors=len(bed.sensors),
        screen_minutes=screen,
    )


def render(night: ChartNight) -> bytes:
    """The night's chart as PNG bytes (slow: run it off the event loop)."""
    from sleepenv.report.chart import render_night  # noqa: PLC0415 - heavy, only here

    return render_night(night)
