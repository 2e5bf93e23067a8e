"""Start-up inside the Home Assistant add-on: options + Supervisor broker info → settings.

The Supervisor writes the user's options to /data/options.json and hands out the MQTT
broker on GET /services/mqtt. This module turns both into the settings dict that
`sleepenv.config.settings` validates, writes it (without the password) to a file, and execs
`sleepenv run` so the service becomes PID 1 and receives SIGTERM from the Supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from sleepenv.addon.supervisor import (
    OPTIONS_PATH,
    SUPERVISOR_URL,
    MqttService,
    SupervisorClient,
    SupervisorError,
    read_options,
)
from sleepenv.cli.common import on_stop_signal
from sleepenv.config.settings import ConfigError, read_yaml, validate

log = logging.getLogger(__name__)

# Where the generated config goes; the add-on image sets SLEEPENV_CONFIG to it so
# `sleepenv healthcheck` reads the same settings. /tmp is not part of add-on backups.
DEFAULT_OUTPUT = Path("/tmp/sleepenv/addon.yaml")  # noqa: S108 - inside the container only

# Every add-on option (config.yaml `schema`) and the settings field it sets, as
# dotted paths; `[]` marks a list item. tests/addon checks this against config.yaml and
# the settings model, so an option without a home here fails the build.
OPTION_FIELDS: dict[str, str] = {
    "beds[].id": "beds[].id",
    "beds[].name": "beds[].name",
    "beds[].timezone": "beds[].timezone",
    "beds[].envelope_topic": "beds[].sensors[].topic",
    "beds[].envelope_side": "beds[].sensors[].side",
    "beds[].envelope_status_topic": "beds[].sensors[].status_topic",
    "beds[].vibration_topic": "beds[].sensors[].topic",
    "beds[].vibration_side": "beds[].sensors[].side",
    "beds[].presence_topic": "beds[].presence_topic",
    "night_start": "night.start",
    "night_end": "night.end",
    "bedtime": "guidance.bedrooms[].schedule.bedtime",
    "wake_time": "guidance.bedrooms[].schedule.wake",
    "target_temperature": "guidance.climate.target_celsius",
    "plm_profile": "classification.plm_profile",
    "log_level": "log_level",
}
# Options that choose where settings come from rather than setting a field.
META_OPTIONS = frozenset({"config_file"})


def _sensor(kind: str, bed: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    """The sensor a bed's `<prefix>_*` options describe, or None when it has no topic."""
    topic = bed.get(f"{prefix}_topic")
    if not topic:
        return None
    sensor: dict[str, Any] = {"kind": kind, "topic": topic}
    if bed.get(f"{prefix}_side"):
        sensor["side"] = bed[f"{prefix}_side"]
    if bed.get(f"{prefix}_status_topic"):
        sensor["status_topic"] = bed[f"{prefix}_status_topic"]
    return sensor


def _bed(bed: Mapping[str, Any], default_timezone: str | None) -> dict[str, Any]:
    """One bed of the settings from one entry of the `beds` option."""
    sensors = [
        s
        for s in (
            _sensor("envelope", bed, "envelope"),
            _sensor("zigbee_vibration", bed, "vibration"),
        )
        if s is not None
    ]
    out: dict[str, Any] = {"id": bed.get("id"), "name": bed.get("name"), "sensors": sensors}
    timezone = bed.get("timezone") or default_timezone
    if timezone:
        out["timezone"] = timezone
    if bed.get("presence_topic"):
        out["presence_topic"] = bed["presence_topic"]
    return out


def mqtt_settings(service: MqttService) -> dict[str, Any]:
    """The `mqtt` section for the broker the Supervisor named."""
    mqtt: dict[str, Any] = {"host": service.host, "port": service.port}
    if service.username:
        mqtt["username"] = service.username
    if service.password:
        mqtt["password"] = service.password
    if service.ssl:
        mqtt["tls"] = {"enabled": True}
    return mqtt


def settings_from_options(
    options: Mapping[str, Any],
    service: MqttService,
    *,
    base: Mapping[str, Any] | None = None,
    default_timezone: str | None = None,
) -> dict[str, Any]:
    """The settings dict (not yet validated) for these add-on options and this broker.

    With `base` (the YAML of `config_file`) the file is used as it is, and only the
    broker comes from the Supervisor, unless the file names an `mqtt.host` itself.
    """
    if base is not None:
        data = dict(base)
        file_mqtt = dict(data.get("mqtt") or {})
        if "host" not in file_mqtt:
            data["mqtt"] = {**file_mqtt, **mqtt_settings(service)}
        return data
    data = {
        "mqtt": mqtt_settings(service),
        "beds": [_bed(bed, default_timezone) for bed in options.get("beds") or []],
        "log_level": str(options.get("log_level", "info")).upper(),
    }
    night = {
        key: options[f"night_{key}"] for key in ("start", "end") if options.get(f"night_{key}")
    }
    if night:
        data["night"] = night
    if options.get("plm_profile"):
        data["classification"] = {"plm_profile": options["plm_profile"]}
    guidance = _guidance(options, data["beds"])
    if guidance is not None:
        data["guidance"] = guidance
    return data


