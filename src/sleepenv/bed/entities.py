"""The entities of a bed device in Home Assistant: what each shows and how it is declared.

bed/discovery.py turns them into discovery configs; they live here so that the table
of entities reads as one piece.
"""

from __future__ import annotations

from dataclasses import dataclass

ADVISORY_ATTRIBUTES = "worth_discussing_attributes"
# A count published with the moment it was last reset: `{"count": n, "last_reset": iso}`.
NIGHTLY_COUNT = "nightly_count"
# An MQTT `image`: the retained PNG of the last closed night's chart (report/chart.py).
CHART = "chart"
CHART_CONTENT_TYPE = "image/png"


@dataclass(frozen=True, slots=True)
class Entity:
    """One Home Assistant entity of a bed device."""

    key: str
    platform: str
    name: str
    kind: str = "count"  # count | nightly_count | timestamp | binary | event | number | ...
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    icon: str | None = None
    unit: str | None = None
    # The chattiest entities (a state change per movement) start disabled: they flood
    # Home Assistant's logbook, and the counts and "last night" figures tell the night.
    enabled_by_default: bool = True


# Reads the advisory's attributes topic: its state is the pattern, in plain words.
ADVISORY_REASON = "advisory_reason"

BED_ENTITIES: tuple[Entity, ...] = (
    Entity("in_bed", "binary_sensor", "In bed", kind="binary", device_class="occupancy"),
    Entity(
        "sleep_onset",
        "sensor",
        "Sleep onset tonight",
        kind="timestamp",
        device_class="timestamp",
        icon="mdi:sleep",
    ),
    Entity(
        "time_to_fall_asleep",
        "sensor",
        "Time to fall asleep",
        kind="number",
        device_class="duration",
        unit="min",
        icon="mdi:timer-sand",
    ),
    Entity(
        "movements_tonight",
        "sensor",
        "Movements tonight",
        state_class="total_increasing",
        icon="mdi:bed",
    ),
    # Per-class counts follow the provisional labels, so they can fall (three limb
    # movements become a PLM series): `total` with the night's start as `last_reset`, so
    # Home Assistant books a fall as a correction, not as a meter reset.
    *(
        Entity(key, "sensor", name, kind=NIGHTLY_COUNT, state_class="total", icon=icon)
        for key, name, icon in (
            ("twitches_tonight", "Twitches tonight", "mdi:lightning-bolt-outline"),
            ("hypnic_jerks_tonight", "Hypnic jerks tonight", "mdi:flash-alert-outline"),
            ("limb_movements_tonight", "Limb movements tonight", "mdi:shoe-print"),
            ("plm_tonight", "PLM-like movements tonight", "mdi:metronome"),
            ("rollovers_tonight", "Rollovers tonight", "mdi:rotate-3d-variant"),
        )
    ),
    Entity(
        "plm_index_tonight",
        "sensor",
        "PLM index tonight",
        kind="number",  # a provisional rate; no state class, like the other nightly figures
        unit="/h",
        icon="mdi:chart-bell-curve",
    ),
    # A rolling count is a rate: a unit and `measurement` make Home Assistant draw it as a
    # line and keep it out of the logbook (a change per movement flooded it).
    Entity(
        "movements_last_hour",
        "sensor",
        "Movements per hour",
        state_class="measurement",
        unit="/h",
        icon="mdi:chart-timeline-variant",
    ),
    # Last night's final figures, replaced when a night closes. `measurement` (a snapshot,
    # not an accumulating count) gives them long-term statistics (hourly mean, min, max),
    # which is what the dashboard's multi-night trend draws: the counters of tonight only
    # keep state and sum, and their daily maximum does not exist.
    *(
        Entity(key, "sensor", name, state_class="measurement", icon=icon)
        for key, name, icon in (
            ("movements_last_night", "Movements last night", "mdi:bed-outline"),
            ("twitches_last_night", "Twitches last night", "mdi:lightning-bolt"),
            ("hypnic_jerks_last_night", "Hypnic jerks last night", "mdi:flash-alert"),
            ("waking_jerks_last_night", "Waking jerks last night", "mdi:alarm-light-outline"),
            ("limb_movements_last_night", "Limb movements last night", "mdi:walk"),
            ("plm_last_night", "PLM-like movements last night", "mdi:metronome-tick"),
            ("rollovers_last_night", "Rollovers last night", "mdi:rotate-3d"),
        )
    ),
    Entity(
        "plm_index_last_night",
        "sensor",
        "PLM index last night",
        kind="number",
        state_class="measurement",
        unit="/h",
        icon="mdi:chart-bell-curve-cumulative",
    ),
    Entity(
        "sleep_onset_last_night",
        "sensor",
        "Sleep onset last night",
        kind="timestamp",
        device_class="timestamp",
        icon="mdi:bed-clock",
    ),
    Entity(
        "last_night_chart",
        "image",
        "Last night chart",
        kind=CHART,
        icon="mdi:chart-timeline",
    ),
    Entity(
        "worth_discussing",
        "binary_sensor",
        "Worth discussing with a doctor",
        kind="binary",
        icon="mdi:doctor",
    ),
    Entity(
        ADVISORY_REASON,
        "sensor",
        "Pattern to discuss",
        kind=ADVISORY_REASON,
        icon="mdi:clipboard-text-outline",
    ),
    Entity(
        "last_movement",
        "sensor",
        "Last movement",
        kind="timestamp",
        device_class="timestamp",
        icon="mdi:clock-outline",
        enabled_by_default=False,
    ),
    Entity(
        "movement",
        "binary_sensor",
        "Moving",
        kind="binary",
        device_class="motion",
        enabled_by_default=False,
    ),
    Entity(
        "movement_event",
        "event",
        "Live movement",
        kind="event",
        icon="mdi:run",
        enabled_by_default=False,
    ),
    Entity(
        "frames_received",
        "sensor",
        "Frames received",
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:counter",
    ),
    Entity(
        "messages_rejected",
        "sensor",
        "Messages rejected",
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:alert-circle-outline",
    ),
)


# Service-wide counters (not per bed), shown on every bed device: their state is one
# retained JSON object on `diagnostics_topic`.
SERVICE = "service"
SERVICE_ENTITIES: tuple[Entity, ...] = (
    Entity(
        "messages_dropped",
        "sensor",
        "Messages dropped",
        kind=SERVICE,
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:tray-remove",
    ),
    Entity(
        "other_messages_rejected",
        "sensor",
        "Other messages rejected",
        kind=SERVICE,
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:alert-octagon-outline",
    ),
)
