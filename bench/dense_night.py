"""A fine sensor's night with a movement every few seconds, for `side_by_side.py`'s envelope rows.

The simulator's `in_from_start` sleeper (lying down in the first seconds), seed 1, rendered
as an ESP32 sends it: one JSON frame of 10 samples at 10 Hz per second of the night. After
a warm-up of ten minutes (the night as drawn) its twitches and limb movements are copied
one after another, 4.2 to 7.8 s apart, to the night's end; no dropouts, no one-sample
glitches. Every frame goes through this tree's detection once, in this process, to learn
which frames complete a movement: a run then measures from sending such a frame to its
event arriving (matched by the event's onset).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random

import yaml

from sleepenv.bed.core.model import MovementClass
from sleepenv.bed.pipeline import Pipeline
from sleepenv.config.settings import Settings
from sleepenv.sim.night import generate_night
from sleepenv.sim.recording import frame_to_payload
from sleepenv.sim.render import build_plan
from sleepenv.sim.synth import render_frames

WARM_UP_SECONDS = 600.0
MEAN_GAP_SECONDS = 6.0  # a movement every 4.2 to 7.8 s
# One bed with an ESP32 envelope sensor; the night window is set around the frames' times.
CONFIG = """\
mqtt: {{host: "{host}", port: {port}, client_id: "{name}", base_topic: "{name}",
       discovery_prefix: "{name}ha"}}
beds:
  - id: bed
    name: Bench
    timezone: UTC
    sensors: [{{kind: envelope, topic: "{name}/envelope"}}]
night: {{start: "{night_start}", end: "{night_end}"}}
storage: {{data_dir: "{data}"}}
log_level: WARNING
"""


@dataclass(frozen=True)
class DenseNight:
    """The frames, where the warm-up ends, and the events each frame completes."""

    payloads: list[bytes]
    warm_up: int  # frames [0, warm_up) warm up; the last of them completes a movement
    events: dict[int, tuple[str, ...]]  # frame index → onsets (as published) it completes
    night_start: str  # the config's night window (UTC), around the frames
    night_end: str

    def config(self, host: str, port: int, name: str, data: str) -> str:
        """The config of sleepenv for a run under topics `name/...`."""
        return CONFIG.format(
            host=host,
            port=port,
            name=name,
            data=data,
            night_start=self.night_start,
            night_end=self.night_end,
        )

    def last_event_at_or_before(self, index: int) -> int:
        """The last frame at or before `index` that completes a movement."""
        return max(i for i in self.events if i <= index)


def onset_key(onset: float) -> str:
    """An event's onset as its payload gives it."""
    return datetime.fromtimestamp(onset, UTC).isoformat(timespec="milliseconds")


def build(start: float, seconds: float) -> DenseNight:
    """The dense night from `start` (POSIX s) for `seconds` after the warm-up."""
    hours = (WARM_UP_SECONDS + seconds + 60) / 3600
    night = generate_night(1, "in_from_start", start=start, hours=max(hours, 0.5))
    truth = night.truth
    moves = [
        e
        for e in truth.sleeper_events()
        if e.duration_seconds < 4 and e.cls in {MovementClass.TWITCH, MovementClass.LIMB_MOVEMENT}
    ]
    rng = Random("sleepenv.bench.dense")
    t = start + WARM_UP_SECONDS
    events = [e for e in truth.events if e.offset < t]
    k = 0
    while t < truth.end - 10:
        move = moves[k % len(moves)]
        k += 1
        events.append(
            dataclasses.replace(
                move, onset=t, offset=t + move.duration_seconds, has_posture_change=False
            )
        )
        t += MEAN_GAP_SECONDS * rng.uniform(0.7, 1.3)
    dense = dataclasses.replace(
        truth, events=tuple(events), dropouts=(), glitches=(), wake=None, out_of_bed=None
    )
    key = "sleepenv.bench.dense"
    frames = list(render_frames(build_plan(Random(key), key + ":noise", night.params, dense)))
    payloads = [json.dumps(frame_to_payload(f)).encode() for f in frames]
    window = (
        datetime.fromtimestamp(start - 3600, UTC).strftime("%H:%M"),
        # The service's own clock runs on past the frames while the benchmark lasts.
        datetime.fromtimestamp(truth.end + 4 * 3600, UTC).strftime("%H:%M"),
    )
    data = yaml.safe_load(
        CONFIG.format(
            host="localhost",
            port=1,
            name="x",
            data="/tmp",
            night_start=window[0],
            night_end=window[1],
        )
    )
    pipeline = Pipeline(Settings(**data), {"bed": UTC})
    completes: dict[int, tuple[str, ...]] = {}
    for i, (frame, payload) in enumerate(zip(frames, payloads, strict=True)):
        result = pipeline.handle("x/envelope", payload, frame.t + 1.0)
        if result is not None and result[1].events:
            completes[i] = tuple(onset_key(e.onset) for e in result[1].events)
    warm_up = max(
        i for i, f in enumerate(frames) if f.t < start + WARM_UP_SECONDS and i in completes
    )
    return DenseNight(payloads, warm_up + 1, completes, *window)
