"""One field's value of one record, as its spec says: the raw text, then its conversion.

The parts every field reader is made of (``field_plan`` compiles them per field). Knows no
file formats: records come from the readers through the small ``Record`` protocol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from datetime import time
from decimal import Decimal
from typing import Any, Protocol

from syncd.formats import transforms
from syncd.formats.mapping import ENUMS, IGNORE, PLACEHOLDER, Expr, FieldSpec, Mapping
from syncd.formats.xml_paths import CompoundText

# Values never repeated in problems, logs or reports.
SECRET_FIELDS = frozenset({"seller.identity_number"})
# The reason of an empty required field (a partial record is exempt from it, but its key).
REQUIRED_EMPTY = "required by the mapping but empty"
# Template, concat and first_of parts: an element holding elements is refused there too.
_PARTS = FieldSpec()
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}")
# str.isalnum() as a regex (\w without the underscore), for "-", "---", "/" (see raw).
ALNUM = re.compile(r"[^\W_]")
_BLANKS = re.compile(r"[ \t]{2,}")
# Enum values by their lower-case spelling, built once rather than per converted value.
_FOLDED_ENUMS = {name: {a.lower(): a for a in allowed} for name, allowed in ENUMS.items()}


class Record(Protocol):
    """What a reader hands over: values of an expression, and repeated sub-records."""

    def values(self, expr: Expr) -> list[str]: ...

    def each(self, expr: str) -> Sequence[Record]: ...


class IgnoredRecord(ValueError):
    """A value the mapping maps to "@ignore": the record is left out on purpose."""


def read_text(value: str, spec: FieldSpec) -> str:
    """``value`` as a field reads it. An element that only holds elements is joined when
    the spec says ``multiple = "join"``, and otherwise a ValueError: its string value
    ("5080" of min 50, max 80) is never a value of its own."""
    if not isinstance(value, CompoundText) or not value.strip():
        return value
    if spec.multiple == "join":
        return spec.separator.join(value.parts)
    inside = ", ".join(value.tags) or "elements"
    raise ValueError(
        f"the element holds elements ({inside}), not a value of its own: read one of them "
        f'(e.g. ".../{value.tags[0] if value.tags else "child"}"), or set multiple = "join"'
    )


class FieldValues:
    """Raw values and their conversion for one mapping (its separators, date formats and
    templates)."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.date_formats = mapping.date_formats or transforms.DEFAULT_DATE_FORMATS
        self._templates: dict[str, tuple[str, ...]] = {}

    def _first(self, record: Record, expr: Expr) -> str | None:
        for value in record.values(expr):
            text = read_text(value, _PARTS).strip()
            if text:
                return text
        return None

    def raw(self, record: Record, spec: FieldSpec) -> Any:
        """The value before conversion: text, a typed constant, or None when empty."""
        if spec.value is not None:
            return spec.value
        text = self._source_text(record, spec)
        if text is not None and spec.html:
            text = transforms.strip_html(text).strip() or None
        if text is not None and not (text and text[0].isalnum()) and not ALNUM.search(text):
            return None  # "-", "---", "/": CRMs write these for "none"
        return text

    def _source_text(self, record: Record, spec: FieldSpec) -> str | None:
        """The text of the spec's one source (expr, template, first_of or concat)."""
        if spec.expr is not None:
            return _expr_text(record, spec.expr, spec)
        if spec.template is not None:
            return self._fill_template(record, spec.template)
        if spec.first_of:
            return next((v for v in (self._first(record, e) for e in spec.first_of) if v), None)
        if spec.concat:
            parts = [self._first(record, expr) for expr in spec.concat]
            return spec.separator.join(p for p in parts if p) or None
        return None

    def _fill_template(self, record: Record, template: str) -> str | None:
        """The template with its placeholders filled; None when every one is empty."""
        parts = self._templates.get(template)
        if parts is None:
            # split() alternates literal text and placeholder expressions: lit, expr, lit, ...
            parts = self._templates[template] = tuple(PLACEHOLDER.split(template))
        pieces: list[str] = []
        filled = False
        for position, part in enumerate(parts):
            if position % 2 == 0:
                pieces.append(part)
                continue
            value = self._first(record, part)
            if value is not None:
                filled = True
                pieces.append(value)
        if not filled:
            return None
        return _BLANKS.sub(" ", "".join(pieces)).strip(" ,;-")

    def convert(self, name: str, kind: str, spec: FieldSpec, value: Any) -> Any:
        """Typed value of a raw value; raises ValueError with the reason."""
        if spec.map is not None and isinstance(value, str):
            value = _mapped(name, spec.map, spec.map_default, value)
        if value is None or value == "":
            return None  # a map may send a value to "" to mean "leave it out"
        if kind == "text":  # the commonest kind: no further checks
            return str(value)
        to_kind = _CONVERTERS.get(kind)
        return str(value) if to_kind is None else to_kind(self, name, spec, value)

    def decimal_separator_of(self, spec: FieldSpec) -> str | None:
        """The spec's own decimal separator, else the mapping's (None: the ambiguity rule)."""
        return spec.decimal_separator or self.mapping.decimal_separator

    def date_formats_of(self, spec: FieldSpec) -> tuple[str, ...]:
        """The spec's own date formats, else the mapping's, else the defaults."""
        return spec.formats or self.date_formats


