"""The one strict settings model, its YAML loading, and readable error reports.

Loading (file → dict) and validating (dict + environment → Settings) are separate
steps; validators do no I/O. Environment variables (`SLEEPENV_MQTT__PASSWORD`, ...)
override the YAML so a container or the add-on can inject broker credentials.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sleepenv.config.rules import duplicate_ids, topic_problems
from sleepenv.guidance.settings import GuidanceSettings, Slug, StrictModel

Topic = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^#+\x00]+$")]
TopicSegment = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]


class TlsSettings(StrictModel):
    """TLS towards the broker; off unless enabled, and certificates verified when on."""

    enabled: bool = Field(default=False, description="Connect to the broker with TLS.")
    ca_file: Path | None = Field(None, description="CA bundle to trust (PEM); system CAs if unset.")
    cert_file: Path | None = Field(None, description="Client certificate (PEM) for mutual TLS.")
    key_file: Path | None = Field(None, description="Private key (PEM) for the client certificate.")
    verify: bool = Field(default=True, description="Verify the broker's certificate and host name.")

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        return self


class MqttSettings(StrictModel):
    """How to reach the MQTT broker and where to publish."""

    host: str = Field("localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port.")
    username: str | None = Field(None, description="Broker user name, if the broker needs one.")
    password: SecretStr | None = Field(None, description="Broker password; never logged.")
    tls: TlsSettings = Field(default_factory=TlsSettings, description="TLS options.")
    client_id: TopicSegment = Field("sleepenv", description="MQTT client id; unique per broker.")
    keepalive: int = Field(60, ge=5, le=3600, description="Keepalive interval in seconds.")
    discovery_prefix: TopicSegment = Field(
        "homeassistant", description="Home Assistant's MQTT discovery prefix."
    )
    base_topic: TopicSegment = Field("sleepenv", description="Prefix of every topic we publish.")


class SensorSettings(StrictModel):
    """One bed sensor and the topic it publishes on."""

    kind: Literal["envelope", "zigbee_vibration"] = Field(
        description="envelope: ESP32 envelope frames or plain numbers; "
        "zigbee_vibration: Aqara DJT11LM via Zigbee2MQTT (coarse, counts are lower bounds)."
    )
    topic: Topic = Field(description="MQTT topic the sensor publishes on (no wildcards).")
    side: Literal["left", "right", "both"] = Field(
        "both", description="Which side of the bed the sensor is under."
    )
    status_topic: Topic | None = Field(
        None, description="Topic with online/offline for the sensor (ESPHome `<node>/status`)."
    )


class BedSettings(StrictModel):
    """A bed: one Home Assistant device, with one or more sensors."""

    id: Slug = Field(description="Short id: lower-case letters, digits and _, e.g. `main`.")
    name: str = Field(min_length=1, max_length=64, description="Name shown in Home Assistant.")
    timezone: str | None = Field(
        None, description="IANA time zone, e.g. Europe/Berlin; the host's when unset."
    )
    sensors: list[SensorSettings] = Field(min_length=1, description="The bed's sensors.")
    presence_topic: Topic | None = Field(
        None,
        description="Optional bed-presence topic (ON/OFF, true/false, or JSON with "
        "`occupancy`/`presence`, e.g. a Zigbee2MQTT presence sensor); overrides occupancy "
        "from the signal.",
    )


class NightSettings(StrictModel):
    """When a night starts and ends on the bed's local clock."""

    start: time = Field(time(18, 0), description="Local time a night starts (counters reset).")
    end: time = Field(time(12, 0), description="Local time a night ends (summary is final).")
    morning: time | None = Field(
        time(4, 0),
        description="From this local time, the night closes once the sleeper has been up for "
        "20 minutes after sleeping (last night is published then); null: only at `end`.",
    )

    @model_validator(mode="after")
    def _not_equal(self) -> NightSettings:
        if self.start == self.end:
            raise ValueError("night start and end must differ")
        return self


class DetectionSettings(StrictModel):
    """Movement detector tuning; the defaults follow docs/sleep-science.md."""

    on_factor: float = Field(5.0, gt=1, le=50, description="Event on: baseline + this × noise.")
    off_factor: float = Field(2.0, gt=0, le=50, description="Event off: baseline + this × noise.")
    baseline_window_seconds: float = Field(60.0, ge=10, le=600, description="Baseline window.")
    max_gap_seconds: float = Field(1.0, gt=0, le=60, description="Longer gaps are dropouts.")
    posture_change_degrees: float = Field(10.0, gt=0, le=90, description="Posture change angle.")

    @model_validator(mode="after")
    def _hysteresis(self) -> DetectionSettings:
        if self.off_factor >= self.on_factor:
            raise ValueError("off_factor must be below on_factor")
        return self


class ClassificationSettings(StrictModel):
    """How movements are classified; the defaults follow docs/sleep-science.md."""

    plm_profile: Literal["wasm", "aasm"] = Field(
        "wasm",
        description="PLM series rule: wasm (onset-to-onset 10–90 s) or aasm (5–90 s).",
    )


