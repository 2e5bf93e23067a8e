"""Fixtures for tests against a real Home Assistant Core (see tests/ha/harness.py).

`ha_installation` builds or reuses the cached installation once per session (the
current release; SLEEPENV_HA_RELEASES=current,floor tests the floor 2025.4.4 as well);
`ha_broker` is one Mosquitto per module; `home_assistant` is one running Home Assistant per
module, already onboarded and connected to `ha_broker`. With CI set, a Home Assistant that
cannot be built or started fails the tests; elsewhere SLEEPENV_SKIP_HA=1 skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sleepenv.mqtt.broker import MosquittoProcess, start_mosquitto

from .browser import chromium, frontend_home_assistant  # noqa: F401  (fixtures)
from .harness import HomeAssistant, HomeAssistantError, Installation, build_installation


def _unavailable(reason: str) -> None:
    """Fail in CI (and by default); skip only on an explicit local opt-out."""
    if os.environ.get("SLEEPENV_SKIP_HA") == "1" and not os.environ.get("CI"):
        pytest.skip(f"real Home Assistant tests skipped (SLEEPENV_SKIP_HA=1): {reason}")
    pytest.fail(
        f"no real Home Assistant: {reason}\n"
        "Locally, SLEEPENV_SKIP_HA=1 skips these tests (never in CI).",
        pytrace=False,
    )


def _releases() -> list[str]:
    """Which releases to test: SLEEPENV_HA_RELEASES=current (default), floor, or both."""
    value = os.environ.get("SLEEPENV_HA_RELEASES", "current")
    releases = [r.strip() for r in value.split(",") if r.strip()]
    unknown = set(releases) - {"current", "floor"}
    if unknown or not releases:
        raise pytest.UsageError(f"SLEEPENV_HA_RELEASES: unknown {sorted(unknown)} in {value!r}")
    return releases


@pytest.fixture(scope="session", params=_releases())
def ha_installation(request: pytest.FixtureRequest) -> Installation:
    """A Home Assistant release from scripts/ha-env (built once, then cached)."""
    if os.environ.get("SLEEPENV_SKIP_HA") == "1" and not os.environ.get("CI"):
        _unavailable("opted out")
    try:
        return build_installation(floor=request.param == "floor")
    except (HomeAssistantError, OSError) as exc:
        _unavailable(str(exc))
        raise  # unreachable: _unavailable always raises


@pytest.fixture(scope="module")
def ha_broker(
    ha_installation: Installation,  # noqa: ARG001 - one broker per release: see below
) -> Iterator[MosquittoProcess]:
    """One Mosquitto for a module's Home Assistant and the clients of its tests.

    Per release too (hence `ha_installation`): with SLEEPENV_HA_RELEASES=current,floor a
    module runs twice, and the second instance must not find the first one's retained
    discovery and states.
    """
    try:
        broker = start_mosquitto()
    except FileNotFoundError:
        pytest.fail("mosquitto is not installed: .ci/run installs it (apt-get install mosquitto)")
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="module")
def home_assistant(
    request: pytest.FixtureRequest, ha_installation: Installation, ha_broker: MosquittoProcess
) -> Iterator[HomeAssistant]:
    """A running, onboarded Home Assistant with its MQTT entry on `ha_broker`.

    A test module may set `HA_EXTRA_YAML` (appended to configuration.yaml) and `HA_FILES`
    (relative path -> text, e.g. blueprints) to shape its instance.
    """
    ha = HomeAssistant(
        ha_installation,
        extra_yaml=getattr(request.module, "HA_EXTRA_YAML", ""),
        files=getattr(request.module, "HA_FILES", None),
    )
    try:
        ha.start()
        ha.add_mqtt_entry(ha_broker.host, ha_broker.port)
    except (HomeAssistantError, TimeoutError) as exc:
        ha.close(keep_files=True)
        _unavailable(f"{exc}\nconfig dir kept: {ha.config_dir}")
    try:
        yield ha
    finally:
        ha.close()
