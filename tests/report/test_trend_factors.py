"""The trend chart marks each night's factors under its date."""

from __future__ import annotations

from sleepenv.bed.core.model import NightSummary
from sleepenv.insights.core.factors import NightFactors
from sleepenv.report.chart import factor_marks, trend_figure


def _night(day: int) -> NightSummary:
    return NightSummary("main", f"2026-01-{day:02d}", 0.0, 1.0, {"twitch": 10}, plm_index=1.0)


def test_marks_name_only_the_factors_a_night_had() -> None:
    assert factor_marks(None) == ""
    assert factor_marks(NightFactors()) == ""  # all unknown: nothing marked
    had = NightFactors(caffeine_late=True, exercise_late=False, room_celsius=20.0)
    assert factor_marks(had) == "CW"
    late = NightFactors(screen_minutes=15.0, bedtime_offset_minutes=-60.0, exercise_late=True)
    assert factor_marks(late) == "ESB"
    held = NightFactors(wind_down_minutes=90.0, wind_down_overridden_minutes=30.0)
    assert factor_marks(held) == "O"
    ran = NightFactors(wind_down_minutes=90.0, wind_down_overridden_minutes=0.0)
    assert factor_marks(ran) == ""


def test_the_trend_shows_the_marks_and_says_what_they_mean() -> None:
    nights = [_night(5), _night(6)]
    factors = {"2026-01-05": NightFactors(caffeine_late=True)}
    fig = trend_figure(nights, "Bedroom", factors)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0].endswith("\nC")
    assert ticks[1].endswith("\n")  # no factors stored for that night
    footer = " ".join(t.get_text() for t in fig.texts)
    assert "C late caffeine" in footer
    assert "O wind-down overridden 15 min or more" in footer
    plain = trend_figure(nights, "Bedroom")
    assert "Under the dates" not in " ".join(t.get_text() for t in plain.texts)
    assert plain.axes[0].get_xticklabels()[0].get_text().count("\n") == 1
