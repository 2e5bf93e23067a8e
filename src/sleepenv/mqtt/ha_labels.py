"""Readable words for Home Assistant, put into discovery's value templates.

MQTT entities cannot use Home Assistant's translations (MQTT discovery has no
`translation_key`, up to 2026.11), so Home Assistant would show machine values such as
"Limb_movement" or "no_screen". The published payloads keep the machine values (other
MQTT clients and the tests read them); the templates below turn them into readable states
in Home Assistant and keep the machine value as an attribute where there is room for one.
"""

from __future__ import annotations

import json

from sleepenv.bed.core.advisory import AdvisoryConfig
from sleepenv.bed.core.model import MovementClass
from sleepenv.guidance.core.timeline import Phase

MOVEMENT_LABELS: dict[str, str] = {
    MovementClass.TWITCH: "Twitch",
    MovementClass.HYPNIC_JERK: "Hypnic jerk",
    MovementClass.LIMB_MOVEMENT: "Limb movement",
    MovementClass.PLM: "PLM-like movement",
    MovementClass.ROLLOVER: "Rollover",
    MovementClass.BOUT: "Long bout",
    MovementClass.MOVEMENT: "Movement",
}
PHASE_LABELS: dict[str, str] = {
    Phase.DAY: "Day",
    Phase.CAFFEINE_CUTOFF: "Caffeine cut-off",
    Phase.WIND_DOWN: "Wind-down",
    Phase.NO_SCREEN: "No screens",
    Phase.LIGHTS_OUT: "Lights out",
    Phase.ASLEEP: "Asleep",
    Phase.WAKE: "Wake-up",
}
REMINDER_LABELS: dict[str, str] = {
    Phase.CAFFEINE_CUTOFF: "Caffeine cut-off",
    Phase.NO_SCREEN: "No screens",
}
# Live labels are provisional: the night is classified again as it goes on and once more
# when it ends, so the events of a night need not add up to its final counts.
LIVE_NOTE = (
    "Live label, may change as the night goes on: the last-night figures are the final count."
)
NO_PATTERN = "No pattern"
TOO_FEW_NIGHTS = "Too few nights yet"


def _labels(labels: dict[str, str]) -> str:
    """A Jinja dict literal (JSON is one) of machine value -> readable word."""
    return json.dumps({str(k): v for k, v in labels.items()}, sort_keys=True)


def state_template(labels: dict[str, str]) -> str:
    """A sensor's value template: the readable word, or the value itself when unknown."""
    return f"{{{{ {_labels(labels)}.get(value, value) }}}}"


def event_template(labels: dict[str, str], machine_key: str, note: str | None = None) -> str:
    """An event entity's value template: a readable event type, the machine value kept
    as the attribute `machine_key` (and an optional note)."""
    extra = f", note={json.dumps(note)}" if note is not None else ""
    return (
        f"{{% set d = value_json %}}{{{{ dict(d, event_type={_labels(labels)}"
        f".get(d.event_type, d.event_type), {machine_key}=d.event_type{extra}) | tojson }}}}"
    )


# Short names of the advisory's patterns (core/advisory.py words them in full), by a word
# each pattern's sentence holds, tried in this order. Short, so that the state leaves room
# for the entity's name on a phone; the full sentences are attributes and on the dashboard.
PATTERN_NAMES: tuple[tuple[str, str], ...] = (
    ("PLM-like", "PLM-like movements"),
    ("awakening", "Waking jerks"),
    ("rising", "Twitches rising"),
)
PATTERN_FALLBACK_CHARS = 24


def advisory_reason_template() -> str:
    """The advisory's reason as a short state: the first pattern's short name (and how
    many more), or why there is none."""
    min_nights = AdvisoryConfig().min_nights
    names = "".join(
        f"{{% elif {json.dumps(word)} in t %}}{name}" for word, name in PATTERN_NAMES
    ).removeprefix("{% el")
    return (
        "{% set p = value_json.patterns or [] %}"
        f"{{% if p %}}{{% set t = p[0] %}}{{% {names}"
        f"{{% else %}}{{{{ t[:{PATTERN_FALLBACK_CHARS}] }}}}{{% endif %}}"
        "{% if p | length > 1 %} +{{ p | length - 1 }}{% endif %}"
        f"{{% elif (value_json.nights_considered or 0) < {min_nights} %}}{TOO_FEW_NIGHTS}"
        f"{{% else %}}{NO_PATTERN}{{% endif %}}"
    )
