"""Night profiles: the knobs that make one kind of synthetic night differ from another.

Amplitudes in the simulator are in *baseline units*: 1.0 is the resting envelope level of
an occupied bed for that night (which itself differs between beds by a factor 0.3–3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sleepenv.core.model import SourceKind


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
    dropouts_per_hour: float = 0.0
    presleep_minutes: tuple[float, float] = (10.0, 30.0)
    has_restless_onset: bool = False
    hypnic_jerks: tuple[int, int] = (0, 1)
    onset_twitches: tuple[int, int] = (1, 4)
    # PLM: with plm_high_prob the night's target PLM index is drawn from plmi_high,
    # otherwise from plmi_low; series lengths from series_len_high / series_len_low.
    plm_high_prob: float = 0.3
    plmi_low: tuple[float, float] = (0.0, 8.0)
    plmi_high: tuple[float, float] = (16.0, 35.0)
    series_len_low: tuple[int, int] = (4, 9)
    series_len_high: tuple[int, int] = (12, 45)
    rollovers_per_hour: float = 1.6
    limb_movements_per_hour: float = 3.0
    twitches_per_hour: float = 3.0
    cramp_prob: float = 0.08
    has_partner: bool = False


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
        description="The clean sleeper on a noisy sensor: 3× noise, one-sample glitches, dropouts.",
        noise_scale=3.0,
        tail_prob=0.01,
        glitches_per_hour=2.0,
        dropouts_per_hour=0.15,
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
        description="A second sleeper whose movements reach the sensor attenuated ×0.2–0.4.",
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
}
