"""Habits before a simulated night, and the effects planted on the sleeper by them.

The insights (sleepenv.insights) claim to find which habits go with which nights; the
simulator lets that claim be checked: each night draws its habits independently, the
planted effects change the sleeper's profile for that night, and the insights must find
the planted effects and nothing else. The effect sizes are illustrative, chosen to be
about as large as what people report after two energy drinks or a late workout, not
measured values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from random import Random

from sleepenv.bed.core.model import MovementClass
from sleepenv.insights.core.factors import Factor, NightFactors, NightRecord, Outcome
from sleepenv.sim.profiles import PROFILES, Profile
from sleepenv.sim.truth import SLEEPER, NightTruth


@dataclass(frozen=True, slots=True)
class HabitEffects:
    """What each habit does to the simulated sleeper (0: nothing)."""

    caffeine_extra_jerks: int = 2  # more hypnic jerks at sleep onset
    caffeine_extra_presleep_minutes: float = 12.0  # later sleep onset
    screens_extra_presleep_minutes: float = 10.0
    warm_room_twitch_factor: float = 1.6  # twitches per hour, × this in a warm room
    warm_room_celsius: float = 19.5

    def planted(self) -> set[tuple[Factor, Outcome]]:
        """The (factor, outcome) pairs these effects change, directly or through another
        outcome (more hypnic jerks can mean more jerks that wake the sleeper)."""
        pairs: set[tuple[Factor, Outcome]] = set()
        if self.caffeine_extra_jerks:
            pairs |= {
                (Factor.LATE_CAFFEINE, Outcome.HYPNIC_JERKS),
                (Factor.LATE_CAFFEINE, Outcome.WAKING_JERKS),
            }
        if self.caffeine_extra_presleep_minutes:
            pairs.add((Factor.LATE_CAFFEINE, Outcome.ONSET_MINUTES))
        if self.screens_extra_presleep_minutes:
            pairs.add((Factor.SCREENS, Outcome.ONSET_MINUTES))
        if self.warm_room_twitch_factor != 1.0:
            pairs.add((Factor.WARM_ROOM, Outcome.TWITCHES))
        return pairs


NO_EFFECTS = HabitEffects(0, 0.0, 0.0, 1.0)


def draw_habits(seed: int, night: int) -> NightFactors:
    """The habits before night `night` of fortnight `seed`: independent of each other and
    of the sleeper, deterministic per (seed, night)."""
    rng = Random(f"sleepenv.sim.habits:{seed}:{night}")
    screens = rng.uniform(5.0, 40.0) if rng.random() < 0.5 else 0.0
    return NightFactors(
        room_celsius=round(rng.uniform(17.0, 21.5), 1),
        screen_minutes=round(screens, 1),
        caffeine_late=rng.random() < 0.4,
        exercise_late=rng.random() < 0.3,
        bedtime_offset_minutes=round(rng.gauss(0.0, 40.0), 1),
    )


def apply_habits(profile: Profile, habits: NightFactors, effects: HabitEffects) -> Profile:
    """The sleeper's profile for one night after these habits."""
    jerks_lo, jerks_hi = profile.hypnic_jerks
    pre_lo, pre_hi = profile.presleep_minutes
    extra_pre = 0.0
    if habits.caffeine_late:
        jerks_lo += effects.caffeine_extra_jerks
        jerks_hi += effects.caffeine_extra_jerks
        extra_pre += effects.caffeine_extra_presleep_minutes
    if habits.screen_minutes:
        extra_pre += effects.screens_extra_presleep_minutes
    twitches = profile.twitches_per_hour
    if habits.room_celsius is not None and habits.room_celsius >= effects.warm_room_celsius:
        twitches *= effects.warm_room_twitch_factor
    return replace(
        profile,
        hypnic_jerks=(jerks_lo, jerks_hi),
        presleep_minutes=(pre_lo + extra_pre, pre_hi + extra_pre),
        twitches_per_hour=twitches,
    )


def truth_record(night: str, truth: NightTruth, habits: NightFactors) -> NightRecord:
    """The night's true outcomes (what a perfect detector would report) with its habits."""
    mine = [e for e in truth.events if e.side == SLEEPER]
    onset = None
    if truth.sleep_onset is not None and truth.in_bed is not None:
        onset = (truth.sleep_onset - truth.in_bed) / 60.0
    return NightRecord(
        night=night,
        outcomes={
            Outcome.HYPNIC_JERKS: float(sum(e.cls is MovementClass.HYPNIC_JERK for e in mine)),
            Outcome.TWITCHES: float(sum(e.cls is MovementClass.TWITCH for e in mine)),
            Outcome.WAKING_JERKS: float(len(truth.waking_jerks)),
            Outcome.ONSET_MINUTES: onset,
            Outcome.PLM_INDEX: truth.plm_index,
        },
        factors=habits,
    )


def fortnight_nights(
    seed: int, nights: int = 14, effects: HabitEffects | None = None, profile: str = "clean"
) -> list[tuple[str, NightFactors, Profile]]:
    """Each night of simulated run `seed`: its date label, its habits and the sleeper's
    profile after them (generate_night(night_seed(seed, i), profile) renders it)."""
    effects = HabitEffects() if effects is None else effects
    base = PROFILES[profile]
    out = []
    for i in range(nights):
        habits = draw_habits(seed, i)
        out.append((f"night-{i + 1:02d}", habits, apply_habits(base, habits, effects)))
    return out


def night_seed(seed: int, night: int) -> int:
    """The simulator seed of night `night` of run `seed` (distinct sleepers' nights)."""
    return seed * 1000 + night
