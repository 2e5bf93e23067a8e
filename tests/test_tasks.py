"""Ending background tasks: the caller's cancellation is never swallowed, and a task that
swallows its own is cancelled again until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

import sleepenv.tasks as tasks_module
from sleepenv.tasks import cancel_and_wait


async def slow_to_stop() -> None:
    """Takes a while to clean up after its cancellation, as a client disconnecting does."""
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.sleep(0.05)


async def swallows(times: float, counter: list[int]) -> None:
    """Swallows its first `times` cancellations (as 3.11's wait_for can), then ends; a
    negative number in `counter` ends it at the next one."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            counter.append(1)
            if len(counter) > times or min(counter) < 0:
                raise


async def test_the_callers_cancellation_is_not_swallowed() -> None:
    started = asyncio.Event()
    rounds: list[int] = []

    async def owner() -> None:
        # A loop that ends a helper task each round, as the guidance ticker does.
        while True:
            child = asyncio.create_task(slow_to_stop())
            await asyncio.sleep(0)
            started.set()
            rounds.append(1)
            await cancel_and_wait([child])

    task = asyncio.create_task(owner())
    await started.wait()
    await asyncio.sleep(0)  # the owner now waits for its child to clean up
    task.cancel()
    # With `child.cancel(); with suppress(CancelledError): await child` the owner took
    # the child's CancelledError for its own and went round again, forever.
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done
    assert task.cancelled()
    assert len(rounds) == 1


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks_module, "RECANCEL_SECONDS", 0.01)
    counter: list[int] = []
    task = asyncio.create_task(swallows(3, counter))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(cancel_and_wait([task]), 5) is True
    assert task.cancelled()
    assert len(counter) == 4


async def test_with_a_time_limit_it_gives_up_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks_module, "RECANCEL_SECONDS", 0.01)
    counter: list[int] = []
    task = asyncio.create_task(swallows(float("inf"), counter))
    await asyncio.sleep(0)
    try:
        assert await cancel_and_wait([task], seconds=0.1) is False
        assert not task.done()
        assert len(counter) >= 2  # cancelled again meanwhile
    finally:
        counter.append(-1)  # the next cancellation ends it
        assert await asyncio.wait_for(cancel_and_wait([task]), 5) is True


async def test_a_task_that_will_not_stop_is_named_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tasks_module, "RECANCEL_SECONDS", 0.01)
    monkeypatch.setattr(tasks_module, "STUCK_SECONDS", 0.05)
    counter: list[int] = []
    task = asyncio.create_task(swallows(30, counter), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="sleepenv.tasks"):
        assert await cancel_and_wait([task]) is True
    lines = [r.getMessage() for r in caplog.records if "stubborn" in r.getMessage()]
    assert len(lines) == 1
    assert "still waiting for stubborn to stop" in lines[0]


async def test_errors_stay_with_the_task_unless_asked_for() -> None:
    async def fails() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("broken on the way out")

    async def gone() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise ConnectionError("link already gone")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    assert await cancel_and_wait([task]) is True
    assert isinstance(task.exception(), RuntimeError)

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="on the way out"):
        await cancel_and_wait([task], reraise=True)

    task = asyncio.create_task(gone())
    await asyncio.sleep(0)
    assert await cancel_and_wait([task], reraise=True, ignore=(ConnectionError,)) is True


async def test_tasks_already_done_are_left_alone() -> None:
    finished = asyncio.create_task(asyncio.sleep(0, result=7))
    await finished
    assert await cancel_and_wait([finished]) is True
    assert finished.result() == 7
    assert await cancel_and_wait([]) is True


async def test_the_old_pattern_does_swallow_it() -> None:
    """The trap itself, so the first test cannot pass for a reason that has gone away."""
    started = asyncio.Event()
    rounds: list[int] = []

    async def owner() -> None:
        while len(rounds) < 3:
            child = asyncio.create_task(slow_to_stop())
            await asyncio.sleep(0)
            started.set()
            rounds.append(1)
            child.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await child

    task = asyncio.create_task(owner())
    await started.wait()
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait_for(task, 5)
    assert not task.cancelled()  # the cancellation was swallowed
    assert len(rounds) == 3
