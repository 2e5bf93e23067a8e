"""`SLEEPENV_*` variables: the same values and errors as pydantic-settings gave the settings.

The settings were a pydantic-settings BaseSettings (environment over the init values,
prefix SLEEPENV_, nesting with __); config/env.py applies its rules without importing it.
Each case builds both from the same YAML values and environment and compares them.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from pydantic import ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from sleepenv.config import env
from sleepenv.config.settings import Settings

BED = {"id": "main", "name": "Main", "sensors": [{"kind": "envelope", "topic": "bed/env"}]}
BEDS_JSON = '[{"id": "b", "name": "B", "sensors": [{"kind": "envelope", "topic": "t"}]}]'
ROOMS_JSON = '[{"id": "r", "name": "R", "beds": ["main"]}]'
MQTT_JSON = '{"host": "j", "port": 1}'
YAML: dict[str, Any] = {"mqtt": {"host": "broker", "port": 1883}, "beds": [BED]}
GUIDANCE_YAML: dict[str, Any] = {
    **YAML,
    "guidance": {
        "homeassistant": {"url": "http://ha:8123", "token": "from-yaml"},
        "bedrooms": [{"id": "room", "name": "Room", "beds": ["main"]}],
    },
}


class _Reference(BaseSettings):
    """The settings as they were: the same fields on a BaseSettings."""

    model_config = SettingsConfigDict(
        env_prefix="SLEEPENV_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    @classmethod
    def settings_customise_sources(  # as the settings had it
        cls,
        settings_cls: Any,  # noqa: ARG003
        init_settings: Any,
        env_settings: Any,
        dotenv_settings: Any,  # noqa: ARG003
        file_secret_settings: Any,  # noqa: ARG003
    ) -> tuple[Any, ...]:
        return (env_settings, init_settings)


# The same fields, so that the two cannot drift apart.
FIELDS: dict[str, Any] = {n: (f.annotation, f) for n, f in Settings.model_fields.items()}
Reference = create_model("Reference", __base__=_Reference, **FIELDS)

CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("none", {}, YAML),
    ("unrelated SLEEPENV_ variables", {"SLEEPENV_CONFIG": "x.yaml", "SLEEPENV_ADDON_X": "1"}, YAML),
    ("nested scalars", {"SLEEPENV_MQTT__PORT": "8883", "SLEEPENV_MQTT__PASSWORD": "pw"}, YAML),
    ("any case", {"sleepenv_mqtt__host": "h1", "SleepEnv_Log_Level": "DEBUG"}, YAML),
    ("top-level scalar", {"SLEEPENV_LOG_LEVEL": "WARNING"}, YAML),
    ("a bad scalar", {"SLEEPENV_LOG_LEVEL": "LOUD", "SLEEPENV_MQTT__PORT": "x"}, YAML),
    ("deeper", {"SLEEPENV_MQTT__TLS__ENABLED": "true", "SLEEPENV_MQTT__TLS__VERIFY": "0"}, YAML),
    ("JSON model merged", {"SLEEPENV_MQTT": MQTT_JSON, "SLEEPENV_MQTT__PORT": "2"}, YAML),
    ("JSON model nested", {"SLEEPENV_MQTT__TLS": '{"enabled": true}'}, YAML),
    ("JSON list", {"SLEEPENV_BEDS": BEDS_JSON}, YAML),
    ("data dir, as the image sets it", {"SLEEPENV_STORAGE__DATA_DIR": "/data"}, YAML),
    ("unknown nested key", {"SLEEPENV_MQTT__COLOUR": "red"}, YAML),
    ("empty value", {"SLEEPENV_MQTT__USERNAME": ""}, YAML),
    ("guidance token", {"SLEEPENV_GUIDANCE__HOMEASSISTANT__TOKEN": "tok"}, GUIDANCE_YAML),
    ("guidance token, no guidance", {"SLEEPENV_GUIDANCE__HOMEASSISTANT__TOKEN": "tok"}, YAML),
    ("guidance not JSON", {"SLEEPENV_GUIDANCE": "off"}, YAML),
    ("guidance JSON null", {"SLEEPENV_GUIDANCE": "null"}, GUIDANCE_YAML),
    ("a list inside", {"SLEEPENV_GUIDANCE__BEDROOMS": ROOMS_JSON}, GUIDANCE_YAML),
    ("through a list", {"SLEEPENV_GUIDANCE__BEDROOMS__NAME": "R"}, GUIDANCE_YAML),
    ("night times", {"SLEEPENV_NIGHT__START": "21:30", "SLEEPENV_NIGHT__END": "07:15"}, YAML),
    ("YAML keys in another case", {}, {"MQTT": {"host": "upper"}, "beds": [BED]}),
    ("two spellings in the YAML", {}, {"Log_Level": "DEBUG", "log_level": "ERROR", "beds": [BED]}),
    ("unknown YAML key", {"SLEEPENV_LOG_LEVEL": "ERROR"}, {**YAML, "colour": "red"}),
    ("missing beds", {"SLEEPENV_MQTT__HOST": "h"}, {}),
]  # fmt: skip
BAD_JSON = [
    {"SLEEPENV_MQTT": "{not json"},
    {"SLEEPENV_BEDS": "main"},
    {"SLEEPENV_MQTT__TLS": "yes"},
]


def _outcome(cls: Any, values: dict[str, Any]) -> Any:
    try:
        return cls(**values).model_dump()
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]


@pytest.mark.parametrize(
    ("environ", "values"), [(e, v) for _, e, v in CASES], ids=[c[0] for c in CASES]
)
def test_the_same_settings_or_errors_as_pydantic_settings(
    environ: dict[str, str], values: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.upper().startswith("SLEEPENV_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert _outcome(Settings, values) == _outcome(Reference, values)


@pytest.mark.parametrize("environ", BAD_JSON)
def test_a_value_that_is_not_json_fails_for_both(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as theirs:
        Reference(**YAML)
    with pytest.raises(env.EnvironmentValueError) as ours:
        Settings(**YAML)
    assert str(ours.value) == str(theirs.value)


def test_the_environment_wins_and_nested_values_merge() -> None:
    environ = {"SLEEPENV_MQTT__PORT": "8883", "OTHER": "x"}
    merged = env.with_environment(Settings, {"mqtt": {"host": "b", "port": 1883}}, environ)
    assert merged == {"mqtt": {"host": "b", "port": "8883"}}


def test_settings_do_not_import_pydantic_settings() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys\nfrom sleepenv.config.settings import validate\n"
        f"validate({YAML!r})\nprint('pydantic_settings' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
