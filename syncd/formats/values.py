"""One field's value of one record, as its spec says: the raw text, then its conversion.

The parts every field reader is made of (``field_plan`` compiles them per field). Knows no
file formats: records come from the readers through the small ``Record`` protocol.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
        text: str | None = None
        if spec.expr is not None:
            if spec.multiple == "first":
                for found_value in record.values(spec.expr):
                    stripped = read_text(found_value, spec).strip()
                    if stripped:
                        text = stripped
                        break
            else:
                values = record.values(spec.expr)
                found = [v for v in (read_text(v, spec).strip() for v in values) if v]
                text = spec.separator.join(found) if found else None
        elif spec.template is not None:
            text = self._fill_template(record, spec.template)
        elif spec.first_of:
            text = next((v for v in (self._first(record, e) for e in spec.first_of) if v), None)
        elif spec.concat:
            parts = [self._first(record, expr) for expr in spec.concat]
            text = spec.separator.join(p for p in parts if p) or None
        if text is not None and spec.html:
            text = transforms.strip_html(text).strip() or None
        if text is not None and not (text and text[0].isalnum()) and not ALNUM.search(text):
            return None  # "-", "---", "/": CRMs write these for "none"
        return text

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
            key = value.strip().lower()
            raw_value = value
            if key in spec.map:
                value = spec.map[key]
            elif spec.map_default is not None:
                value = spec.map_default
            else:
                known = ", ".join(sorted(spec.map)) or "nothing"
                raise ValueError(f"{value!r} is not in the map of {name} (known: {known})")
            if value == IGNORE:
                raise IgnoredRecord(
                    f"{name} {raw_value.strip()!r}: ignored on purpose by the mapping"
                )
        if value is None or value == "":
            return None  # a map may send a value to "" to mean "leave it out"
        if kind == "text":  # the commonest kind: no further checks
            return str(value)
        dec_sep = spec.decimal_separator or self.mapping.decimal_separator
        if kind in ("enum", "mode"):
            found = _FOLDED_ENUMS[name].get(str(value).strip().lower())
            if found is None:
                allowed = ENUMS[name]
                raise ValueError(f"{value!r} is not one of {', '.join(allowed)}; add a map")
            return found
        if kind == "bool":
            return value if isinstance(value, bool) else transforms.parse_bool(str(value))
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return transforms.parse_int(str(value), dec_sep)
        if kind == "decimal":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Decimal(str(value))
            return transforms.parse_decimal(str(value), dec_sep)
        if kind == "coordinate":
            return transforms.parse_coordinate(str(value))
        if kind == "date":
            return transforms.parse_date(str(value), spec.formats or self.date_formats)
        if kind == "order":
            # Image ids such as "front", "kitchen": the images keep their order of appearance.
            try:
                return transforms.parse_int(str(value), dec_sep)
            except ValueError:
                return None
        if kind == "end_time" and _CLOCK.fullmatch(str(value).strip()):
            hours, minutes = re.split(r"[:.]", str(value).strip())
            return time(int(hours), int(minutes))  # joined to the start's date
        if kind in ("datetime", "end_time"):
            return transforms.parse_datetime(str(value), spec.formats or self.date_formats)
        return str(value)
