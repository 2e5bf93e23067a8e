"""Nights are a pure function of (seed, profile, hours); `start` only shifts them."""

from __future__ import annotations

import pytest

from sleepenv.sim import DEFAULT_START, PROFILES, generate_night


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_same_seed_gives_identical_truth_and_frames(profile: str) -> None:
    a = generate_night(7, profile, hours=0.5)
    b = generate_night(7, profile, hours=0.5)
    assert a.truth == b.truth
    assert list(a.frames()) == list(b.frames())
    assert list(a.zigbee_readings()) == list(b.zigbee_readings())


def test_frames_regenerate_identically_on_each_call() -> None:
    night = generate_night(3, "noisy", hours=0.5)
    first = list(night.frames())
    assert first == list(night.frames())
    assert len(first) > 0


@pytest.mark.parametrize("profile", ["clean", "noisy", "partner", "empty_bed"])
def test_different_seeds_differ(profile: str) -> None:
    a = generate_night(1, profile, hours=0.5)
    b = generate_night(2, profile, hours=0.5)
    if profile != "empty_bed":
        assert a.truth.events != b.truth.events
    assert next(iter(a.frames())).rms != next(iter(b.frames())).rms


def test_start_only_shifts_the_night() -> None:
    a = generate_night(5, "clean", hours=1.0)
    b = generate_night(5, "clean", start=DEFAULT_START + 86400.0, hours=1.0)
    assert len(a.truth.events) == len(b.truth.events)
    for ea, eb in zip(a.truth.events, b.truth.events, strict=True):
        assert eb.onset - ea.onset == pytest.approx(86400.0, abs=1e-4)
        assert eb.cls is ea.cls
    fa, fb = next(iter(a.frames())), next(iter(b.frames()))
    assert fb.t - fa.t == pytest.approx(86400.0)
    assert fa.rms == pytest.approx(fb.rms)


@pytest.mark.parametrize("profile", ["zigbee", "noisy"])
def test_zigbee_and_noisy_profiles_are_the_clean_sleeper(profile: str) -> None:
    """Paired nights: the same movements seen by another sensor, for fair comparisons."""
    clean = generate_night(11, "clean")
    other = generate_night(11, profile)
    assert other.truth.events == clean.truth.events
    assert other.truth.sleep_onset == clean.truth.sleep_onset
    assert other.truth.profile == profile
    assert other.params.gain == clean.params.gain


def test_unknown_profile_and_too_short_night_are_refused() -> None:
    with pytest.raises(ValueError, match="allowed"):
        generate_night(1, "hammock")
    with pytest.raises(ValueError, match="hours"):
        generate_night(1, "clean", hours=0.1)
