"""The chart for Home Assistant's image entity: a stored night as PNG bytes in the service.

`gather` reads the store (on the event loop, like every other store access of the service);
`render` draws. The service runs `render` through `Renderer`, in a child process that
exits after the chart: matplotlib is imported there only, so the service's memory never
holds it (measured: the service's RSS went from 43 to 90 MiB for good at the first chart).
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from datetime import tzinfo
from typing import TYPE_CHECKING

from sleepenv.bed.core.model import NightSummary
from sleepenv.config.settings import BedSettings
from sleepenv.insights.core.bedroom import BedroomNight, from_json
from sleepenv.report.night import ChartNight, from_store

if TYPE_CHECKING:
    from sleepenv.bed.store import Store

SCREEN_NIGHTS = 14  # the night drawn is a recent one: its evening is among these
# A chart takes a few seconds on a Raspberry Pi (a fresh interpreter, matplotlib's import
# and fonts, the drawing): a child still drawing after this long is hung and is killed.
RENDER_TIMEOUT_SECONDS = 60.0

# The child is a fresh interpreter (`python -m sleepenv.report.entity`) started with
# asyncio's subprocess support, not a fork: a fork would copy the running service (its
# event loop, the threads of the MQTT client and of asyncio's executor, whose locks may be
# held, and the open SQLite connection, which must not be used across a fork). Not
# multiprocessing's "spawn" or "forkserver" either: both start a resource-tracker process
# that stays for the service's lifetime (13 MiB RSS measured), forkserver also a server
# process, and a pool's busy worker cannot be killed with Python 3.11's public API.
# Only the night goes to the child, pickled on its stdin (`ChartNight`: numbers, strings,
# enums, a dict of counts and a ZoneInfo, which pickles as its key); only the PNG comes
# back, on its stdout; a failure is the child's exit status and last line of stderr.


def gather(
    store: Store, bed: BedSettings, summary: NightSummary, tz: tzinfo, room_id: str | None
) -> ChartNight:
    """What the chart of a stored night shows (`room_id`: the guidance bedroom of the bed,
    whose record of the evening, when stored, is drawn under the night)."""
    screen = None
    room = None
    if room_id is not None:
        screen = store.screen_minutes(room_id, SCREEN_NIGHTS).get(summary.night)
        room = bedroom_of(store, room_id, summary.night)
    return from_store(
        summary,
        store.events(bed.id, summary.night),
        tz,
        bed_name=bed.name,
        sensors=len(bed.sensors),
        screen_minutes=screen,
        bedroom=room,
    )


def bedroom_of(store: Store, room_id: str, night: str) -> BedroomNight | None:
    """The bedroom's stored record of the evening `night` started on, if any."""
    doc = store.bedroom(room_id, night)
    return None if doc is None else from_json(doc)


def render(night: ChartNight) -> bytes:
    """The night's chart as PNG bytes (slow: run it off the event loop)."""
    from sleepenv.report.chart import render_night  # noqa: PLC0415 - heavy, only here

    return render_night(night)


class ChartError(RuntimeError):
    """The chart's process failed (its last line of stderr says why)."""


class Renderer:
    """Draws each chart in a child process of its own that exits after the chart."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = RENDER_TIMEOUT_SECONDS if timeout is None else timeout

    async def render(self, night: ChartNight) -> bytes:
        """The night's chart as PNG bytes, drawn in a child process.

        Raises `ChartError` when the child failed, `TimeoutError` when it took longer
        than `timeout`; a child still running then (or when the caller is cancelled, as
        when the service stops) is killed.
        """
        data = pickle.dumps(night)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", __name__,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                png, err = await child.communicate(data)
        except TimeoutError:
            if not deadline.expired():
                raise  # not the deadline's
            msg = f"the chart was not drawn within {self.timeout:g} s (child killed)"
            raise TimeoutError(msg) from None
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        if child.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            why = lines[-1] if lines else "no message"
            msg = f"the chart's process exited with status {child.returncode}: {why}"
            raise ChartError(msg)
        return png


def _child() -> int:
    """In the chart's process: the pickled night from stdin, its PNG to stdout."""
    night = pickle.load(sys.stdin.buffer)  # noqa: S301 - the service's own bytes
    if not isinstance(night, ChartNight):
        print(f"expected a ChartNight, got {type(night).__name__}", file=sys.stderr)  # noqa: T201
        return 2
    sys.stdout.buffer.write(render(night))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child())
