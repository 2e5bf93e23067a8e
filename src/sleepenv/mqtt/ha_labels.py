"""Readable words for Home Assistant, put into discovery's value templates.

MQTT entities cannot use Home Assistant's translations (MQTT discovery has no
`translation_key`, up to 2026.11), so Home Assistant would show machine values such as
"Limb_movement" or "no_screen". The published payloads keep the machine values (other
MQTT clients and the tests read them); the templates below turn them into readable states
in Home Assistant and keep the machine value as an attribute where there is room for one.
The words themselves live with their feature (bed/labels.py, guidance/labels.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping


def _labels(labels: Mapping[str, str]) -> str:
    """A Jinja dict literal (JSON is one) of machine value -> readable word."""
    return json.dumps({str(k): v for k, v in labels.items()}, sort_keys=True)


def state_template(labels: Mapping[str, str]) -> str:
    """A sensor's value template: the readable word, or the value itself when unknown."""
    return f"{{{{ {_labels(labels)}.get(value, value) }}}}"


def event_template(labels: Mapping[str, str], machine_key: str, note: str | None = None) -> str:
    """An event entity's value template: a readable event type, the machine value kept
    as the attribute `machine_key` (and an optional note)."""
    extra = f", note={json.dumps(note)}" if note is not None else ""
    return (
        f"{{% set d = value_json %}}{{{{ dict(d, event_type={_labels(labels)}"
        f".get(d.event_type, d.event_type), {machine_key}=d.event_type{extra}) | tojson }}}}"
    )
