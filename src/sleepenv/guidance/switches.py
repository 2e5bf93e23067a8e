"""The Guidance and Guests switches of every bedroom, kept in a small JSON file across restarts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from sleepenv.guidance.core.guidance import Guidance
from sleepenv.mqtt.payload import Invalid, parse_object


def load(path: Path, engines: Mapping[str, Guidance]) -> None:
    """Set each engine's switches as saved; a missing or unreadable file (damaged, not an
    object, nested absurdly deep) changes nothing."""
    try:
        saved = parse_object(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, Invalid):
        return
    for room, engine in engines.items():
        entry = saved.get(room)
        if isinstance(entry, dict):
            engine.is_enabled = bool(entry.get("guidance", engine.is_enabled))
            engine.is_paused = bool(entry.get("guests", engine.is_paused))


def save(path: Path, engines: Mapping[str, Guidance]) -> None:
    """Write every engine's switches (replacing the file at once); OSError if impossible."""
    data = {r: {"guidance": e.is_enabled, "guests": e.is_paused} for r, e in engines.items()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)
