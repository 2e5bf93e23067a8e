"""The insights of a run of nights: every factor against every outcome, in plain words.

Wording stays informational: nights *with* a factor *had* more or fewer of something; it
never says the factor caused it (habits travel together: a late workout and a late coffee
often share an evening) and never gives medical advice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sleepenv.insights.core.factors import Factor, FactorRules, NightRecord, Outcome, exposed
from sleepenv.insights.core.stats import Difference, benjamini_hochberg, compare

MIN_NIGHTS = 5  # on each side of a comparison
LEVEL = 0.90  # the interval shown
FALSE_FINDING_RATE = 0.05

FACTOR_WORDS: dict[Factor, tuple[str, str]] = {
    # (nights with it, nights without it)
    Factor.WARM_ROOM: ("in a room at 19.5 °C or warmer", "in a cooler room"),
    Factor.SCREENS: ("with screens in the no-screen window", "without"),
    Factor.LATE_CAFFEINE: ("after late caffeine", "without"),
    Factor.LATE_EXERCISE: ("after late exercise", "without"),
    Factor.OFF_SCHEDULE: ("with a bedtime 45 min or more off schedule", "on schedule"),
    Factor.WIND_DOWN_OVERRIDDEN: ("with the wind-down overridden 15 min or more", "as planned"),
}
OUTCOME_WORDS: dict[Outcome, tuple[str, str]] = {
    # (the noun, its unit after a number)
    Outcome.HYPNIC_JERKS: ("hypnic jerks", ""),
    Outcome.TWITCHES: ("twitches", ""),
    Outcome.WAKING_JERKS: ("waking jerks", ""),
    Outcome.ONSET_MINUTES: ("time to fall asleep", " min"),
    Outcome.PLM_INDEX: ("PLM index", "/h"),
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """One factor against one outcome: the numbers, or why there are none yet."""

    factor: Factor
    outcome: Outcome
    n_with: int
    n_without: int
    result: Difference | None = None  # None: not enough nights yet
    finding: bool = False  # holds after correcting for all comparisons made

    @property
    def nights_needed(self) -> tuple[int, int]:
        """More nights needed with and without the factor before it is compared."""
        return max(0, MIN_NIGHTS - self.n_with), max(0, MIN_NIGHTS - self.n_without)

    def sentence(self) -> str:
        """The comparison in one informational sentence."""
        with_words, without_words = FACTOR_WORDS[self.factor]
        noun, unit = OUTCOME_WORDS[self.outcome]
        if self.result is None:
            more_with, more_without = self.nights_needed
            return (
                f"{noun.capitalize()} {with_words}: not enough nights yet "
                f"({self.n_with} with, {self.n_without} {without_words}; "
                f"{more_with} more with and {more_without} more without needed)"
            )
        r = self.result
        size = f"{abs(r.difference):.1f}{unit}"
        up = r.difference >= 0
        if self.outcome is Outcome.ONSET_MINUTES:
            what = f"took {size} {'longer' if up else 'less'} to fall asleep"
        elif self.outcome is Outcome.PLM_INDEX:
            what = f"had a PLM index {size} {'higher' if up else 'lower'}"
        else:
            what = f"had {size} {'more' if up else 'fewer'} {noun} a night"
        interval = f"{int(LEVEL * 100)} % interval {r.low:.1f} to {r.high:.1f}{unit}"
        return f"Nights {with_words} {what} ({interval}; {r.n_with} vs {r.n_without} nights)"


def _values(
    nights: Sequence[NightRecord], factor: Factor, outcome: Outcome, rules: FactorRules
) -> tuple[list[float], list[float]]:
    with_: list[float] = []
    without: list[float] = []
    for night in nights:
        value = night.outcomes.get(outcome)
        side = exposed(factor, night.factors, rules)
        if value is None or side is None:
            continue
        (with_ if side else without).append(float(value))
    return with_, without


def compare_all(
    nights: Sequence[NightRecord], rules: FactorRules | None = None
) -> list[Comparison]:
    """Every factor against every outcome, findings marked after the correction."""
    rules = rules or FactorRules()
    made: list[Comparison] = []
    for factor in Factor:
        for outcome in Outcome:
            with_, without = _values(nights, factor, outcome, rules)
            enough = len(with_) >= MIN_NIGHTS and len(without) >= MIN_NIGHTS
            result = compare(with_, without, LEVEL) if enough else None
            made.append(Comparison(factor, outcome, len(with_), len(without), result))
    tested = [c for c in made if c.result is not None]
    flags = benjamini_hochberg([c.result.p_value for c in tested if c.result], FALSE_FINDING_RATE)
    found = {id(c) for c, flag in zip(tested, flags, strict=True) if flag}
    return [
        Comparison(c.factor, c.outcome, c.n_with, c.n_without, c.result, id(c) in found)
        for c in made
    ]


def headline(comparisons: Sequence[Comparison]) -> str:
    """The strongest finding as one sentence, or what there is instead."""
    found = [c for c in comparisons if c.finding and c.result is not None]
    if found:
        best = min(found, key=lambda c: c.result.p_value if c.result else 1.0)
        return best.sentence()
    if any(c.result is not None for c in comparisons):
        return "No habit stands out yet"
    return "Not enough nights yet"
