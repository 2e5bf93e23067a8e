"""The demo's morning helpers: its clock's jump, the chart file and where it goes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from sleepenv.cli.demo import CHART_FILE
from sleepenv.demo.morning import (
    DemoClock,
    DemoStepError,
    png_size,
    prepare_out,
    save_night_chart,
)

DOCS_CHART = Path(__file__).parents[2] / "docs" / "night-chart.png"


def test_the_clock_jumps_ahead_never_back_and_keeps_its_speed() -> None:
    clock = DemoClock(1_000_000.0, 1000.0)
    clock.jump_to(1_050_000.0)
    assert 1_050_000.0 <= clock.now() < 1_050_000.0 + 60
    clock.jump_to(1_000_000.0)
    assert clock.now() >= 1_050_000.0
    assert clock.speed == 1000.0


def test_png_size_reads_the_header_of_a_chart() -> None:
    assert png_size(DOCS_CHART.read_bytes()) == (800, 740)
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(b"<html>not a chart</html>")


def test_prepare_out_makes_the_directory_or_says_what_is_wrong(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    assert prepare_out(out) is None
    assert out.is_dir()
    (out / CHART_FILE).mkdir()
    assert prepare_out(out) == f"{out / CHART_FILE} is a directory"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    problem = prepare_out(blocker / "sub")
    assert problem is not None
    assert problem.startswith(f"cannot make the directory {blocker / 'sub'}: ")


def test_the_chart_file_says_where_it_is_and_when_it_replaced_one(tmp_path: Path) -> None:
    png = DOCS_CHART.read_bytes()
    first = save_night_chart(tmp_path, png, has_room=True)
    assert (first.path, first.width, first.height, first.replaced) == (
        tmp_path / CHART_FILE,
        800,
        740,
        False,
    )
    assert first.path.read_bytes() == png
    again = save_night_chart(tmp_path, png, has_room=False)
    assert again.replaced
    out = io.StringIO()
    again.show(Console(file=out, width=40))
    text = out.getvalue()
    # The path on a line of its own, whole, however narrow the terminal.
    assert f"night chart: {(tmp_path / CHART_FILE).resolve()}\n" in text
    assert "it replaced the chart an earlier demo had written there" in " ".join(text.split())


def test_a_published_chart_that_is_not_a_png_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(DemoStepError, match=r"not a PNG image \(4 bytes\)"):
        save_night_chart(tmp_path, b"oops", has_room=False)
    assert not (tmp_path / CHART_FILE).exists()
