"""The bed runner: tracker updates stored and queued, nights closed, charts requested.

Between the pipeline (message → tracker update) and the outside world: what an update
changed goes to the store and to the outbox, a closed night asks for its chart, and the
bedroom's guidance hears of movements and sleep onset through `BedListener`. The live
service and the offline `analyze` build it the same way (`build`); `analyze` hands it a
store and an outbox that keep nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, tzinfo
from typing import Any, Protocol

from sleepenv.bed import discovery
from sleepenv.bed.core.classify import ClassifyConfig
from sleepenv.bed.core.model import MovementEvent, NightSummary
from sleepenv.bed.core.states import NO_STATES, UNSET, BedStates, Unset
from sleepenv.bed.core.tracker import BedTracker, Update
from sleepenv.bed.night_store import NightStore
from sleepenv.bed.pipeline import Pipeline
from sleepenv.clock import Clock
from sleepenv.config.settings import Settings
from sleepenv.health import Health
from sleepenv.mqtt.discovery import PLAIN_TYPES, Published, StateEncoder

log = logging.getLogger(__name__)


class StateSink(Protocol):
    """Where the runner queues what to publish (`mqtt/outbox.py`)."""

    def state(self, topic: str, payload: bytes) -> None:
        """Publish retained, coalesced."""

    def message(self, topic: str, payload: bytes) -> None:
        """Publish once, in order."""


class BedListener(Protocol):
    """Who hears of a bed's movements, sleep onset and closed nights (the bedroom's
    guidance, the insights' factor recorder)."""

    def on_bed_movement(self, bed_id: str, onset: float) -> None:
        """A new movement on the bed."""

    def on_bed_asleep(self, bed_id: str) -> None:
        """The bed's sleep onset was estimated (or moved)."""

    def on_bed_night_closed(self, bed_id: str, night: NightSummary) -> None:
        """The bed's night closed with these final figures (already stored)."""


EventHook = Callable[[str, MovementEvent], None]


def is_open(night: NightSummary, tracker: BedTracker, now: float) -> bool:
    """Whether a stored night is over by `now` but was never closed.

    A closed night is stored with its window's end; a running one with the time of its
    last update, which is earlier.
    """
    try:
        start, end = tracker.window.bounds(date.fromisoformat(night.night))
    except ValueError:
        return False
    # Only a night this tracker stored (it starts at its window's start) is replayed.
    is_ours = abs(night.start - start) < 1.0
    return is_ours and now >= end and (night.end is None or night.end < end - 1.0)


