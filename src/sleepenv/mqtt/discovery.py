"""Home Assistant MQTT discovery shared by the features: pure functions to (topic, payload).

Each feature keeps its own topics and its table of entities (bed/entities.py,
guidance/discovery.py); what a device looks like to Home Assistant (origin, availability,
the device block, the fields of a component) and how a state is written on its topic
are built here once, so that the devices cannot drift apart.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from sleepenv import __version__
from sleepenv.config.settings import MqttSettings

ORIGIN = {"name": "sleepenv", "sw": __version__}
MANUFACTURER = "sleepenv"
# An entity's declaration copied into its component as it is, in this order.
DECLARED_FIELDS = ("device_class", "state_class", "entity_category", "icon")

# What a feature publishes as an entity's state: a count, a figure, a flag, a word, a
# unix time, a JSON object, or None (unknown).
Published = bool | int | float | str | Mapping[str, Any] | None


class Encoding(Enum):
    """How a state is written on its topic, as Home Assistant's MQTT platforms read it."""

    TEXT = "text"  # str(value): counts, figures, enum values, words
    BINARY = "binary"  # ON / OFF
    TIMESTAMP = "timestamp"  # unix seconds as ISO 8601 in UTC
    # A count with the moment it last started from 0: `{"count": n, "last_reset": iso}`.
    NIGHTLY_COUNT = "nightly_count"
    JSON = "json"  # a JSON object with sorted keys (an attributes topic)


S = TypeVar("S")  # a feature's dataclass of states
V = TypeVar("V")  # what reading one of its fields gives


@dataclass(frozen=True, slots=True)
class State(Generic[S, V]):
    """Which field of a feature's states an entity publishes, and how it is encoded."""

    read: Callable[[S], V]
    encoding: Encoding
    # The state topic's key when it is not the entity's own (a shared attributes topic).
    topic_key: str | None = None


@dataclass(frozen=True, slots=True)
class Entity(Generic[S, V]):
    """One Home Assistant entity of a device: its declaration and the state it publishes
    (None for one without a state of its own: a button, an event, an image)."""

    key: str
    platform: str
    name: str
    state: State[S, V] | None = None
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    icon: str | None = None
    unit: str | None = None
    # The chattiest entities (a state change per movement) start disabled: they flood
    # Home Assistant's logbook.
    enabled_by_default: bool = True

    @property
    def topic_key(self) -> str | None:
        """The key of the topic its state is published on; None without a state."""
        if self.state is None:
            return None
        return self.state.topic_key or self.key


def status_topic(mqtt: MqttSettings) -> str:
    """The service's availability topic (retained online/offline)."""
    return f"{mqtt.base_topic}/status"


def component(
    entity: Entity[Any, Any],
    unique_id: str,
    layout: Mapping[str, Any],
    trailing: Mapping[str, Any] | None = None,
    *,
    is_main_feature: bool = False,
) -> dict[str, Any]:
    """The discovery config of one component.

    `layout` (its topics and templates) follows the identity, then come the entity's
    declared fields and unit, then `trailing`. The device's main feature is named like
    the device (Home Assistant's convention: "Bedroom guidance", not "Bedroom guidance
    Guidance").
    """
    cfg: dict[str, Any] = {
        "p": entity.platform,
        "name": None if is_main_feature else entity.name,
        "unique_id": unique_id,
        "default_entity_id": f"{entity.platform}.{unique_id}",
    }
    cfg.update(layout)
    for field in DECLARED_FIELDS:
        value = getattr(entity, field)
        if value is not None:
            cfg[field] = value
    if entity.unit is not None:
        cfg["unit_of_measurement"] = entity.unit
    cfg.update(trailing or {})
    if not entity.enabled_by_default:
        cfg["enabled_by_default"] = False
    return cfg


def device_discovery(
    mqtt: MqttSettings,
    device_id: str,
    *,
    name: str,
    model: str,
    area: str,
    components: Mapping[str, dict[str, Any]],
) -> tuple[str, dict[str, Any]]:
    """The device-based discovery message of one device (`area`: where Home Assistant
    puts the device when it first sees it; the user can move it)."""
    payload: dict[str, Any] = {
        "dev": {
            "ids": [device_id],
            "name": name,
            "mf": MANUFACTURER,
            "mdl": model,
            "sw": __version__,
            "sa": area,
        },
        "o": ORIGIN,
        "avty": [{"t": status_topic(mqtt)}],
        "qos": 1,
        "cmps": dict(components),
    }
    return f"{mqtt.discovery_prefix}/device/{device_id}/config", payload


def iso(at: float) -> str:
    """Unix seconds as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(float(at), UTC).isoformat(timespec="seconds")


# The encodings as encode_state compares them, read once: Python 3.11 reads an enum
# class's attributes through EnumType.__getattr__ (~15x a module global), and a state is
# encoded whenever it changes, several per movement.
_NIGHTLY_COUNT, _JSON, _BINARY, _TIMESTAMP = (
    Encoding.NIGHTLY_COUNT,
    Encoding.JSON,
    Encoding.BINARY,
    Encoding.TIMESTAMP,
)


def encode_state(value: Published, encoding: Encoding, reset_at: float | None = None) -> bytes:
    """A state as Home Assistant's MQTT platforms expect it.

    A nightly count carries `reset_at` (when the night's counters last started from 0).
    """
    if encoding is _NIGHTLY_COUNT:
        if reset_at is None:
            raise ValueError("a nightly count needs the moment it was reset")
        return json.dumps({"count": value or 0, "last_reset": iso(reset_at)}).encode()
    if value is None:
        return b"None"
    if encoding is _JSON:
        return json.dumps(value, sort_keys=True).encode()
    if encoding is _BINARY:
        return b"ON" if value else b"OFF"
    if encoding is _TIMESTAMP:
        if not isinstance(value, int | float):
            raise TypeError(f"a timestamp is unix seconds, not {type(value).__name__}")
        return iso(value).encode()
    return str(value).encode()


class StateEncoder:
    """`encode_state` that keeps each topic's last value and payload: a value that did not
    change since the last call for its topic is not encoded again (the same bytes come
    back).

    Most of a bed's states stay as they are from one report to the next, and the outbox
    sends a payload equal to the last one sent at most once anyway.
    """

    def __init__(self) -> None:
        """Nothing encoded yet."""
        self._last: dict[str, tuple[Published, float | None, bytes]] = {}

    def encode(
        self, topic: str, value: Published, encoding: Encoding, reset_at: float | None = None
    ) -> bytes:
        """`encode_state(value, encoding, reset_at)`, from the last call's when unchanged."""
        last = self._last.get(topic)
        if last is not None and last[1] == reset_at:
            old = last[0]
            kind = type(value)
            # Plain values inline (nearly every state, on every report), others walked.
            if kind is type(old) and (old == value if kind in _SCALARS else _same(old, value)):
                return last[2]
        payload = encode_state(value, encoding, reset_at)
        # A mapping is kept as a copy: the caller may change its own afterwards.
        if type(value) in _SCALARS or not isinstance(value, Mapping):
            kept = value
        else:
            kept = copy.deepcopy(value)
        self._last[topic] = (kept, reset_at, payload)
        return payload


def _same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down: 1, 1.0 and True are equal in Python
    but encode apart."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _SCALARS:  # nearly every state: no walk, no abstract-class check
        return a == b
    # Plain dicts and lists (an attributes state, on every report) before the
    # abstract-class checks, which cost more than the walk.
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    return a == b


_SCALARS = frozenset({bool, int, float, str, type(None)})
# The types of published values that cannot change in place.
PLAIN_TYPES = _SCALARS
