"""`SLEEPENV_*` environment variables over the YAML, as pydantic-settings reads them.

`SLEEPENV_` plus a field's path joined by `__`, names in any case: `SLEEPENV_MQTT__PORT=8883`.
A value for a model, list or dict is JSON (`SLEEPENV_MQTT='{"host": "b"}'`, merged with the
nested variables); for a field that may also be None (`guidance`), a value that is not
JSON stays a string. The result is merged into the YAML's values, the environment winning,
nested mappings key by key.

These are the rules of pydantic-settings' environment source for our models, with the
sources the settings used (environment over init values). Importing pydantic-settings
cost every process that loads a config about 1.1 MiB and 40 ms (it loads every one of its
sources: dotenv, the command line, cloud secret stores); `tests/config/test_env.py`
compares the two on the same variables while pydantic-settings is installed.
"""

from __future__ import annotations

import json
import types
from collections import deque
from collections.abc import Mapping, Sequence, Set
from dataclasses import is_dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Json, Secret
from pydantic.fields import FieldInfo

PREFIX = "sleepenv_"  # names compared in lower case
DELIMITER = "__"
_COMPLEX = (BaseModel, Mapping, Sequence, Set, tuple, set, frozenset, deque)


class EnvironmentValueError(ValueError):
    """A variable for a model, list or dict whose value is not JSON."""


def with_environment(
    model: type[BaseModel], values: dict[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """`values` (the YAML's) with what `environ` sets for `model`'s fields over them."""
    init = _init_values(model, values)
    env = overrides(model, environ)
    return deep_update(init, env) if env else init


def overrides(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    """What the `SLEEPENV_*` variables in `environ` set, as nested values by field name."""
    env = {name.lower(): value for name, value in environ.items()}
    if not any(name.startswith(PREFIX) for name in env):
        return {}
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        try:
            value = _field_value(name, field, env)
        except ValueError as exc:
            raise EnvironmentValueError(
                f'error parsing value for field "{name}" from source "EnvSettingsSource"'
            ) from exc
        if value is not None:
            found[name] = value
    return found


def deep_update(mapping: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `mapping` with `update` over it, nested dicts merged key by key."""
    merged = mapping.copy()
    for key, value in update.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = deep_update(merged[key], value)
        else:
            merged[key] = value
    return merged


def _init_values(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """The YAML's top-level keys matched to the fields in any case (the first of two
    spellings wins, the other is dropped); unknown keys stay for validation to refuse."""
    out: dict[str, Any] = {}
    left = dict(values)
    for name in model.model_fields:
        matches = [key for key in values if key.lower() == name.lower()]
        if matches:
            out[name] = values[matches[0]]
            for key in matches:
                left.pop(key, None)
    out.update(left)
    return out


def _field_value(name: str, field: FieldInfo, env: dict[str, str]) -> Any:
    """One top-level field's value from the environment, or None."""
    value = env.get(PREFIX + name)
    is_complex, may_stay_text = _field_is_complex(field)
    if not is_complex:
        return value
    if value is None:
        return _explode(name, field, env) or None
    try:
        decoded = json.loads(value)
    except ValueError:
        if not may_stay_text:
            raise
        decoded = value
    if isinstance(decoded, dict):
        return deep_update(decoded, _explode(name, field, env))
    return decoded


def _explode(name: str, field: FieldInfo, env: dict[str, str]) -> dict[str, Any]:
    """The nested variables of one field (`SLEEPENV_<NAME>__A__B`) as a nested dict."""
    is_dict = field.annotation is dict or _is_subclass(get_origin(field.annotation), dict)
    prefix = PREFIX + name + DELIMITER
    result: dict[str, Any] = {}
    for env_name, env_value in env.items():
        if not env_name.startswith(prefix):
            continue
        *keys, last = env_name[len(prefix) :].split(DELIMITER)
        target: FieldInfo | Any = field
        level: Any = result
        for key in keys:
            target = _next_field(target, key)
            if isinstance(level, dict):
                level = level.setdefault(key, {})
        target = _next_field(target, last)
        value: Any = env_value
        if (target or is_dict) and env_value:
            if isinstance(target, FieldInfo):
                is_complex, may_stay_text = _field_is_complex(target)
            elif target:  # a dict's value type
                is_complex, may_stay_text = _is_complex(target, []), True
            else:  # a key of a dict
                is_complex, may_stay_text = True, True
            if is_complex:
                try:
                    value = json.loads(env_value)
                except ValueError:
                    if not may_stay_text:
                        raise
        if isinstance(level, dict):
            level[last] = value
    return result


def _next_field(field: FieldInfo | Any, key: str) -> FieldInfo | Any:
    """The field `key` names inside `field`'s type (a dict's value type for a dict)."""
    if not field:
        return None
    annotation = field.annotation if isinstance(field, FieldInfo) else field
    if _is_subclass(get_origin(annotation), dict):
        args = get_args(annotation)
        return args[-1] if args else None
    for arg in get_args(annotation):
        found = _next_field(arg, key)
        if found:
            return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, inner in annotation.model_fields.items():
            if name.lower() == key.lower():
                return inner
    return None


def _field_is_complex(field: FieldInfo) -> tuple[bool, bool]:
    """Whether a field takes JSON, and whether a value that is not JSON may stay text."""
    if _is_complex(field.annotation, field.metadata):
        return True, False
    if _is_union(field.annotation) and _union_is_complex(field.annotation, field.metadata):
        return True, True
    return False, False


def _is_complex(annotation: Any, metadata: Sequence[Any]) -> bool:
    """A model, mapping, sequence (not text), set or dataclass, perhaps Annotated."""
    if any(isinstance(m, Json) for m in metadata):  # type: ignore[misc] # as pydantic-settings
        return False
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        return _is_complex(inner, meta)
    if _is_subclass(origin, Secret):
        return False
    return (
        _is_complex_type(annotation)
        or _is_complex_type(origin)
        or hasattr(origin, "__pydantic_core_schema__")
    )


def _is_complex_type(annotation: Any) -> bool:
    if _is_subclass(annotation, (str, bytes)):
        return False
    return _is_subclass(annotation, _COMPLEX) or is_dataclass(annotation)


def _union_is_complex(annotation: Any, metadata: Sequence[Any]) -> bool:
    for arg in get_args(annotation):
        if _is_complex(arg, metadata):
            return True
        inner = arg
        while get_origin(inner) is Annotated:
            inner, *meta = get_args(inner)
            if any(isinstance(m, Json) for m in meta):  # type: ignore[misc]
                break
        else:
            if _is_union(inner) and _union_is_complex(inner, metadata):
                return True
    return False


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _is_subclass(cls: Any, parents: type | tuple[type, ...]) -> bool:
    try:
        return isinstance(cls, type) and issubclass(cls, parents)
    except TypeError:  # generic aliases
        return False
