"""The entities of a bed device in Home Assistant: what each shows and how it is declared.

bed/discovery.py turns them into discovery configs; they live here so that the table
of entities reads as one piece.
"""

from __future__ import annotations

from collections.abc import Callable

from sleepenv.bed.core.states import UNSET, BedStates, Unset
from sleepenv.mqtt.discovery import Encoding, Entity, Published, State

ADVISORY_ATTRIBUTES = "worth_discussing_attributes"
# An MQTT `image`: the retained PNG of the last closed night's chart (report/chart.py).
CHART_CONTENT_TYPE = "image/png"
# Reads the advisory's attributes topic: its state is the pattern, in plain words.
ADVISORY_REASON = "advisory_reason"
# Which habits go with which nights (sleepenv insights): the strongest finding as the
# state, every comparison as attributes; published by the insights when a night closes.
INSIGHT = "insight"

# A field of BedStates as read for its entity (UNSET: not published).
BedValue = Published | Unset
BedEntity = Entity[BedStates, BedValue]
Read = Callable[[BedStates], BedValue]

BINARY = Encoding.BINARY
TEXT = Encoding.TEXT
TIMESTAMP = Encoding.TIMESTAMP


def _nightly(key: str, name: str, icon: str, read: Callable[[BedStates], int | Unset]) -> BedEntity:
    """A per-class count of tonight: it can fall (three limb movements become a PLM
    series), so `total` with the night's start as `last_reset` makes Home Assistant book a
    fall as a correction, not as a meter reset."""
    return Entity(
        key, "sensor", name, State(read, Encoding.NIGHTLY_COUNT), state_class="total", icon=icon
    )


def _last_night(
    key: str, name: str, icon: str, read: Callable[[BedStates], int | Unset | None]
) -> BedEntity:
    """A final figure of the last closed night, replaced when a night closes.

    `measurement` (a snapshot, not an accumulating count) gives it long-term statistics
    (hourly mean, min, max), which is what the dashboard's multi-night trend draws: the
    counters of tonight only keep state and sum, and their daily maximum does not exist.
    """
    return Entity(key, "sensor", name, State(read, TEXT), state_class="measurement", icon=icon)


