"""The nightly chart's drawing: one mark per movement on its class's row, read from the
matplotlib figure's artists before it is saved (not from pixels)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary, SourceKind
from sleepenv.report.chart import (
    MARKS_GID,
    WAKING_GID,
    night_figure,
    render_night,
    trend_figure,
)
from sleepenv.report.night import ChartNight, from_analysis, from_store

T0 = 1_767_650_400.0  # 2026-01-05 22:00 UTC
C = MovementClass


def ev(at: float, cls: MovementClass, seconds: float = 1.0, **kw: object) -> MovementEvent:
    """A labelled movement `at` seconds after T0."""
    return MovementEvent(T0 + at, T0 + at + seconds, 1.0, cls, **kw)  # type: ignore[arg-type]


# Got in (bout), settled; a jerk at onset that did not wake, one later that did (a
# rollover right after it, after a settled minute), a PLM series, got up (bout).
EVENTS = (
    ev(0, C.BOUT, 60),
    ev(300, C.TWITCH, 0.2),
    ev(900, C.HYPNIC_JERK, 0.5),
    ev(960, C.TWITCH, 0.2),
    ev(3600, C.HYPNIC_JERK, 0.5),
    ev(3610, C.ROLLOVER, 8),
    *(ev(7200 + 25 * i, C.PLM, 2) for i in range(5)),
    ev(9000, C.LIMB_MOVEMENT, 3),
    ev(20000, C.ROLLOVER, 6),
    ev(25000, C.BOUT, 90),
)
SUMMARY = NightSummary(
    "bedroom", "2026-01-05", T0 - 4 * 3600, T0 + 30000, {}, sleep_onset=T0 + 600, plm_index=1.0
)


def marks(fig: Figure) -> dict[str, PathCollection]:
    """The figure's mark collections by gid."""
    return {
        str(c.get_gid()): c
        for ax in fig.axes
        for c in ax.collections
        if isinstance(c, PathCollection) and str(c.get_gid()).startswith(MARKS_GID)
    }


def row_of(fig: Figure, label: str) -> int:
    """The y position of the row whose tick label is `label`."""
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return int(ax.get_yticks()[labels.index(label)])


def test_every_movement_is_one_mark_on_its_class_row() -> None:
    night = from_store(SUMMARY, EVENTS, UTC)
    fig = night_figure(night)
    drawn = marks(fig)
    words = {
        C.TWITCH: "twitch", C.HYPNIC_JERK: "hypnic jerk", C.LIMB_MOVEMENT: "limb movement",
        C.PLM: "PLM-like", C.ROLLOVER: "rollover", C.BOUT: "long bout",
    }  # fmt: skip
    total = 0
    for cls, word in words.items():
        offsets = np.asarray(drawn[MARKS_GID + cls.value].get_offsets())
        expected = sorted(e.onset for e in EVENTS if e.cls is cls)
        if cls is C.HYPNIC_JERK:
            expected = [T0 + 900]  # the one that woke the sleeper is drawn apart
        assert sorted(offsets[:, 0]) == [t / 86400.0 for t in expected]
        assert set(offsets[:, 1]) <= {row_of(fig, word)}
        total += len(offsets)
    woke = np.asarray(drawn[WAKING_GID].get_offsets())
    assert len(woke) == 1
    assert woke[0, 0] == (T0 + 3600) / 86400.0
    assert woke[0, 1] == row_of(fig, "hypnic jerk")
    assert total + len(woke) == len(EVENTS)
    assert MARKS_GID + C.MOVEMENT.value not in drawn  # no coarse sensor, no such row


def test_the_coarse_sensor_gets_its_own_row_and_says_counts_are_lower_bounds() -> None:
    events = [ev(60 * i, C.MOVEMENT, 1, source=SourceKind.ZIGBEE_VIBRATION, is_lower_bound=True)
              for i in range(1, 8)]  # fmt: skip
    night = from_store(SUMMARY, events, UTC)
    fig = night_figure(night)
    coarse = np.asarray(marks(fig)[MARKS_GID + C.MOVEMENT.value].get_offsets())
    assert len(coarse) == 7
    assert set(coarse[:, 1]) == {row_of(fig, "movement")}
    text = " ".join(t.get_text() for t in fig.texts)
    assert "lower bounds" in text
    assert "at least: movement 7" in text


