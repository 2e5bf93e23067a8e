"""The one value type every feature shares: a message the service refused, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message the service refused, and why (counted, never fatal)."""

    reason: str
    detail: str = ""
