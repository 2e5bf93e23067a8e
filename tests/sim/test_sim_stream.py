"""Stream faults: dropouts, duplicated and swapped frames, jittered timestamps."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sleepenv.bed.core.model import EnvelopeFrame
from sleepenv.sim import generate_night
from sleepenv.sim.stream import draw_dropouts, stream_faults


def numbered(n: int) -> Iterator[EnvelopeFrame]:
    return (EnvelopeFrame(t=float(k), hz=10.0, rms=(1.0,) * 10) for k in range(n))


def test_duplicates_and_swaps_come_at_the_drawn_rates() -> None:
    n = 40_000
    out = [f.t for f in stream_faults("k", numbered(n), 0.005, 0.004)]
    dups = sum(1 for a, b in itertools.pairwise(out) if a == b)
    swaps = sum(1 for a, b in itertools.pairwise(out) if b < a)
    assert sorted(set(out)) == [float(k) for k in range(n)]  # nothing lost
    assert len(out) == n + dups
    # binomial: mean 200 (sd 14) and 160 (sd 13)
    assert 150 <= dups <= 250
    assert 115 <= swaps <= 205
    assert all(a - b == 1.0 for a, b in itertools.pairwise(out) if b < a)  # adjacent only
    assert [f.t for f in stream_faults("k", numbered(50), 0.0, 0.0)] == [
        float(k) for k in range(50)
    ]


def test_dropouts_last_1_to_120_seconds_at_the_drawn_rate() -> None:
    expected = seen = 0.0
    durations: list[float] = []
    for seed in range(300):
        night = generate_night(seed, "noisy", hours=0.5)
        t = night.truth
        expected += night.params.dropouts_per_hour * 0.5
        seen += len(t.dropouts)
        for a, b in t.dropouts:
            assert t.start < a < b < t.end
            assert b - a == int(b - a)
            durations.append(b - a)
        for (_, b), (c, _) in itertools.pairwise(t.dropouts):
            assert b < c
    assert min(durations) >= 1.0
    assert max(durations) <= 120.0
    assert max(durations) > 60.0
    assert 0.8 * expected <= seen <= 1.1 * expected  # a few draws overlap and are skipped
    spans = draw_dropouts("x", 30.0, 0.0, 3600.0)
    assert 15 <= len(spans) <= 45


def test_a_rendered_night_has_every_fault_within_its_bounds() -> None:
    night = next(
        n
        for s in range(40)
        if (n := generate_night(s, "noisy", hours=2.0)).params.duplicate_prob > 0.003
        and n.params.swap_prob > 0.003
        and n.params.jitter_seconds > 0.015
        and n.truth.dropouts
    )
    t0 = night.truth.start
    frames = list(night.frames())
    ts = [f.t for f in frames]
    dups = sum(1 for a, b in itertools.pairwise(frames) if a == b)
    swaps = sum(1 for a, b in itertools.pairwise(ts) if b < a)
    assert dups > 0
    assert swaps > 0
    jitter = [f.t - t0 - round(f.t - t0) for f in frames]
    assert max(abs(j) for j in jitter) <= night.params.jitter_seconds <= 0.025
    assert max(abs(j) for j in jitter) > 0.5 * night.params.jitter_seconds
    seconds = {round(f.t - t0) for f in frames}
    for a, b in night.truth.dropouts:
        assert not any(a <= t0 + k < b for k in seconds)
    missing = sum(int(b - a) for a, b in night.truth.dropouts)
    assert len(seconds) == 7200 - missing
