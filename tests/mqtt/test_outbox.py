"""The outbox without a broker: order, coalescing, and what it refuses is counted."""

from __future__ import annotations

from sleepenv.mqtt.outbox import Outbox, Outgoing, Queued, counters


def drain(outbox: Outbox) -> list[Outgoing]:
    """Everything the outbox hands on, in its order."""
    taken = []
    while (queued := outbox.take()) is not None:
        taken.append(queued.out)
    return taken


def test_messages_beyond_the_bound_are_refused_and_counted_in_the_diagnostics() -> None:
    outbox = Outbox(max_pending_messages=2)
    for i in range(3):
        outbox.message("t/m", str(i).encode())
    assert outbox.messages_dropped == 1
    assert counters(outbox) == {"states_coalesced": 0, "outgoing_dropped": 1}
    assert [o.payload for o in drain(outbox)] == [b"0", b"1"]


def test_states_and_messages_take_turns_and_a_waiting_state_keeps_its_latest_value() -> None:
    outbox = Outbox()
    outbox.send(Outgoing("t/s", b"1", retain=True))
    outbox.send(Outgoing("t/m", b"a"))
    outbox.send(Outgoing("t/s", b"2", retain=True))
    outbox.send(Outgoing("t/m", b"b"))
    assert drain(outbox) == [
        Outgoing("t/s", b"2", retain=True),
        Outgoing("t/m", b"a"),
        Outgoing("t/m", b"b"),
    ]
    assert outbox.states_coalesced == 1
    outbox.state("t/s", b"2")  # the value last handed on: not sent again
    assert outbox.is_empty
    outbox.forget_sent()
    outbox.state("t/s", b"2")
    assert outbox.is_waiting("t/s")


def test_what_a_lost_connection_left_unacknowledged_goes_first_in_its_order() -> None:
    outbox = Outbox()
    for i in range(3):
        outbox.message("t/m", str(i).encode())
    outbox.state("t/s", b"old")
    taken = list(iter(outbox.take, None))
    outbox.message("t/m", b"3")
    outbox.state("t/s", b"new")
    outbox.put_back(reversed(taken))  # the order they come back in does not matter
    assert outbox.states_coalesced == 1  # the old state is not sent: a newer one waits
    assert [(o.topic, o.payload) for o in drain(outbox)] == [
        ("t/s", b"new"),
        ("t/m", b"0"),
        ("t/m", b"1"),
        ("t/m", b"2"),
        ("t/m", b"3"),
    ]


def test_a_taken_message_keeps_its_place_in_the_order() -> None:
    outbox = Outbox()
    outbox.message("t/m", b"x")
    queued = outbox.take()
    assert queued == Queued(Outgoing("t/m", b"x"), 1)


def test_the_publisher_hears_of_a_waiting_state_once() -> None:
    """An operation count: a state set again while it waits replaces its value without
    a new notice to the publisher; a message and a state waiting no more notify again."""
    outbox = Outbox()
    notices: list[int] = []
    outbox.on_queued = lambda: notices.append(1)
    for value in (b"1", b"2", b"3"):
        outbox.state("t/s", value)
    assert len(notices) == 1
    assert outbox.states_coalesced == 2
    outbox.message("t/m", b"a")
    assert len(notices) == 2
    assert drain(outbox) == [Outgoing("t/s", b"3", retain=True), Outgoing("t/m", b"a")]
    outbox.state("t/s", b"4")
    assert len(notices) == 3
