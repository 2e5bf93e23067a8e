"""Issue 15, item 4 through the CLI: six minutes without frames are unknown, not sleep.

A sensor that goes offline (or a broker outage) leaves a gap in a restless stretch; read
as stillness it made a sleep onset and then called the next movements hypnic jerks.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bed.core.bed_signals import T0, Bed, Move
from tests.e2e.test_cli import sleepenv
from tests.helpers.frames import payload


def write(bed: Bed, path: Path) -> None:
    """The night as a recording of the sensor topic (frames stamped with their time)."""
    with path.open("w") as fh:
        for f in bed.frames():
            fh.write(json.dumps({"t": f.t, "topic": "bed/env", "payload": json.loads(payload(f))}))
            fh.write("\n")


def test_a_six_minute_gap_makes_no_sleep_onset_and_no_hypnic_jerks(tmp_path: Path) -> None:
    # Restless before the gap; after it strong short startles between movements 290 s
    # apart, so no five still minutes of data anywhere.
    restless = [Move(60 + 100 * k, 2.0, 2.0) for k in range(10)]
    calmer = [Move(1400 + 290 * k, 2.0, 2.0) for k in range(8)]
    startles = [Move(1500 + 290 * k, 0.3, 8.0) for k in range(6)]
    # Already lying in bed as the recording starts (the code before this fix made an
    # onset at the gap's start here, and two hypnic jerks of the startles after it).
    bed = Bed(3600, occupied=[(0, 3600)], moves=[*restless, *calmer, *startles])
    bed.gaps = [(1000, 1360)]
    rec = tmp_path / "gap.jsonl"
    write(bed, rec)
    proc = sleepenv("analyze", str(rec), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["in_bed"] is not None
    assert doc["sleep_onset"] is None
    assert "hypnic_jerk" not in doc["counts"]
    assert doc["counts"]["limb_movement"] >= 15  # the movements were seen, only no onset


def test_a_recording_that_starts_in_the_first_minute_of_a_utc_day(tmp_path: Path) -> None:
    """The analysis night starts at the recording's first minute; 00:00 UTC (here the
    first day of 1970) once overflowed while the night's end was worked out."""
    bed = Bed(600, occupied=[(0, 600)], moves=[Move(300, 2.0, 2.0)])
    rec = tmp_path / "midnight.jsonl"
    with rec.open("w") as fh:
        for f in bed.frames():
            frame = json.loads(payload(f))
            frame["t"] = f.t - T0 + 30.0  # 1970-01-01 00:00:30 UTC onwards
            fh.write(json.dumps({"t": frame["t"], "topic": "bed/env", "payload": frame}))
            fh.write("\n")
    proc = sleepenv("analyze", str(rec), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["start"] < 60.0
    assert sum(doc["counts"].values()) >= 1
