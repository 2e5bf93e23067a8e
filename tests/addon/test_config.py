"""The add-on manifest: the documented add-on rules, and every option's home in the settings.

The rules live beside this file (`manifest_rules.py`, written from Home Assistant's
add-on documentation); the community add-on linter's default-value rule and its checks
across keys are re-implemented here.
"""

from __future__ import annotations

import re
import subprocess
import types
import typing
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from sleepenv.addon.run import META_OPTIONS, OPTION_FIELDS, settings_from_options
from sleepenv.addon.supervisor import MqttService
from sleepenv.config.settings import ConfigError, Settings, validate
from tests.addon.manifest_rules import manifest_schema

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "docker/addon"
BROKER = MqttService(host="core-mosquitto", port=1883, username="addons", password="pw", ssl=False)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """docker/addon/config.yaml."""
    data = yaml.safe_load((ADDON / "config.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _linter_validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    """Draft 7, extended like the linter: a property set to its schema default is an error."""
    base_properties = jsonschema.Draft7Validator.VALIDATORS["properties"]

    def properties(
        validator: Any, props: dict[str, Any], instance: Any, schema: dict[str, Any]
    ) -> Iterator[jsonschema.ValidationError]:
        yield from base_properties(validator, props, instance, schema)
        if not isinstance(instance, dict):
            return
        for key, sub in props.items():
            if "default" in sub and key in instance and instance[key] == sub["default"]:
                message = f"'{key}' should be removed, it uses a default value"
                yield jsonschema.ValidationError(message)

    extend = typing.cast(Any, jsonschema.validators.extend)  # untyped in types-jsonschema
    cls = extend(jsonschema.Draft7Validator, {"properties": properties})
    return typing.cast(jsonschema.Draft7Validator, cls(schema))


def _extra_checks(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The linter's checks across keys or against documented keys: (errors, warnings)."""
    errors: list[str] = []
    warnings: list[str] = []
    # The image's HEALTHCHECK replaces the Supervisor's watchdog URL.
    for key in ("watchdog", "codenotary", "auto_uart"):
        if key in config:
            errors.append(f"{key} is not allowed")
    errors += [f"device {d} uses ':'" for d in config.get("devices", []) if ":" in d]
    if "tmpfs" in config and not isinstance(config["tmpfs"], bool):
        errors.append("tmpfs must be a boolean")
    if "webui" in config and "ingress" in config:
        errors.append("webui together with ingress")
    if config.get("backup") == "cold" and ({"backup_pre", "backup_post"} & config.keys()):
        errors.append("backup_pre/post with a cold backup")
    maps = [m if isinstance(m, str) else m["type"] for m in config.get("map", [])]
    kinds = {m.split(":")[0] for m in maps}
    if "config" in kinds:
        warnings.append("map config is replaced by homeassistant_config")
        if kinds & {"homeassistant_config", "addon_config"}:
            errors.append("map config combined with homeassistant_config/addon_config")
    warnings += [f"{key} is discouraged" for key in ("advanced", "full_access") if key in config]
    return errors, warnings


def test_manifest_passes_the_addon_linter(manifest: dict[str, Any]) -> None:
    """Valid against the documented rules, no key at its default, no extra-check findings."""
    problems = [e.message for e in _linter_validator(manifest_schema()).iter_errors(manifest)]
    assert problems == []
    assert _extra_checks(manifest) == ([], [])


def test_linter_rules_catch_what_they_should(manifest: dict[str, Any]) -> None:
    """The rules do fire: defaults, an unknown key, an old arch, a missing key, a bad map."""
    bad = {
        **{k: v for k, v in manifest.items() if k != "slug"},
        "init": True,
        "boot": "auto",
        "colour": "blue",
        "arch": ["armv7"],
        "map": ["addon_config:rw", "secrets:rw"],
        "services": ["mqtt:require"],
    }
    errors = list(_linter_validator(manifest_schema()).iter_errors(bad))
    messages = " ".join(e.message for e in errors)
    assert "'init' should be removed" in messages
    assert "'boot' should be removed" in messages
    assert "'colour' was unexpected" in messages
    assert "'armv7' is not one of ['aarch64', 'amd64']" in messages
    assert "'slug' is a required property" in messages
    assert {tuple(e.absolute_path) for e in errors} >= {("map", 1), ("services", 0)}
    assert len(errors) == 7
    assert _extra_checks({**manifest, "watchdog": "tcp://[HOST]:[PORT:80]", "advanced": True}) == (
        ["watchdog is not allowed"],
        ["advanced is discouraged"],
    )


def test_manifest_has_the_required_shape(manifest: dict[str, Any]) -> None:
    """The 2026 add-on rules (docs/home-assistant.md, "The add-on")."""
    assert manifest["arch"] == ["aarch64", "amd64"]
    assert manifest["init"] is False
    assert manifest["services"] == ["mqtt:need"]
    assert manifest["homeassistant_api"] is True
    assert manifest["map"] == ["addon_config:rw"]
    assert "{arch}" in manifest["image"]
    assert not (ADDON / "build.yaml").exists(), "build.yaml is retired: pin FROM in the Dockerfile"
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert version is not None
    assert manifest["version"] == version.group(1)


def test_no_other_file_is_named_like_an_addon_manifest() -> None:
    """The Supervisor would take any config.yaml/config.json for an add-on."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    manifests = [f for f in files if Path(f).name in {"config.yaml", "config.yml", "config.json"}]
    assert manifests == ["docker/addon/config.yaml"]


def test_addon_files_exist() -> None:
    """Everything the add-on store shows or the Supervisor reads."""
    for name in ("Dockerfile", "DOCS.md", "CHANGELOG.md", "apparmor.txt", "translations/en.yaml"):
        assert (ADDON / name).is_file(), name
    for name in ("icon.png", "logo.png"):
        assert (ADDON / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    repo = yaml.safe_load((ROOT / "repository.yaml").read_text())
    assert repo["name"]


def test_translations_cover_every_option(manifest: dict[str, Any]) -> None:
    """Each option has a name and description in the UI."""
    translations = yaml.safe_load((ADDON / "translations/en.yaml").read_text())
    assert set(translations["configuration"]) == set(manifest["schema"])


# --- options ↔ settings -------------------------------------------------------------

TYPE_RE = re.compile(r"^(?P<kind>\w+)(?:\((?P<arg>.*)\))?(?P<optional>\?)?$")


def _option_leaves(schema: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted option path, schema type string) for every leaf of an options schema."""
    if isinstance(schema, dict):
        for key, sub in schema.items():
            yield from _option_leaves(sub, f"{path}.{key}" if path else key)
    elif isinstance(schema, list):
        yield from _option_leaves(schema[0], f"{path}[]")
    else:
        yield path, str(schema)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type inside Optional[...], whether None is allowed)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


def _field(path: str) -> tuple[Any, Any]:
    """(annotation, FieldInfo) of a settings path such as `beds[].sensors[].topic`."""
    model: type[BaseModel] = Settings
    parts = path.split(".")
    for part in parts[:-1]:
        annotation = model.model_fields[part.removesuffix("[]")].annotation
        inner = typing.get_args(annotation)[0] if part.endswith("[]") else annotation
        model = _unwrap(inner)[0]
    info = model.model_fields[parts[-1]]
    return info.annotation, info


def _base_type(annotation: Any) -> Any:
    """The plain Python type behind Annotated[...] and Optional[...]."""
    inner, _ = _unwrap(annotation)
    while typing.get_origin(inner) is typing.Annotated:
        inner = typing.get_args(inner)[0]
    return inner


@pytest.mark.parametrize(
    ("option", "type_string"),
    list(_option_leaves(yaml.safe_load((ADDON / "config.yaml").read_text())["schema"])),
)
def test_every_option_maps_onto_a_settings_field_of_the_same_type(
    option: str, type_string: str
) -> None:
    """Each option has a settings field, and the add-on's type accepts only what it accepts."""
    match = TYPE_RE.match(type_string)
    assert match, f"{option}: cannot parse schema type {type_string!r}"
    kind, arg, optional = match["kind"], match["arg"], bool(match["optional"])
    if option in META_OPTIONS:
        assert kind in {"str", "match"}
        return
    assert option in OPTION_FIELDS, f"option {option} sets no settings field (addon.OPTION_FIELDS)"
    annotation, info = _field(OPTION_FIELDS[option])
    base = _base_type(annotation)
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    if kind == "list":
        assert typing.get_origin(base) is Literal, f"{option}: list() but field is {base}"
        # Add-on options are lower case by convention; addon.py upper-cases log_level.
        assert {str(v).lower() for v in typing.get_args(base)} == set(arg.split("|"))
    elif kind == "match":
        assert base in {str, time}, f"{option}: match() but field is {base}"
        patterns = [
            m.pattern for m in (*info.metadata, *_metadata(annotation)) if hasattr(m, "pattern")
        ]
        if base is str and patterns:
            assert arg in patterns, f"{option}: option regex differs from the field's"
        if base is time:
            adapter.validate_python("07:30")
            with pytest.raises(ValidationError):
                adapter.validate_python("7h30")
    else:
        expected = {"str": str, "bool": bool, "int": int, "float": float}[kind]
        assert base is expected, f"{option}: {kind} but field is {base}"
    # An optional option needs an optional field, except where the option's presence
    # decides whether the object exists at all (a sensor is made only when it has a topic).
    if optional and "sensors[]" not in OPTION_FIELDS[option]:
        assert not info.is_required(), (
            f"{option} is optional but {OPTION_FIELDS[option]} is required"
        )


def _metadata(annotation: Any) -> list[Any]:
    """Constraint objects inside Annotated[...] (also within Optional[...])."""
    inner, _ = _unwrap(annotation)
    return list(typing.get_args(inner)[1:]) if typing.get_origin(inner) is typing.Annotated else []


def test_every_mapped_option_appears_in_the_manifest(manifest: dict[str, Any]) -> None:
    """OPTION_FIELDS names no option the add-on does not offer."""
    offered = {path for path, _ in _option_leaves(manifest["schema"])}
    assert set(OPTION_FIELDS) | META_OPTIONS == offered


def test_default_options_make_valid_settings(manifest: dict[str, Any]) -> None:
    """A fresh install (default options, the Supervisor's broker) starts."""
    settings = validate(settings_from_options(manifest["options"], BROKER))
    assert settings.mqtt.host == "core-mosquitto"
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "pw"
    assert [b.id for b in settings.beds] == ["main"]
    assert settings.beds[0].sensors[0].kind == "envelope"


def test_each_option_lands_in_its_field() -> None:
    """Every option, set to a non-default value, shows up where OPTION_FIELDS says."""
    options = {
        "beds": [
            {
                "id": "guest",
                "name": "Guest bed",
                "timezone": "Europe/Berlin",
                "envelope_topic": "guest-sensor/envelope",
                "envelope_side": "left",
                "envelope_status_topic": "guest-sensor/status",
                "vibration_topic": "zigbee2mqtt/guest_vibration",
                "vibration_side": "right",
                "presence_topic": "zigbee2mqtt/guest_presence",
            },
            {"id": "main", "name": "Main", "vibration_topic": "zigbee2mqtt/main_bed"},
        ],
        "night_start": "19:30",
        "night_end": "11:00",
        "plm_profile": "aasm",
        "log_level": "debug",
    }
    settings = validate(settings_from_options(options, BROKER, default_timezone="Europe/Oslo"))
    guest, main = settings.beds
    assert (guest.id, guest.name, guest.timezone) == ("guest", "Guest bed", "Europe/Berlin")
    envelope, vibration = guest.sensors
    assert (envelope.kind, envelope.topic, envelope.side) == (
        "envelope",
        "guest-sensor/envelope",
        "left",
    )
    assert envelope.status_topic == "guest-sensor/status"
    assert (vibration.kind, vibration.topic, vibration.side) == (
        "zigbee_vibration",
        "zigbee2mqtt/guest_vibration",
        "right",
    )
    assert guest.presence_topic == "zigbee2mqtt/guest_presence"
    assert main.timezone == "Europe/Oslo", "beds without a zone take Home Assistant's"
    assert [s.kind for s in main.sensors] == ["zigbee_vibration"]
    assert main.presence_topic is None, "presence_topic is per bed"
    assert (settings.night.start, settings.night.end) == (time(19, 30), time(11, 0))
    assert settings.classification.plm_profile == "aasm"
    assert settings.log_level == "DEBUG"


def test_omitted_presence_and_plm_profile_keep_the_settings_defaults(
    manifest: dict[str, Any],
) -> None:
    """Without the options (or with a cleared topic) the model's defaults apply, not ours."""
    data = settings_from_options(manifest["options"], BROKER)
    assert "classification" not in data
    assert "presence_topic" not in data["beds"][0]
    settings = validate(data)
    assert settings.beds[0].presence_topic is None
    assert settings.classification.plm_profile == "wasm"
    cleared = {
        **manifest["options"],
        "beds": [{**manifest["options"]["beds"][0], "presence_topic": ""}],
    }
    assert validate(settings_from_options(cleared, BROKER)).beds[0].presence_topic is None


def test_an_unknown_plm_profile_is_refused_with_the_allowed_values(
    manifest: dict[str, Any],
) -> None:
    """The settings model refuses it and names the YAML path and both allowed rules."""
    options = {**manifest["options"], "plm_profile": "rls"}
    with pytest.raises(ConfigError) as refused:
        validate(settings_from_options(options, BROKER))
    [problem] = refused.value.problems
    assert problem.startswith("classification.plm_profile: ")
    assert "'wasm'" in problem
    assert "'aasm'" in problem


def test_a_bed_without_any_sensor_topic_is_reported() -> None:
    """The settings model, not the add-on, says what is wrong, with the YAML path."""
    with pytest.raises(ConfigError, match=r"beds\[0\]\.sensors"):
        validate(settings_from_options({"beds": [{"id": "main", "name": "Bed"}]}, BROKER))


def test_full_config_file_wins_except_for_the_broker() -> None:
    """With config_file, the file's settings are used and the Supervisor fills the broker."""
    base = {
        "mqtt": {"base_topic": "bedroom"},
        "beds": [{"id": "a", "name": "A", "sensors": [{"kind": "envelope", "topic": "x/env"}]}],
        "log_level": "WARNING",
    }
    options = {
        "beds": [{"id": "ignored", "name": "x"}],
        "log_level": "debug",
        "config_file": "/config/s.yaml",
    }
    settings = validate(settings_from_options(options, BROKER, base=base))
    assert settings.mqtt.host == "core-mosquitto"
    assert settings.mqtt.base_topic == "bedroom"
    assert [b.id for b in settings.beds] == ["a"]
    assert settings.log_level == "WARNING"
    own = validate(settings_from_options(options, BROKER, base={**base, "mqtt": {"host": "nas"}}))
    assert own.mqtt.host == "nas"
    assert own.mqtt.password is None


def test_bedtime_options_turn_on_guidance_for_the_first_bed(manifest: dict[str, Any]) -> None:
    """bedtime, wake_time and target_temperature land in the guidance section."""
    options = {
        **manifest["options"],
        "bedtime": "22:45",
        "wake_time": "06:15",
        "target_temperature": 17.5,
    }
    settings = validate(settings_from_options(options, BROKER))
    assert settings.guidance is not None
    bedroom = settings.guidance.bedrooms[0]
    assert bedroom.bed == "main"
    assert bedroom.schedule.bedtime == time(22, 45)
    assert bedroom.schedule.wake == time(6, 15)
    assert settings.guidance.climate.target_celsius == 17.5
    plain = validate(settings_from_options(manifest["options"], BROKER))
    assert plain.guidance is None
