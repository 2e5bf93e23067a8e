"""The "worth discussing with a doctor" advisory from several nights of history (pure).

Informational only: the articles' reasons to consult someone (rhythmic leg movements
most nights, frequent jerks that disrupt sleep every night, getting worse) turned into
patterns over the stored nights. It never names a disorder and never diagnoses anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sleepenv.bed.core.model import NightSummary

WORDING = "Informational only, not a diagnosis: this pattern is worth discussing with a doctor."


@dataclass(frozen=True, slots=True)
class AdvisoryConfig:
    """Thresholds of the patterns (defaults: docs/sleep-science.md)."""

    nights: int = 7  # look at the last this many nights
    min_nights: int = 4  # ... and say nothing with fewer than this many
    plm_index_per_hour: float = 15.0  # adults; 5 for children
    jerks_per_night: int = 3  # "frequent" hypnic jerks
    waking_jerks_per_night: int = 1  # ... of which at least this many woke the sleeper
    trend_ratio: float = 1.5  # last 3 nights vs the earlier ones
    trend_min_increase: float = 10.0  # ... and at least this many more events a night


@dataclass(frozen=True, slots=True)
class Advisory:
    """Whether the advisory is on, and which patterns triggered it."""

    is_on: bool
    patterns: tuple[str, ...] = ()
    nights_considered: int = 0

    def attributes(self) -> dict[str, object]:
        """The entity attributes: patterns in plain words, and the disclaimer."""
        return {
            "patterns": list(self.patterns),
            "nights_considered": self.nights_considered,
            "note": WORDING,
        }


def _most(count: int, total: int) -> bool:
    return count * 2 > total


def _twitch_load(n: NightSummary) -> int:
    c = n.counts
    return c.get("twitch", 0) + c.get("hypnic_jerk", 0) + c.get("plm", 0)


def _jerks_disrupt(n: NightSummary, config: AdvisoryConfig) -> bool:
    """Frequent hypnic jerks that woke the sleeper (unknown for nights stored before
    sleepenv counted awakenings: those never count)."""
    return (
        n.counts.get("hypnic_jerk", 0) >= config.jerks_per_night
        and n.waking_jerks is not None
        and n.waking_jerks >= config.waking_jerks_per_night
    )


def advise(history: Sequence[NightSummary], config: AdvisoryConfig = AdvisoryConfig()) -> Advisory:
    """Check the last nights (any order; the newest `config.nights` by date are used)."""
    nights = sorted(history, key=lambda n: n.night)[-config.nights :]
    if len(nights) < config.min_nights:
        return Advisory(is_on=False, nights_considered=len(nights))
    patterns: list[str] = []
    indexed = [n.plm_index for n in nights if n.plm_index is not None]
    high = sum(1 for x in indexed if x > config.plm_index_per_hour)
    if indexed and _most(high, len(nights)):
        patterns.append(
            f"PLM-like leg movements above {config.plm_index_per_hour:g}/h on {high} of the "
            f"last {len(nights)} nights"
        )
    jerky = sum(1 for n in nights if _jerks_disrupt(n, config))
    if _most(jerky, len(nights)):
        patterns.append(
            f"{config.jerks_per_night} or more hypnic jerks, at least "
            f"{config.waking_jerks_per_night} followed by an awakening, on {jerky} of the "
            f"last {len(nights)} nights"
        )
    loads = [_twitch_load(n) for n in nights]
    if len(loads) >= 5:
        recent = sum(loads[-3:]) / 3
        earlier = sum(loads[:-3]) / len(loads[:-3])
        if recent >= config.trend_ratio * earlier and recent - earlier >= config.trend_min_increase:
            patterns.append(
                f"twitches and jerks rising: {recent:.0f} a night lately, {earlier:.0f} before"
            )
    return Advisory(bool(patterns), tuple(patterns), len(nights))
