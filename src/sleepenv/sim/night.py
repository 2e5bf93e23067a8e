"""Deterministic synthetic nights with ground truth: `generate_night(seed, profile)`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random

from sleepenv.bed.core.model import EnvelopeFrame, SourceKind, ZigbeeVibration
from sleepenv.sim.params import NightParams, draw_params
from sleepenv.sim.phases import plan_night
from sleepenv.sim.profiles import PROFILES, Profile
from sleepenv.sim.render import RenderPlan, build_plan
from sleepenv.sim.stream import draw_dropouts
from sleepenv.sim.synth import render_frames
from sleepenv.sim.truth import NightTruth, compute_plm_index
from sleepenv.sim.zigbee import render_zigbee

DEFAULT_START = datetime(2026, 1, 5, 22, 0, tzinfo=UTC).timestamp()
MIN_HOURS = 0.5


@dataclass(frozen=True, slots=True)
class SimNight:
    """One synthetic night: its truth, and its sensor data generated lazily on demand."""

    truth: NightTruth
    source: SourceKind
    plan: RenderPlan = field(repr=False, compare=False)

    @property
    def params(self) -> NightParams:
        """The night's physical constants (bed gain, noise sd, breathing, ...)."""
        return self.plan.params

    def frames(self) -> Iterator[EnvelopeFrame]:
        """10 Hz envelope frames, about one per second; identical on every call.

        With the night's stream faults: frames missing during `truth.dropouts`, some sent
        twice or swapped with their neighbour, timestamps jittered by up to ±25 ms.
        Also available for the zigbee profile (the same sleeper seen by a fine sensor).
        """
        return render_frames(self.plan)

    def zigbee_readings(self) -> Iterator[ZigbeeVibration]:
        """What an Aqara DJT11LM on this bed would report (any profile); identical per call."""
        return render_zigbee(self.truth, self.plan)


def generate_night(
    seed: int, profile: str | Profile = "clean", start: float = DEFAULT_START, hours: float = 8.0
) -> SimNight:
    """Generate the night `seed` of `profile`: truth up front, samples lazily.

    The same (seed, profile, hours) gives the same night; a different `start` shifts it.
    `profile` is a profile's name or a Profile (one changed by habits, sim.habits): a
    changed profile keeps its sleeper's random draws, so its nights stay paired.
    """
    if isinstance(profile, Profile):
        prof = profile
    else:
        try:
            prof = PROFILES[profile]
        except KeyError:
            allowed = ", ".join(sorted(PROFILES))
            raise ValueError(f"unknown profile {profile!r}; allowed: {allowed}") from None
    if hours < MIN_HOURS:
        raise ValueError(f"hours must be at least {MIN_HOURS}, got {hours}")
    key = f"sleepenv.sim:{prof.sleeper}:{seed}"
    rng = Random(key)
    params = draw_params(rng, prof)
    phases = plan_night(rng, prof, params, start, hours)
    end = start + hours * 3600.0
    truth = NightTruth(
        profile=prof.name,
        seed=seed,
        start=start,
        end=end,
        in_bed=phases.in_bed,
        sleep_onset=phases.sleep_onset,
        wake=phases.wake,
        out_of_bed=phases.out_of_bed,
        events=phases.events,
        plm_index=compute_plm_index(phases.events, phases.sleep_onset, phases.wake),
        glitches=phases.glitches,
        dropouts=draw_dropouts(key + ":dropouts", params.dropouts_per_hour, start, end),
        waking_jerks=phases.waking_jerks,
        absences=phases.absences,
    )
    plan = build_plan(rng, key + ":noise", params, truth)
    return SimNight(truth=truth, source=prof.source, plan=plan)
