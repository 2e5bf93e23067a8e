"""The only real clocks: wall time, or wall time scaled for faster-than-real-time runs."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """What the runner needs from a clock."""

    def now(self) -> float:
        """Current unix time as the service sees it."""
        ...

    async def sleep_until(self, at: float) -> None:
        """Sleep until the clock reads `at` (returns at once if it already does)."""
        ...

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        ...


class RealClock:
    """Wall-clock time."""

    speed = 1.0

    def now(self) -> float:
        """time.time()."""
        return time.time()

    async def sleep_until(self, at: float) -> None:
        """Sleep the real difference."""
        await asyncio.sleep(max(0.0, at - self.now()))


class ScaledClock:
    """Starts at `start_at` and runs `speed` times faster than real time."""

    def __init__(self, start_at: float, speed: float) -> None:
        """A clock reading `start_at` now and advancing `speed` seconds per real second."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start_at = start_at
        self._speed = speed
        self._t0 = time.monotonic()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change speed from now on, without a jump in the time it reads."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start_at, self._t0, self._speed = self.now(), time.monotonic(), speed

    def now(self) -> float:
        """Scaled time since construction, offset to `start_at`."""
        return self.start_at + (time.monotonic() - self._t0) * self._speed

    async def sleep_until(self, at: float) -> None:
        """Sleep the scaled difference."""
        await asyncio.sleep(max(0.0, (at - self.now()) / self._speed))
