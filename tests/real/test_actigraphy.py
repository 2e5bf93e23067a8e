"""Sleep-period logic on real wrist actigraphy with a sleep diary (pyActigraphy's test data).

The recordings ship inside the PyPI package pyActigraphy (GPL-3.0). They are fetched into a
cache outside the repository, hash-checked, and read straight from the wheel: nothing is
committed and the package is never imported. Skipped when the wheel cannot be fetched.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sleepenv.bed.core.model import MovementClass, MovementEvent
from sleepenv.bed.core.sleep import main_sleep_period

WHEEL = "pyActigraphy-1.2.2-py3-none-any.whl"
SHA256 = "3199b8dde42f044f887f11ca333f60e85c4213dcc5bde742a4ecd2ca2c4d8e7f"
DATA = "pyActigraphy/tests/data/"
# Actiware's published wake scoring: a weighted sum over ±2 one-minute epochs against the
# "medium" threshold of 40 counts. Used as is (not tuned here); bench/README.md shows the
# low (20) and high (80) thresholds too.
WEIGHTS = (0.04, 0.2, 2.0, 0.2, 0.04)
MEDIUM_THRESHOLD = 40.0
ONSET_TOLERANCE_MINUTES = 60.0


def _cache_dir() -> Path:
    base = os.environ.get("SLEEPENV_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "sleepenv-testdata"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def wheel() -> zipfile.ZipFile:
    """The hash-checked wheel, downloaded once into the cache."""
    cache = _cache_dir()
    path = cache / WHEEL
    if not path.exists() or _sha256(path) != SHA256:
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache)]
        result = subprocess.run(
            [*cmd, "pyActigraphy==1.2.2"], capture_output=True, text=True, timeout=180, check=False
        )
        if result.returncode != 0 or not path.exists():
            why = f"cannot download {WHEEL}: {result.stderr.strip()[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(why)  # CI reaches the package index: never skip there
            pytest.skip(why)
    assert _sha256(path) == SHA256, "the downloaded wheel is not the one this test expects"
    return zipfile.ZipFile(path)


def read_awd(wheel: zipfile.ZipFile, name: str) -> tuple[float, list[int]]:
    """Start (unix, the recording's clock read as UTC) and per-minute activity counts."""
    lines = wheel.read(DATA + name).decode().splitlines()
    assert lines[3].strip() == "4", "epoch code 4 = 60 s"
    start = datetime.strptime(f"{lines[1].strip()} {lines[2].strip()} +0000", "%d-%b-%Y %H:%M %z")
    counts = [int(line.split()[0]) for line in lines[7:] if line.strip()]
    return start.timestamp(), counts


def read_diary_nights(wheel: zipfile.ZipFile, name: str) -> list[tuple[datetime, datetime]]:
    """The diary's NIGHT rows (start, end) from the ODS spreadsheet's content.xml."""
    content = zipfile.ZipFile(wheel.open(DATA + name)).read("content.xml").decode()
    rows = re.findall(
        r"<text:p>NIGHT</text:p>.*?<text:p>([0-9: -]+)</text:p>.*?<text:p>([0-9: -]+)</text:p>",
        content,
        re.S,
    )
    return [
        (
            datetime.fromisoformat(a).replace(tzinfo=UTC),
            datetime.fromisoformat(b).replace(tzinfo=UTC),
        )
        for a, b in rows
    ]


def movement_minutes(start: float, counts: list[int], threshold: float) -> list[MovementEvent]:
    """One movement per minute scored as wake by Actiware's weighted sum."""
    events = []
    for i in range(len(counts)):
        score = sum(
            w * counts[i + k - 2] for k, w in enumerate(WEIGHTS) if 0 <= i + k - 2 < len(counts)
        )
        if score > threshold:
            t = start + 60.0 * i
            events.append(MovementEvent(t, t + 59.0, float(counts[i]), MovementClass.LIMB_MOVEMENT))
    return events


def onset_errors_minutes(wheel: zipfile.ZipFile, threshold: float) -> list[float | None]:
    """Main-sleep-period onset minus the diary's night start, per diary night."""
    start, counts = read_awd(wheel, "example_01.AWD")
    events = movement_minutes(start, counts, threshold)
    errors: list[float | None] = []
    for night_start, _ in read_diary_nights(wheel, "example_01_sleepdiary.ods"):
        day = night_start if night_start.hour >= 12 else night_start - timedelta(days=1)
        lo = day.replace(hour=18, minute=0).timestamp()
        hi = (day + timedelta(days=1)).replace(hour=12, minute=0).timestamp()
        period = main_sleep_period(events, lo, hi)
        errors.append(None if period is None else (period[0] - night_start.timestamp()) / 60.0)
    return errors


def test_main_sleep_period_matches_the_diary_on_most_nights(wheel: zipfile.ZipFile) -> None:
    errors = onset_errors_minutes(wheel, MEDIUM_THRESHOLD)
    assert len(errors) == 10
    close = [e for e in errors if e is not None and abs(e) <= ONSET_TOLERANCE_MINUTES]
    # Measured: 7 of 10 (errors -40, +170, -25, -49, +67, +8, +18, +8, +196, -20 min).
    assert len(close) * 2 > len(errors), f"onset errors (min): {errors}"
