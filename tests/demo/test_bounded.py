"""The demo's end cannot hang: a service that does not stop, a worker thread that never
returns and an event loop that stalls are each named, and the process exits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sleepenv.demo.bounded import EXIT_STUCK, ServiceStuckError, run_bounded, stop_service


async def test_a_service_that_does_not_stop_is_named() -> None:
    release = asyncio.Event()

    async def until_released() -> None:
        await release.wait()

    service = asyncio.create_task(until_released(), name="service")
    helper = asyncio.create_task(until_released(), name="charts")
    started = time.monotonic()
    with pytest.raises(
        ServiceStuckError, match=r"within 0\.3 s \(still running: charts, service\)"
    ):
        await stop_service(service, 0.3)
    assert time.monotonic() - started < 5
    release.set()
    await asyncio.gather(service, helper)


async def test_a_service_that_stops_is_waited_for() -> None:
    stop = asyncio.Event()

    async def service() -> None:
        await stop.wait()
        await asyncio.sleep(0.05)  # its own shutdown

    task = asyncio.create_task(service(), name="service")
    stop.set()
    await stop_service(task, 5)
    assert task.done()


def test_run_bounded_returns_the_demos_exit_code_once_its_workers_end() -> None:
    async def main(_watchdog: object) -> int:
        assert await asyncio.to_thread(sum, [1, 2]) == 3
        return 7

    assert run_bounded(main, grace_seconds=2) == 7


def run_script(code: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `code` in a fresh interpreter; what it did and how long it took."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc, time.monotonic() - started


def test_a_worker_thread_that_never_returns_is_named_and_the_process_exits() -> None:
    proc, took = run_script(
        """
        import asyncio, threading
        from sleepenv.demo.bounded import run_bounded

        async def main(_watchdog):
            # A worker stuck for good (an insights computation that never ends).
            asyncio.get_running_loop().run_in_executor(None, threading.Event().wait)
            await asyncio.sleep(0.1)
            return 0

        run_bounded(main, grace_seconds=1)
        print("not reached")
        """
    )
    assert proc.returncode == EXIT_STUCK, proc.stderr
    assert "still running 1 s after the demo ended: thread sleepenv-demo-worker" in proc.stderr
    assert "not reached" not in proc.stdout
    assert took < 30


def test_a_stalled_event_loop_is_shown_and_the_broker_stopped(tmp_path: Path) -> None:
    stopped = tmp_path / "broker-stopped"
    proc, took = run_script(
        f"""
        import time
        from pathlib import Path
        from sleepenv.demo.bounded import run_bounded

        def spin_for_good():
            while True:  # code that never yields to the event loop
                time.sleep(0.01)

        async def main(watchdog):
            watchdog.on_stall(lambda: Path({str(stopped)!r}).write_text("stopped"))
            spin_for_good()
            return 0

        run_bounded(main, stall_seconds=2)
        """
    )
    assert proc.returncode == EXIT_STUCK, proc.stderr
    assert "the demo has been stuck for 2 s (its event loop does not run)" in proc.stderr
    assert "in spin_for_good" in proc.stderr  # where it is stuck
    assert stopped.read_text() == "stopped"
    assert took < 30
