"""`sleepenv report` as a user runs it: stored nights, a trend, a recording, an empty store."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from PIL import Image

from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary
from sleepenv.bed.store import Store
from sleepenv.sim import generate_night
from sleepenv.sim.recording import write_recording

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 800, 550
T0 = 1_767_650_400.0  # 2026-01-05 22:00 UTC
C = MovementClass


def sleepenv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI (in `cwd`, where the default output file goes) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "sleepenv", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def night_events(start: float, jerks: int, plm: int) -> list[MovementEvent]:
    """A hand-made night: getting in, `jerks` hypnic jerks at onset, a PLM series, getting up."""
    events = [MovementEvent(start, start + 60, 5.0, C.BOUT)]
    events += [MovementEvent(start + 900 + 120 * i, start + 900.5 + 120 * i, 8.0, C.HYPNIC_JERK)
               for i in range(jerks)]  # fmt: skip
    events += [MovementEvent(start + 7200 + 25 * i, start + 7202 + 25 * i, 1.5, C.PLM)
               for i in range(plm)]  # fmt: skip
    events += [MovementEvent(start + 12000 + 3000 * i, start + 12008 + 3000 * i, 4.0, C.ROLLOVER)
               for i in range(3)]  # fmt: skip
    events.append(MovementEvent(start + 26000, start + 26090, 5.0, C.BOUT))
    return events


def store_night(db: Path, bed: str, night: str, start: float, jerks: int, plm: int) -> None:
    """Store a night through the store's own API, as the service does when one closes."""
    store = Store(db)
    events = night_events(start, jerks, plm)
    for event in events:
        store.add_event(bed, night, event)
    counts: dict[str, int] = {}
    for e in events:
        counts[e.cls.value] = counts.get(e.cls.value, 0) + 1
    store.save_night(
        NightSummary(bed, night, start - 4 * 3600, start + 28000, counts, start + 600, plm / 7.0)
    )
    store.close()


def read_png(path: Path) -> Image.Image:
    """The PNG at `path`, checked to be one and fully decoded."""
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()  # decodes every pixel: a truncated file fails here
    return image


