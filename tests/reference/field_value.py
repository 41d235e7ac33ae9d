"""One field's value as the general rule reads it, for every spec shape: the raw value,
converted, else the default, else a required field's problem. ``field_plan`` compiles
this per field, with readers of their own for the commonest shapes; they must equal it."""

from __future__ import annotations

from typing import Any

from syncd.core.domain import Problem
from syncd.formats.mapping import FieldSpec
from syncd.formats.values import (
    REQUIRED_EMPTY,
    SECRET_FIELDS,
    FieldValues,
    IgnoredRecord,
    Record,
)


def field_value(
    values: FieldValues, record: Record, name: str, kind: str, spec: FieldSpec, out: list[Problem]
) -> Any:
    """The converted value of one field, or None (with a Problem when that is wrong)."""
    try:
        raw = values.raw(record, spec)
    except ValueError as exc:
        out.append(Problem(name, None, str(exc)))
        return None
    try:
        result = values.convert(name, kind, spec, raw) if raw is not None else None
        if result is None and spec.default is not None:
            result = values.convert(name, kind, FieldSpec(), spec.default)
    except ValueError as exc:
        shown, reason = None if raw is None else str(raw)[:200], str(exc)
        if name in SECRET_FIELDS:
            shown, reason = "(hidden)", "not a valid value"
        severity = "ignored" if isinstance(exc, IgnoredRecord) else "error"
        out.append(Problem(name, shown, reason, severity))
        return None
    if result is None and spec.required:
        out.append(Problem(name, None, REQUIRED_EMPTY))
    return result
