"""One bed's live state: detectors per sensor, nightly counters, de-duplication.

Pure: every method takes `now` (unix seconds) and returns what changed; the runner
publishes states, stores events and sleeps until `wake_at()`.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import date

from sleepenv.bed.core.advisory import Advisory, advise
from sleepenv.bed.core.classify import ClassifyConfig, NightClassification, classify_night
from sleepenv.bed.core.coarse import CoarseConfig, CoarseTracker
from sleepenv.bed.core.detector import DetectorConfig, EnvelopeDetector
from sleepenv.bed.core.live import LiveNight
from sleepenv.bed.core.model import (
    DetectorOutput,
    Dropout,
    EnvelopeFrame,
    MovementEvent,
    MovementStarted,
    NightSummary,
    Reading,
    RestingMinute,
    SourceKind,
    ZigbeeVibration,
)
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.states import BedStates, last_night_states, tonight_states
from sleepenv.rejection import Rejection

HOUR_SECONDS = 3600.0
# Two detections of one movement (a replay after a restart) land this close together.
SAME_EVENT_SECONDS = 0.5
# Re-run classification at least this often while nothing moves (the onset settles).
RECLASSIFY_SECONDS = 60.0
LEVEL_SECONDS = 60.0
# While resting-level minutes arrive (each one re-classifies), the timer above waits this
# much longer: clock and data time drift apart (duplicates, gaps, a ticker of its own),
# and a timer firing just before each new minute would classify twice a minute.
LEVEL_SLACK_SECONDS = 30.0
# A pause in a sensor's data longer than this is a gap (the detector's own limit).
GAP_SECONDS = 1.0
# A cursor this far past the clock is wrong once REANCHOR_FRAMES live frames in a row
# arrive behind it (a frame from the future would otherwise block a stream for minutes).
AHEAD_SECONDS = 10.0
REANCHOR_FRAMES = 3
# With no frame from any envelope sensor for this long (a Wi-Fi hiccup, a sensor reboot),
# occupancy is unknown: silence says nothing about the bed, and "Clear" would start
# "got out of bed" automations.
SILENT_SECONDS = 15.0
# After the window's `morning`, a night closes once the sleeper has been out of bed this
# long after sleeping: "last night" is then the night that just ended, in the morning when
# people look (a bathroom trip is shorter; back in bed before this keeps the night open).
UP_SECONDS = 20 * 60.0


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """What the tracker needs to know about one sensor."""

    key: str
    kind: SourceKind
    side: str = "both"


@dataclass(slots=True)
class Update:
    """What one call changed: states to publish, events to store and fire, a closed night."""

    states: BedStates = field(default_factory=BedStates)
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


@dataclass(slots=True)
class _Sensor:
    spec: SensorSpec
    detector: EnvelopeDetector | CoarseTracker
    cursor: float | None = None
    is_moving: bool = False
    is_online: bool | None = None
    onsets: list[float] = field(default_factory=list)
    rhythm_taken_at: float | None = None
    heard_at: float | None = None  # clock time of the last admitted reading
    # Live frames refused in a row as already seen while the cursor is ahead of the
    # clock: one frame from the future (or a sensor clock set back) put it there.
    behind: int = 0


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
        self._sensors: dict[str, _Sensor] = {}
        fine, coarse = detector_config or DetectorConfig(), coarse_config or CoarseConfig()
        for spec in sensors:
            detector: EnvelopeDetector | CoarseTracker
            if spec.kind is SourceKind.ENVELOPE:
                detector = EnvelopeDetector(fine, spec.key, spec.side)
            else:
                detector = CoarseTracker(coarse, spec.key, spec.side)
            self._sensors[spec.key] = _Sensor(spec, detector)
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
        reading, rejection = self._admit(sensor, reading, now)
        if rejection is not None:
            update.merge(self.on_rejection(rejection))
            return update
        self.frames_received += 1
        sensor.heard_at = now
        outputs: list[DetectorOutput] = []
        detector = sensor.detector
        # Two branches so each detector gets the reading type it takes.
        if isinstance(detector, EnvelopeDetector) and isinstance(reading, EnvelopeFrame):  # noqa: SIM114
            outputs = detector.feed(reading)
        elif isinstance(detector, CoarseTracker) and isinstance(reading, ZigbeeVibration):
            outputs = detector.feed(reading)
        level = self._record_level(sensor, reading.t)
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
                if self._is_new(sensor, out):
                    new.append(out)
                    self._count(out, now)
        # A new minute of resting evidence can change occupancy: classify on it too.
        is_classified = bool(new) or level is not None or self._is_classification_due(now)
        if is_classified:
            self._classify(now)
        update.events += [self._provisional(e) for e in new]
        if outputs or is_classified:
            # Most frames change only the frame counter, which `diagnostics` carries:
            # building and publishing every state per frame would dominate the cost.
            update.states = update.states.merged(self.states(now))
        return update

    def _record_level(self, sensor: _Sensor, t: float) -> RestingMinute | None:
        """Keep one resting level per minute (occupancy is read from it); the new one."""
        detector = sensor.detector
        if not isinstance(detector, EnvelopeDetector) or detector.level is None:
            return None
        if sensor.rhythm_taken_at is not None and t - sensor.rhythm_taken_at < LEVEL_SECONDS:
            return None
        sensor.rhythm_taken_at = t
        rhythm = detector.take_rhythm()  # taken every minute, so it never piles up
        if self.night_start is None or t < self.night_start:
            return None
        if self.levels and t - self.levels[-1].t < LEVEL_SECONDS:
            return None
        self.levels.append(RestingMinute(t, detector.level, rhythm))
        return self.levels[-1]

    def _is_classification_due(self, now: float) -> bool:
        if self._classified_at is None:
            return True
        after = RECLASSIFY_SECONDS
        recorded = self._level_recorded_at
        if recorded is not None and now - recorded < RECLASSIFY_SECONDS + LEVEL_SLACK_SECONDS:
            after += LEVEL_SLACK_SECONDS
        return now - self._classified_at >= after

    def _classify(self, now: float, *, is_final: bool = False) -> NightClassification:
        """Label tonight's events as far as the data allows (provisional until the end).

        Provisional labels come from the live night, which labels only what a new
        movement can change; the final ones from one pass over the whole night."""
        start = self.night_start if self.night_start is not None else now
        if is_final:
            self.classification = classify_night(
                self.tonight,
                start,
                now,
                levels=self.levels,
                is_final=True,
                config=self.classify_config,
                presence=self._presence_spans(),
                gaps=self.gaps,
            )
        else:
            self.classification = self.live.classify(
                self.tonight,
                start,
                now,
                levels=self.levels,
                presence=self._presence_spans(),
                gaps=self.gaps,
            )
        self._classified_at = now
        return self.classification

    def _provisional(self, event: MovementEvent) -> MovementEvent:
        """The event with its current label (what the event entity fires)."""
        if self.classification is not None:
            for labelled in reversed(self.classification.events):
                if labelled.onset == event.onset and labelled.sensor == event.sensor:
                    return labelled
                if labelled.onset < event.onset:
                    break
        return event

    def _admit(
        self, sensor: _Sensor, reading: Reading, now: float
    ) -> tuple[Reading, Rejection | None]:
        """Apply the per-sensor cursor: reject replays, absorb receive-time jitter."""
        start = reading.t
        end = reading.end if isinstance(reading, EnvelopeFrame) else reading.t
        if sensor.cursor is not None:
            if isinstance(reading, EnvelopeFrame):
                sample = 1.0 / reading.hz
                if start < sensor.cursor - sample / 2:
                    if len(reading.rms) == 1 and start > sensor.cursor - sample:
                        # A plain-number message stamped on receipt arrived a bit early.
                        reading = EnvelopeFrame(
                            sensor.cursor, reading.hz, reading.rms, reading.peak
                        )
                        end = reading.end
                    elif self._is_already_seen(sensor, start, now):
                        if isinstance(sensor.detector, EnvelopeDetector):
                            sensor.detector.warm(reading)
                        return reading, Rejection("duplicate", f"frame at {start:.1f} already seen")
            elif start <= sensor.cursor:
                return reading, Rejection("duplicate", f"report at {start:.1f} already seen")
        if (
            isinstance(reading, EnvelopeFrame)
            and sensor.cursor is not None
            and start - sensor.cursor > GAP_SECONDS
            and self.night_start is not None
            and start >= self.night_start
        ):
            # Also across a restart (the cursor is stored): unknown, never stillness.
            self.gaps.append((sensor.cursor, start))
        sensor.cursor = end
        sensor.behind = 0
        return reading, None

    def _is_already_seen(self, sensor: _Sensor, start: float, now: float) -> bool:
        """True to refuse a frame before the cursor as already seen. False when the cursor
        lies in the future of the clock while frames of now keep arriving behind it (the
        REANCHOR_FRAMES-th in a row): it was wrong, and the stream is taken from here
        again, the detector starting over at it. A replay of old data is still refused."""
        cursor = sensor.cursor
        is_live = cursor is not None and start <= now + AHEAD_SECONDS < cursor
        sensor.behind = sensor.behind + 1 if is_live else 0
        if sensor.behind < REANCHOR_FRAMES:
            return True
        if isinstance(sensor.detector, EnvelopeDetector):
            sensor.detector.rewind()
        return False

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
        if not self.presence:
            return None
        spans: list[tuple[float, float]] = []
        since: float | None = None
        for t, is_present in self.presence:
            if is_present and since is None:
                since = t
            elif not is_present and since is not None:
                spans.append((since, t))
                since = None
        if since is not None:
            spans.append((since, math.inf))  # still in bed
        return spans

    def on_sensor_status(self, sensor_key: str, *, is_online: bool) -> Update:
        """A sensor reported online/offline on its status topic."""
        self._sensors[sensor_key].is_online = is_online
        return Update(states=BedStates(sensors_online={sensor_key: is_online}))

    def _is_new(self, sensor: _Sensor, event: MovementEvent) -> bool:
        """False when this sensor already reported a movement starting at the same moment."""
        onsets = sensor.onsets
        i = bisect.bisect_left(onsets, event.onset - SAME_EVENT_SECONDS)
        return not (i < len(onsets) and onsets[i] <= event.onset + SAME_EVENT_SECONDS)

    def _count(self, event: MovementEvent, now: float) -> None:
        sensor = self._sensors.get(event.sensor)
        if sensor is not None:
            bisect.insort(sensor.onsets, event.onset)
        if self.night_start is not None and event.onset >= self.night_start:
            self.counts[event.cls.value] = self.counts.get(event.cls.value, 0) + 1
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
        is_up = self._is_up_for_the_day(now)
        if is_up or night == self._closed_early:
            night = None
        if night != self.night:
            if self.night is not None:
                final = self._classify(self._night_end(now), is_final=True)
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
        while self.recent_onsets and self.recent_onsets[0] < now - HOUR_SECONDS:
            self.recent_onsets.popleft()
            update.states = replace(update.states, movements_last_hour=len(self.recent_onsets))
        if is_classifying and self.night is not None and self._is_classification_due(now):
            self._classify(now)
            update.states = update.states.merged(self._sleep_states(now))
        elif is_classifying:
            in_bed = self._is_in_bed(now)
            if in_bed != self._in_bed_sent:  # the sensor fell silent (or spoke again)
                update.states = replace(update.states, in_bed=in_bed)
                self._in_bed_sent = in_bed
        return update

    def _is_up_for_the_day(self, now: float) -> bool:
        """True once, in the morning, the sleeper has been out of bed UP_SECONDS after
        sleeping (the night then closes before the window's end)."""
        c = self.classification
        if self.night is None or c is None:
            return False
        morning = self.window.morning_of(self.night)
        s = c.sleep
        return (
            morning is not None
            and now >= morning
            and s.sleep_onset is not None
            and s.out_of_bed is not None
            and s.out_of_bed > s.sleep_onset
            and now - s.out_of_bed >= UP_SECONDS
        )

    def _night_end(self, now: float) -> float:
        return min(self.window.bounds(self.night)[1], now) if self.night else now

    def wake_at(self, now: float) -> float:
        """The next moment `tick` has something to do."""
        moments = [self.window.next_boundary(now)]
        if self.recent_onsets:
            moments.append(self.recent_onsets[0] + HOUR_SECONDS)
        heard = self._last_heard()
        if heard is not None and heard + SILENT_SECONDS > now:
            moments.append(heard + SILENT_SECONDS)  # occupancy turns unknown then
        return min(moments)

    def _last_heard(self) -> float | None:
        """Clock time of the latest reading from an envelope sensor; None without one."""
        heard = [
            s.heard_at
            for s in self._sensors.values()
            if s.spec.kind is SourceKind.ENVELOPE and s.heard_at is not None
        ]
        return max(heard) if heard else None

    def finish(self, at: float) -> Update:
        """End of data (analysis of a recording): close open events at `at`."""
        update = Update()
        for sensor in self._sensors.values():
            if isinstance(sensor.detector, EnvelopeDetector):
                for out in sensor.detector.flush(at):
                    if isinstance(out, MovementEvent) and self._is_new(sensor, out):
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
        night = self.night.isoformat() if self.night else ""
        end = self.window.bounds(self.night)[1] if self.night else now
        c = self.classification
        return NightSummary(
            bed_id=self.bed_id,
            night=night,
            start=self.night_start or now,
            end=min(end, now),
            counts=c.counts if c is not None else dict(self.counts),
            sleep_onset=c.sleep.sleep_onset if c is not None else None,
            plm_index=c.plm_index if c is not None else None,
            rejected=self.messages_rejected,
            waking_jerks=c.waking_jerks if c is not None else None,
            # A still-open stretch ends with the summary (the night's end, or now).
            in_bed_spans=tuple(
                (a, min(b, end, now)) for a, b in (c.sleep.in_bed_spans if c is not None else ())
            ),
            wake=c.sleep.wake if c is not None else None,
        )

    def classify_final(self, now: float) -> NightClassification:
        """Final labels for the data so far (end of a recording)."""
        return self._classify(now, is_final=True)

    def _sleep_states(self, now: float) -> BedStates:
        """Per-class counts and sleep figures from the current classification."""
        self._in_bed_sent = self._is_in_bed(now)
        return tonight_states(self.classification, in_bed=self._in_bed_sent)

    def _is_in_bed(self, now: float) -> bool | None:
        """Occupancy now, from the night's classification; None when it cannot tell
        (no classification, or envelope sensors silent with no presence input)."""
        c = self.classification
        if c is None or self.night is None:
            return None
        heard = self._last_heard()
        if not self.presence and heard is not None and now - heard >= SILENT_SECONDS:
            return None
        if c.sleep.in_bed is None:
            # Empty by breathing evidence, or nothing to tell by yet.
            return False if any(m.rhythm is not None for m in self.levels) else None
        return c.sleep.is_in_bed_at(now)

    def states(self, now: float) -> BedStates:
        """Every published state of the bed that is known."""
        states = BedStates(
            # By the classification when there is one: a movement seen by both sensors of a
            # two-sensor bed counts once, a glitch not at all.
            movements_tonight=len(self.classification.events)
            if self.classification is not None
            else sum(self.counts.values()),
            movements_last_hour=sum(1 for o in self.recent_onsets if o >= now - HOUR_SECONDS),
            last_movement=self.last_movement_at,
            movement=self.is_moving,
            frames_received=self.frames_received,
            messages_rejected=self.messages_rejected,
        ).merged(self._sleep_states(now))
        if self.last_night is not None:
            states = states.merged(last_night_states(self.last_night))
        return replace(
            states,
            worth_discussing=self.advisory.is_on,
            advisory_attributes=self.advisory.attributes(),
            sensors_online={
                key: sensor.is_online
                for key, sensor in self._sensors.items()
                if sensor.is_online is not None
            },
        )

    def cursors(self) -> dict[str, float]:
        """Per-sensor time of the last admitted sample, for the store's checkpoint."""
        return {k: s.cursor for k, s in self._sensors.items() if s.cursor is not None}

    def diagnostics(self) -> dict[str, int]:
        """Counters that must survive a restart."""
        return {
            "frames_received": self.frames_received,
            "messages_rejected": self.messages_rejected,
        }
