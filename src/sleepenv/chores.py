"""The service's chores beside the MQTT link: the chart entity's drawings and the heartbeat."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from sleepenv.bed import discovery
from sleepenv.bed.core.model import NightSummary
from sleepenv.bed.runner import BedRunner
from sleepenv.bed.store import Store
from sleepenv.config.settings import Settings
from sleepenv.health import HEARTBEAT_FILE, Health, write_heartbeat
from sleepenv.mqtt.intake import Intake
from sleepenv.mqtt.outbox import Outbox
from sleepenv.report import entity as chart_entity

log = logging.getLogger("sleepenv.service")

HEARTBEAT_SECONDS = 10.0


class Charter:
    """Draws each night's chart the bed runner asks for and publishes it retained."""

    def __init__(
        self, settings: Settings, bed: BedRunner, store: Store, outbox: Outbox, intake: Intake
    ) -> None:
        """Nothing drawn yet."""
        self.settings = settings
        self.bed = bed
        self.store = store
        self.outbox = outbox
        self.intake = intake
        # The PNG last drawn per bed, kept to answer Home Assistant's birth without drawing.
        self.drawn: dict[str, bytes] = {}
        self.failures = 0  # charts that could not be drawn (logged, rate-limited)

    async def run(self, is_stopping: Callable[[], bool]) -> None:
        """Draw what is due, then wait for the next request, until `is_stopping()`."""
        # A child still drawing when the service stops is killed by the cancellation.
        renderer = chart_entity.Renderer()
        due = self.bed.charts_due
        while not is_stopping():
            while due:
                bed_id, night = due.popitem()
                await self._publish_chart(renderer, bed_id, night)
            await self.bed.chart_wanted.wait()
            self.bed.chart_wanted.clear()

    def publish_drawn(self) -> None:
        """Queue every chart drawn so far again (a new connection, Home Assistant's birth)."""
        for bed_id, png in self.drawn.items():
            self.outbox.state(discovery.chart_topic(self.settings.mqtt, bed_id), png)

    async def _publish_chart(
        self, renderer: chart_entity.Renderer, bed_id: str, night: NightSummary
    ) -> None:
        """Draw one night's chart and publish it; a failure is logged and counted."""
        bed = next(b for b in self.settings.beds if b.id == bed_id)
        rooms = self.settings.guidance.bedrooms if self.settings.guidance else []
        room = next((r.id for r in rooms if r.bed == bed_id), None)
        tz = self.bed.trackers[bed_id].window.tz
        try:
            chart_night = chart_entity.gather(self.store, bed, night, tz, room)
            png = await renderer.render(chart_night)
        except Exception as exc:  # noqa: BLE001 - any failure: a chart is never worth the service
            self.failures += 1
            self.intake.rate_log.warning(
                "chart",
                "cannot draw the chart of night %s of bed %s (%d failed so far): %r",
                night.night,
                bed_id,
                self.failures,
                exc,
            )
            return
        self.drawn[bed_id] = png
        self.outbox.state(discovery.chart_topic(self.settings.mqtt, bed_id), png)
        log.debug("chart of night %s of bed %s published (%d bytes)", night.night, bed_id, len(png))


class Heartbeat:
    """Writes the heartbeat file `sleepenv healthcheck` reads, when due or when it changes."""

    def __init__(self, data_dir: Path, health: Health) -> None:
        """Nothing written yet."""
        self.path = data_dir / HEARTBEAT_FILE
        self.health = health
        self._last_beat = 0.0
        self._problem: str | None = None
        self._last_problems: list[str] = []

    def beat_if_due(self) -> None:
        """Write after HEARTBEAT_SECONDS, while writing fails, or when the problems change."""
        problems = self.health.problems()
        if (
            time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS
            or self._problem
            or problems != self._last_problems
        ):
            self._last_beat, self._last_problems = time.monotonic(), problems
            self._problem = self._beat()

    def _beat(self) -> str | None:
        """Write the heartbeat; log once when it fails and once when it works again."""
        try:
            write_heartbeat(self.path, self.health, time.time())
        except OSError as exc:
            now_problem = f"cannot write the heartbeat file {self.path}: {exc.strerror or exc}"
            if self._problem is None:
                log.error("%s; `sleepenv healthcheck` will report unhealthy", now_problem)
            return now_problem
        if self._problem is not None:
            log.warning("the heartbeat file %s is written again", self.path)
        return None