# Every entity of a bed device and the field of BedStates it publishes (bed/discovery.py
# adds one connectivity entity per sensor that reports its status).
BED_ENTITIES: tuple[BedEntity, ...] = (
    Entity(
        "in_bed",
        "binary_sensor",
        "In bed",
        State(lambda s: s.in_bed, BINARY),
        device_class="occupancy",
    ),
    Entity(
        "sleep_onset",
        "sensor",
        "Sleep onset tonight",
        State(lambda s: s.sleep_onset, TIMESTAMP),
        device_class="timestamp",
        icon="mdi:sleep",
    ),
    Entity(
        "time_to_fall_asleep",
        "sensor",
        "Time to fall asleep",
        State(lambda s: s.time_to_fall_asleep_minutes, TEXT),
        device_class="duration",
        unit="min",
        icon="mdi:timer-sand",
    ),
    Entity(
        "movements_tonight",
        "sensor",
        "Movements tonight",
        State(lambda s: s.movements_tonight, TEXT),
        state_class="total_increasing",
        icon="mdi:bed",
    ),
    _nightly(
        "twitches_tonight",
        "Twitches tonight",
        "mdi:lightning-bolt-outline",
        lambda s: s.twitches_tonight,
    ),
    _nightly(
        "hypnic_jerks_tonight",
        "Hypnic jerks tonight",
        "mdi:flash-alert-outline",
        lambda s: s.hypnic_jerks_tonight,
    ),
    _nightly(
        "limb_movements_tonight",
        "Limb movements tonight",
        "mdi:shoe-print",
        lambda s: s.limb_movements_tonight,
    ),
    _nightly("plm_tonight", "PLM-like movements tonight", "mdi:metronome", lambda s: s.plm_tonight),
    _nightly(
        "rollovers_tonight",
        "Rollovers tonight",
        "mdi:rotate-3d-variant",
        lambda s: s.rollovers_tonight,
    ),
    Entity(
        "plm_index_tonight",
        "sensor",
        "PLM index tonight",
        # A provisional rate; no state class, like the other nightly figures.
        State(lambda s: s.plm_index_tonight, TEXT),
        unit="/h",
        icon="mdi:chart-bell-curve",
    ),
    # A rolling count is a rate: a unit and `measurement` make Home Assistant draw it as a
    # line and keep it out of the logbook (a change per movement flooded it).
    Entity(
        "movements_last_hour",
        "sensor",
        "Movements per hour",
        State(lambda s: s.movements_last_hour, TEXT),
        state_class="measurement",
        unit="/h",
        icon="mdi:chart-timeline-variant",
    ),
    _last_night(
        "movements_last_night",
        "Movements last night",
        "mdi:bed-outline",
        lambda s: s.movements_last_night,
    ),
    _last_night(
        "twitches_last_night",
        "Twitches last night",
        "mdi:lightning-bolt",
        lambda s: s.twitches_last_night,
    ),
    _last_night(
        "hypnic_jerks_last_night",
        "Hypnic jerks last night",
        "mdi:flash-alert",
        lambda s: s.hypnic_jerks_last_night,
    ),
    _last_night(
        "waking_jerks_last_night",
        "Waking jerks last night",
        "mdi:alarm-light-outline",
        lambda s: s.waking_jerks_last_night,
    ),
    _last_night(
        "limb_movements_last_night",
        "Limb movements last night",
        "mdi:walk",
        lambda s: s.limb_movements_last_night,
    ),
    _last_night(
        "plm_last_night",
        "PLM-like movements last night",
        "mdi:metronome-tick",
        lambda s: s.plm_last_night,
    ),
    _last_night(
        "rollovers_last_night",
        "Rollovers last night",
        "mdi:rotate-3d",
        lambda s: s.rollovers_last_night,
    ),
    Entity(
        "plm_index_last_night",
        "sensor",
        "PLM index last night",
        State(lambda s: s.plm_index_last_night, TEXT),
        state_class="measurement",
        unit="/h",
        icon="mdi:chart-bell-curve-cumulative",
    ),
    Entity(
        "sleep_onset_last_night",
        "sensor",
        "Sleep onset last night",
        State(lambda s: s.sleep_onset_last_night, TIMESTAMP),
        device_class="timestamp",
        icon="mdi:bed-clock",
    ),
    # Raw PNG bytes on a retained topic, published by the service when a night closes.
    Entity("last_night_chart", "image", "Last night chart", icon="mdi:chart-timeline"),
    Entity(INSIGHT, "sensor", "Habits and nights", icon="mdi:lightbulb-on-outline"),
    Entity(
        "worth_discussing",
        "binary_sensor",
        "Worth discussing with a doctor",
        State(lambda s: s.worth_discussing, BINARY),
        icon="mdi:doctor",
    ),
    # Its state is the pattern in plain words, read by a template from the advisory's
    # attributes (the JSON it publishes, which "Worth discussing" shows as attributes too).
    Entity(
        ADVISORY_REASON,
        "sensor",
        "Pattern to discuss",
        State(lambda s: s.advisory_attributes, Encoding.JSON, topic_key=ADVISORY_ATTRIBUTES),
        icon="mdi:clipboard-text-outline",
    ),
    # The chattiest entities (a state change per movement) start disabled: they flood
    # Home Assistant's logbook, and the counts and "last night" figures tell the night.
    Entity(
        "last_movement",
        "sensor",
        "Last movement",
        State(lambda s: s.last_movement, TIMESTAMP),
        device_class="timestamp",
        icon="mdi:clock-outline",
        enabled_by_default=False,
    ),
    Entity(
        "movement",
        "binary_sensor",
        "Moving",
        State(lambda s: s.movement, BINARY),
        device_class="motion",
        enabled_by_default=False,
    ),
    # Movement events on their own topic (not retained), not a state.
    Entity("movement_event", "event", "Live movement", icon="mdi:run", enabled_by_default=False),
    Entity(
        "frames_received",
        "sensor",
        "Frames received",
        State(lambda s: s.frames_received, TEXT),
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:counter",
    ),
    Entity(
        "messages_rejected",
        "sensor",
        "Messages rejected",
        State(lambda s: s.messages_rejected, TEXT),
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:alert-circle-outline",
    ),
)


# Service-wide counters (not per bed), shown on every bed device: their state is one
# retained JSON object on the diagnostics topic, not a field of BedStates.
SERVICE_ENTITIES: tuple[BedEntity, ...] = (
    Entity(
        "messages_dropped",
        "sensor",
        "Messages dropped",
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:tray-remove",
    ),
    Entity(
        "other_messages_rejected",
        "sensor",
        "Other messages rejected",
        state_class="total_increasing",
        entity_category="diagnostic",
        icon="mdi:alert-octagon-outline",
    ),
)


def sensor_online(sensor_key: str) -> Read:
    """Reads whether one sensor is online (UNSET until it reported a status)."""
    return lambda s: s.sensors_online.get(sensor_key, UNSET)
