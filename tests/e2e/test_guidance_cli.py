"""Guidance as a user meets it: `sleepenv plan` and the demo's simulated bedroom."""

from __future__ import annotations

import json
import os

from tests.e2e.test_cli import EXAMPLE, sleepenv


def test_plan_json_as_a_subprocess() -> None:
    proc = sleepenv("plan", "--config", str(EXAMPLE), "--date", "2026-03-28", "--json")
    assert proc.returncode == 0, proc.stderr
    room = json.loads(proc.stdout)["bedrooms"][0]
    starts = {p["name"]: p["start"] for p in room["phases"]}
    assert starts["lights_out"] == "2026-03-28T23:30:00+01:00"
    assert starts["wake"] == "2026-03-29T08:30:00+02:00"  # after spring-forward


def test_demo_prints_the_bedroom_timeline() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    proc = sleepenv("demo", "--hours", "1", "--speed", "600", "--seed", "4", timeout=150, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "wind-down step 1/6" in out
    assert "lights-out: off" in out
    assert "turn off  (no-screen window: enforce)" in out
    assert "manual override of brightness_pct" in out
    assert "brightness_pct held" in out
    assert "wake: day setpoint" in out
    assert "Movements per hour" in out


def test_demo_without_guidance() -> None:
    proc = sleepenv("demo", "--hours", "0.5", "--speed", "900", "--no-guidance", timeout=150)
    assert proc.returncode == 0, proc.stderr
    assert "bedroom" not in proc.stdout.split("Movements per hour")[0]
