"""The "my usual" window the blueprint and the README suggest fits in the recorder's history."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
BLUEPRINT = ROOT / "automations" / "blueprints" / "sleepenv_twitches_above_usual.yaml"
# Home Assistant's recorder default (`purge_keep_days`); a Statistics helper refills from
# the recorder after a restart, so a longer max age silently holds fewer nights.
RECORDER_KEEP_DAYS = 10


def suggested_max_age_days(text: str) -> list[int]:
    """Every "max age N days" a text suggests."""
    return [int(n) for n in re.findall(r"max\s+age\s+(\d+)\s+days", text)]


def test_the_usual_window_fits_in_the_recorders_default_history() -> None:
    for path in (BLUEPRINT, ROOT / "README.md"):
        days = suggested_max_age_days(path.read_text(encoding="utf-8"))
        assert days, f"{path.name} suggests no max age for the Statistics helper"
        assert all(d <= RECORDER_KEEP_DAYS for d in days), (path.name, days)
    assert "purge_keep_days" in BLUEPRINT.read_text(encoding="utf-8")