class StorageSettings(StrictModel):
    """Where sleepenv keeps its SQLite store and heartbeat."""

    data_dir: Path | None = Field(
        None, description="Data directory; the platform's user data dir (or /data in the add-on)."
    )


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Everything sleepenv can be told, from YAML and `SLEEPENV_*` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="SLEEPENV_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    beds: list[BedSettings] = Field(min_length=1, description="The beds to watch.")
    night: NightSettings = Field(default_factory=NightSettings, description="Night window.")
    detection: DetectionSettings = Field(
        default_factory=DetectionSettings, description="Detector tuning."
    )
    classification: ClassificationSettings = Field(
        default_factory=ClassificationSettings, description="Movement classification."
    )
    storage: StorageSettings = Field(default_factory=StorageSettings, description="Storage.")
    log_level: LogLevel = Field("INFO", description="Log verbosity.")
    guidance: GuidanceSettings | None = Field(
        None, description="Bedtime guidance for bedrooms' lights, thermostats and screens."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        # pydantic-settings passes every source by name; only two of them are used.
        settings_cls: type[BaseSettings],  # noqa: ARG003
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, so it overrides the YAML passed in as init values."""
        return (env_settings, init_settings)


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


MAX_YAML_DEPTH = 32  # a real config is about 7 levels deep


def read_yaml(path: Path) -> dict[str, Any]:
    """Load a YAML file into a dict; ConfigError for anything unusable, duplicate keys too."""
    data, problems = load_yaml(path)
    if problems:
        raise ConfigError(problems)
    return data


def load_yaml(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Load a YAML file: the dict plus its duplicate keys (each a problem, the last one kept).

    ConfigError (one line, with the line and column where known) when the file cannot be
    read, is not UTF-8, will not parse, nests too deeply or is not a mapping.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [
                f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "save the file as UTF-8"
            ]
        ) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        problems = _scan_yaml(node, path) if node is not None else []
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}:{where}: not valid YAML: {problem}"]) from exc
    except RecursionError as exc:
        raise ConfigError(
            [f"{path}: nested more than {MAX_YAML_DEPTH} levels deep; not a sleepenv config"]
        ) from exc
    finally:
        loader.dispose()
    if data is None:
        return {}, problems
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError([f"{path}: the top level must be a mapping of keys, not a list or value"])
    return data, problems


def _scan_yaml(root: yaml.Node, path: Path) -> list[str]:
    """Duplicate keys (by YAML path) in the node tree; ConfigError when it nests too deeply."""
    found: list[tuple[int, str]] = []
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 0)]
    seen: set[int] = set()  # aliases point at nodes already walked
    while stack:
        node, where, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if depth > MAX_YAML_DEPTH:
            line = node.start_mark.line + 1
            raise ConfigError(
                [f"{path}: line {line}: nested more than {MAX_YAML_DEPTH} levels deep"]
            )
        if isinstance(node, yaml.SequenceNode):
            stack += [(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag.endswith(":merge"):
                    continue
                child = f"{where}.{key.value}" if where else key.value
                line = key.start_mark.line + 1
                if key.value in lines:
                    found.append(
                        (
                            line,
                            f"{child}: key given twice (lines {lines[key.value]} and {line}); "
                            "keep one",
                        )
                    )
                lines[key.value] = line
                stack.append((value, child, depth + 1))
    return [text for _, text in sorted(found)]


def check(data: dict[str, Any]) -> tuple[Settings | None, list[str]]:
    """Validate a loaded config (plus the environment): the settings if valid, and every
    problem found, field errors and cross-field rules together. Pure."""
    problems = duplicate_ids(data)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        return None, problems + format_errors(exc)
    return settings, problems + topic_problems(settings)


def validate(data: dict[str, Any]) -> Settings:
    """Validate a loaded config (plus the environment); ConfigError lists every problem."""
    settings, problems = check(data)
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def load_settings(path: Path) -> Settings:
    """Read and validate a YAML config file."""
    return validate(read_yaml(path))


def yaml_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a YAML path such as `beds[0].sensors[1].kind`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose field the location points into, to list allowed keys."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        nxt = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nxt is None:
            return None
        model = nxt
    return model


def _describe(loc: tuple[int | str, ...]) -> str:
    """The field's own description, which says what is allowed."""
    model = _model_at(loc)
    key = next((p for p in reversed(loc) if isinstance(p, str)), None)
    field = model.model_fields.get(key) if model and key else None
    return (field.description or "see the example config") if field else "see the example config"


def format_errors(exc: ValidationError) -> list[str]:
    """One line per problem: YAML path, what is wrong, what is allowed; never a value."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err["loc"])
        where = yaml_path(loc)
        msg = str(err["msg"])
        if err["type"] == "extra_forbidden":
            model = _model_at(loc)
            allowed = ", ".join(model.model_fields) if model else "see the example config"
            msg = f"unknown key; allowed here: {allowed}"
        elif err["type"] == "missing":
            msg = "required, but missing"
        if err["type"] in {"string_pattern_mismatch", "missing"}:
            msg = f"{msg} ({_describe(loc)})"
        lines.append(f"{where}: {msg}")
    return lines


def is_addon() -> bool:
    """True inside the Home Assistant add-on (the Supervisor gives us a token)."""
    return "SUPERVISOR_TOKEN" in os.environ
