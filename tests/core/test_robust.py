"""The trailing robust window agrees with a brute-force median and MAD."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sleepenv.core.robust import TrailingRobustWindow


@given(
    st.lists(st.integers(0, 5).map(float) | st.floats(0, 1e6), min_size=1, max_size=200),
    st.integers(1, 100),
)
def test_median_and_mad_match_brute_force(values: list[float], span_samples: int) -> None:
    window = TrailingRobustWindow(span_seconds=span_samples * 0.1)
    for value in values:
        window.add(value, 0.1)
    kept = values[-span_samples:]
    assert len(window) == len(kept)
    median = sorted(kept)[len(kept) // 2]
    assert window.median() == median
    assert window.mad() == sorted(abs(v - median) for v in kept)[len(kept) // 2]
    assert abs(window.seconds - 0.1 * len(kept)) < 1e-6


def test_empty_window_reports_zero() -> None:
    window = TrailingRobustWindow(span_seconds=1.0)
    assert (len(window), window.median(), window.mad(), window.seconds) == (0, 0.0, 0.0, 0.0)
