"""The Mosquitto the demo and the tests start: its log goes to a file that is read back."""

from __future__ import annotations

import socket

import pytest

from sleepenv.mqtt.broker import free_port, start_mosquitto


def test_a_port_it_cannot_bind_fails_with_what_mosquitto_said() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))  # bound, not listening: no connection succeeds
        with pytest.raises(TimeoutError) as raised:
            start_mosquitto(port)
    message = str(raised.value)
    assert f"nothing listens on 127.0.0.1:{port}" in message
    assert "Mosquitto said:" in message
    assert "nothing" not in message.split("Mosquitto said:")[1]  # its own words are there


def test_a_running_broker_writes_its_log_to_a_file_not_a_pipe() -> None:
    broker = start_mosquitto()
    try:
        assert broker.log_path.exists()
        assert broker.log_path.parent.name.startswith("sleepenv-mosquitto-")
        with socket.create_connection((broker.host, broker.port), timeout=2):
            pass
    finally:
        broker.close()
    assert broker.log_tail() == ""  # closed: its directory is gone, and that is no error
