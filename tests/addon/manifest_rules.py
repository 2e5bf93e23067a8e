"""The documented rules of an add-on manifest (`config.yaml`), as a draft-7 JSON Schema.

Written for this repository from Home Assistant's developer documentation, "App
configuration" (developers.home-assistant.io/docs/apps/configuration): the required keys,
and each optional key with its type and documented default. Map types are spelt as the
Supervisor reads them (`addon_config`, not the documentation's newer `app_config`).

The community add-on linter (frenck/action-addon-linter) adds one rule on top of the
schema: a key written out at its default value is an error, because it only hides what
the Supervisor would do anyway. `DEFAULTS` carries those defaults for the test.
"""

from __future__ import annotations

from typing import Any

_BOOL: dict[str, Any] = {"type": "boolean"}
_STR: dict[str, Any] = {"type": "string"}
_STR_LIST: dict[str, Any] = {"type": "array", "items": _STR}
_STR_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STR}

# Folders the Supervisor can bind-mount, as `type` or `type:rw` / `type:ro`.
MAP_TYPES = (
    "addon_config",
    "addons",
    "all_addon_configs",
    "backup",
    "config",
    "data",
    "homeassistant_config",
    "media",
    "share",
    "ssl",
)
_MAP_ENTRY: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "pattern": f"^({'|'.join(MAP_TYPES)})(:(rw|ro))?$"},
        {
            "type": "object",
            "properties": {"type": {"enum": list(MAP_TYPES)}, "read_only": _BOOL, "path": _STR},
            "required": ["type"],
            "additionalProperties": False,
        },
    ]
}
_CAPABILITIES = (
    "BPF",
    "CHECKPOINT_RESTORE",
    "DAC_READ_SEARCH",
    "IPC_LOCK",
    "NET_ADMIN",
    "NET_RAW",
    "PERFMON",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
)
_ULIMIT: dict[str, Any] = {
    "anyOf": [
        {"type": "integer"},
        {
            "type": "object",
            "properties": {"soft": {"type": "integer"}, "hard": {"type": "integer"}},
            "required": ["soft", "hard"],
            "additionalProperties": False,
        },
    ]
}

REQUIRED: dict[str, dict[str, Any]] = {
    "name": _STR,
    "version": _STR,
    "slug": _STR,
    "description": _STR,
    # Home Assistant supports 64-bit ARM and x86 only since 2025.12.
    "arch": {"type": "array", "items": {"enum": ["aarch64", "amd64"]}, "minItems": 1},
}

# Booleans that are off unless the add-on asks for them.
_OFF_BY_DEFAULT = (
    *("host_network", "host_ipc", "host_dbus", "host_pid", "host_uts"),
    *("hassio_api", "homeassistant_api", "docker_api", "auth_api", "full_access"),
    *("audio", "video", "gpio", "usb", "uart", "udev", "devicetree", "kernel_modules"),
    *("stdin", "legacy", "ingress", "ingress_stream", "realtime", "journald", "tmpfs"),
)

# key: (schema, documented default); None where the documentation gives no default.
OPTIONAL: dict[str, tuple[dict[str, Any], Any]] = {
    **dict.fromkeys(_OFF_BY_DEFAULT, (_BOOL, False)),
    "init": (_BOOL, True),
    "panel_admin": (_BOOL, True),
    "apparmor": ({"type": ["boolean", "string"]}, True),
    "startup": (
        {"enum": ["initialize", "system", "services", "application", "once"]},
        "application",
    ),
    "boot": ({"enum": ["auto", "manual", "manual_only"]}, "auto"),
    "hassio_role": (
        {"enum": ["default", "homeassistant", "backup", "manager", "admin"]},
        "default",
    ),
    "backup": ({"enum": ["hot", "cold"]}, "hot"),
    "stage": ({"enum": ["stable", "experimental", "deprecated"]}, "stable"),
    "timeout": ({"type": "integer", "minimum": 0}, 10),
    "ingress_port": ({"type": "integer", "minimum": 0, "maximum": 65535}, 8099),
    "ingress_entry": (_STR, "/"),
    "panel_icon": (_STR, "mdi:puzzle"),
    "machine": ({"type": "array", "items": {"type": "string", "pattern": "^!?[a-z0-9-]+$"}}, None),
    "url": (_STR, None),
    "webui": (_STR, None),
    "watchdog": (_STR, None),
    "homeassistant": (_STR, None),
    "image": (_STR, None),
    "panel_title": (_STR, None),
    "backup_pre": (_STR, None),
    "backup_post": (_STR, None),
    "ports": (
        {
            "type": "object",
            "additionalProperties": {
                "anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, {"type": "null"}]
            },
        },
        None,
    ),
    "ports_description": (_STR_MAP, None),
    # A path on the host only: no `host:container` mapping.
    "devices": ({"type": "array", "items": {"type": "string", "pattern": "^[^:]+$"}}, None),
    "privileged": ({"type": "array", "items": {"enum": list(_CAPABILITIES)}}, None),
    "map": ({"type": "array", "items": _MAP_ENTRY}, None),
    "environment": ({"type": "object"}, None),
    "options": ({"type": "object"}, None),
    "schema": ({"type": ["object", "boolean"]}, None),
    "discovery": (_STR_LIST, None),
    "services": (
        {"type": "array", "items": {"pattern": "^(mqtt|mysql):(provide|want|need)$"}},
        None,
    ),
    "backup_exclude": (_STR_LIST, None),
    "breaking_versions": (_STR_LIST, None),
    "ulimits": ({"type": "object", "additionalProperties": _ULIMIT}, None),
}

DEFAULTS: dict[str, Any] = {key: d for key, (_, d) in OPTIONAL.items() if d is not None}


def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema: required keys, typed optional keys, nothing else."""
    properties = {**REQUIRED}
    for key, (schema, default) in OPTIONAL.items():
        properties[key] = schema if default is None else {**schema, "default": default}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": list(REQUIRED),
        "properties": properties,
        "additionalProperties": False,
    }
