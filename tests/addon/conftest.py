"""Fixtures for the add-on tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.addon.fake_supervisor import FakeSupervisor


@pytest.fixture
async def supervisor() -> AsyncIterator[FakeSupervisor]:
    """A running fake Supervisor."""
    fake = FakeSupervisor()
    await fake.start()
    yield fake
    await fake.stop()
