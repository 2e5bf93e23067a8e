"""What one call of the bed tracker changed (the runner publishes and stores it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sleepenv.bed.core.model import Dropout, MovementEvent, NightSummary, RestingMinute
from sleepenv.bed.core.states import NO_STATES, BedStates
from sleepenv.rejection import Rejection


@dataclass(slots=True)
class Update:
    """What one call changed: states to publish, events to store and fire, a closed night."""

    states: BedStates = NO_STATES
    events: list[MovementEvent] = field(default_factory=list)
    closed_night: NightSummary | None = None
    dropouts: list[Dropout] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # The closed night's events with their final labels: the store relabels to these.
    final_events: list[MovementEvent] | None = None
    # New per-minute resting levels: stored, so occupancy survives a restart.
    levels: list[RestingMinute] = field(default_factory=list)

    def merge(self, other: Update) -> None:
        """Fold another update into this one (later states win)."""
        self.states = self.states.merged(other.states)
        self.events += other.events
        self.dropouts += other.dropouts
        self.rejections += other.rejections
        self.levels += other.levels
        self.closed_night = other.closed_night or self.closed_night
        if other.final_events is not None:
            self.final_events = other.final_events