def test_stored_night_shades_in_bed_and_asleep_and_draws_onset_and_wake() -> None:
    night = from_store(SUMMARY, EVENTS, ZoneInfo("Europe/Berlin"))
    assert night.in_bed_spans == ((T0, T0 + 25090),)
    assert night.waking_onsets == frozenset({T0 + 3600})
    assert night.wake is not None
    assert T0 + 20000 <= night.wake <= T0 + 25000
    assert night.time_to_fall_asleep_seconds == 600
    fig = night_figure(night)
    ax = fig.axes[0]
    shaded = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(shaded) == 2  # in bed, asleep
    lines = [ln.get_xdata() for ln in ax.get_lines()]
    xs = {float(np.asarray(x)[0]) for x in lines}
    assert xs == {(T0 + 600) / 86400.0, night.wake / 86400.0}
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "23:00" in ticks  # 22:00 UTC is 23:00 in Berlin in January
    header = " ".join(t.get_text() for t in fig.texts)
    assert "fell asleep after 10 min" in header
    assert "hypnic jerk 2 (1 woke)" in header
    assert "PLM index 1.0/h" in header
    assert "Not a diagnosis" in header


def test_stored_occupancy_and_wake_are_used_as_stored() -> None:
    """A night stored with its stretches in bed and wake: no estimate from movements, and
    the time out of bed is left out of the time asleep."""
    stored = dataclasses.replace(
        SUMMARY,
        in_bed_spans=((T0 - 120, T0 + 10000), (T0 + 10600, T0 + 25100)),
        wake=T0 + 24000,
    )
    night = from_store(stored, EVENTS, UTC)
    assert night.in_bed_spans == stored.in_bed_spans
    assert night.wake == T0 + 24000
    assert night.in_bed_note is None
    assert night.time_to_fall_asleep_seconds == 720
    assert night.total_sleep_seconds == 24000 - 600 - 600
    assert from_store(SUMMARY, EVENTS, UTC).in_bed_note is not None  # older nights


def test_analysis_document_keeps_its_spans_and_waking_jerks() -> None:
    doc = {
        "start": T0 - 600,
        "end": T0 + 30000,
        "events": [
            {"onset": e.onset, "offset": e.offset, "class": e.cls.value, "peak": 1.0}
            for e in EVENTS
        ],
        "in_bed": T0,
        "sleep_onset": T0 + 600,
        "wake": T0 + 24000,
        "in_bed_spans": [[T0, T0 + 12000], [T0 + 12600, T0 + 25090]],
        "waking_jerks": [T0 + 3600],
        "plm_index": 0.8,
        "total_sleep_seconds": 22800.0,
        "is_lower_bound": False,
    }
    night = from_analysis(doc, UTC)
    assert night.night == "2026-01-05"
    assert len(night.in_bed_spans) == 2
    assert night.view == (T0 - 600, T0 + 25090 + 900)
    fig = night_figure(night)
    assert len(np.asarray(marks(fig)[WAKING_GID].get_offsets())) == 1
    assert render_night(night).startswith(b"\x89PNG\r\n\x1a\n")


def test_an_empty_night_still_draws() -> None:
    night = ChartNight("Bed", "2026-01-05", UTC, (T0, T0 + 3600))
    fig = night_figure(night)
    assert all(len(np.asarray(c.get_offsets())) == 0 for c in marks(fig).values())
    assert "fell asleep after –" in " ".join(t.get_text() for t in fig.texts)


def test_trend_stacks_each_class_per_night() -> None:
    nights = [
        NightSummary("b", "2026-01-06", T0, T0, {"twitch": 4, "plm": 10}, plm_index=2.0),
        NightSummary("b", "2026-01-05", T0, T0, {"twitch": 1, "rollover": 3}),
    ]
    fig = trend_figure(nights, "Bed")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    twitch = [p for p in bars if p.get_gid() == MARKS_GID + "twitch"]
    assert [p.get_height() for p in twitch] == [1, 4]  # oldest night on the left
    plm = [p for p in bars if p.get_gid() == MARKS_GID + "plm"]
    assert [p.get_height() for p in plm] == [0, 10]
    assert [p.get_y() for p in plm] == [1, 4]  # on top of the twitches
    assert [t.get_text() for t in ax.texts] == ["2.0/h"]


def test_the_command_line_does_not_import_matplotlib_until_it_draws() -> None:
    code = (
        "import sys, sleepenv.cli.main as c; c.build_parser();"
        "import sleepenv.cli.report, sleepenv.report.night;"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_a_night_whose_movements_are_gone_shows_its_stored_figures() -> None:
    """The store keeps movements for about two nights: an older night's chart shows its
    own final counts in the header and says the rows are empty for that reason."""
    stored = dataclasses.replace(
        SUMMARY, counts={"twitch": 15, "hypnic_jerk": 8, "plm": 146}, waking_jerks=1
    )
    night = from_store(stored, (), UTC)
    assert night.movements_missing
    fig = night_figure(night)
    text = " ".join(t.get_text() for t in fig.texts)
    assert "twitch 15" in text
    assert "hypnic jerk 8 (1 woke)" in text
    assert "no longer stored" in text
    with_events = from_store(stored, EVENTS, UTC)
    assert not with_events.movements_missing
    assert with_events.counts()[C.PLM] == 146  # the night's own final figure
