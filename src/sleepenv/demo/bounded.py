"""The demo's event loop, which cannot hang: a stalled loop and a stuck end are named.

`asyncio.run` waits without limit, after the demo, for every task still running and for
every thread of its executor (the insights' worker): a task that swallows its
cancellation or a thread that never returns would keep the demo up, silently, for good.
Here the service gets SERVICE_STOP_SECONDS to stop; what is still running after another
grace period is named on stderr and the process exits. And since the demo, its broker
client and the service share one event loop, code that never yields (a loop that does
not end) would freeze all of it without a word: a watchdog thread notices the loop has
not run for LOOP_STALL_SECONDS, prints where every thread is, stops the broker and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The service stops its workers (2 s), flushes and says `offline` (3 s): well within.
SERVICE_STOP_SECONDS = 15.0
GRACE_SECONDS = 5.0
EXIT_STUCK = 3
EXIT_TERMINATED = 128 + signal.SIGTERM
THREAD_PREFIX = "sleepenv-demo-worker"
# Nothing the demo runs keeps the loop busy for more than a few seconds, even on a slow
# and busy machine.
LOOP_STALL_SECONDS = 60.0
HEARTBEAT_SECONDS = 1.0


class ServiceStuckError(RuntimeError):
    """The service did not stop in time; the message names what still runs."""


class Watchdog:
    """Exits the process, saying where it is stuck, when the event loop has not run for
    `stall_seconds`; what is registered with `on_stall` (the broker's stop) runs first."""

    def __init__(self, stall_seconds: float = LOOP_STALL_SECONDS) -> None:
        self.stall_seconds = stall_seconds
        self._cleanups: list[Callable[[], object]] = []
        self._last_beat = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="sleepenv-demo-watchdog", daemon=True
        )

    def on_stall(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` (from the watchdog's thread) before exiting on a stall."""
        self._cleanups.append(cleanup)

    def start(self) -> None:
        """Start watching; the loop must run `heartbeat` from now on."""
        self._last_beat = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._done.set()
        self._thread.join()

    async def heartbeat(self) -> None:
        """Tell the watchdog the loop runs, every HEARTBEAT_SECONDS, until cancelled."""
        while True:
            self._last_beat = time.monotonic()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def _watch(self) -> None:
        while not self._done.wait(HEARTBEAT_SECONDS):
            if time.monotonic() - self._last_beat > self.stall_seconds:
                self._stalled()

    def _stalled(self) -> None:
        sys.stdout.flush()
        sys.stderr.write(
            f"sleepenv: the demo has been stuck for {self.stall_seconds:g} s (its event loop "
            "does not run); where each thread is:\n"
        )
        sys.stderr.flush()
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        for cleanup in self._cleanups:
            # Whatever goes wrong here, the process must still exit.
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(EXIT_STUCK)


def running_tasks() -> list[str]:
    """The names of the tasks of the running loop that are still running, but this one."""
    me = asyncio.current_task()
    return sorted(t.get_name() for t in asyncio.all_tasks() if t is not me and not t.done())


async def stop_service(task: asyncio.Task[None], timeout_seconds: float) -> None:
    """Wait for the service's task (its stop already asked for), at most `timeout_seconds`;
    ServiceStuckError naming what still runs after that."""
    done, _ = await asyncio.wait({task}, timeout=timeout_seconds)
    if not done:
        names = ", ".join(running_tasks()) or "nothing named"
        msg = f"the service did not stop within {timeout_seconds:g} s (still running: {names})"
        raise ServiceStuckError(msg)
    task.result()


def run_bounded(
    main: Callable[[Watchdog], Coroutine[Any, Any, int]],
    *,
    grace_seconds: float = GRACE_SECONDS,
    stall_seconds: float = LOOP_STALL_SECONDS,
) -> int:
    """Run `main(watchdog)` like `asyncio.run` (Ctrl-C cancels it) under a watchdog, then
    give what it left running `grace_seconds` to end; when something does not, say what
    and exit the process."""
    watchdog = Watchdog(stall_seconds)
    runner = asyncio.Runner()
    loop = runner.get_loop()
    executor = ThreadPoolExecutor(thread_name_prefix=THREAD_PREFIX)
    loop.set_default_executor(executor)

    terminated = asyncio.Event()

    async def watched() -> int:
        me = asyncio.current_task()
        if me is not None:

            def on_sigterm() -> None:
                terminated.set()
                me.cancel()

            # As Ctrl-C: the demo unwinds, so its broker stops instead of being orphaned
            # (`--keep-running` hands SIGTERM to its own wait later).
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        beat = asyncio.create_task(watchdog.heartbeat(), name="demo-heartbeat")
        try:
            return await main(watchdog)
        finally:
            beat.cancel()

    watchdog.start()
    try:
        return runner.run(watched())
    except asyncio.CancelledError:
        if not terminated.is_set():
            raise
        return EXIT_TERMINATED
    finally:
        stuck = _wind_down(loop, executor, grace_seconds)
        watchdog.stop()
        if stuck:
            sys.stdout.flush()
            sys.stderr.write(
                f"sleepenv: still running {grace_seconds:g} s after the demo ended: "
                f"{', '.join(stuck)}; exiting without waiting for it\n"
            )
            sys.stderr.flush()
            # A thread cannot be stopped, and the interpreter would wait for it at exit.
            os._exit(EXIT_STUCK)
        runner.close()


def _wind_down(
    loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor, grace_seconds: float
) -> list[str]:
    """Cancel the loop's remaining tasks and end the executor, within `grace_seconds`;
    what did not end."""
    deadline = time.monotonic() + grace_seconds
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=grace_seconds))
    stuck = [f"task {t.get_name()}" for t in pending if not t.done()]
    executor.shutdown(wait=False, cancel_futures=True)
    workers = [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
    for thread in workers:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck += [f"thread {t.name}" for t in workers if t.is_alive()]
    return stuck
