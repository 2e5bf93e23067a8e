"""The one retry schedule the MQTT link, Home Assistant's API and the Supervisor share."""

from __future__ import annotations

import random

from sleepenv.addon.supervisor import SUPERVISOR_BACKOFF
from sleepenv.mqtt.backoff import OUTAGE_SHARE, Backoff


def test_the_retry_after_an_outage_waits_at_most_a_quarter_of_it() -> None:
    random.seed(7)
    for outage in (0.0, 2.0, 10.0, 40.0, 300.0):
        backoff = Backoff()
        for _ in range(20):
            delay = backoff.next_delay(outage)
            assert delay <= max(0.5, OUTAGE_SHARE * outage)
            assert delay <= 30.0
    # The first retry after a connection that held is quick.
    assert Backoff().next_delay(0.0) <= 0.5
    # A takeover loop keeps the doubling schedule.
    slow = Backoff()
    delays = [slow.next_delay() for _ in range(8)]
    assert delays[-1] >= 16.0


def test_the_supervisor_schedule_doubles_from_one_second_within_a_fifth() -> None:
    random.seed(11)
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (30, 60.0)):
        for _ in range(50):
            assert 0.8 * base <= SUPERVISOR_BACKOFF.delay(attempt) <= 1.2 * base
    # Counted per call: asking for a delay leaves the shared instance as it was.
    assert SUPERVISOR_BACKOFF.attempt == 0


def test_next_delay_counts_attempts_and_reset_starts_again() -> None:
    random.seed(3)
    backoff = Backoff(first_seconds=1.0, cap_seconds=8.0)
    delays = [backoff.next_delay() for _ in range(5)]
    for delay, ceiling in zip(delays, (1.0, 2.0, 4.0, 8.0, 8.0), strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 1.0
