"""What the bed runner reads from and writes to its store, and a store that keeps nothing.

The live service hands the runner its SQLite store (`bed/store.py`); the offline `analyze`
hands it a `NullStore`, so that both run the same code.
"""

from __future__ import annotations

from typing import Protocol

from sleepenv.bed.core.model import MovementEvent, NightSummary, RestingMinute


class NightStore(Protocol):
    """What the runner reads from and writes to the store (`bed/store.py`)."""

    problem: str | None

    @property
    def buffered(self) -> int:
        """Writes waiting in memory."""

    def add_event(self, bed_id: str, night: str, event: MovementEvent) -> bool:
        """Store an event; False when it is already stored."""

    def relabel_night(self, bed_id: str, night: str, events: list[MovementEvent]) -> None:
        """Store a closed night's final labels."""

    def events(self, bed_id: str, night: str) -> list[MovementEvent]:
        """A night's stored events."""

    def save_night(self, summary: NightSummary) -> None:
        """Store a night's totals."""

    def nights(self, bed_id: str | None = None, limit: int = 14) -> list[NightSummary]:
        """The newest stored nights first."""

    def add_levels(self, bed_id: str, night: str, levels: list[RestingMinute]) -> None:
        """Store resting levels."""

    def levels(self, bed_id: str, night: str) -> list[RestingMinute]:
        """A night's stored resting levels."""

    def forget_levels(self, bed_id: str, keep_night: str) -> None:
        """Drop resting levels of other nights."""

    def checkpoint(self, bed_id: str, cursors: dict[str, float], counters: dict[str, int]) -> None:
        """Store cursors and counters."""

    def cursors(self, bed_id: str) -> dict[str, float]:
        """Stored cursors."""

    def counters(self, bed_id: str) -> dict[str, int]:
        """Stored counters."""

    def check_file(self) -> str | None:
        """Why the database file is gone, if it is."""

    def reopen(self) -> bool:
        """Open a new database file."""

    def retry(self) -> bool:
        """Retry buffered writes."""


class NullStore:
    """A store that keeps nothing and has nothing stored (the offline `analyze`)."""

    problem: str | None = None
    buffered = 0

    def add_event(self, bed_id: str, night: str, event: MovementEvent) -> bool:  # noqa: ARG002 - the NightStore protocol's signature
        """Accept and forget."""
        return True

    def relabel_night(self, bed_id: str, night: str, events: list[MovementEvent]) -> None:
        """Forget."""

    def events(self, bed_id: str, night: str) -> list[MovementEvent]:  # noqa: ARG002 - the NightStore protocol's signature
        """Nothing stored."""
        return []

    def save_night(self, summary: NightSummary) -> None:
        """Forget."""

    def nights(self, bed_id: str | None = None, limit: int = 14) -> list[NightSummary]:  # noqa: ARG002 - the NightStore protocol's signature
        """Nothing stored."""
        return []

    def add_levels(self, bed_id: str, night: str, levels: list[RestingMinute]) -> None:
        """Forget."""

    def levels(self, bed_id: str, night: str) -> list[RestingMinute]:  # noqa: ARG002 - the NightStore protocol's signature
        """Nothing stored."""
        return []

    def forget_levels(self, bed_id: str, keep_night: str) -> None:
        """Nothing to forget."""

    def checkpoint(self, bed_id: str, cursors: dict[str, float], counters: dict[str, int]) -> None:
        """Forget."""

    def cursors(self, bed_id: str) -> dict[str, float]:  # noqa: ARG002 - the NightStore protocol's signature
        """Nothing stored."""
        return {}

    def counters(self, bed_id: str) -> dict[str, int]:  # noqa: ARG002 - the NightStore protocol's signature
        """Nothing stored."""
        return {}

    def check_file(self) -> str | None:
        """Never lost."""
        return None

    def reopen(self) -> bool:
        """Nothing to open."""
        return True

    def retry(self) -> bool:
        """Nothing buffered."""
        return True
