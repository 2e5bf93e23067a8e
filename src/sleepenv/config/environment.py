"""Config checks that need the machine: time zones, TLS files, the data directory, and a
Home Assistant API for habit entities (the add-on's Supervisor is one).

They read the loaded YAML dict rather than the validated settings, so that `check-config`
reports an unknown time zone or a bad CA file in the same run as a typo'd key elsewhere.
Nothing here prompts: an encrypted key is refused, never handed to OpenSSL's pass-phrase
prompt.
"""

from __future__ import annotations

import os
import ssl
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from sleepenv.config.settings import Settings

ZONE_ALLOWED = "allowed: an IANA name such as Europe/Berlin or America/New_York"
PEM_MAX_BYTES = 1_000_000
CERT_BEGIN = b"-----BEGIN CERTIFICATE-----"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class UnknownZoneError(ValueError):
    """A time zone that is no IANA zone; the message is the problem line, by YAML path."""


def resolve_zone(name: str, where: str) -> tzinfo:
    """The IANA zone `name` set at YAML path `where`, or UnknownZoneError saying so.

    The one resolver for configured zones: `check-config` and the service report an
    unknown zone in the same words.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"{where}.timezone: unknown time zone {name!r} ({ZONE_ALLOWED})"
        raise UnknownZoneError(message) from None


def zone_problems(data: dict[str, Any]) -> list[str]:
    """Unknown time zones of beds and guidance bedrooms, by YAML path."""
    places = [(f"beds[{i}]", bed) for i, bed in enumerate(_list(data.get("beds")))]
    rooms = _list(_dict(data.get("guidance")).get("bedrooms"))
    places += [(f"guidance.bedrooms[{i}]", room) for i, room in enumerate(rooms)]
    lines = []
    for where, item in places:
        zone = _dict(item).get("timezone")
        if not isinstance(zone, str):
            continue  # absent, or a wrong type the model reports
        try:
            resolve_zone(zone, where)
        except UnknownZoneError as exc:
            lines.append(str(exc))
    return lines


def _read_pem(name: str, path: Path) -> tuple[bytes | None, str | None]:
    """The file's bytes, or the problem line (`mqtt.tls.<name>: ...`)."""
    if not path.is_file():
        return None, f"mqtt.tls.{name}: file not found: {path}"
    try:
        with path.open("rb") as fh:
            return fh.read(PEM_MAX_BYTES), None
    except OSError as exc:
        return None, f"mqtt.tls.{name}: cannot read {path}: {exc.strerror or exc}"


def _no_pass_phrase() -> bytes:
    """Password callback for OpenSSL: never let it prompt on the terminal."""
    return b""


def tls_problems(tls: dict[str, Any]) -> list[str]:
    """CA, certificate and key files that exist, are PEM, and load without a pass phrase."""
    if tls.get("enabled") not in (True, "true", "True", "yes", "on", 1):
        return []
    lines: list[str] = []
    paths = {
        k: Path(v) for k in ("ca_file", "cert_file", "key_file") if isinstance(v := tls.get(k), str)
    }
    texts: dict[str, bytes] = {}
    for name, path in paths.items():
        text, problem = _read_pem(name, path)
        if problem is not None:
            lines.append(problem)
        elif text is not None:
            texts[name] = text
    if "ca_file" in texts:
        lines += _ca_problems(paths["ca_file"], texts["ca_file"])
    if "cert_file" in texts and CERT_BEGIN not in texts["cert_file"]:
        lines.append(
            f"mqtt.tls.cert_file: {paths['cert_file']} holds no PEM certificate "
            f"(allowed: a PEM file with a {CERT_BEGIN.decode()} block)"
        )
    elif "key_file" in texts and "cert_file" in texts:
        lines += _key_problems(paths["cert_file"], paths["key_file"], texts["key_file"])
    return lines


def _ca_problems(path: Path, text: bytes) -> list[str]:
    allowed = f"allowed: a PEM bundle of {CERT_BEGIN.decode()} blocks"
    if CERT_BEGIN not in text:
        return [f"mqtt.tls.ca_file: {path} holds no PEM certificate ({allowed})"]
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return [f"mqtt.tls.ca_file: {path} is not a usable CA bundle: {reason} ({allowed})"]
    return []


def _key_problems(cert: Path, key: Path, text: bytes) -> list[str]:
    if b"PRIVATE KEY-----" not in text:
        return [
            f"mqtt.tls.key_file: {key} holds no PEM private key "
            "(allowed: an unencrypted PEM key with a -----BEGIN ... PRIVATE KEY----- block)"
        ]
    if b"ENCRYPTED" in text:
        return [
            f"mqtt.tls.key_file: {key} is protected by a pass phrase, which sleepenv cannot "
            "ask for (allowed: an unencrypted key; decrypt it with `openssl pkey -in KEY "
            "-out KEY.plain` and protect it with file permissions)"
        ]
    try:
        ssl.create_default_context().load_cert_chain(str(cert), str(key), _no_pass_phrase)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return [
            f"mqtt.tls.key_file: {key} does not load with mqtt.tls.cert_file {cert}: {reason} "
            "(allowed: the unencrypted PEM key that belongs to the certificate)"
        ]
    return []


def data_dir_problems(value: Any) -> list[str]:
    """A configured data directory that is a file, cannot be created or is not writable."""
    if not isinstance(value, str | Path):
        return []
    path = Path(value)
    allowed = "allowed: a directory sleepenv can create and write, or null for the default"
    if path.exists() and not path.is_dir():
        return [f"storage.data_dir: {path} is a file, not a directory ({allowed})"]
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return []
    if not existing.is_dir():
        return [f"storage.data_dir: {path} cannot be created: {existing} is a file ({allowed})"]
    if not os.access(existing, os.W_OK | os.X_OK):
        verb = "is not writable" if existing == path else f"cannot be created in {existing}"
        return [f"storage.data_dir: {path} {verb} by this user ({allowed})"]
    return []


def habit_problems(settings: Settings) -> list[str]:
    """Habit entities of bedrooms that cannot be read: no Home Assistant API is configured
    (`guidance.homeassistant.url` and `token`) and this is not the add-on, whose Supervisor
    gives one."""
    guidance = settings.guidance
    if guidance is None or os.environ.get("SUPERVISOR_TOKEN"):
        return []
    if guidance.homeassistant.url and guidance.homeassistant.token:
        return []
    lines = []
    for k, room in enumerate(guidance.bedrooms):
        for habit in ("caffeine", "exercise"):
            source = getattr(room.habits, habit)
            if source is not None:
                lines.append(
                    f"guidance.bedrooms[{k}].habits.{habit}.entity: {source.entity} is read "
                    "through Home Assistant's API, but none is configured (allowed: set "
                    "guidance.homeassistant.url and token, or run as the add-on; or remove "
                    "it and press the bedroom's button instead)"
                )
    return lines


def environment_problems(data: dict[str, Any], settings: Settings | None = None) -> list[str]:
    """Every machine-dependent problem of a loaded config, by YAML path.

    With valid `settings` their TLS and storage values are checked (environment variables
    included), and that habit entities have a Home Assistant API to be read through;
    without, the YAML's own values, so nothing waits for other fixes.
    """
    habits: list[str] = []
    if settings is not None:
        tls = settings.mqtt.tls.model_dump(mode="json")
        directory: Any = settings.storage.data_dir
        habits = habit_problems(settings)
    else:
        tls = _dict(_dict(data.get("mqtt")).get("tls"))
        directory = _dict(data.get("storage")).get("data_dir")
    return zone_problems(data) + tls_problems(tls) + data_dir_problems(directory) + habits
