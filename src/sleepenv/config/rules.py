"""Rules across fields of a config: unique ids and topics that cannot collide. Pure.

Kept out of the pydantic models on purpose: a model validator only runs once every field
of its model is valid, so a duplicate id would surface only after the other problems were
fixed. These run on the loaded dict (ids) or the validated settings (topics), and name
every YAML path involved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sleepenv.config.settings import Settings

TOPIC_ALLOWED = "allowed: the topic the device itself publishes on, e.g. bed-sensor/envelope"


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _duplicates(items: list[Any], where: str, what: str) -> list[str]:
    """`where[i].id` lines for every id seen before in `items` (which may be any shape)."""
    first: dict[str, int] = {}
    lines = []
    for i, item in enumerate(items):
        ident = _dict(item).get("id")
        if not isinstance(ident, str):
            continue
        if ident in first:
            lines.append(
                f"{where}[{i}].id: {what} id {ident!r} is already used by "
                f"{where}[{first[ident]}].id ({what} ids must be unique)"
            )
        else:
            first[ident] = i
    return lines


def duplicate_ids(data: dict[str, Any]) -> list[str]:
    """Bed, bedroom and (per bedroom) device ids given twice, with both YAML paths."""
    lines = _duplicates(_items(data.get("beds")), "beds", "bed")
    rooms = _items(_dict(data.get("guidance")).get("bedrooms"))
    lines += _duplicates(rooms, "guidance.bedrooms", "bedroom")
    for k, room in enumerate(rooms):
        devices = _items(_dict(room).get("devices"))
        lines += _duplicates(devices, f"guidance.bedrooms[{k}].devices", "device")
    return lines


def _subscribed(settings: Settings) -> Iterator[tuple[str, str, str]]:
    """(YAML path, topic, role) of every topic sleepenv listens on for a configured thing."""
    for i, bed in enumerate(settings.beds):
        for j, sensor in enumerate(bed.sensors):
            yield f"beds[{i}].sensors[{j}].topic", sensor.topic, "sensor"
            if sensor.status_topic is not None:
                yield f"beds[{i}].sensors[{j}].status_topic", sensor.status_topic, "status"
        if bed.presence_topic is not None:
            yield f"beds[{i}].presence_topic", bed.presence_topic, "presence"
    rooms = settings.guidance.bedrooms if settings.guidance else []
    for k, room in enumerate(rooms):
        for m, device in enumerate(room.devices):
            if device.backend == "zigbee2mqtt" and device.topic is not None:
                yield f"guidance.bedrooms[{k}].devices[{m}].topic", device.topic, "device"


def _own_topics(settings: Settings) -> tuple[set[str], tuple[str, ...]]:
    """Topics sleepenv itself publishes: exact ones, and prefixes of whole families."""
    base = settings.mqtt.base_topic
    exact = {f"{base}/{leaf}" for leaf in ("status", "diagnostics", "recorder/status")}
    prefixes = (*(f"{base}/{bed.id}/" for bed in settings.beds), f"{base}/guidance/")
    return exact, prefixes


def _reserved(topic: str, settings: Settings) -> str | None:
    """Why `topic` cannot be an input, or None.

    Other topics under `base_topic` stay allowed (a sensor on `sleepenv/bed/envelope` is
    fine); only what sleepenv publishes itself, Home Assistant's discovery prefix and the
    broker's `$` topics are refused.
    """
    base, prefix = settings.mqtt.base_topic, settings.mqtt.discovery_prefix
    if topic.startswith("$"):
        return "topics starting with $ (such as $SYS/...) belong to the broker"
    exact, families = _own_topics(settings)
    if topic in exact or topic.startswith(families):
        return (
            f"sleepenv publishes its own states there (mqtt.base_topic is {base!r}: "
            f"{base}/status, {base}/<bed id>/..., {base}/guidance/...)"
        )
    if topic == prefix or topic.startswith(prefix + "/"):
        return f"that is Home Assistant's discovery prefix (mqtt.discovery_prefix is {prefix!r})"
    return None


def topic_problems(settings: Settings) -> list[str]:
    """Topics that would collide: one input per topic, none on ours, the broker's or $SYS.

    Each topic routes to exactly one consumer (a sensor, a status or presence input, or
    guidance's devices, which may share a group topic), so a second user of a topic would
    silently receive nothing. A sensor on a device's `/set` or `/get` topic would read
    sleepenv's own commands.
    """
    lines = []
    owner: dict[str, tuple[str, str]] = {}
    for path, topic, role in _subscribed(settings):
        why = _reserved(topic, settings)
        if why is not None:
            lines.append(f"{path}: {topic!r} cannot be used: {why} ({TOPIC_ALLOWED})")
            continue
        first = owner.get(topic)
        if first is None:
            owner[topic] = (path, role)
        elif not (role == "device" and first[1] == "device"):
            lines.append(
                f"{path}: topic {topic!r} is already used by {first[0]}; only one of them "
                "would receive its messages (each sensor, status and presence topic must be "
                "used once, and not by a guidance device)"
            )
    rooms = settings.guidance.bedrooms if settings.guidance else []
    for k, room in enumerate(rooms):
        for m, device in enumerate(room.devices):
            if device.backend != "zigbee2mqtt" or device.topic is None:
                continue
            for suffix in ("set", "get"):
                user = owner.get(f"{device.topic}/{suffix}")
                if user is not None and user[1] != "device":
                    lines.append(
                        f"{user[0]}: sleepenv sends commands to that topic for "
                        f"guidance.bedrooms[{k}].devices[{m}].topic ({TOPIC_ALLOWED})"
                    )
    return lines
