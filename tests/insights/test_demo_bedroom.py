"""The insights demo's simulated bedroom: made from each night's habits, drawn under the
night's chart."""

from __future__ import annotations

import io
from datetime import UTC

from PIL import Image

from sleepenv.demo.habits import simulated_bedroom, with_bedroom
from sleepenv.insights.core.factors import NightFactors
from sleepenv.report.chart import render_night
from sleepenv.report.night import ChartNight

T0 = 1_767_650_400.0
NIGHT = ChartNight("Demo bed", "2026-01-05", UTC, (T0 - 1800, T0 + 8 * 3600),
                   in_bed_spans=((T0, T0 + 8 * 3600 - 900),))  # fmt: skip


def test_the_bedroom_follows_the_nights_habits() -> None:
    habits = NightFactors(room_celsius=20.5, screen_minutes=12.0, caffeine_late=True)
    room = simulated_bedroom(NIGHT, habits)
    assert room is not None
    assert room.lights_out_at == T0
    assert room.wind_down_at == T0 - 90 * 60
    assert room.screen_minutes_in_window() == 12.0
    assert len(room.late_caffeine) == 1
    sleeping = [c for t, c in room.temperatures if t >= T0 + 3600]
    assert abs(sum(sleeping) / len(sleeping) - 20.5) < 0.3
    calm = simulated_bedroom(NIGHT, NightFactors(room_celsius=18.0, caffeine_late=False))
    assert calm is not None
    assert calm.screen_on == ()
    assert calm.late_caffeine == ()
    assert simulated_bedroom(ChartNight("b", "2026-01-05", UTC, (T0, T0)), habits) is None


def test_the_demo_chart_has_the_panel() -> None:
    chart = with_bedroom(NIGHT, NightFactors(room_celsius=19.0, screen_minutes=0.0))
    assert chart.bedroom is not None
    assert chart.view[0] < T0 - 90 * 60  # from the wind-down
    image = Image.open(io.BytesIO(render_night(chart)))
    assert image.size == (800, 740)