def test_renders_a_stored_night_and_two_nights_differ(tmp_path: Path) -> None:
    db = tmp_path / "sleepenv.db"
    store_night(db, "bedroom", "2026-01-05", T0, jerks=1, plm=0)
    store_night(db, "bedroom", "2026-01-06", T0 + 86400, jerks=4, plm=12)
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    for night, out in (("2026-01-05", first), ("2026-01-06", second)):
        proc = sleepenv("report", "--data-dir", str(tmp_path), "--night", night, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert f"night {night} of bed bedroom" in proc.stdout
    a, b = read_png(first), read_png(second)
    assert a.size == b.size == (WIDTH, HEIGHT)
    assert a.tobytes() != b.tobytes()
    # Not a blank canvas: the marks and shading put many colours in it.
    assert len(a.convert("RGB").getcolors(1 << 20) or []) > 20


def test_default_is_the_latest_night_and_the_file_is_named_after_it(tmp_path: Path) -> None:
    db = tmp_path / "data" / "sleepenv.db"
    store_night(db, "bedroom", "2026-01-05", T0, jerks=1, plm=0)
    store_night(db, "bedroom", "2026-01-06", T0 + 86400, jerks=2, plm=4)
    proc = sleepenv("report", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "night 2026-01-06 of bed bedroom" in proc.stdout
    assert read_png(tmp_path / "sleepenv-bedroom-2026-01-06.png").size == (WIDTH, HEIGHT)


def test_an_empty_store_says_so_and_fails(tmp_path: Path) -> None:
    proc = sleepenv("report", "--data-dir", str(tmp_path / "none"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "no nights stored yet" in proc.stderr
    assert "--recording" in proc.stderr  # what to do instead
    assert not list(tmp_path.glob("*.png"))
    Store(tmp_path / "sleepenv.db").close()  # a database without nights
    proc = sleepenv("report", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1
    assert "no nights stored yet" in proc.stderr


def test_unknown_bed_or_night_names_what_exists(tmp_path: Path) -> None:
    db = tmp_path / "sleepenv.db"
    store_night(db, "bedroom", "2026-01-05", T0, jerks=1, plm=0)
    store_night(db, "guest", "2026-01-05", T0, jerks=1, plm=0)
    proc = sleepenv("report", "--data-dir", str(tmp_path), "--bed", "attic")
    assert proc.returncode == 1
    assert "'attic'" in proc.stderr
    assert "bedroom, guest" in proc.stderr
    proc = sleepenv(
        "report", "--data-dir", str(tmp_path), "--bed", "guest", "--night", "2026-02-01"
    )
    assert proc.returncode == 1
    assert "no stored night 2026-02-01" in proc.stderr
    assert "2026-01-05" in proc.stderr


def test_trend_of_the_last_nights(tmp_path: Path) -> None:
    db = tmp_path / "sleepenv.db"
    for day in range(5):
        store_night(db, "bedroom", f"2026-01-{5 + day:02d}", T0 + day * 86400, day, 4 * day)
    out = tmp_path / "trend.png"
    proc = sleepenv("report", "--data-dir", str(tmp_path), "--nights", "14", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "5 nights of bed bedroom" in proc.stdout
    assert read_png(out).size == (WIDTH, HEIGHT)


def test_config_gives_the_bed_its_name_and_zone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store_night(data / "sleepenv.db", "guest", "2026-01-05", T0, jerks=1, plm=0)
    store_night(data / "sleepenv.db", "main", "2026-01-05", T0, jerks=1, plm=0)
    config = tmp_path / "sleepenv.yaml"
    beds = [
        {"id": bed, "name": f"{bed} bed", "timezone": "Europe/Berlin",
         "sensors": [{"kind": "envelope", "topic": f"{bed}/env"}]}
        for bed in ("main", "guest")
    ]  # fmt: skip
    config.write_text(yaml.safe_dump({"beds": beds, "storage": {"data_dir": str(data)}}))
    out = tmp_path / "main.png"
    proc = sleepenv("report", "--config", str(config), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "of bed main" in proc.stdout  # the first configured bed, not the first by name
    assert read_png(out).size == (WIDTH, HEIGHT)


def test_renders_a_recording_without_a_store(tmp_path: Path) -> None:
    recording = tmp_path / "night.jsonl"
    write_recording(generate_night(3, "clean", hours=1.5), recording)
    out = tmp_path / "recording.png"
    proc = sleepenv("report", "--recording", str(recording), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "movements from" in proc.stdout
    assert read_png(out).size == (WIDTH, HEIGHT)
    proc = sleepenv("report", "--recording", str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 2
    assert "missing.jsonl" in proc.stderr
    proc = sleepenv("report", "--recording", str(recording), "--nights", "3", cwd=tmp_path)
    assert proc.returncode == 1
    assert "leave out --night and --nights" in proc.stderr
    proc = sleepenv("report", "--recording", str(recording), "--bed", "attic", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no bed 'attic'" in proc.stderr
    assert list(tmp_path.glob("*.png")) == [out]


def test_tonight_is_skipped_until_its_morning(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    tonight = (now - timedelta(hours=2)).date().isoformat()
    data = tmp_path / "data"
    store_night(data / "sleepenv.db", "main", "2026-01-05", T0, jerks=1, plm=0)
    store_night(data / "sleepenv.db", "main", tonight, now.timestamp() - 3600, jerks=2, plm=0)
    bed = {"id": "main", "name": "Main", "timezone": "UTC",
           "sensors": [{"kind": "envelope", "topic": "main/env"}]}  # fmt: skip

    def report_with_morning_in(hours: float) -> str:
        night = {
            "start": f"{now - timedelta(hours=2):%H:%M}",
            "morning": f"{now + timedelta(hours=hours):%H:%M}",
            "end": f"{now + timedelta(hours=4):%H:%M}",
        }
        config = tmp_path / "sleepenv.yaml"
        settings = {"beds": [bed], "night": night, "storage": {"data_dir": str(data)}}
        config.write_text(yaml.safe_dump(settings))
        proc = sleepenv("report", "--config", str(config), "--out", str(tmp_path / "n.png"))
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    # Before its morning tonight's night is still running: the one before is drawn.
    assert "night 2026-01-05 of bed main" in report_with_morning_in(2)
    # After its morning it may have closed (the sleeper got up): it is drawn.
    assert f"night {tonight} of bed main" in report_with_morning_in(-1)


def test_a_stored_night_with_its_bedroom_gets_the_panel(tmp_path: Path) -> None:
    """The bedroom's record of the evening (stored when the night closed, with the
    factors) puts the bedroom's panel under the night; the other night keeps its size."""
    from sleepenv.insights.core.bedroom import BedroomNight, to_json  # noqa: PLC0415

    db = tmp_path / "sleepenv.db"
    store_night(db, "bedroom", "2026-01-05", T0, jerks=1, plm=0)
    store_night(db, "bedroom", "2026-01-06", T0 + 86400, jerks=2, plm=4)
    store = Store(db)
    record = BedroomNight(
        target_celsius=18.0,
        temperatures=tuple((T0 - 7200 + 300 * i, 20.0 - 0.02 * i) for i in range(120)),
        wind_down_at=T0 - 5400,
        no_screen_at=T0 - 3600,
        lights_out_at=T0,
        screen_on=((T0 - 3000, T0 - 2400),),
    )
    store.save_factors("bedroom", "2026-01-05", {"wind_down_minutes": 90.0})
    store.save_bedroom("bedroom", "2026-01-05", to_json(record))
    store.close()
    with_panel, without = tmp_path / "a.png", tmp_path / "b.png"
    for night, out in (("2026-01-05", with_panel), ("2026-01-06", without)):
        proc = sleepenv("report", "--data-dir", str(tmp_path), "--night", night, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
    assert read_png(with_panel).size == (WIDTH, 740)
    assert read_png(without).size == (WIDTH, HEIGHT)