def _expr_text(record: Record, expr: Expr, spec: FieldSpec) -> str | None:
    """An expression's first non-empty value, or all of them joined (``multiple = "join"``)."""
    if spec.multiple == "first":
        for found_value in record.values(expr):
            stripped = read_text(found_value, spec).strip()
            if stripped:
                return stripped
        return None
    found = [v for v in (read_text(v, spec).strip() for v in record.values(expr)) if v]
    return spec.separator.join(found) if found else None


def _mapped(name: str, table: MappingABC[str, Any], map_default: Any, value: str) -> Any:
    """``value`` through a spec's map (or its map_default); IgnoredRecord for "@ignore"."""
    key = value.strip().lower()
    if key in table:
        result = table[key]
    elif map_default is not None:
        result = map_default
    else:
        known = ", ".join(sorted(table)) or "nothing"
        raise ValueError(f"{value!r} is not in the map of {name} (known: {known})")
    if result == IGNORE:
        raise IgnoredRecord(f"{name} {value.strip()!r}: ignored on purpose by the mapping")
    return result


# --- one converter per field kind (a value that is neither None, "" nor of kind "text") ---


def _enum(_values: FieldValues, name: str, _spec: FieldSpec, value: Any) -> Any:
    found = _FOLDED_ENUMS[name].get(str(value).strip().lower())
    if found is None:
        allowed = ENUMS[name]
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}; add a map")
    return found


def _bool(_values: FieldValues, _name: str, _spec: FieldSpec, value: Any) -> Any:
    return value if isinstance(value, bool) else transforms.parse_bool(str(value))


def _int(values: FieldValues, _name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return transforms.parse_int(str(value), values.decimal_separator_of(spec))


def _decimal(values: FieldValues, _name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return transforms.parse_decimal(str(value), values.decimal_separator_of(spec))


def _coordinate(_values: FieldValues, _name: str, _spec: FieldSpec, value: Any) -> Any:
    return transforms.parse_coordinate(str(value))


def _date(values: FieldValues, _name: str, spec: FieldSpec, value: Any) -> Any:
    return transforms.parse_date(str(value), values.date_formats_of(spec))


def _datetime(values: FieldValues, _name: str, spec: FieldSpec, value: Any) -> Any:
    return transforms.parse_datetime(str(value), values.date_formats_of(spec))


def _order(values: FieldValues, _name: str, spec: FieldSpec, value: Any) -> Any:
    # Image ids such as "front", "kitchen": the images keep their order of appearance.
    try:
        return transforms.parse_int(str(value), values.decimal_separator_of(spec))
    except ValueError:
        return None


def _end_time(values: FieldValues, name: str, spec: FieldSpec, value: Any) -> Any:
    if _CLOCK.fullmatch(str(value).strip()):
        hours, minutes = re.split(r"[:.]", str(value).strip())
        return time(int(hours), int(minutes))  # joined to the start's date
    return _datetime(values, name, spec, value)


_CONVERTERS: dict[str, Callable[[FieldValues, str, FieldSpec, Any], Any]] = {
    "enum": _enum,
    "mode": _enum,
    "bool": _bool,
    "int": _int,
    "decimal": _decimal,
    "coordinate": _coordinate,
    "date": _date,
    "order": _order,
    "end_time": _end_time,
    "datetime": _datetime,
}
