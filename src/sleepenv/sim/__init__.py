"""Synthetic nights with ground truth, and a simulated bedroom for the demo.

`generate_night(seed, profile)` gives a deterministic `SimNight`: its `truth` is drawn up
front, its `frames()` (10 Hz envelope) and `zigbee_readings()` are generated lazily.
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
