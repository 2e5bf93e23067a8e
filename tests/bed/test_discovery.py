"""Discovery payloads are pure functions: checked without a broker."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from sleepenv import __version__
from sleepenv.bed import discovery, labels
from sleepenv.bed.core.advisory import advise
from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary
from sleepenv.bed.core.states import UNSET, BedStates
from sleepenv.bed.core.tracker import BedTracker
from sleepenv.bed.entities import INSIGHT, SERVICE_ENTITIES, BedEntity
from sleepenv.config.settings import Settings
from sleepenv.mqtt.outbox import Outgoing
from tests.bed.core.test_tracker import T0, feed, tracker
from tests.helpers.frames import Burst, frames


def settings(**bed: object) -> Settings:
    """A config with one bed (overridable)."""
    b: dict[str, object] = {
        "id": "main",
        "name": "Main bed",
        "sensors": [{"kind": "envelope", "topic": "bed/env", "status_topic": "bed/status"}],
    }
    b.update(bed)
    return Settings(beds=[b])


PINNED = Path(__file__).with_name("pinned_discovery.json")


def pinned(section: str) -> dict[str, Any]:
    """What the service published before discovery had a shared builder (version aside)."""
    text = PINNED.read_text(encoding="utf-8").replace('"<version>"', json.dumps(__version__))
    found: dict[str, Any] = json.loads(text)[section]
    return found


def test_discovery_is_byte_for_byte_what_it_was() -> None:
    """The published config of a one-sensor bed and of a three-sensor bed under another
    base topic and prefix: a change here changes what Home Assistant sees."""
    one = settings()
    three = Settings(
        mqtt={"base_topic": "house_sleep", "discovery_prefix": "ha"},
        beds=[
            {
                "id": "guest",
                "name": "Guest bed",
                "sensors": [
                    {"kind": "envelope", "topic": "a", "status_topic": "a/s", "side": "left"},
                    {"kind": "envelope", "topic": "b", "status_topic": "b/s", "side": "left"},
                    {"kind": "zigbee_vibration", "topic": "z"},
                ],
            }
        ],
    )
    made = {
        "one_sensor": discovery.bed_discovery(one.mqtt, one.beds[0]),
        "three_sensors": discovery.bed_discovery(three.mqtt, three.beds[0], "Guest room"),
    }
    expected = pinned("discovery")
    assert set(made) == set(expected)
    for name, (topic, payload) in made.items():
        assert topic == expected[name]["topic"]
        # The bytes the service publishes (json.dumps keeps the key order).
        assert json.dumps(payload) == json.dumps(expected[name]["payload"]), name


def test_device_payload_shape() -> None:
    s = settings()
    topic, payload = discovery.bed_discovery(s.mqtt, s.beds[0])
    assert topic == "homeassistant/device/sleepenv_main/config"
    assert payload["dev"]["ids"] == ["sleepenv_main"]
    assert payload["dev"]["name"] == "Main bed"
    assert payload["o"]["name"] == "sleepenv"
    assert payload["avty"] == [{"t": "sleepenv/status"}]
    cmps = payload["cmps"]
    ids = [c["unique_id"] for c in cmps.values()]
    assert len(ids) == len(set(ids))
    assert all(uid == f"sleepenv_main_{key}" for key, uid in zip(cmps, ids, strict=True))
    for c in cmps.values():
        assert c["default_entity_id"] == f"{c['p']}.{c['unique_id']}"
        assert "object_id" not in c
    # Never `measurement` for an accumulating count: only for snapshots (last night's
    # figures) and the rolling rate, so the trend has statistics and the rate draws a line.
    measured = {k for k, c in cmps.items() if c.get("state_class") == "measurement"}
    assert measured == {
        "movements_last_hour",
        *(k for k in cmps if k.endswith("_last_night") and "onset" not in k),
    }
    assert payload["dev"]["sa"] == "Bedroom"


def test_counters_and_diagnostics() -> None:
    s = settings()
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    assert cmps["movements_tonight"]["state_class"] == "total_increasing"
    assert cmps["movements_tonight"]["state_topic"] == "sleepenv/main/movements_tonight"
    assert cmps["movements_last_hour"]["state_class"] == "measurement"
    assert cmps["movements_last_hour"]["unit_of_measurement"] == "/h"
    assert cmps["last_movement"]["device_class"] == "timestamp"
    assert cmps["movement"]["p"] == "binary_sensor"
    assert cmps["frames_received"]["entity_category"] == "diagnostic"
    assert cmps["sensor_both_online"]["device_class"] == "connectivity"
    assert len(cmps["movement_event"]["event_types"]) == len(MovementClass)
    assert "Limb movement" in cmps["movement_event"]["event_types"]


def test_the_chart_is_an_image_of_raw_png_on_its_own_topic() -> None:
    s = settings()
    chart = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]["last_night_chart"]
    assert chart["p"] == "image"
    assert chart["name"] == "Last night chart"
    assert chart["image_topic"] == discovery.chart_topic(s.mqtt, "main")
    assert chart["image_topic"] == "sleepenv/main/last_night_chart"
    assert chart["content_type"] == "image/png"
    # Raw bytes, no template: neither a state topic nor an encoding for Home Assistant.
    assert not {"state_topic", "image_encoding", "value_template"} & chart.keys()
    assert chart["default_entity_id"] == "image.sleepenv_main_last_night_chart"


def test_names_are_distinct_and_short() -> None:
    """Two entities never share a name (a binary sensor and an event both called
    "Movement" were indistinguishable); names fit a phone's entity row."""
    s = settings()
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    names = [c["name"] for c in cmps.values()]
    assert len(names) == len(set(names))
    assert max(len(n) for n in names) <= 30
    icons = [c["icon"] for c in cmps.values() if "icon" in c]
    assert len(icons) == len(set(icons)), "two entities share an icon"


