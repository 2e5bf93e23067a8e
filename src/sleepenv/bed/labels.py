"""Readable words for the bed's entities in Home Assistant (movement classes, the advisory).

The published payloads keep the machine values; these words go into discovery's value
templates (mqtt/ha_labels.py builds them).
"""

from __future__ import annotations

import json

from sleepenv.bed.core.advisory import AdvisoryConfig
from sleepenv.bed.core.model import MovementClass

MOVEMENT_LABELS: dict[str, str] = {
    MovementClass.TWITCH: "Twitch",
    MovementClass.HYPNIC_JERK: "Hypnic jerk",
    MovementClass.LIMB_MOVEMENT: "Limb movement",
    MovementClass.PLM: "PLM-like movement",
    MovementClass.ROLLOVER: "Rollover",
    MovementClass.BOUT: "Long bout",
    MovementClass.MOVEMENT: "Movement",
}
# Live labels are provisional: the night is classified again as it goes on and once more
# when it ends, so the events of a night need not add up to its final counts.
LIVE_NOTE = (
    "Live label, may change as the night goes on: the last-night figures are the final count."
)
NO_PATTERN = "No pattern"
TOO_FEW_NIGHTS = "Too few nights yet"

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
