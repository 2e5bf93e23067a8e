"""Each bed's insight sensor: the insights of its stored nights, published retained.

Worked out once at start-up and again when the bed's night closes (the only times its
nights or factors change). Comparing 60 nights takes a few seconds of pure Python, so it
runs in a worker thread; the store is read on the event loop's thread (its connection
belongs there) and only the arithmetic moves.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from sleepenv.bed.core.model import NightSummary
from sleepenv.insights.core.factors import NightRecord
from sleepenv.insights.records import insights_json, records

log = logging.getLogger(__name__)
NIGHTS = 60  # the nights the sensor compares (`sleepenv insights` has the same default)
NO_BEDROOM = "Habits are recorded by a guidance bedroom that follows this bed (its `bed:` setting)"

Publish = Callable[[str, bytes], None]  # (bed_id, payload) -> queued retained


class NightsStore(Protocol):
    """What the publisher reads from the store (newest first)."""

    def nights(self, bed_id: str | None = None, limit: int = 14) -> list[NightSummary]:
        """The bed's stored nights."""

    def factors(self, room: str, limit: int = 60) -> dict[str, dict[str, object]]:
        """The bedroom's stored factors per evening."""


class InsightPublisher:
    """Publishes each bed's insights when they may have changed."""

    def __init__(self, store: NightsStore, rooms_of_bed: Mapping[str, list[str]], publish: Publish):
        """Nothing worked out yet; `want` asks for a bed's insights."""
        self._store = store
        self._rooms_of_bed = dict(rooms_of_bed)
        self._publish = publish
        self.due: set[str] = set()
        self.wanted = asyncio.Event()
        self.published: dict[str, bytes] = {}

    def want(self, bed_id: str) -> None:
        """Work the bed's insights out (again) soon."""
        self.due.add(bed_id)
        self.wanted.set()

    def _records(self, bed_id: str) -> list[NightRecord] | None:
        rooms = self._rooms_of_bed.get(bed_id)
        if not rooms:
            return None
        return records(
            self._store.nights(bed_id, NIGHTS), self._store.factors(rooms[0], NIGHTS + 7)
        )

    async def run(self, is_stopping: Callable[[], bool]) -> None:
        """Publish what is due, then wait for the next request, until `is_stopping()`."""
        while not is_stopping():
            while self.due:
                bed_id = self.due.pop()
                nights = self._records(bed_id)
                doc: dict[str, object]
                if nights is None:
                    doc = {"headline": NO_BEDROOM, "nights": 0, "comparisons": []}
                else:
                    doc = await asyncio.to_thread(insights_json, nights)
                payload = json.dumps(doc).encode()
                self.published[bed_id] = payload
                self._publish(bed_id, payload)
                log.info(
                    "bed %s: insights over %s nights: %s", bed_id, doc["nights"], doc["headline"]
                )
            await self.wanted.wait()
            self.wanted.clear()

    def publish_again(self) -> None:
        """Queue every published insight again (a new connection, Home Assistant's birth)."""
        for bed_id, payload in self.published.items():
            self._publish(bed_id, payload)