def test_chatty_entities_start_disabled() -> None:
    """A state change per movement floods the logbook: those entities are opt-in."""
    s = settings()
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    disabled = {k for k, c in cmps.items() if c.get("enabled_by_default") is False}
    assert disabled == {"movement_event", "last_movement", "movement"}


def test_two_sensors_same_side_get_distinct_keys() -> None:
    s = settings(
        sensors=[
            {"kind": "envelope", "topic": "a", "status_topic": "a/s"},
            {"kind": "envelope", "topic": "b", "status_topic": "b/s"},
        ]
    )
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    assert {"sensor_both1_online", "sensor_both2_online"} <= set(cmps)


def test_per_class_counts_are_totals_with_the_night_start_as_last_reset() -> None:
    """Relabelling can lower a per-class count: `total` + `last_reset` makes Home Assistant
    book that as a correction (a fall of a `total_increasing` sensor reads as a reset)."""
    s = settings()
    cmps = discovery.bed_discovery(s.mqtt, s.beds[0])[1]["cmps"]
    for key in ("twitches_tonight", "limb_movements_tonight", "rollovers_tonight"):
        assert cmps[key]["state_class"] == "total"
        assert cmps[key]["value_template"] == "{{ value_json.count }}"
        assert cmps[key]["last_reset_value_template"] == "{{ value_json.last_reset }}"
        assert cmps[key]["json_attributes_topic"] == "sleepenv/main/attributes"
    for key in ("hypnic_jerks_tonight", "plm_tonight"):
        assert cmps[key]["state_class"] == "total"
    assert "last_reset_value_template" not in cmps["movements_tonight"]
    published = {
        m.topic: m.payload
        for m in discovery.state_messages(
            s.mqtt, "main", discovery.entities(s.beds[0]), BedStates(twitches_tonight=3), 0.0
        )
    }
    doc = json.loads(published["sleepenv/main/twitches_tonight"])
    assert doc == {"count": 3, "last_reset": "1970-01-01T00:00:00+00:00"}


def test_event_payload_carries_class_and_details() -> None:
    import json  # noqa: PLC0415

    e = MovementEvent(100.0, 101.5, 9.25, MovementClass.LIMB_MOVEMENT, side="left")
    doc = json.loads(discovery.encode_event(e))
    assert doc["event_type"] == "limb_movement"
    assert doc["duration_seconds"] == 1.5
    assert doc["side"] == "left"


_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(10**6), max_value=10**6),
)


