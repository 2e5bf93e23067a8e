"""The trailing robust window agrees with a brute-force median and MAD."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sleepenv.bed.core.robust import TrailingRobustWindow


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


@given(
    st.lists(
        st.tuples(
            st.floats(-1e3, 1e3) | st.integers(-3, 3).map(float), st.sampled_from([0.1, 0.05, 0.3])
        ),
        min_size=1,
        max_size=300,
    ),
    st.integers(1, 50),
    st.floats(0.5, 30.0),
)
def test_extend_is_add_one_at_a_time(
    samples: list[tuple[float, float]], chunk: int, span_seconds: float
) -> None:
    # The detector hands a frame's quiet samples over in one extend: every query after
    # it must equal, to the bit, what adding them one by one gives (seconds included).
    one_by_one = TrailingRobustWindow(span_seconds)
    for value, seconds in samples:
        one_by_one.add(value, seconds)
    chunked = TrailingRobustWindow(span_seconds)
    for i in range(0, len(samples), chunk):
        chunked.extend(samples[i : i + chunk])
    assert len(chunked) == len(one_by_one)
    assert chunked.seconds == one_by_one.seconds
    assert chunked.median() == one_by_one.median()
    assert chunked.mad() == one_by_one.mad()
    assert chunked.quantile(0.99) == one_by_one.quantile(0.99)


@given(st.lists(st.floats(-1e3, 1e3) | st.integers(-3, 3).map(float), min_size=1, max_size=120))
def test_mad_matches_brute_force_around_negative_values(values: list[float]) -> None:
    # Residuals above a local reference are negative as often as positive.
    window = TrailingRobustWindow(span_seconds=60.0)
    for value in values:
        window.add(value, 0.1)
    median = sorted(values)[len(values) // 2]
    assert window.mad() == sorted(abs(v - median) for v in values)[len(values) // 2]


@given(
    st.lists(st.floats(-1e3, 1e3) | st.integers(-3, 3).map(float), max_size=120),
    st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]),
)
def test_summary_is_median_mad_and_quantile(values: list[float], q: float) -> None:
    window = TrailingRobustWindow(span_seconds=6.0)
    window.extend([(v, 0.1) for v in values])
    assert window.summary(q) == (window.median(), window.mad(), window.quantile(q))
