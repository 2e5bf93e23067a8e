"""Ending background tasks without hanging the caller.

Cancelling a task and then awaiting it under `contextlib.suppress(CancelledError)` has
two traps: a cancellation of the *caller* that arrives while it awaits is swallowed too
(the caller carries on as if nothing happened, and whoever cancelled it waits forever),
and a task that swallows its own cancellation (on Python 3.11 a `wait_for` whose inner
result is ready in the same loop turn does, and aiomqtt's publish uses one) is awaited
forever. `cancel_and_wait` avoids both: it waits with `asyncio.wait`, which never
swallows the caller's cancellation, and cancels again whatever is still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

# A task still running this long after its cancellation is cancelled again.
RECANCEL_SECONDS = 0.5
# ... and named in a warning once it has refused for this long.
STUCK_SECONDS = 5.0


async def cancel_and_wait(
    tasks: Iterable[asyncio.Future[Any]],
    *,
    seconds: float | None = None,
    reraise: bool = False,
    ignore: tuple[type[BaseException], ...] = (),
) -> bool:
    """Cancel `tasks` and wait until every one has ended; True when they all have.

    A task that is still running `RECANCEL_SECONDS` later is cancelled again. With
    `seconds`, give up after that long and return False (the tasks stay cancelled).
    A cancellation of the caller is never swallowed: it propagates at once. A task that
    failed keeps its exception for whoever owns it (a task group sees it), unless
    `reraise`: then the first one not of a type in `ignore` is raised here.
    """
    tasks = list(tasks)
    is_done = await _cancel_until_done(tasks, seconds)
    if reraise:
        for task in tasks:
            if task.done() and not task.cancelled():
                exc = task.exception()
                if exc is not None and not isinstance(exc, ignore):
                    raise exc
    return is_done


async def _cancel_until_done(tasks: list[asyncio.Future[Any]], seconds: float | None) -> bool:
    loop = asyncio.get_running_loop()
    started = loop.time()
    pending = {task for task in tasks if not task.done()}
    is_warned = False
    while pending:
        for task in pending:
            task.cancel()
        timeout = RECANCEL_SECONDS
        if seconds is not None:
            remaining = started + seconds - loop.time()
            if remaining <= 0:
                return False
            timeout = min(timeout, remaining)
        _, pending = await asyncio.wait(pending, timeout=timeout)
        if pending and not is_warned and loop.time() - started >= STUCK_SECONDS:
            is_warned = True
            log.warning(
                "still waiting for %s to stop after %.0f s; cancelling again",
                ", ".join(sorted(_name(task) for task in pending)),
                loop.time() - started,
            )
    return True


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