@given(
    onset=st.floats(min_value=0.0, max_value=4e9),
    duration=_NUMBERS,
    peak=_NUMBERS,
    strength=_NUMBERS,
    cls=st.sampled_from(MovementClass),
    side=st.text(max_size=12),
    sensor=st.text(max_size=12),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_event_payload_is_what_json_dumps_writes(
    onset: float,
    duration: float,
    peak: float,
    strength: float,
    cls: MovementClass,
    side: str,
    sensor: str,
    flags: tuple[bool, bool, bool],
) -> None:
    """encode_event writes the payload out itself: byte for byte json.dumps's."""
    offset = onset + duration
    e = MovementEvent(
        onset,
        offset,
        peak,
        cls,
        sensor=sensor,
        side=side,
        is_truncated=flags[0],
        is_lower_bound=flags[1],
        strength=strength,
        is_hypnagogic=flags[2],
    )
    assert discovery.encode_event(e) == discovery.event_json(e)


def test_attributes_say_what_the_sensor_cannot_see() -> None:
    s = settings()
    attrs = discovery.bed_attributes(s.beds[0], is_lower_bound=True)
    assert attrs["counts_are_lower_bounds"] is True
    assert "partner" in attrs["partner_movement"]


def test_stale_discovery_is_ours_and_not_current() -> None:
    s = settings()
    current, payload = discovery.bed_discovery(s.mqtt, s.beds[0])
    body = json.dumps(payload).encode()
    legacy = {
        "name": "Movements total",
        "unique_id": "sleepenv_main_movements_total",
        "state_topic": "sleepenv/main/movements_total",
        "availability_topic": "sleepenv/status",
    }
    legacy_topic = "homeassistant/sensor/sleepenv_main/movements_total/config"
    other_instance = {**legacy, "state_topic": "upstairs/main/x", "availability_topic": "up/st"}
    stale = discovery.is_stale_discovery
    assert not stale(s.mqtt, {current}, current, body)
    assert stale(s.mqtt, {current}, "homeassistant/device/sleepenv_gone/config", body)
    assert stale(s.mqtt, {current}, legacy_topic, json.dumps(legacy).encode())
    assert not stale(s.mqtt, {current}, legacy_topic, json.dumps(other_instance).encode())
    assert not stale(s.mqtt, {current}, legacy_topic, b"")
    assert not stale(s.mqtt, {current}, legacy_topic, b"not json sleepenv_")
    z2m = {"unique_id": "0x00158d_vibration", "state_topic": "zigbee2mqtt/bed"}
    assert not stale(
        s.mqtt, {current}, "homeassistant/sensor/0x00/v/config", json.dumps(z2m).encode()
    )


def test_each_advisory_pattern_has_a_short_name() -> None:
    """The advisory's reason sensor shows a short name per pattern, found by a word of the
    pattern's sentence: every sentence the advisory writes holds exactly one such word."""
    nights = [
        NightSummary(
            "main",
            f"2026-01-{day:02d}",
            0.0,
            1.0,
            counts={"hypnic_jerk": 4, "twitch": 60 if day > 4 else 1},
            plm_index=20.0,
            waking_jerks=1,
        )
        for day in range(1, 8)
    ]
    patterns = advise(nights).patterns
    assert len(patterns) == 3  # every pattern the advisory knows
    for sentence in patterns:
        words = [word for word, _ in labels.PATTERN_NAMES if word in sentence]
        assert len(words) == 1, sentence


class _Reads:
    """Stands in for BedStates and notes which fields an entity's state reads."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.names.append(name)
        return {} if name == "sensors_online" else None


def fields_read(entity: BedEntity) -> list[str]:
    """The fields of BedStates the entity's state reads."""
    assert entity.state is not None
    reads = _Reads()
    entity.state.read(cast(BedStates, reads))
    return reads.names


def test_every_state_is_published_by_exactly_one_entity() -> None:
    """The table is the whole contract: no field without its entity (a state no entity
    reads), no entity with a state that reads none or several."""
    table = discovery.entities(settings().beds[0])  # one sensor that reports its status
    readers: dict[str, list[str]] = {f.name: [] for f in fields(BedStates)}
    for entity in table:
        if entity.state is None:  # the event, the chart, the insight, service-wide counters
            assert (
                entity.platform in ("event", "image")
                or entity in SERVICE_ENTITIES
                or (entity.key == INSIGHT)
            )
            continue
        (name,) = fields_read(entity)
        readers[name].append(entity.key)
    assert {name: len(keys) for name, keys in readers.items()} == dict.fromkeys(readers, 1)
    topics = [e.topic_key for e in table if e.topic_key is not None]
    assert len(topics) == len(set(topics))


def test_each_sensor_entity_reads_its_own_sensor() -> None:
    s = settings(
        sensors=[
            {"kind": "envelope", "topic": "a", "status_topic": "a/s"},
            {"kind": "envelope", "topic": "b", "status_topic": "b/s"},
        ]
    )
    states = BedStates(sensors_online={"both2": False})
    published = discovery.state_messages(
        s.mqtt, "main", discovery.entities(s.beds[0]), states, None
    )
    assert published == [Outgoing("sleepenv/main/sensor_both2_online", b"OFF", retain=True)]


def _published(bed: BedTracker, now: float) -> dict[str, str]:
    s = settings()
    table = discovery.entities(s.beds[0])
    states = bed.states(now)
    pairs = discovery.state_messages(s.mqtt, "main", table, states, bed.counts_reset_at)
    return {m.topic: m.payload.decode() for m in pairs}


def test_states_are_published_as_they_were() -> None:
    """Every topic and payload of a night with a PLM series, and after it closed, as the
    service published them before the states had a type."""
    bed = tracker()
    bed.on_sensor_status("both", is_online=True)
    lying_down = Burst(T0 + 30, 2.0, 2.0)
    series = tuple(Burst(T0 + 32 + 360 + 25 * i, 1.5, 2.0) for i in range(4))
    feed(bed, list(frames(T0, 800, (lying_down, *series))))
    expected = pinned("states")
    assert _published(bed, T0 + 800) == expected["tonight"]
    bed.tick(T0 + 14 * 3600)
    assert _published(bed, T0 + 14 * 3600) == expected["last_night"]


def test_an_update_publishes_only_what_it_changed() -> None:
    s = settings()
    table = discovery.entities(s.beds[0])
    bed = tracker()
    update = bed.on_sensor_status("both", is_online=False)
    assert update.states.movements_tonight is UNSET
    assert discovery.state_messages(s.mqtt, "main", table, update.states, 0.0) == [
        Outgoing("sleepenv/main/sensor_both_online", b"OFF", retain=True)
    ]
