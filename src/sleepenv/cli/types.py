"""Argument types and choices for the `sleepenv` command line: each says what is allowed."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from datetime import datetime

MIN_DEMO_HOURS = 0.5  # the simulator's shortest night; a test keeps them equal
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SimProfiles:
    """The simulator's profile names as argparse `choices`, read only when argparse asks.

    Importing the simulator costs about 0.1 s, which `sleepenv run` should not pay, and a
    copied list would fall behind as profiles are added.
    """

    def _names(self) -> list[str]:
        from sleepenv.sim.profiles import PROFILES  # noqa: PLC0415 - see above

        return sorted(PROFILES)

    def __iter__(self) -> Iterator[str]:
        """The names, sorted (for --help and the error message)."""
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        """True for a known profile."""
        return name in self._names()


def positive_float(text: str) -> float:
    """A finite number above zero (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a finite number above 0")
    return value


def demo_hours(text: str) -> float:
    """A night length the simulator can play (argparse type)."""
    value = positive_float(text)
    if value < MIN_DEMO_HOURS:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: {MIN_DEMO_HOURS:g} hours or more")
    return value


def iso_time(text: str) -> float:
    """An ISO date-time such as 2026-01-05T22:30, as a POSIX time (argparse type)."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        raise argparse.ArgumentTypeError(
            f"{text!r}: allowed: an ISO date and time such as 2026-01-05T22:30 "
            "(local time unless it has an offset such as +01:00)"
        ) from None


def tcp_port(text: str) -> int:
    """A TCP port number (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: 1 to 65535")
    return value
