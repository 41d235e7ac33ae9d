"""One mapping field compiled into one function per record: raw value, conversion, default
and required check, with every choice about its spec made once, not once per record.

Gives exactly ``Assembler.value``'s result and problems; the rarer spec shapes (maps,
templates, dates, enums) go through that generic path. Reads records only through ``Record``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from syncd.domain import Problem
from syncd.formats import transforms
from syncd.formats.mapping import FieldSpec
from syncd.formats.xml_paths import CompoundText

if TYPE_CHECKING:
    from syncd.formats.assemble import Assembler, Record

# (record, the field's name for problems, problems) -> the converted value or None
Reader = Callable[["Record", str, list[Problem]], Any]
_Raw = Callable[["Record"], str | None]
_Convert = Callable[[str, str], Any]  # (name, raw text) -> value; raises ValueError

# Values never repeated in problems (kept equal to assemble.SECRET_FIELDS).
SECRET_FIELDS = frozenset({"seller.identity_number"})
# The reason of an empty required field (a partial record is exempt from it, but its key).
REQUIRED_EMPTY = "required by the mapping but empty"
_ALNUM = re.compile(r"[^\W_]")


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


class _NoRecord:
    """Stands in for a record where a spec's value cannot depend on one (a constant)."""

    def values(self, expr: object) -> list[str]:
        raise AssertionError("a constant field read a record")

    def each(self, expr: str) -> list[Record]:
        raise AssertionError("a constant field read a record")


def field_reader(assembler: Assembler, name: str, kind: str, spec: FieldSpec) -> Reader:
    """``assembler.value(record, name, kind, spec, out)`` as one compiled function.

    ``name`` is the field's name when compiling; a reader of a group member is called
    with the member's own name ("images[3].url") and uses it only for problems.
    """

    def generic(record: Record, name: str, out: list[Problem]) -> Any:
        return assembler.value(record, name, kind, spec, out)

    if spec.value is not None:
        # A constant: the same value for every record, unless reading it reports a problem.
        found: list[Problem] = []
        constant = assembler.value(_NoRecord(), name, kind, spec, found)
        if found:
            return generic
        return lambda _record, _name, _out: constant
    default = None
    if spec.default is not None:
        try:
            default = assembler.convert(name, kind, FieldSpec(), spec.default)
        except ValueError:
            return generic  # reported per record, as the generic path does
    convert = _converter(assembler, kind, spec)
    required = spec.required

    def converted(text: str, name: str, out: list[Problem]) -> Any:
        try:
            result = convert(name, text)
        except ValueError as exc:
            shown, reason = text[:200], str(exc)
            if name in SECRET_FIELDS:
                shown, reason = "(hidden)", "not a valid value"  # never echo it
            severity = "ignored" if isinstance(exc, IgnoredRecord) else "error"
            out.append(Problem(name, shown, reason, severity))
            return None
        if result is None:
            return empty(name, out)
        return result

    def empty(name: str, out: list[Problem]) -> Any:
        if default is None and required:
            out.append(Problem(name, None, REQUIRED_EMPTY))
        return default

    expr = spec.expr
    if expr is not None and spec.multiple == "first" and not spec.html:
        # The commonest shape, read in one function: the first non-empty value of expr.
        as_is = kind == "text" and spec.map is None

        def first(record: Record, name: str, out: list[Problem]) -> Any:
            for found in record.values(expr):
                value = found
                if type(found) is not str:
                    try:
                        value = read_text(found, spec)
                    except ValueError as exc:
                        out.append(Problem(name, found[:200], str(exc)))
                        return None
                text = value.strip()
                if not text:
                    continue
                if not text[0].isalnum() and not _ALNUM.search(text):
                    break  # "-", "---", "/": CRMs write these for "none"
                return text if as_is else converted(text, name, out)
            return empty(name, out)

        return first
    raw = _raw_reader(assembler, spec)

    def read(record: Record, name: str, out: list[Problem]) -> Any:
        try:
            text = raw(record)
        except ValueError as exc:
            out.append(Problem(name, None, str(exc)))
            return None
        return empty(name, out) if text is None else converted(text, name, out)

    return read


def _raw_reader(assembler: Assembler, spec: FieldSpec) -> _Raw:
    """``assembler.raw`` for one spec: for a plain expression, its first non-empty value."""
    expr = spec.expr
    if expr is None or spec.multiple != "first":
        return partial(assembler.raw, spec=spec)
    html = spec.html

    def first(record: Record) -> str | None:
        for value in record.values(expr):
            text: str | None = read_text(value, spec).strip()
            if not text:
                continue
            if html:
                text = transforms.strip_html(text).strip() or None
                if text is None:
                    return None
            if text[0].isalnum() or _ALNUM.search(text):
                return text
            return None  # "-", "---", "/": CRMs write these for "none"
        return None

    return first


def _converter(assembler: Assembler, kind: str, spec: FieldSpec) -> _Convert:
    """``assembler.convert`` of raw text (never empty: the raw readers return None instead)."""
    if spec.map is None:
        separator = spec.decimal_separator or assembler.mapping.decimal_separator
        if kind == "text":
            return lambda _name, text: text
        if kind == "int":
            return lambda _name, text: transforms.parse_int(text, separator)
        if kind == "decimal":
            return lambda _name, text: transforms.parse_decimal(text, separator)
        if kind == "coordinate":
            return lambda _name, text: transforms.parse_coordinate(text)
        if kind == "bool":
            return lambda _name, text: transforms.parse_bool(text)
    return lambda name, text: assembler.convert(name, kind, spec, text)
