"""Ground truth of a synthetic night: what really happened, for scoring a detector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sleepenv.bed.core.model import MovementClass

SLEEPER = "sleeper"
PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One true movement.

    `peak` is the nominal burst amplitude above the resting baseline, in the envelope's
    RMS units as it reaches the sensor (partner movements already attenuated).
    `offset` excludes mattress ringing, which is never an event of its own.
    """

    onset: float
    offset: float
    cls: MovementClass
    peak: float
    side: str = SLEEPER
    has_posture_change: bool = False

    @property
    def duration_seconds(self) -> float:
        """Offset minus onset."""
        return self.offset - self.onset

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "onset": round(self.onset, 4),
            "offset": round(self.offset, 4),
            "cls": self.cls.value,
            "peak": round(self.peak, 4),
            "side": self.side,
            "has_posture_change": self.has_posture_change,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TruthEvent:
        """Parse what `to_json` wrote."""
        return cls(
            onset=float(data["onset"]),
            offset=float(data["offset"]),
            cls=MovementClass(str(data["cls"])),
            peak=float(data["peak"]),
            side=str(data.get("side", SLEEPER)),
            has_posture_change=bool(data.get("has_posture_change", False)),
        )


def compute_plm_index(
    events: tuple[TruthEvent, ...], sleep_onset: float | None, wake: float | None
) -> float | None:
    """Sleeper PLM events with onset in [sleep_onset, wake) per hour of wake − sleep_onset
    (None without sleep). Absences and awakenings mid-night stay in the hours: the index
    is per hour of the sleep period, not of sleep itself."""
    if sleep_onset is None or wake is None or wake <= sleep_onset:
        return None
    count = sum(
        1
        for e in events
        if e.cls is MovementClass.PLM and e.side == SLEEPER and sleep_onset <= e.onset < wake
    )
    return count / ((wake - sleep_onset) / 3600.0)


@dataclass(frozen=True, slots=True)
class NightTruth:
    """Everything true about one synthetic night.

    `sleep_onset` is the start of the first ≥5-min still period that is followed by mostly
    sleep; `wake` the first movement of the final awakening; `in_bed`/`out_of_bed` the
    onset of getting in and the offset of getting up. `glitches` are times of one-sample
    sensor spikes and `dropouts` (start, end) stretches without frames: neither is an event.
    `waking_jerks` are the onsets of the hypnic jerks that woke the sleeper (the awakening
    the simulator drew after them, not merely any movement that happened to follow).

    `absences` are the (out, back) times the sleeper was out of bed mid-night, with the
    same convention as `in_bed`/`out_of_bed`: out is the offset of the getting-up bout,
    back the onset of the getting-in bout, so both bouts count as in bed. `sleep_onset`
    stays the first onset of the night and `wake` the final awakening; the falling asleep
    again after an absence is not a key moment of its own.
    """

    profile: str
    seed: int
    start: float
    end: float
    in_bed: float | None
    sleep_onset: float | None
    wake: float | None
    out_of_bed: float | None
    events: tuple[TruthEvent, ...]
    plm_index: float | None
    glitches: tuple[float, ...] = ()
    dropouts: tuple[tuple[float, float], ...] = ()
    waking_jerks: tuple[float, ...] = ()
    absences: tuple[tuple[float, float], ...] = ()

    def occupied_spans(self) -> tuple[tuple[float, float], ...]:
        """The sleeper's (start, end) spans in bed: in_bed → out_of_bed minus the absences
        (empty for a night nobody slept in)."""
        if self.in_bed is None or self.out_of_bed is None:
            return ()
        edges = [self.in_bed]
        for out, back in self.absences:
            edges += [out, back]
        edges.append(self.out_of_bed)
        return tuple(zip(edges[::2], edges[1::2], strict=True))

    def sleeper_events(self) -> tuple[TruthEvent, ...]:
        """Events of the sleeper only (not the partner)."""
        return tuple(e for e in self.events if e.side == SLEEPER)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "start": self.start,
            "end": self.end,
            "in_bed": self.in_bed,
            "sleep_onset": self.sleep_onset,
            "wake": self.wake,
            "out_of_bed": self.out_of_bed,
            "plm_index": None if self.plm_index is None else round(self.plm_index, 4),
            "events": [e.to_json() for e in self.events],
            "glitches": [round(g, 4) for g in self.glitches],
            "dropouts": [[round(a, 4), round(b, 4)] for a, b in self.dropouts],
            "waking_jerks": [round(j, 4) for j in self.waking_jerks],
            "absences": [[round(a, 4), round(b, 4)] for a, b in self.absences],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NightTruth:
        """Parse what `to_json` wrote."""
        events = cast(list[dict[str, Any]], data["events"])
        dropouts = cast(list[list[float]], data.get("dropouts", []))
        # Truth files written before absences were simulated have no key.
        absences = cast(list[list[float]], data.get("absences", []))
        return cls(
            profile=str(data["profile"]),
            seed=int(data["seed"]),
            start=float(data["start"]),
            end=float(data["end"]),
            in_bed=_opt_float(data.get("in_bed")),
            sleep_onset=_opt_float(data.get("sleep_onset")),
            wake=_opt_float(data.get("wake")),
            out_of_bed=_opt_float(data.get("out_of_bed")),
            events=tuple(TruthEvent.from_json(e) for e in events),
            plm_index=_opt_float(data.get("plm_index")),
            glitches=tuple(float(g) for g in cast(list[float], data.get("glitches", []))),
            dropouts=tuple((float(a), float(b)) for a, b in dropouts),
            # Truth files written before waking jerks were recorded have no key.
            waking_jerks=tuple(float(j) for j in cast(list[float], data.get("waking_jerks", []))),
            absences=tuple((float(a), float(b)) for a, b in absences),
        )


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    return float(cast(float, value))
