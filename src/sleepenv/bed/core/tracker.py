"""One bed's live state: detectors per sensor, nightly counters, de-duplication.

Pure: every method takes `now` (unix seconds) and returns what changed; the runner
publishes states, stores events and sleeps until `wake_at()`.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import replace
from datetime import date
from typing import Any

from sleepenv.bed.core.advisory import Advisory, advise
from sleepenv.bed.core.classify import ClassifyConfig, NightClassification, classify_night
from sleepenv.bed.core.coarse import CoarseConfig
from sleepenv.bed.core.detector import DetectorConfig, EnvelopeDetector
from sleepenv.bed.core.intake import (
    SensorSpec,
    admit,
    build_sensor,
    feed_detector,
    is_new,
    take_level,
)
from sleepenv.bed.core.labels import is_classification_due, night_summary, provisional
from sleepenv.bed.core.live import LiveNight
from sleepenv.bed.core.model import (
    CLASS_VALUES,
    Dropout,
    MovementEvent,
    MovementStarted,
    NightSummary,
    Reading,
    RestingMinute,
    SourceKind,
)
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.occupancy import (
    SILENT_SECONDS,
    UP_SECONDS,
    is_in_bed,
    is_up_for_the_day,
    last_heard,
    presence_spans,
)
from sleepenv.bed.core.states import (
    BedStates,
    last_night_fields,
    tonight_fields,
    tonight_states,
)
from sleepenv.bed.core.update import Update
from sleepenv.rejection import Rejection

# The names importers take from here (the per-sensor and occupancy pieces live apart).
__all__ = ["SILENT_SECONDS", "UP_SECONDS", "BedTracker", "SensorSpec", "Update"]

HOUR_SECONDS = 3600.0


class BedTracker:
    """Counts one bed's movements per night from its sensors' readings."""

    def __init__(
        self,
        bed_id: str,
        window: NightWindow,
        sensors: list[SensorSpec],
        detector_config: DetectorConfig | None = None,
        coarse_config: CoarseConfig | None = None,
        classify_config: ClassifyConfig | None = None,
    ) -> None:
        """Build detectors for each sensor; call `restore` before the first reading."""
        self.bed_id = bed_id
        self.classify_config = classify_config or ClassifyConfig()
        # Tonight's events (for re-classification) and per-minute resting levels (occupancy).
        self.tonight: list[MovementEvent] = []
        self.levels: list[RestingMinute] = []
        # Stretches without data tonight (start, end): unknown, never stillness.
        self.gaps: list[tuple[float, float]] = []
        # Changes of an optional presence input (t, is_present): it overrides the signal.
        self.presence: list[tuple[float, bool]] = []
        self.classification: NightClassification | None = None
        self.live = LiveNight(self.classify_config)  # tonight's provisional labels
        self._classified_at: float | None = None
        self._level_recorded_at: float | None = None  # clock time of the last new level
        self._in_bed_sent: bool | None = None  # the occupancy last put in a state update
        self._closed_early: date | None = None  # a night closed when the sleeper got up
        self.window = window
        fine, coarse = detector_config or DetectorConfig(), coarse_config or CoarseConfig()
        self._sensors = {spec.key: build_sensor(spec, fine, coarse) for spec in sensors}
        self.night: date | None = None
        self.night_start: float | None = None
        # When the nightly counters last started from 0 (a night's start, or its end for
        # the daytime zeros): Home Assistant's `last_reset` of the per-class counts.
        self.counts_reset_at: float | None = None
        self.counts: dict[str, int] = {}
        self.recent_onsets: deque[float] = deque()
        self.last_movement_at: float | None = None
        self.frames_received = 0
        self.messages_rejected = 0
        self.last_night: NightSummary | None = None
        # Closed nights (newest last) for the multi-night advisory.
        self.history: list[NightSummary] = []
        self.advisory = Advisory(is_on=False)
        # last_night_fields of the last closed night, worked out once per night (`states`).
        self._last_night_fields: tuple[NightSummary | None, dict[str, Any]] = (None, {})

    # -- start-up -----------------------------------------------------------------

    def restore(
        self,
        now: float,
        events: list[MovementEvent],
        cursors: dict[str, float],
        diagnostics: dict[str, int],
        last_night: NightSummary | None = None,
        history: list[NightSummary] | None = None,
        levels: list[RestingMinute] | None = None,
    ) -> Update:
        """Continue from stored state: tonight's events, per-sensor cursors, counters,
        the closed nights the advisory looks at, and tonight's resting levels."""
        self.frames_received = diagnostics.get("frames_received", 0)
        self.messages_rejected = diagnostics.get("messages_rejected", 0)
        self.last_night = last_night
        self.history = sorted(history or [], key=lambda n: n.night)
        self.advisory = advise(self.history)
        for key, cursor in cursors.items():
            if key in self._sensors:
                self._sensors[key].cursor = cursor
        self.night = self.window.night_of(now)
        self.counts_reset_at = self.window.last_boundary(now)
        if last_night is not None and self.night and last_night.night == self.night.isoformat():
            # Closed this morning when the sleeper got up: the rest of it is daytime.
            self._closed_early, self.night = self.night, None
            self.counts_reset_at = last_night.end
        self.night_start = self.window.bounds(self.night)[0] if self.night else None
        if self.night_start is not None:
            self.levels = sorted(lv for lv in levels or [] if lv.t >= self.night_start)
        for event in sorted(events, key=lambda e: e.onset):
            if self.night_start is not None and event.onset >= self.night_start:
                self._count(event, now)
        if self.night is not None:
            self._classify(now)
        return Update(states=self.states(now))

    # -- readings ------------------------------------------------------------------

    def on_reading(self, sensor_key: str, reading: Reading, now: float) -> Update:
        """Feed one decoded reading; duplicates and out-of-order frames are rejected."""
        sensor = self._sensors[sensor_key]
        # Classification waits for the reading: a due one and a new level minute in the same
        # frame would otherwise classify twice (once without the new minute).
        update = self.tick(now, is_classifying=False)
        reading, rejection = admit(sensor, reading, now, self.night_start, self.gaps)
        if rejection is not None:
            update.merge(self.on_rejection(rejection))
            return update
        self.frames_received += 1
        sensor.heard_at = now
        outputs = feed_detector(sensor, reading)
        level = take_level(sensor, reading.t, self.night_start, self.levels)
        if level is not None:
            update.levels.append(level)
            self._level_recorded_at = now
        new: list[MovementEvent] = []
        for out in outputs:
            if isinstance(out, MovementStarted):
                sensor.is_moving = True
            elif isinstance(out, Dropout):
                update.dropouts.append(out)
            elif isinstance(out, MovementEvent):
                sensor.is_moving = False
                if is_new(sensor, out):
                    new.append(out)
                    self._count(out, now)
        # A new minute of resting evidence can change occupancy: classify on it too.
        is_classified = bool(new) or level is not None or self._is_due(now)
        if is_classified:
            self._classify(now)
        update.events += [provisional(self.classification, e) for e in new]
        if outputs or is_classified:
            # Most frames change only the frame counter, which `diagnostics` carries:
            # building and publishing every state per frame would dominate the cost.
            update.states = update.states.merged(self.states(now))
        return update

    def _is_due(self, now: float) -> bool:
        return is_classification_due(now, self._classified_at, self._level_recorded_at)

    def _classify(self, now: float, *, is_final: bool = False) -> NightClassification:
        """Label tonight's events as far as the data allows (provisional until the end).

        Provisional labels come from the live night, which labels only what a new
        movement can change; the final ones from one pass over the whole night."""
        start = self.night_start if self.night_start is not None else now
        presence, levels, gaps = self._presence_spans(), self.levels, self.gaps
        if is_final:
            self.classification = classify_night(
                self.tonight,
                start,
                now,
                levels=levels,
                is_final=True,
                config=self.classify_config,
                presence=presence,
                gaps=gaps,
            )
        else:
            self.classification = self.live.classify(
                self.tonight, start, now, levels=levels, presence=presence, gaps=gaps
            )
        self._classified_at = now
        return self.classification

    def on_rejection(self, rejection: Rejection) -> Update:
        """Count a message that could not be used."""
        self.messages_rejected += 1
        return Update(
            states=BedStates(messages_rejected=self.messages_rejected), rejections=[rejection]
        )

    def on_presence(self, *, is_present: bool, now: float) -> Update:
        """A bed-presence input changed (or repeated its state)."""
        if not self.presence or self.presence[-1][1] != is_present:
            self.presence.append((now, is_present))
            self._classify(now)
        return Update(states=self.states(now))

    def _presence_spans(self) -> list[tuple[float, float]] | None:
        """Occupied spans from the presence input, None without one."""
        return presence_spans(self.presence)

    def on_sensor_status(self, sensor_key: str, *, is_online: bool) -> Update:
        """A sensor reported online/offline on its status topic."""
        self._sensors[sensor_key].is_online = is_online
        return Update(states=BedStates(sensors_online={sensor_key: is_online}))

    def _count(self, event: MovementEvent, now: float) -> None:
        sensor = self._sensors.get(event.sensor)
        if sensor is not None:
            bisect.insort(sensor.onsets, event.onset)
        if self.night_start is not None and event.onset >= self.night_start:
            value = CLASS_VALUES[event.cls]  # not .value: see model.CLASS_VALUES
            self.counts[value] = self.counts.get(value, 0) + 1
            self.tonight.append(event)
        if event.onset >= now - HOUR_SECONDS:
            bisect.insort(self.recent_onsets, event.onset)
        if self.last_movement_at is None or event.onset > self.last_movement_at:
            self.last_movement_at = event.onset

    # -- time ----------------------------------------------------------------------

    def tick(self, now: float, *, is_classifying: bool = True) -> Update:
        """Advance to `now`: night boundaries, the rolling last-hour window and, unless
        `is_classifying` is False, the periodic re-classification."""
        update = Update()
        night = self.window.night_of(now)
        is_up = is_up_for_the_day(self.window, self.night, self.classification, now)
        if is_up or night == self._closed_early:
            night = None
        if night != self.night:
            self._turn_night(night, now, update, is_up=is_up)
        while self.recent_onsets and self.recent_onsets[0] < now - HOUR_SECONDS:
            self.recent_onsets.popleft()
            update.states = replace(update.states, movements_last_hour=len(self.recent_onsets))
        if is_classifying and self.night is not None and self._is_due(now):
            self._classify(now)
            update.states = update.states.merged(self._sleep_states(now))
        elif is_classifying:
            in_bed = self._is_in_bed(now)
            if in_bed != self._in_bed_sent:  # the sensor fell silent (or spoke again)
                update.states = replace(update.states, in_bed=in_bed)
                self._in_bed_sent = in_bed
        return update

    def _turn_night(self, night: date | None, now: float, update: Update, *, is_up: bool) -> None:
        """Close the open night into `update` (if any) and start `night` (None: daytime)."""
        if self.night is not None:
            final = self._classify(min(self.window.bounds(self.night)[1], now), is_final=True)
            update.closed_night = self.summary(now)
            update.final_events = list(final.events)
            self.last_night = update.closed_night
            self.history = [*self.history[-13:], update.closed_night]
            self.advisory = advise(self.history)
            self._closed_early = self.night if is_up else None
        self.night = night
        self.night_start = self.window.bounds(night)[0] if night else None
        self.counts_reset_at = now if is_up else self.window.last_boundary(now)
        self.counts = {}
        self.tonight = []
        self.levels = []
        self.gaps = []
        if self.presence and self.presence[-1][1]:
            self.presence = [(now, True)]  # still in bed as the new night starts
        else:
            self.presence = []
        self.classification = None
        self.live = LiveNight(self.classify_config)
        self._classified_at = None
        for sensor in self._sensors.values():
            sensor.onsets = [o for o in sensor.onsets if o >= now - HOUR_SECONDS]
        update.states = update.states.merged(self.states(now))

    def wake_at(self, now: float) -> float:
        """The next moment `tick` has something to do."""
        moments = [self.window.next_boundary(now)]
        if self.recent_onsets:
            moments.append(self.recent_onsets[0] + HOUR_SECONDS)
        heard = last_heard(self._sensors.values())
        if heard is not None and heard + SILENT_SECONDS > now:
            moments.append(heard + SILENT_SECONDS)  # occupancy turns unknown then
        return min(moments)

    def finish(self, at: float) -> Update:
        """End of data (analysis of a recording): close open events at `at`."""
        update = Update()
        for sensor in self._sensors.values():
            if isinstance(sensor.detector, EnvelopeDetector):
                for out in sensor.detector.flush(at):
                    if isinstance(out, MovementEvent) and is_new(sensor, out):
                        update.events.append(out)
                        self._count(out, at)
                    elif isinstance(out, Dropout):
                        update.dropouts.append(out)
        return update

    # -- views ---------------------------------------------------------------------

    @property
    def is_moving(self) -> bool:
        """True while any sensor of the bed sees a movement under way."""
        return any(s.is_moving for s in self._sensors.values())

    @property
    def is_lower_bound(self) -> bool:
        """True when every sensor is a coarse one, so counts undercount."""
        return all(s.spec.kind is SourceKind.ZIGBEE_VIBRATION for s in self._sensors.values())

    def summary(self, now: float) -> NightSummary:
        """The current (or just closed) night's totals, by the latest labels."""
        return night_summary(
            self.bed_id,
            self.window,
            self.night,
            self.night_start,
            self.classification,
            self.counts,
            self.messages_rejected,
            now,
        )

    def classify_final(self, now: float) -> NightClassification:
        """Final labels for the data so far (end of a recording)."""
        return self._classify(now, is_final=True)

    def _sleep_states(self, now: float) -> BedStates:
        """Per-class counts and sleep figures from the current classification."""
        self._in_bed_sent = self._is_in_bed(now)
        return tonight_states(self.classification, in_bed=self._in_bed_sent)

    def _is_in_bed(self, now: float) -> bool | None:
        """Occupancy now (occupancy.is_in_bed); None when it cannot tell, or by day."""
        if self.night is None:
            return None
        heard, levels = last_heard(self._sensors.values()), self.levels
        return is_in_bed(
            self.classification, now, has_presence=bool(self.presence), heard=heard, levels=levels
        )

    def states(self, now: float) -> BedStates:
        """Every published state of the bed that is known."""
        # Built in one go (this runs on every movement): the same as tonight's figures
        # merged with the sleep states and then with last night's.
        self._in_bed_sent = self._is_in_bed(now)
        return BedStates(
            # By the classification when there is one: a movement seen by both sensors of a
            # two-sensor bed counts once, a glitch not at all.
            movements_tonight=len(self.classification.events)
            if self.classification is not None
            else sum(self.counts.values()),
            # Sorted (insort): a bisection instead of a pass over the last hour per report.
            movements_last_hour=len(self.recent_onsets)
            - bisect.bisect_left(self.recent_onsets, now - HOUR_SECONDS),
            last_movement=self.last_movement_at,
            movement=self.is_moving,
            frames_received=self.frames_received,
            messages_rejected=self.messages_rejected,
            **tonight_fields(self.classification, in_bed=self._in_bed_sent),
            **self._last_night_states(),
            worth_discussing=self.advisory.is_on,
            advisory_attributes=self.advisory.attributes(),
            sensors_online={
                key: sensor.is_online
                for key, sensor in self._sensors.items()
                if sensor.is_online is not None
            },
        )

    def _last_night_states(self) -> dict[str, Any]:
        """The last closed night's figures as BedStates fields (none before one closed)."""
        night, fields = self._last_night_fields
        if night is not self.last_night:
            night = self.last_night
            fields = last_night_fields(night) if night is not None else {}
            self._last_night_fields = (night, fields)
        return fields

    def cursors(self) -> dict[str, float]:
        """Per-sensor time of the last admitted sample, for the store's checkpoint."""
        return {k: s.cursor for k, s in self._sensors.items() if s.cursor is not None}

    def diagnostics(self) -> dict[str, int]:
        """Counters that must survive a restart."""
        return {
            "frames_received": self.frames_received,
            "messages_rejected": self.messages_rejected,
        }
