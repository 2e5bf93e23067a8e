"""Synthetic nights with ground truth, and a simulated bedroom for the demo.

`generate_night(seed, profile)` gives a deterministic `SimNight`: its `truth` is drawn up
front, its `frames()` (10 Hz envelope) and `zigbee_readings()` are generated lazily.

Every physical knob below is drawn per night from a range (domain randomisation; the
ordinary profiles' ranges are wider than real beds are known to be), deterministically
per (seed, profile). Profiles sharing a sleeper key (clean, noisy, zigbee and the
extremes) draw the same uniform number for each knob, so their nights stay paired.

Scales, in baseline units (1.0 = the occupied bed's resting RMS level, itself 0.3–3× a
nominal bed):

- level drift: the resting level moves within 1 ± 0.1–0.4 over two waves of 3–8 h and
  1–3 h (`drift`: ± 0.35–0.5, waves of 0.5–3 h); the empty bed's floor is 0.08–0.45 of
  the occupied level, drawn per night (no breathing, no heartbeat on it).
- resting white noise sd 0.05–0.08 (noisy: ×3, plus 1 % of samples ×3 again), drifting
  independently by ± 15–35 % over waves of 2–6 h and 0.5–2 h (`drift`: ± 30–40 %);
  the empty bed's sd is 1.5 × that relative to its floor. Breathing 0.2–0.3 Hz at
  amplitude 0.10–0.18.
- heartbeat (ballistocardiogram): 40–90 bpm, beat-to-beat sd 2–8 %; each beat a 5–8 Hz
  burst of 0.06–0.15 s that lands on one or two samples, 0.0–0.35 × the level as the RMS
  of a sample holding all of it (`bcg_strong`: 0.35–0.8), modulated by breathing (depth
  0.2–0.6) and re-drawn ×0.5–1.6 at every posture change. It shows in the peak channel
  too. With a partner, their own heartbeat (same ranges, × the attenuation 0.2–0.4) and
  breathing (0.1 × the attenuation) add while they are in bed.
- burst amplitude above baseline (truth `peak`, log-uniform): hypnagogic twitch 0.3–1.0,
  twitch 0.45–1.5, PLM 0.7–2.5 per series (±25 % per member), limb movement 0.8–3.5,
  rollover 2.5–7, bout 2–6 (getting in: 30–100 s long), hypnic jerk 5–12; partner
  movements ×0.2–0.4 and low-passed (rise 1 − e^(−t/τ) and an exponential fall after
  their offset, τ 0.3–1.0 s). Samples only partly covered by a burst carry sqrt(covered
  fraction) of it; plateaus of bursts > 2 s vary between 0.4 and 1.0 of the peak, with
  ×exp(N(0, 0.2)) noise on every sample.
- spring-mattress ringing after every movement's offset, never a truth event: two
  damped modes (f1 3.5–9 Hz, f2 = f1 + 0.4–2.5 Hz, τ 0.08–0.35 s) starting at 0.2–0.9 ×
  the movement's amplitude (±20 % per movement), rendered as the RMS over each 100 ms of
  their sum, so it beats (dips and rises again); a twitch's ring sinks below the noise
  within ~1.2 s, a hypnic jerk's within ~2 s (`ringing`: τ 0.25–0.45 s, 0.6–1.0 ×).
- `peak` channel: ~1.3–1.6 × rms at rest, + 1.6–2.4 × the burst part during movements.
- noisy glitches: one sample, 3–15 above baseline (peak channel 2.5× that), ~2/h.

Occupancy: getting in at 0–3 s into the recording on 25 % of nights (`in_from_start`:
always), otherwise uniform over 0–75 min (`empty_first_hour`: 55–75 min), scaled down
on short nights; out of bed mid-night for 5–15 min on 10 % of nights with ≥ 3 h of sleep
(`out_midnight`: once or twice), recorded in `NightTruth.absences`.

Stream faults in `frames()`, per night: dropouts of 1–120 s at 0–0.6/h (noisy:
0.3–1.2/h), duplicated frames 0–0.5 % and swapped neighbours 0–0.5 % per frame,
timestamps jittered by uniform ±(0–25 ms).
"""

from sleepenv.sim.night import DEFAULT_START, SimNight, generate_night
from sleepenv.sim.profiles import PROFILES, Profile
from sleepenv.sim.recording import (
    frame_to_payload,
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
    "read_truth",
    "write_recording",
    "write_truth",
    "zigbee_to_payload",
]
