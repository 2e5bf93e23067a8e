"""Night profiles: the knobs that make one kind of synthetic night differ from another.

Amplitudes in the simulator are in *baseline units*: 1.0 is the resting envelope level of
an occupied bed for that night (which itself differs between beds by a factor 0.3–3).

Every physical knob is a range, and each night draws its value from it (domain
randomisation): the ranges of the ordinary profiles are wider than what real beds are
known to do, and each extreme profile (`ringing`, `drift`, `bcg_strong`, `in_from_start`,
`out_midnight`, `empty_first_hour`) is the clean sleeper with one knob at its extreme.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sleepenv.bed.core.model import SourceKind

Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Profile:
    """Parameters of one kind of night; `sleeper` keys the RNG so profiles can share a sleeper."""

    name: str
    description: str
    # Profiles with the same sleeper key (and parameters) produce the same truth per seed.
    sleeper: str
    source: SourceKind = SourceKind.ENVELOPE
    is_occupied: bool = True
    # Multiplies the resting noise sd (clean: 0.05–0.08 baseline units).
    noise_scale: float = 1.0
    # Probability that a sample's noise is tripled (heavy tails, noisy sensors).
    tail_prob: float = 0.0
    glitches_per_hour: float = 0.0
    presleep_minutes: Range = (10.0, 30.0)
    has_restless_onset: bool = False
    hypnic_jerks: tuple[int, int] = (0, 1)
    onset_twitches: tuple[int, int] = (1, 4)
    # PLM: with plm_high_prob the night's target PLM index is drawn from plmi_high,
    # otherwise from plmi_low; series lengths from series_len_high / series_len_low.
    plm_high_prob: float = 0.3
    plmi_low: Range = (0.0, 8.0)
    plmi_high: Range = (16.0, 35.0)
    series_len_low: tuple[int, int] = (4, 9)
    series_len_high: tuple[int, int] = (12, 45)
    rollovers_per_hour: float = 1.6
    limb_movements_per_hour: float = 3.0
    twitches_per_hour: float = 3.0
    cramp_prob: float = 0.08
    has_partner: bool = False
    # Getting in: at 0–3 s with entry_at_start_prob, otherwise uniform over entry_minutes
    # (scaled down on short nights, see phases.py).
    entry_at_start_prob: float = 0.25
    entry_minutes: Range = (0.0, 75.0)
    # Nights shorter than this scale entry_minutes down in proportion.
    entry_full_hours: float = 4.0
    # Out of bed mid-night for absence_minutes, absence_count times, with absence_prob.
    absence_prob: float = 0.1
    absence_count: tuple[int, int] = (1, 1)
    absence_minutes: Range = (5.0, 15.0)
    # Resting level drift: fraction of the level, and the periods (hours) of its two waves.
    level_drift: Range = (0.1, 0.4)
    drift_hours_slow: Range = (3.0, 8.0)
    drift_hours_fast: Range = (1.0, 3.0)
    # Independent drift of the sensor's noise sd (fraction), and the empty bed's floor
    # relative to the occupied resting level.
    noise_drift: Range = (0.15, 0.35)
    floor_rel: Range = (0.08, 0.45)
    # Ballistocardiogram: heart rate, burst size relative to the resting level, depth of
    # its modulation by breathing.
    heart_bpm: Range = (40.0, 90.0)
    bcg_rel: Range = (0.0, 0.35)
    bcg_breath_depth: Range = (0.2, 0.6)
    # Spring-mattress ringing after every movement: first mode, spacing of the second,
    # decay time constant, amplitude at the offset relative to the movement's amplitude.
    ring_hz: Range = (3.5, 9.0)
    ring_spacing_hz: Range = (0.4, 2.5)
    ring_tau_seconds: Range = (0.08, 0.35)
    ring_ratio: Range = (0.2, 0.9)
    # Stream faults of frames(): dropouts (1 s – 2 min) per hour, duplicated and swapped
    # frames per frame, and the per-night amplitude of the timestamp jitter.
    dropouts_per_hour: Range = (0.0, 0.6)
    duplicate_prob: Range = (0.0, 0.005)
    swap_prob: Range = (0.0, 0.005)
    jitter_seconds: Range = (0.0, 0.025)


_CLEAN = Profile(
    name="clean",
    description="One sleeper, low noise, few PLMs (about 30 % of nights reach PLMI ≥ 15).",
    sleeper="clean",
)

PROFILES: dict[str, Profile] = {
    "clean": _CLEAN,
    "noisy": replace(
        _CLEAN,
        name="noisy",
        description="The clean sleeper on a noisy sensor: 3× noise, one-sample glitches, "
        "more dropouts.",
        noise_scale=3.0,
        tail_prob=0.01,
        glitches_per_hour=2.0,
        dropouts_per_hour=(0.3, 1.2),
    ),
    "plm_heavy": replace(
        _CLEAN,
        name="plm_heavy",
        description="Long PLM series all night: PLM index 20–60.",
        sleeper="plm_heavy",
        plm_high_prob=1.0,
        plmi_high=(22.0, 60.0),
        series_len_high=(20, 120),
    ),
    "partner": replace(
        _CLEAN,
        name="partner",
        description="A second sleeper: their movements reach the sensor attenuated ×0.2–0.4 "
        "and low-passed, with their own heartbeat and breathing.",
        sleeper="partner",
        has_partner=True,
    ),
    "restless_onset": replace(
        _CLEAN,
        name="restless_onset",
        description="Long restless pre-sleep, hypnic jerks, hypnagogic twitches, a false onset.",
        sleeper="restless_onset",
        presleep_minutes=(25.0, 45.0),
        has_restless_onset=True,
        hypnic_jerks=(2, 4),
        onset_twitches=(6, 14),
    ),
    "empty_bed": replace(
        _CLEAN,
        name="empty_bed",
        description="Nobody in bed all night: sensor floor only.",
        sleeper="empty_bed",
        is_occupied=False,
    ),
    "zigbee": replace(
        _CLEAN,
        name="zigbee",
        description="The clean sleeper seen by an Aqara DJT11LM vibration sensor via Zigbee2MQTT.",
        source=SourceKind.ZIGBEE_VIBRATION,
    ),
    "ringing": replace(
        _CLEAN,
        name="ringing",
        description="The clean sleeper on a strongly ringing spring mattress: decay "
        "0.25–0.45 s, ring 0.6–1.0 × the movement.",
        ring_tau_seconds=(0.25, 0.45),
        ring_ratio=(0.6, 1.0),
    ),
    "drift": replace(
        _CLEAN,
        name="drift",
        description="The clean sleeper with the resting level drifting ±35–50 % over "
        "0.5–3 h and the noise sd ±30–40 %.",
        level_drift=(0.35, 0.5),
        drift_hours_slow=(0.5, 3.0),
        drift_hours_fast=(0.5, 3.0),
        noise_drift=(0.3, 0.4),
    ),
    "bcg_strong": replace(
        _CLEAN,
        name="bcg_strong",
        description="The clean sleeper with a strong heartbeat: bursts 0.35–0.8 × the "
        "resting level.",
        bcg_rel=(0.35, 0.8),
    ),
    "in_from_start": replace(
        _CLEAN,
        name="in_from_start",
        description="The clean sleeper lying down in the first 3 s of the recording.",
        entry_at_start_prob=1.0,
    ),
    "out_midnight": replace(
        _CLEAN,
        name="out_midnight",
        description="The clean sleeper out of bed once or twice mid-night for 5–15 min.",
        absence_prob=1.0,
        absence_count=(1, 2),
    ),
    "empty_first_hour": replace(
        _CLEAN,
        name="empty_first_hour",
        description="The clean sleeper getting into bed 55–75 min into the recording.",
        entry_at_start_prob=0.0,
        entry_minutes=(55.0, 75.0),
        entry_full_hours=2.0,
    ),
}