class BedRunner:
    """Applies every bed's tracker updates: store, outbox, guidance, chart requests."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Pipeline,
        store: NightStore,
        outbox: StateSink,
        clock: Clock,
        listeners: Sequence[BedListener] = (),
        on_event: EventHook | None = None,
    ) -> None:
        """Wire the runner; nothing is read or written until `restore`."""
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.listeners = tuple(listeners)
        self.on_event = on_event
        self.entities = {b.id: discovery.entities(b) for b in settings.beds}
        # Per bed: how each published state is read, encoded and where it goes, in the
        # order of the bed's entities (as discovery.state_messages has it).
        self._state_topics = {
            b.id: [
                (e.state.read, e.state.encoding, discovery.state_topic(settings.mqtt, b.id, key))
                for e in table
                if e.state is not None and (key := e.topic_key) is not None
            ]
            for b, table in zip(settings.beds, self.entities.values(), strict=True)
        }
        self._encoder = StateEncoder()
        # Per bed and state topic (in `_state_topics` order): the value last queued there
        # when it is immutable (else UNSET) and its payload, valid while the bed's counts
        # keep the reset time they had then (`_queue_states`).
        self._kept_values: dict[str, list[Published | Unset]] = {
            b: [UNSET] * len(topics) for b, topics in self._state_topics.items()
        }
        self._kept_payloads: dict[str, list[bytes]] = {
            b: [b""] * len(topics) for b, topics in self._state_topics.items()
        }
        self._kept_reset: dict[str, float | None] = {}
        # The running night whose totals are stored (per bed), and the beds whose running
        # night changed since: stored by `persist_progress` (see `_night_changed`).
        self._night_saved: dict[str, str] = {}
        self._unsaved_nights: dict[str, tuple[str, float]] = {}  # bed -> (night, changed at)
        self._onsets: dict[str, float] = {}  # sleep onset last passed on to guidance
        self._last_diagnostics: dict[str, dict[str, int]] = {}
        # The chart entity: the night each bed's chart is due for (the service draws it).
        self.charts_due: dict[str, NightSummary] = {}
        self.chart_wanted = asyncio.Event()

    @property
    def trackers(self) -> dict[str, BedTracker]:
        """Every bed's tracker by bed id."""
        return self.pipeline.trackers

    # -- start-up ---------------------------------------------------------------------

    def restore(self) -> None:
        """Continue every bed from the store; close a night that ended meanwhile."""
        now = self.clock.now()
        for bed_id, tracker in self.trackers.items():
            self._close_missed_night(bed_id, now)
            night = tracker.window.night_of(now)
            events = self.store.events(bed_id, night.isoformat()) if night else []
            tonight = night.isoformat() if night else None
            nights = [n for n in self.store.nights(bed_id, 8) if n.night != tonight]
            update = tracker.restore(
                now,
                events,
                self.store.cursors(bed_id),
                self.store.counters(bed_id),
                nights[0] if nights else None,
                history=nights,
                levels=self.store.levels(bed_id, tonight) if tonight else None,
            )
            self.apply(bed_id, update)
            if tracker.night is not None and tracker.tonight:
                # A kill may have left the stored totals behind the stored events (see
                # `_night_changed`): the first checkpoint stores them again.
                self._unsaved_nights[bed_id] = (tracker.night.isoformat(), now)
            if bed_id not in self.charts_due and tracker.last_night is not None:
                self.want_chart(bed_id, tracker.last_night)

    def _close_missed_night(self, bed_id: str, now: float) -> None:
        """Close the stored night that ended while the service was down.

        The tracker closes a night when a tick crosses its end; a restart after the end
        never saw that tick, so the night kept its provisional labels and never became
        "last night". Replay it up to its end, then let a tick close it as usual.
        """
        tracker = self.trackers[bed_id]
        stored = self.store.nights(bed_id, 9)
        if not stored or not is_open(stored[0], tracker, now):
            return
        last = stored[0]
        night_end = tracker.window.bounds(date.fromisoformat(last.night))[1]
        update = tracker.restore(
            night_end - 0.001,
            self.store.events(bed_id, last.night),
            self.store.cursors(bed_id),
            self.store.counters(bed_id),
            stored[1] if len(stored) > 1 else None,
            history=stored[1:],
            levels=self.store.levels(bed_id, last.night),
        )
        update.merge(tracker.tick(now))
        log.info("closing night %s of bed %s: it ended while sleepenv was down", last.night, bed_id)
        self.apply(bed_id, update)

    def want_chart(self, bed_id: str, night: NightSummary) -> None:
        """Ask for this night's chart for the bed's image entity."""
        self.charts_due[bed_id] = night
        self.chart_wanted.set()

    # -- updates ------------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, now: float) -> bool:
        """One sensor message through the pipeline; False when the topic is not a bed's."""
        result = self.pipeline.handle(topic, payload, now)
        if result is None:
            return False
        self.apply(*result)
        return True

    def tick(self, now: float) -> None:
        """Advance every bed to `now`."""
        for bed_id, update in self.pipeline.tick(now):
            self.apply(bed_id, update)

    def apply(self, bed_id: str, update: Update) -> None:
        """Persist and queue what an update changed."""
        tracker = self.trackers[bed_id]
        night = tracker.night.isoformat() if tracker.night else "day"
        if update.levels:  # recorded only inside a night
            self.store.add_levels(bed_id, night, update.levels)
        if update.closed_night is not None:
            self._close(bed_id, night, update)
        for event in update.events:
            if self.store.add_event(bed_id, night, event):
                topic = discovery.event_topic(self.settings.mqtt, bed_id)
                self.outbox.message(topic, discovery.encode_event(event))
                if self.on_event is not None:
                    self.on_event(bed_id, event)
                for listener in self.listeners:
                    listener.on_bed_movement(bed_id, event.onset)
        if update.events and tracker.night is not None:
            self._night_changed(bed_id, tracker.night.isoformat())
        onset = update.states.sleep_onset
        if (
            self.listeners
            and onset is not None
            and onset is not UNSET
            and onset != self._onsets.get(bed_id)
        ):
            self._onsets[bed_id] = onset
            for listener in self.listeners:
                listener.on_bed_asleep(bed_id)
        self._queue_states(bed_id, update.states, tracker.counts_reset_at)

    def _queue_states(self, bed_id: str, states: BedStates, reset_at: float | None) -> None:
        """Queue the states an update set, as discovery.state_messages has them.

        A payload is encoded again only when its value changed (most states stay as they
        are from one report to the next): a plain value that is the very object the topic
        had last time, with the same reset time, keeps its payload without a call to the
        encoder. `reset_at` (the tracker's counts_reset_at) is set by restore, which runs
        before any update is applied.
        """
        if states is NO_STATES:  # most envelope frames: none of them set (every one UNSET)
            return
        encode, state = self._encoder.encode, self.outbox.state
        values, payloads = self._kept_values[bed_id], self._kept_payloads[bed_id]
        if reset_at != self._kept_reset.get(bed_id):
            self._kept_reset[bed_id] = reset_at
            values[:] = [UNSET] * len(values)
        for i, (read, encoding, topic) in enumerate(self._state_topics[bed_id]):
            value = read(states)
            if value is UNSET:
                continue
            if value is values[i]:
                state(topic, payloads[i])
                continue
            payload = encode(topic, value, encoding, reset_at)
            # A mapping may change in place: only immutable values are kept.
            values[i] = value if type(value) in PLAIN_TYPES else UNSET
            payloads[i] = payload
            state(topic, payload)

    def _night_changed(self, bed_id: str, night: str) -> None:
        """The running night's totals changed: stored at once when the night has none
        stored yet, else with the next checkpoint (`persist_progress`), before the sensor
        messages that changed them are acknowledged."""
        self._unsaved_nights[bed_id] = (night, self.clock.now())
        if self._night_saved.get(bed_id) != night:
            self._save_running_night(bed_id)

    def _save_running_night(self, bed_id: str) -> None:
        """Store the running night's totals by the latest labels, as of its last change (a
        pass over the night's events, so not once per report).

        As of the change, not of the save: a night is stored with its window's end only
        when it closed (`is_open`), and a checkpoint may come after the end, before the
        tick that closes it.
        """
        night, changed_at = self._unsaved_nights.pop(bed_id)
        tracker = self.trackers[bed_id]
        if tracker.night is None or tracker.night.isoformat() != night:
            return  # closed meanwhile: `_close` stored its final totals
        self.store.save_night(tracker.summary(changed_at))
        self._night_saved[bed_id] = night

    def _close(self, bed_id: str, night: str, update: Update) -> None:
        """Store a night that just closed and ask for its chart."""
        closed = update.closed_night
        if closed is None:
            return
        self._unsaved_nights.pop(bed_id, None)  # its final totals replace the running ones
        self.store.save_night(closed)
        self.store.forget_levels(bed_id, night)  # only a running night needs them
        if update.final_events is not None:
            # Live labels were provisional: the stored night ends with the final ones.
            self.store.relabel_night(bed_id, closed.night, update.final_events)
        log.info(
            "night %s for bed %s closed: %d movements",
            closed.night,
            bed_id,
            closed.total_movements,
        )
        self.want_chart(bed_id, closed)
        for listener in self.listeners:
            listener.on_bed_night_closed(bed_id, closed)

    def publish_states(self) -> None:
        """Queue every bed's current states (a new connection, Home Assistant's birth)."""
        now = self.clock.now()
        for bed_id, tracker in self.trackers.items():
            self.apply(bed_id, Update(states=tracker.states(now)))

    # -- checkpoints and storage faults --------------------------------------------------

    def persist_progress(self) -> None:
        """Store every bed's cursors and counters (a small transaction per bed), and the
        running night's totals where they changed since they were last stored."""
        for bed_id in sorted(self._unsaved_nights):
            self._save_running_night(bed_id)
        for bed_id, tracker in self.trackers.items():
            self.store.checkpoint(bed_id, tracker.cursors(), tracker.diagnostics())

    def checkpoint(self) -> None:
        """Store progress and publish the per-bed counters that changed."""
        self.persist_progress()
        for bed_id, tracker in self.trackers.items():
            diagnostics = tracker.diagnostics()
            if diagnostics != self._last_diagnostics.get(bed_id):
                self._last_diagnostics[bed_id] = diagnostics
                states = BedStates(
                    frames_received=diagnostics["frames_received"],
                    messages_rejected=diagnostics["messages_rejected"],
                )
                self.apply(bed_id, Update(states=states))

    def check_storage(self, health: Health) -> None:
        """Retry buffered writes; notice a database deleted or replaced under us."""
        store = self.store
        lost = store.check_file() if store.problem is None else None
        if lost is not None:
            log.error(
                "%s: storing again in a new file from now on, with tonight's data so far "
                "from memory; earlier nights are lost. `sleepenv healthcheck` reports this "
                "until sleepenv restarts.",
                lost,
            )
            health.incident = lost
            store.reopen()
            self._store_from_memory()
        store.retry()
        health.storage_problem = (
            None
            if store.problem is None
            else f"{store.problem} ({store.buffered} writes kept in memory until it works again)"
        )

    def _store_from_memory(self) -> None:
        """Write what the trackers hold of the running night into a fresh database."""
        now = self.clock.now()
        for bed_id, tracker in self.trackers.items():
            if tracker.night is None:
                continue
            night = tracker.night.isoformat()
            for event in tracker.tonight:
                self.store.add_event(bed_id, night, event)
            if tracker.levels:
                self.store.add_levels(bed_id, night, tracker.levels)
            self.store.save_night(tracker.summary(now))
            if tracker.last_night is not None:
                self.store.save_night(tracker.last_night)

    def summary(self) -> dict[str, Any]:
        """Current per-bed summaries (for the demo and logs)."""
        now = self.clock.now()
        return {b: t.summary(now) for b, t in self.trackers.items()}


def build(
    settings: Settings,
    zones: dict[str, tzinfo],
    store: NightStore,
    outbox: StateSink,
    clock: Clock,
    listeners: Sequence[BedListener] = (),
    on_event: EventHook | None = None,
    classify: ClassifyConfig | None = None,
) -> BedRunner:
    """The pipeline (one tracker per bed) and its runner, as the service and `analyze` use."""
    pipeline = Pipeline(settings, zones, classify=classify)
    return BedRunner(settings, pipeline, store, outbox, clock, listeners, on_event)
