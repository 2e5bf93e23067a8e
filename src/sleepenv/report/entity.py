"""The chart for Home Assistant's image entity: a stored night as PNG bytes in the service.

`gather` reads the store (on the event loop, like every other store access of the service);
`render` draws. The service runs `render` through `Renderer`, in a child process that
exits after the chart: matplotlib is imported there only, so the service's memory never
holds it (measured: the service's RSS went from 43 to 90 MiB for good at the first chart).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import tzinfo
from typing import TYPE_CHECKING

from sleepenv.core.model import NightSummary
from sleepenv.report.night import ChartNight, from_store
from sleepenv.settings import BedSettings

if TYPE_CHECKING:
    from sleepenv.adapters.store import Store

SCREEN_NIGHTS = 14  # the night drawn is a recent one: its evening is among these
# A chart takes a few seconds on a Raspberry Pi (a fresh interpreter, matplotlib's import
# and fonts, the drawing): a child still drawing after this long is hung and is killed.
RENDER_TIMEOUT_SECONDS = 60.0

# "spawn": the child is a fresh interpreter that inherits nothing but the pickled night.
# "fork" would copy the running service: its event loop, the threads of the MQTT client
# and of asyncio's default executor (a lock held by one of them stays held in the child)
# and the open SQLite connection, which must not be used across a fork. "forkserver" is
# as safe, but keeps a server process alive between charts, which is what this avoids.
# Only the night (`ChartNight`: plain numbers, strings, enums and a picklable tzinfo)
# goes to the child, and only the PNG bytes (or the exception) come back.
_SPAWN = multiprocessing.get_context("spawn")


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


class Renderer:
    """Draws each chart in a child process of its own that exits after the chart.

    A pool per chart rather than one long-lived pool with `max_tasks_per_child=1`: such a
    pool spawns the next worker as soon as the last one exits, so an idle interpreter
    would wait all day for the next night's chart.
    """

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = RENDER_TIMEOUT_SECONDS if timeout is None else timeout
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, night: ChartNight) -> bytes:
        """The night's chart as PNG bytes, drawn in a child process.

        Raises what the drawing raised, `TimeoutError` when the child took longer than
        `timeout` (it is killed), `BrokenProcessPool` when the child died.
        """
        loop = asyncio.get_running_loop()
        pool = self._pool = ProcessPoolExecutor(max_workers=1, mp_context=_SPAWN)
        try:
            async with asyncio.timeout(self.timeout):
                return await loop.run_in_executor(pool, render, night)
        except TimeoutError:
            msg = f"the chart was not drawn within {self.timeout:g} s (child killed)"
            raise TimeoutError(msg) from None
        finally:
            self.close()

    def close(self) -> None:
        """End the child: it is told to exit when done, killed while still drawing (a
        timeout, or the service stopping)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # Python 3.11 has no public way to end a busy worker (3.14 adds `kill_workers`).
        if pool._pending_work_items:  # a chart still being drawn
            for process in list(pool._processes.values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