def _guidance(options: Mapping[str, Any], beds: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Bedtime guidance for the first bed's bedroom, when a bedtime or target is given.

    With no devices it still runs the timeline: the phase, wind-down and no-screen
    entities and the reminders. Devices need the full YAML (`config_file`).
    """
    schedule = {
        key: options[option]
        for key, option in (("bedtime", "bedtime"), ("wake", "wake_time"))
        if options.get(option)
    }
    target = options.get("target_temperature")
    if not schedule and target is None:
        return None
    first = beds[0] if beds else {}
    bedroom: dict[str, Any] = {"id": first.get("id") or "bedroom", "schedule": schedule}
    if first.get("id"):
        bedroom["bed"] = first["id"]
        bedroom["name"] = first.get("name") or "Bedroom"
    if first.get("timezone"):
        bedroom["timezone"] = first["timezone"]
    guidance: dict[str, Any] = {"bedrooms": [bedroom]}
    if target is not None:
        guidance["climate"] = {"target_celsius": target}
    return guidance


async def gather_settings(options_path: Path, supervisor_url: str, token: str) -> dict[str, Any]:
    """Read the options and ask the Supervisor for the broker (retrying until it answers)."""
    options = read_options(options_path)
    config_file = options.get("config_file")
    base = read_yaml(Path(config_file)) if config_file else None
    async with aiohttp.ClientSession() as session:
        client = SupervisorClient(session, token, supervisor_url)
        service = await client.mqtt_service()
        log.info("MQTT broker from the Supervisor: %s:%d", service.host, service.port)
        needs_zone = base is None and any(
            not bed.get("timezone") for bed in options.get("beds") or []
        )
        zone = await client.home_assistant_time_zone() if needs_zone else None
    return settings_from_options(options, service, base=base, default_timezone=zone)


def write_config(data: Mapping[str, Any], path: Path) -> dict[str, str]:
    """Write the settings without secrets; return the env vars that carry the secrets."""
    data = dict(data)
    mqtt = dict(data.get("mqtt") or {})
    env = {}
    password = mqtt.pop("password", None)
    if password:
        env["SLEEPENV_MQTT__PASSWORD"] = str(password)
    data["mqtt"] = mqtt
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return env


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sleepenv-addon", description="Start sleepenv inside the Home Assistant add-on."
    )
    parser.add_argument(
        "--options", type=Path, default=Path(os.environ.get("SLEEPENV_ADDON_OPTIONS", OPTIONS_PATH))
    )
    parser.add_argument(
        "--supervisor-url", default=os.environ.get("SLEEPENV_ADDON_SUPERVISOR_URL", SUPERVISOR_URL)
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(os.environ.get("SLEEPENV_ADDON_OUTPUT", DEFAULT_OUTPUT)),
        help="where to write the generated config",
    )
    parser.add_argument(
        "--no-exec", action="store_true", help="write the config and exit instead of running"
    )
    return parser.parse_args(argv)


async def _until_signal(coro: Any) -> Any:
    """Run `coro`, but return None at once on SIGTERM/SIGINT (the Supervisor stopping us)."""
    task = asyncio.ensure_future(coro)
    on_stop_signal(task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        return await task
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the add-on image (`sleepenv-addon`)."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token = os.environ.get("SUPERVISOR_TOKEN", "")
    if not token:
        log.error("SUPERVISOR_TOKEN is not set: sleepenv-addon runs only inside the add-on")
        return 2
    try:
        data = asyncio.run(_until_signal(gather_settings(args.options, args.supervisor_url, token)))
    except (SupervisorError, ConfigError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    if data is None:
        log.info("stopped before the Supervisor answered")
        return 0
    try:
        validate(data)
    except ConfigError as exc:
        for line in exc.problems:
            log.error("add-on configuration: %s", line)
        return 2
    env = write_config(data, args.output)
    if args.no_exec:
        print(args.output)  # noqa: T201 - the path is this mode's output
        return 0
    log.info("starting sleepenv with %s", args.output)
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process so the service is PID 1 and gets the Supervisor's SIGTERM.
    # The same interpreter, so the venv's sleepenv runs whatever PATH says.
    argv_run = [sys.executable, "-m", "sleepenv", "run", "--config", str(args.output)]
    os.execve(sys.executable, argv_run, {**os.environ, **env})  # noqa: S606 - fixed argv
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    raise SystemExit(main())
