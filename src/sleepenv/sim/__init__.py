"""Synthetic nights with ground truth, and a simulated bedroom for the demo.

`generate_night(seed, profile)` gives a deterministic `SimNight`: its `truth` is drawn up
front, its `frames()` (10 Hz envelope) and `zigbee_readings()` are generated lazily.

Scales, in baseline units (1.0 = the occupied bed's resting RMS level, itself 0.3–3× a
nominal bed and drifting ±30 % over hours; the empty bed sits at 0.2):

- resting white noise sd 0.05–0.08 (noisy: ×3, plus 1 % of samples ×3 again); breathing
  0.2–0.3 Hz at amplitude 0.10–0.18, heartbeat ~1.1 Hz at 0.03–0.06. A trailing robust
  (MAD) sd of the resting envelope is therefore ~0.13–0.18 (clean), ~0.20–0.27 (noisy).
- burst amplitude above baseline (truth `peak`, log-uniform): hypnagogic twitch 0.3–1.0,
  twitch 0.45–1.5, PLM 0.7–2.5 per series (±25 % per member), limb movement 0.8–3.5,
  rollover 2.5–7, bout 2–6, hypnic jerk 5–12; partner movements ×0.2–0.4. Samples only
  partly covered by a burst carry sqrt(covered fraction) of it; plateaus of bursts > 2 s
  vary between 0.4 and 1.0 of the peak, with ×exp(N(0, 0.2)) noise on every sample.
- bursts ≥ 2.5 ring after their offset: 0.25–0.4 × peak, decaying with τ 0.35–0.7 s,
  beating at 3–6 Hz (aliased at 10 Hz), never a truth event.
- `peak` channel: ~1.3–1.6 × rms at rest, + 1.6–2.4 × the burst part during movements.
- noisy glitches: one sample, 3–15 above baseline (peak channel 2.5× that), ~2/h.
"""

from sleepenv.sim.night import DEFAULT_START, SimNight, generate_night
from sleepenv.sim.profiles import PROFILES, Profile
from sleepenv.sim.recording import (
    frame_to_payload,
    read_recording,
    read_truth,
    write_recording,
    write_truth,
    zigbee_to_payload,
)
from sleepenv.sim.truth import NightTruth, TruthEvent

__all__ = [
    "DEFAULT_START",
    "PROFILES",
    "NightTruth",
    "Profile",
    "SimNight",
    "TruthEvent",
    "frame_to_payload",
    "generate_night",
    "read_recording",
    "read_truth",
    "write_recording",
    "write_truth",
    "zigbee_to_payload",
]
