"""A tiny declarative schema for request bodies: validates parsed JSON and renders JSON Schema.

One description feeds both the sandbox's 400 ValidationError answers and its OpenAPI
document, so the two cannot drift. Knows nothing about HTTP, listings or state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
MAX_STRING = 10_000
MAX_ITEMS = 200


class SchemaViolation(Exception):
    """The value does not fit the schema; ``field`` is a dotted path into the body."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}" if field_path else message)
        self.field = field_path
        self.message = message


@dataclass(frozen=True)
class Str:
    enum: tuple[str, ...] = ()
    pattern: str | None = None  # "date" or "date-time"
    min_length: int = 0
    max_length: int = MAX_STRING


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Num:
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Arr:
    items: Spec
    max_items: int = MAX_ITEMS


@dataclass(frozen=True)
class Obj:
    properties: Mapping[str, Spec]
    required: tuple[str, ...] = ()
    # Fields that may be sent as null (PATCH clears them); everything else must be typed.
    nullable_fields: bool = False


Spec = Str | Int | Num | Bool | Arr | Obj


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate(spec: Spec, value: Any, path: str = "") -> Any:
    """Return ``value`` if it fits ``spec``; raise SchemaViolation naming the first misfit."""
    if isinstance(spec, Obj):
        return _validate_obj(spec, value, path)
    if isinstance(spec, Arr):
        if not isinstance(value, list):
            raise SchemaViolation(path, "must be an array")
        if len(value) > spec.max_items:
            raise SchemaViolation(path, f"must have at most {spec.max_items} items")
        return [validate(spec.items, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(spec, Bool):
        if not isinstance(value, bool):
            raise SchemaViolation(path, "must be a boolean")
        return value
    if isinstance(spec, Int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaViolation(path, "must be an integer")
        _check_range(path, value, spec.minimum, spec.maximum)
        return value
    if isinstance(spec, Num):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SchemaViolation(path, "must be a number")
        _check_range(path, value, spec.minimum, spec.maximum)
        return value
    return _validate_str(spec, value, path)


def _check_range(path: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise SchemaViolation(path, f"must be at least {low}")
    if high is not None and value > high:
        raise SchemaViolation(path, f"must be at most {high}")


def _validate_str(spec: Str, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SchemaViolation(path, "must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates survive json.loads but cannot be stored or echoed back.
        raise SchemaViolation(path, "must be valid Unicode text") from None
    if len(value) < spec.min_length:
        raise SchemaViolation(path, f"must have at least {spec.min_length} characters")
    if len(value) > spec.max_length:
        raise SchemaViolation(path, f"must have at most {spec.max_length} characters")
    if spec.enum and value not in spec.enum:
        raise SchemaViolation(path, f"must be one of {', '.join(spec.enum)}")
    if spec.pattern == "date" and not (_DATE.match(value) and _is_real(date, value)):
        raise SchemaViolation(path, "must be a real calendar date YYYY-MM-DD")
    if spec.pattern == "date-time" and not (_DATETIME.match(value) and _is_real(datetime, value)):
        raise SchemaViolation(path, "must be a real ISO-8601 date-time")
    return value


def _is_real(kind: type[date], value: str) -> bool:
    """The shape was checked by a pattern; this checks the calendar and the clock
    (2026-02-30, month 13, 99:99 and an offset of +25:00 all fit the pattern)."""
    try:
        kind.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return True


def _validate_obj(spec: Obj, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaViolation(path, "must be an object")
    for name in value:
        if name not in spec.properties:
            raise SchemaViolation(_join(path, name), "is not a known field")
    for name in spec.required:
        if value.get(name) is None:
            raise SchemaViolation(_join(path, name), "is required")
    out: dict[str, Any] = {}
    for name, raw in value.items():
        if raw is None:
            if spec.nullable_fields and name not in spec.required:
                out[name] = None
                continue
            raise SchemaViolation(_join(path, name), "must not be null")
        out[name] = validate(spec.properties[name], raw, _join(path, name))
    return out


def json_schema(spec: Spec, *, nullable: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.0 schema object for ``spec``."""
    out: dict[str, Any]
    if isinstance(spec, Obj):
        out = {
            "type": "object",
            "properties": {
                k: json_schema(v, nullable=spec.nullable_fields and k not in spec.required)
                for k, v in spec.properties.items()
            },
            "additionalProperties": False,
        }
        if spec.required:
            out["required"] = list(spec.required)
    elif isinstance(spec, Arr):
        out = {"type": "array", "items": json_schema(spec.items), "maxItems": spec.max_items}
    elif isinstance(spec, Bool):
        out = {"type": "boolean"}
    elif isinstance(spec, Int | Num):
        out = {"type": "integer" if isinstance(spec, Int) else "number"}
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
    else:
        out = {"type": "string", "maxLength": spec.max_length}
        if spec.min_length:
            out["minLength"] = spec.min_length
        if spec.enum:
            out["enum"] = list(spec.enum)
        if spec.pattern:
            out["format"] = spec.pattern
    if nullable:
        out["nullable"] = True
    return out


def enum_of(values: Sequence[str]) -> Str:
    return Str(enum=tuple(values))
