"""Message → decoded reading → bed tracker: the path shared by the live service and `analyze`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import tzinfo

from sleepenv.bed.core.classify import ClassifyConfig
from sleepenv.bed.core.coarse import CoarseConfig
from sleepenv.bed.core.detector import DetectorConfig
from sleepenv.bed.core.model import ENVELOPE as _ENVELOPE
from sleepenv.bed.core.model import Reading, SourceKind
from sleepenv.bed.core.night import NightWindow
from sleepenv.bed.core.tracker import BedTracker, SensorSpec, Update
from sleepenv.bed.discovery import sensor_key
from sleepenv.bed.esphome import decode_envelope, decode_envelope_object, decode_status
from sleepenv.bed.presence import decode_presence
from sleepenv.bed.zigbee2mqtt import decode_vibration
from sleepenv.config.settings import Settings
from sleepenv.mqtt.intake import RateLimitedLog, clip
from sleepenv.mqtt.payload import DecodeLimits
from sleepenv.rejection import Rejection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """Which bed and sensor a topic belongs to."""

    bed_id: str
    sensor: str
    kind: SourceKind


def detector_config(settings: Settings) -> DetectorConfig:
    """The detector's numbers from the `detection` settings."""
    d = settings.detection
    return DetectorConfig(
        baseline_window_seconds=d.baseline_window_seconds,
        on_factor=d.on_factor,
        off_factor=d.off_factor,
        max_gap_seconds=d.max_gap_seconds,
        posture_change_degrees=d.posture_change_degrees,
    )


class Pipeline:
    """Routes sensor messages to bed trackers; sync, fast, and never raises on input."""

    def __init__(
        self,
        settings: Settings,
        timezones: dict[str, tzinfo],
        limits: DecodeLimits | None = None,
        classify: ClassifyConfig | None = None,
    ) -> None:
        """Build one tracker per bed and the topic routing table.

        `classify` replaces the classification settings (`analyze` for `evaluate`).
        """
        self.settings = settings
        self.limits = limits or DecodeLimits()
        self.routes: dict[str, Route] = {}
        self.status_routes: dict[str, Route] = {}
        self.presence_routes: dict[str, str] = {}  # presence topic -> bed id
        self.trackers: dict[str, BedTracker] = {}
        self.unknown_topics = 0
        self.rejection_log = RateLimitedLog(logger=log)
        if classify is None:
            classify = ClassifyConfig(plm_profile=settings.classification.plm_profile)
        for bed in settings.beds:
            specs = []
            for i, sensor in enumerate(bed.sensors):
                route = Route(bed.id, sensor_key(bed, i), SourceKind(sensor.kind))
                self.routes[sensor.topic] = route
                if sensor.status_topic is not None:
                    self.status_routes[sensor.status_topic] = route
                specs.append(SensorSpec(route.sensor, route.kind, sensor.side))
            if bed.presence_topic is not None:
                self.presence_routes[bed.presence_topic] = bed.id
            window = NightWindow(
                settings.night.start, settings.night.end, timezones[bed.id], settings.night.morning
            )
            self.trackers[bed.id] = BedTracker(
                bed.id,
                window,
                specs,
                detector_config(settings),
                CoarseConfig(posture_change_degrees=settings.detection.posture_change_degrees),
                classify,
            )

    def topics(self) -> list[str]:
        """Every topic to subscribe to."""
        return [*self.routes, *self.status_routes, *self.presence_routes]

    def handle(
        self, topic: str, payload: bytes, now: float, parsed: dict[str, object] | None = None
    ) -> tuple[str, Update] | None:
        """Decode and apply one message; None for topics that are not ours.

        `parsed`: the payload as its reader already parsed it (see decode_envelope_object),
        so that an envelope frame is not parsed twice; `analyze` passes it.
        """
        route = self.routes.get(topic)
        if route is not None:
            tracker = self.trackers[route.bed_id]
            decoded: Reading | Rejection
            if route.kind is _ENVELOPE and parsed is not None:
                decoded = decode_envelope_object(parsed, len(payload), now, self.limits)
            elif route.kind is _ENVELOPE:
                decoded = decode_envelope(payload, now, self.limits)
            else:
                decoded = decode_vibration(payload, now, self.limits)
            if isinstance(decoded, Rejection):
                return route.bed_id, self._reject(tracker, topic, decoded)
            update = tracker.on_reading(route.sensor, decoded, now)
            for rejection in update.rejections:
                self._log_rejection(topic, rejection)
            return route.bed_id, update
        route = self.status_routes.get(topic)
        if route is not None:
            is_online = decode_status(payload)
            tracker = self.trackers[route.bed_id]
            if is_online is None:
                return route.bed_id, self._reject(
                    tracker, topic, Rejection("bad_status", "expected online or offline")
                )
            return route.bed_id, tracker.on_sensor_status(route.sensor, is_online=is_online)
        if topic in self.presence_routes:
            return self._handle_presence(topic, payload, now)
        self.unknown_topics += 1
        self.rejection_log.warning(
            "unknown topic", "ignoring a message on unknown topic %s", clip(topic)
        )
        return None

    def _handle_presence(self, topic: str, payload: bytes, now: float) -> tuple[str, Update]:
        """A bed-presence message: someone in bed or not."""
        bed_id = self.presence_routes[topic]
        tracker = self.trackers[bed_id]
        is_present = decode_presence(payload)
        if is_present is None:
            rejection = Rejection("bad_presence", "expected ON/OFF or occupancy")
            return bed_id, self._reject(tracker, topic, rejection)
        return bed_id, tracker.on_presence(is_present=is_present, now=now)

    def _reject(self, tracker: BedTracker, topic: str, rejection: Rejection) -> Update:
        self._log_rejection(topic, rejection)
        return tracker.on_rejection(rejection)

    def _log_rejection(self, topic: str, rejection: Rejection) -> None:
        self.rejection_log.warning(
            f"{topic}:{rejection.reason}",
            "rejected a message on %s: %s (%s)",
            topic,
            rejection.reason,
            rejection.detail,
        )

    def tick(self, now: float) -> list[tuple[str, Update]]:
        """Advance every bed to `now`."""
        return [(bed_id, t.tick(now)) for bed_id, t in self.trackers.items()]

    def wake_at(self, now: float) -> float:
        """The earliest moment any bed wants a tick."""
        return min(t.wake_at(now) for t in self.trackers.values())
