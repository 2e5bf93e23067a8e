"""The commands' shared stop on SIGTERM/SIGINT: the callback runs, the process lives on."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from sleepenv.cli.common import STOP_SIGNALS, on_stop_signal


@pytest.mark.parametrize("sig", STOP_SIGNALS)
def test_a_stop_signal_calls_back_in_the_loop(sig: signal.Signals) -> None:
    async def main() -> bool:
        stop = asyncio.Event()
        on_stop_signal(stop.set)
        try:
            os.kill(os.getpid(), sig)
            await asyncio.wait_for(stop.wait(), timeout=5)
        finally:
            loop = asyncio.get_running_loop()
            for each in STOP_SIGNALS:
                loop.remove_signal_handler(each)
        return stop.is_set()

    assert asyncio.run(main())
