"""The multi-night "worth discussing" advisory."""

from __future__ import annotations

from sleepenv.bed.core.advisory import WORDING, advise
from sleepenv.bed.core.model import NightSummary


def night(
    day: int, plmi: float | None = 3.0, waking: int | None = 0, **counts: int
) -> NightSummary:
    """A closed night on 2026-01-<day> (`waking`: hypnic jerks followed by an awakening)."""
    return NightSummary(
        "main", f"2026-01-{day:02d}", 0.0, 1.0, dict(counts), None, plmi, waking_jerks=waking
    )


def test_quiet_history_and_too_few_nights_say_nothing() -> None:
    assert not advise([night(d) for d in range(1, 8)]).is_on
    assert not advise([night(d, 30.0) for d in range(1, 4)]).is_on


def test_plm_index_above_15_on_most_of_the_last_7_nights() -> None:
    history = [night(d, 22.0 if d % 2 else 4.0) for d in range(1, 8)]  # 4 of 7
    advisory = advise(history)
    assert advisory.is_on
    assert "4 of the last 7 nights" in advisory.patterns[0]
    assert advisory.attributes()["note"] == WORDING
    assert "diagnos" in WORDING  # "not a diagnosis": informational wording only
    history = [night(d, 22.0 if d in (1, 2, 3) else 4.0) for d in range(1, 8)]
    assert not advise(history).is_on


def test_frequent_hypnic_jerks_that_wake_the_sleeper_most_nights() -> None:
    history = [night(d, waking=1 if d > 2 else 0, hypnic_jerk=4) for d in range(1, 8)]
    advisory = advise(history)
    assert advisory.is_on
    assert "hypnic jerks" in advisory.patterns[0]
    assert "followed by an awakening, on 5 of the last 7 nights" in advisory.patterns[0]


def test_frequent_hypnic_jerks_that_do_not_wake_are_normal() -> None:
    """Jerks at sleep onset are common; only jerks that disrupt sleep are worth a look."""
    assert not advise([night(d, hypnic_jerk=6) for d in range(1, 8)]).is_on
    # Awakenings without frequent jerks are not the pattern either.
    assert not advise([night(d, waking=2, hypnic_jerk=2) for d in range(1, 8)]).is_on


def test_nights_stored_before_awakenings_were_counted_never_trigger() -> None:
    history = [night(d, waking=None, hypnic_jerk=5) for d in range(1, 8)]
    advisory = advise(history)
    assert not advisory.is_on
    assert advisory.nights_considered == 7


def test_rising_trend() -> None:
    history = [night(d, twitch=5 if d < 5 else 30) for d in range(1, 8)]
    advisory = advise(history)
    assert advisory.is_on
    assert "rising" in advisory.patterns[0]
