"""What `sleepenv demo` collected while the night played, and the tables it prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table

from sleepenv.bed.core.model import MovementEvent, NightSummary
from sleepenv.demo.morning import ChartFile, local_hm
from sleepenv.sim.night import SimNight


@dataclass
class DemoRun:
    """What the demo collected while the night played."""

    night: SimNight
    detected: list[MovementEvent] = field(default_factory=list)
    # The night as the service closed and stored it, with its final labels (live events
    # carry provisional ones).
    closed: NightSummary | None = None
    final: list[MovementEvent] | None = None
    chart: ChartFile | None = None
    problems: list[str] = field(default_factory=list)  # steps that did not happen in time


def hourly_table(run: DemoRun) -> Table:
    """Movements simulated versus detected, hour by hour."""
    truth = run.night.truth
    table = Table("hour", "simulated", "detected", title="Movements per hour")
    hours = int((truth.end - truth.start) // 3600) + 1
    for h in range(hours):
        lo, hi = truth.start + h * 3600, truth.start + (h + 1) * 3600
        sim = sum(1 for e in truth.events if lo <= e.onset < hi)
        det = sum(1 for e in run.detected if lo <= e.onset < hi)
        if lo < truth.end:
            table.add_row(local_hm(lo), str(sim), str(det))
    table.add_row("total", str(len(truth.events)), str(len(run.detected)), style="bold")
    return table


def class_table(run: DemoRun) -> Table:
    """Counts per class, simulated versus detected."""
    table = Table("class", "simulated", "detected", title="By class")
    sim: dict[str, int] = {}
    det: dict[str, int] = {}
    for e in run.night.truth.events:
        sim[e.cls.value] = sim.get(e.cls.value, 0) + 1
    for d in run.final if run.final is not None else run.detected:
        det[d.cls.value] = det.get(d.cls.value, 0) + 1
    for cls in sorted(set(sim) | set(det)):
        table.add_row(cls, str(sim.get(cls, 0)), str(det.get(cls, 0)))
    return table


def sleep_line(run: DemoRun) -> str:
    """Sleep onset and PLM index, simulated versus detected (the closed night's)."""
    truth, closed = run.night.truth, run.closed

    def clock(t: float | None) -> str:
        return local_hm(t) if t is not None else "–"

    def index(x: float | None) -> str:
        return f"{x:.1f}/h" if x is not None else "–"

    onset = closed.sleep_onset if closed else None
    plmi = closed.plm_index if closed else None
    return (
        f"sleep onset: simulated {clock(truth.sleep_onset)}, detected {clock(onset)}; "
        f"PLM index: simulated {index(truth.plm_index)}, detected {index(plmi)}"
    )
