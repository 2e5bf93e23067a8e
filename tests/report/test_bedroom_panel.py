"""The bedroom's panel under the night chart: drawn from the evening's record on the
timeline's time axis, checked on the figure's artists and on the rendered pixels; a night
without the record is drawn as before."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from PIL import Image

from sleepenv.bed.store import Store
from sleepenv.config.settings import BedSettings
from sleepenv.insights.core.bedroom import BedroomNight, to_json
from sleepenv.report import entity
from sleepenv.report.chart import (
    CAFFEINE_GID,
    PANEL_GID,
    PHASE_GID,
    SCREEN_GID,
    TARGET_GID,
    TEMPERATURE_GID,
    night_figure,
    render_night,
)
from sleepenv.report.night import WIND_DOWN_LEAD_SECONDS, from_store
from tests.report.test_chart import EVENTS, SUMMARY, T0

BERLIN = ZoneInfo("Europe/Berlin")
STORED = dataclasses.replace(SUMMARY, in_bed_spans=((T0 - 120, T0 + 25100),), wake=T0 + 24000)
ROOM = BedroomNight(
    target_celsius=18.0,
    temperatures=tuple((T0 - 7200 + 600 * i, 20.5 - 0.08 * i) for i in range(50)),
    wind_down_at=T0 - 5400,
    no_screen_at=T0 - 3600,
    lights_out_at=T0 - 60,
    screen_on=((T0 - 3000, T0 - 2200),),
    overridden=((T0 - 2400, T0 - 900),),
    caffeine_cutoff_at=T0 - 8 * 3600,
    # One before the cut-off; two after it: before the drawn evening, and in it.
    caffeine=(T0 - 9 * 3600, T0 - 2 * 3600, T0 - 3000),
    wind_down_minutes=89.0,
    overridden_minutes=25.0,
)


def panel(fig: Figure) -> Axes:
    """The bedroom's axes."""
    return next(ax for ax in fig.axes if ax.get_gid() == PANEL_GID)


def pixels(png: bytes) -> np.ndarray:
    """The decoded image as an (h, w, 3) array."""
    image = Image.open(io.BytesIO(png))
    image.load()
    return np.asarray(image.convert("RGB"))


def test_the_panel_draws_temperature_target_phases_screens_and_late_caffeine() -> None:
    night = from_store(STORED, EVENTS, BERLIN, bedroom=ROOM)
    assert night.view[0] == T0 - 5400 - WIND_DOWN_LEAD_SECONDS  # from the wind-down
    fig = night_figure(night)
    assert len(fig.axes) == 2
    ax = panel(fig)
    lines = {str(line.get_gid()): line for line in ax.get_lines()}
    temperature = lines[TEMPERATURE_GID]
    xs = np.asarray(temperature.get_xdata())
    ys = np.asarray(temperature.get_ydata())
    assert xs[0] == (T0 - 7200) / 86400.0
    assert ys[0] == 20.5
    assert xs[-1] == night.view[1] / 86400.0  # the last reading holds to the end
    assert list(np.asarray(lines[TARGET_GID].get_ydata())) == [18.0, 18.0]
    gids = {str(p.get_gid()) for p in ax.patches}
    assert {PHASE_GID + "wind-down", PHASE_GID + "no screens", PHASE_GID + "lights out"} <= gids
    screens = [c for c in ax.collections if c.get_gid() == SCREEN_GID]
    assert len(screens) == 1
    late = next(
        c for c in ax.collections
        if isinstance(c, PathCollection) and c.get_gid() == CAFFEINE_GID
    )  # fmt: skip
    # The earlier one at the left edge, the other at its time.
    assert [x for x, _ in np.asarray(late.get_offsets())] == [
        night.view[0] / 86400.0,
        (T0 - 3000) / 86400.0,
    ]
    words = " ".join(t.get_text() for t in ax.texts)
    assert "wind-down" in words
    assert "lights out" in words
    box = ax.get_legend()
    assert box is not None
    legend = " ".join(t.get_text() for t in box.get_texts())
    assert "target 18\u00a0°C" in legend
    assert "caffeine after the cut-off (21:00, 22:10)" in legend  # in Berlin time
    assert "screen on (13 min in the window)" in legend
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "23:00" in ticks  # the bedroom's local time on the panel's axis


def test_the_rendered_panel_is_800_px_wide_and_not_blank() -> None:
    image = pixels(render_night(from_store(STORED, EVENTS, BERLIN, bedroom=ROOM)))
    assert image.shape[:2] == (740, 800)
    # The panel's region (its axes: 130 to 145 px from the bottom, 128 to 776 px across).
    region = image[740 - 275 : 740 - 135, 135:770]
    assert (region.std(axis=(0, 1)) > 20).all()  # bands, a line and bars: not one colour
    blues = (region[..., 2] > region[..., 0] + 20).mean()
    assert blues > 0.2  # the lights-out band fills much of it


def test_a_night_without_the_record_is_drawn_as_before() -> None:
    plain = from_store(STORED, EVENTS, BERLIN)
    assert plain.bedroom is None
    assert plain.view[0] == T0 - 120 - 1800  # half an hour before getting in
    fig = night_figure(plain)
    assert len(fig.axes) == 1
    assert [round(v, 6) for v in fig.axes[0].get_position().bounds] == [0.16, 0.27, 0.81, 0.46]
    assert pixels(render_night(plain)).shape[:2] == (550, 800)


def test_a_record_far_from_the_night_does_not_stretch_the_timeline() -> None:
    stale = dataclasses.replace(ROOM, wind_down_at=T0 - 3 * 86400)
    assert from_store(STORED, EVENTS, BERLIN, bedroom=stale).view[0] == T0 - 120 - 1800


def test_a_record_with_nothing_but_phases_still_draws() -> None:
    bare = BedroomNight(wind_down_at=T0 - 5400, no_screen_at=T0 - 3600, lights_out_at=T0)
    fig = night_figure(from_store(STORED, EVENTS, BERLIN, bedroom=bare))
    ax = panel(fig)
    assert not [ln for ln in ax.get_lines() if ln.get_gid() == TEMPERATURE_GID]
    assert render_night(from_store(STORED, EVENTS, BERLIN, bedroom=bare)).startswith(b"\x89PNG")


def test_the_service_chart_reads_the_stored_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.save_night(STORED)
    store.save_bedroom("bedroom", STORED.night, to_json(ROOM))
    bed = BedSettings(id="bedroom", name="Bed", sensors=[{"kind": "envelope", "topic": "t"}])
    night = entity.gather(store, bed, STORED, BERLIN, "bedroom")
    assert night.bedroom == ROOM
    assert entity.gather(store, bed, STORED, BERLIN, None).bedroom is None
    assert entity.gather(store, bed, STORED, BERLIN, "nursery").bedroom is None
