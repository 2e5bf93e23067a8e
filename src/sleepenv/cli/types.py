"""Argument types and choices for the `sleepenv` command line: each says what is allowed."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

MIN_DEMO_HOURS = 0.5  # the simulator's shortest night; a test keeps them equal
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class LazyChoices:
    """Allowed values for argparse `choices`, read only when argparse asks (see `add_lazy_choice`).

    A copied list would fall behind the module that defines the values; importing that
    module for every command costs what `sleepenv run` should not pay.
    """

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        """`load` returns the allowed values; called on every use, so keep it an import."""
        self._load = load

    def __iter__(self) -> Iterator[str]:
        """The values (for --help and the error message)."""
        return iter(self._load())

    def __contains__(self, value: object) -> bool:
        """True for an allowed value."""
        return value in list(self._load())


def _profile_names() -> list[str]:
    # The simulator: about 0.1 s and 1.5 MiB that `sleepenv run` should not pay.
    from sleepenv.sim.profiles import PROFILES  # noqa: PLC0415 - see above

    return sorted(PROFILES)


def _detector_names() -> tuple[str, ...]:
    # The evaluation's report and metrics: only `sleepenv evaluate` needs them.
    from sleepenv.evaluation.report import DETECTOR_CHOICES  # noqa: PLC0415 - see above

    return DETECTOR_CHOICES


SIM_PROFILES = LazyChoices(_profile_names)
DETECTORS = LazyChoices(_detector_names)


def add_lazy_choice(
    parser: argparse.ArgumentParser, flag: str, choices: LazyChoices, **kwargs: Any
) -> argparse.Action:
    """`parser.add_argument(flag, choices=choices, ...)` without reading the choices now.

    argparse formats an argument's metavar as it adds it, and without a metavar of its own
    that lists the choices. A placeholder while adding, then none, so that --help still
    shows `{a,b,c}` and reads the values only when it is asked for.
    """
    action = parser.add_argument(flag, choices=choices, metavar="VALUE", **kwargs)
    action.metavar = None
    return action


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
