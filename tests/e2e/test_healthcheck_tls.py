"""Black box (issue 15, item 10): `sleepenv healthcheck` is unhealthy when the broker's TLS
certificate is not signed by the configured CA, and healthy with the right one.

`python -m sleepenv run` is a subprocess against a Mosquitto TLS listener whose CA and
server certificate the openssl CLI makes here.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from sleepenv.mqtt.broker import MosquittoProcess, free_port, wait_for_port
from tests.e2e.test_faults import healthcheck
from tests.e2e.test_run import Runner, write_config


def tool(name: str) -> str:
    """The path of a CLI tool the test needs: a failure in CI, a skip elsewhere."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if Path(p).exists()), None
    )
    if path is None:
        message = f"{name} is not installed (apt-get install {name})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def make_ca(openssl: str, directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return cert, key


def make_server_cert(openssl: str, directory: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by `ca`: (certificate, key)."""
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    subprocess.run(
        [
            openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyAgreement\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    subprocess.run(
        [
            openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext),
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return cert, key


def tls_config(path: Path, port: int, prefix: str, data_dir: Path, ca_file: Path) -> Path:
    """A user's config for the TLS listener on `port`, trusting `ca_file`."""
    write_config(path, MosquittoProcess(port=port), prefix, data_dir)
    config = yaml.safe_load(path.read_text())
    config["mqtt"]["tls"] = {"enabled": True, "ca_file": str(ca_file)}
    path.write_text(yaml.safe_dump(config))
    return path


def wait_healthcheck(
    config: Path, is_done: Callable[[int, str], bool], seconds: float = 20.0
) -> tuple[int, str]:
    """Run the healthcheck until `is_done(code, stdout)` holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        proc = healthcheck(config)
        if is_done(proc.returncode, proc.stdout) or time.monotonic() > deadline:
            return proc.returncode, proc.stdout
        time.sleep(0.5)


@pytest.mark.mqtt  # starts its own Mosquitto with a TLS listener
def test_healthcheck_is_unhealthy_when_the_brokers_certificate_is_not_from_the_ca(
    tmp_path: Path, prefix: str
) -> None:
    openssl = tool("openssl")
    mosquitto = tool("mosquitto")
    pki = tmp_path / "pki"
    pki.mkdir()
    broker_ca = make_ca(openssl, pki, "broker-ca")
    other_ca, _ = make_ca(openssl, pki, "other-ca")
    cert, key = make_server_cert(openssl, pki, broker_ca)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        # `user`: as root, Mosquitto would switch users and lose the test directory.
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        f"persistence false\ncertfile {cert}\nkeyfile {key}\n"
    )
    broker = subprocess.Popen(
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port)
        day = (datetime.now().astimezone() - timedelta(days=1)).date()
        start_at = f"{day.isoformat()}T23:00:00+01:00"
        for name, ca_file, is_healthy in (
            ("right", broker_ca[0], True),  # the listener works: TLS is what is tested
            ("wrong", other_ca, False),
        ):
            config = tls_config(tmp_path / f"{name}.yaml", port, prefix, tmp_path / name, ca_file)
            runner = Runner(config, start_at)
            runner.start()
            try:
                if is_healthy:
                    code, out = wait_healthcheck(config, lambda c, _: c == 0)
                    assert code == 0, out
                    assert out.startswith("healthy: connected, subscribed and storing"), out
                else:
                    # Until the first attempt fails the heartbeat already says "not
                    # connected ... yet"; wait for the broker's answer.
                    code, out = wait_healthcheck(config, lambda _, o: "verify failed" in o)
                    assert code == 1, out
                    assert out.startswith(
                        f"unhealthy: not connected to the MQTT broker 127.0.0.1:{port}:"
                    ), out
                    assert "certificate verify failed" in out, out
                    # It stays unhealthy while the service retries.
                    time.sleep(3)
                    proc = healthcheck(config)
                    assert proc.returncode == 1, proc.stdout
                    assert "certificate verify failed" in proc.stdout, proc.stdout
            finally:
                code, out = runner.signal(signal.SIGTERM)
            assert code == 0, out
            assert "Traceback" not in out
    finally:
        broker.terminate()
        broker.communicate(timeout=10)
