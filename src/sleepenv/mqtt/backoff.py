"""Capped, jittered retry delays, shared by every adapter that reconnects or retries."""

from __future__ import annotations

import random

# While an outage lasts, the next retry waits at most this share of its length so far:
# a broker back after 10 s is found within ~2.5 s, not after a doubled 16 s wait.
OUTAGE_SHARE = 0.25


class Backoff:
    """Capped, jittered backoff, reset after a good connection.

    The ceiling doubles per attempt from `first_seconds` up to `cap_seconds`; the wait is
    random in [low * ceiling, high * ceiling] for the `jitter` window (low, high). Given
    how long the outage has lasted, the ceiling grows with it (at most a quarter of it,
    so a returning broker is found promptly); without, it doubles per attempt (the slow
    schedule for a takeover loop, where retrying fast makes things worse).
    """

    def __init__(
        self,
        first_seconds: float = 0.5,
        cap_seconds: float = 30.0,
        jitter: tuple[float, float] = (0.5, 1.0),
    ) -> None:
        """Start at `first_seconds`, never let the ceiling pass `cap_seconds`."""
        self.first = first_seconds
        self.cap = cap_seconds
        self.jitter = jitter
        self.attempt = 0

    def delay(self, attempt: int, outage_seconds: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based); keeps no count.

        The ceiling is min(cap, first * 2**(attempt - 1)), and with `outage_seconds`
        also at most max(first, OUTAGE_SHARE * outage_seconds).
        """
        ceiling = min(self.cap, self.first * 2 ** (attempt - 1))
        if outage_seconds is not None:
            ceiling = min(ceiling, max(self.first, OUTAGE_SHARE * outage_seconds))
        low, high = self.jitter
        return random.uniform(ceiling * low, ceiling * high)

    def next_delay(self, outage_seconds: float | None = None) -> float:
        """The wait before the next retry, counting this attempt (see `delay`)."""
        self.attempt += 1
        return self.delay(self.attempt, outage_seconds)

    def reset(self) -> None:
        """Back to the first delay."""
        self.attempt = 0
