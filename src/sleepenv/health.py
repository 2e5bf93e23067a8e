"""The heartbeat file: what `sleepenv healthcheck` reads to tell "connected, subscribed, storing".

The service rewrites it every few seconds with its state; the healthcheck (another
process, often a container's HEALTHCHECK) reads it. A stale file means the service is
hung or cannot write its data directory; a fresh one lists what is wrong, if anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sleepenv.mqtt.payload import json_object

HEARTBEAT_FILE: Final = "heartbeat"


@dataclass(slots=True)
class Health:
    """What the service knows about its own state; `problems()` is empty when healthy."""

    # Why the broker connection is down (None while connected).
    mqtt_problem: str | None = "not connected to the MQTT broker yet"
    refused_topics: list[str] = field(default_factory=list)  # SUBACK failures
    storage_problem: str | None = None  # writes are being buffered in memory
    # Something that needs a person even though the service carries on (sticky).
    incident: str | None = None

    def problems(self) -> list[str]:
        """Everything that keeps the service from being connected, subscribed and storing."""
        problems = []
        if self.mqtt_problem is not None:
            problems.append(self.mqtt_problem)
        if self.refused_topics:
            problems.append(
                "the broker refused the subscription to "
                + ", ".join(self.refused_topics)
                + " (an ACL?)"
            )
        if self.storage_problem is not None:
            problems.append(self.storage_problem)
        if self.incident is not None:
            problems.append(self.incident)
        return problems


def write_heartbeat(path: Path, health: Health, now: float) -> None:
    """Replace the heartbeat file atomically; OSError when it cannot be written."""
    document = {"t": round(now, 1), "problems": health.problems()}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_heartbeat(path: Path, now: float, max_age_seconds: float) -> tuple[bool, str]:
    """(is healthy, one line saying why) from the heartbeat file at `path`."""
    try:
        data = path.read_bytes()
        age = now - path.stat().st_mtime
    except OSError:
        return False, f"unhealthy: no heartbeat at {path} (is sleepenv running?)"
    if age > max_age_seconds:
        return False, (
            f"unhealthy: heartbeat is {age:.0f} s old (the service is hung or cannot "
            f"write {path.parent})"
        )
    document = json_object(data, len(data))  # a Rejection for bytes that are not one
    problems = document.get("problems") if isinstance(document, dict) else None
    if not isinstance(problems, list):
        return False, f"unhealthy: {path} is not a heartbeat of this version"
    if problems:
        return False, "unhealthy: " + "; ".join(str(p) for p in problems)
    return True, f"healthy: connected, subscribed and storing (heartbeat {age:.0f} s ago)"
