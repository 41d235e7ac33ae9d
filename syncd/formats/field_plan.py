"""One mapping field compiled into one function per record: raw value, conversion, default
and required check, with every choice about its spec made once, not once per record.

The one way a field is read. The commonest spec shapes get a reader of their own; the rarer
ones (maps, templates, dates, enums) the general reader, ``FieldValues.raw`` then
``FieldValues.convert``. Reads records only through ``Record``, and the cells of a tabular
record's ``row`` by position once its layout says where a column is (``in_layout``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from syncd.core.domain import Problem
from syncd.formats import transforms
from syncd.formats.mapping import Expr, FieldSpec
from syncd.formats.values import (
    ALNUM,
    REQUIRED_EMPTY,
    SECRET_FIELDS,
    FieldValues,
    IgnoredRecord,
    Record,
    read_text,
)

# (record, the field's name for problems, problems) -> the converted value or None
Reader = Callable[[Record, str, list[Problem]], Any]
_Raw = Callable[[Record], str | None]
_Convert = Callable[[str, str], Any]  # (name, raw text) -> value; raises ValueError


class Constant:
    """A reader whose value is the same for every record and reports nothing: a constant
    field, or one whose columns a file lacks. Known as such, so that the record's values can
    start from it instead of calling it per record."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, _record: Record, _name: str, _out: list[Problem]) -> Any:
        return self.value


class _NoRecord:
    """Stands in for a record where a spec's value cannot depend on one (a constant)."""

    def values(self, expr: object) -> list[str]:
        raise AssertionError("a constant field read a record")

    def each(self, expr: str) -> list[Record]:
        raise AssertionError("a constant field read a record")


def field_reader(values: FieldValues, name: str, kind: str, spec: FieldSpec) -> Reader:
    """The converted value of one field of a record, or None (with a Problem when that is
    wrong), as one compiled function.

    ``name`` is the field's name when compiling; a reader of a group member is called
    with the member's own name ("images[3].url") and uses it only for problems.
    """
    generic = _general_reader(values, kind, spec)
    if spec.value is not None:
        # A constant: the same value for every record, unless reading it reports a problem.
        found: list[Problem] = []
        constant = generic(_NoRecord(), name, found)
        if found:
            return generic
        return Constant(constant)
    default = None
    if spec.default is not None:
        try:
            default = values.convert(name, kind, FieldSpec(), spec.default)
        except ValueError:
            return generic  # reported per record, as the generic path does
    convert = _converter(values, kind, spec)
    if kind != "text" or spec.map is not None:
        convert = _remembered(convert)
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

        def decided(text: str, name: str, out: list[Problem]) -> Any:
            """The field's value of its first non-empty text (stripped)."""
            if not text[0].isalnum() and not ALNUM.search(text):
                return empty(name, out)  # "-", "---", "/": CRMs write these for "none"
            return text if as_is else converted(text, name, out)

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
                if text:
                    return decided(text, name, out)
            return empty(name, out)

        def in_column(index: int) -> Reader:
            # A tabular record's cell is one plain str: ``first`` without the list of
            # values, the lookup of the expression's column and the loop, per field per row.
            def cell(record: Any, name: str, out: list[Problem]) -> Any:
                row = record.row
                if index < len(row):
                    text = row[index].strip()
                    if text:
                        return decided(text, name, out)
                return empty(name, out)

            return cell

        _IN_COLUMN[first] = (expr, in_column)
        return first
    raw = _raw_reader(values, spec)

    def read(record: Record, name: str, out: list[Problem]) -> Any:
        try:
            text = raw(record)
        except ValueError as exc:
            out.append(Problem(name, None, str(exc)))
            return None
        return empty(name, out) if text is None else converted(text, name, out)

    return read


def _general_reader(values: FieldValues, kind: str, spec: FieldSpec) -> Reader:
    """Any spec's reader: its raw value, converted, else its default, else required."""

    def read(record: Record, name: str, out: list[Problem]) -> Any:
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
                shown, reason = "(hidden)", "not a valid value"  # never echo it
            severity = "ignored" if isinstance(exc, IgnoredRecord) else "error"
            out.append(Problem(name, shown, reason, severity))
            return None
        if result is None and spec.required:
            out.append(Problem(name, None, REQUIRED_EMPTY))
        return result

    return read


def _raw_reader(values: FieldValues, spec: FieldSpec) -> _Raw:
    """``FieldValues.raw`` for one spec: for a plain expression, its first non-empty value."""
    expr = spec.expr
    if expr is None or spec.multiple != "first":
        return partial(values.raw, spec=spec)
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
            if text[0].isalnum() or ALNUM.search(text):
                return text
            return None  # "-", "---", "/": CRMs write these for "none"
        return None

    return first


# Of each field, the conversions of this many distinct texts are kept: exports repeat the
# same few statuses, housing forms, room counts and years on every record.
REMEMBERED = 512
_UNSEEN = object()


def _remembered(convert: _Convert) -> _Convert:
    """``convert`` with its results kept by text: every conversion is a pure function of
    the text and gives an immutable value. A text that fails is converted again each time,
    so its problem is reported as before, with the name of the field that read it."""
    memo: dict[str, Any] = {}

    def remembered(name: str, text: str) -> Any:
        found = memo.get(text, _UNSEEN)
        if found is not _UNSEEN:
            return found
        result = convert(name, text)
        if len(memo) < REMEMBERED:
            memo[text] = result
        return result

    return remembered


def _converter(values: FieldValues, kind: str, spec: FieldSpec) -> _Convert:
    """``FieldValues.convert`` of raw text (never empty: the raw readers return None instead)."""
    if spec.map is None:
        separator = spec.decimal_separator or values.mapping.decimal_separator
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
    return lambda name, text: values.convert(name, kind, spec, text)


# --- records of one layout (a CSV header) -------------------------------------------------

# Of each reader of a plain expression's first value: the expression, and the same reader for
# records whose cells are found by position (``in_layout``). Weak: an assembler's readers go
# with it.
_IN_COLUMN: weakref.WeakKeyDictionary[Reader, tuple[Expr, Callable[[int], Reader]]] = (
    weakref.WeakKeyDictionary()
)


def in_layout(read: Reader, column: Callable[[Expr], int | None] | None) -> Reader:
    """``read`` for the records of one layout: reading its column's cell straight by
    position (``column``: a column's position in the layout, None for one it lacks), the
    same value and problems; ``read`` itself where that does not apply."""
    if column is None or isinstance(read, Constant):
        return read  # a constant reads no cell (and is not a function: no weak reference)
    found = _IN_COLUMN.get(read)
    if found is None:
        return read
    expr, in_column = found
    index = column(expr)
    return read if index is None else in_column(index)


class _Nothing:
    """A record in which every expression is empty: what the columns a file lacks give."""

    def values(self, expr: Expr) -> list[str]:
        return []

    def each(self, expr: str) -> Sequence[Record]:
        return []


_NOTHING = _Nothing()


def _lacks_all(spec: FieldSpec, absent: Callable[[Expr], bool]) -> bool:
    expressions = spec.expressions()
    return spec.value is None and bool(expressions) and all(absent(e) for e in expressions)


def settled(read: Reader, name: str, spec: FieldSpec, absent: Callable[[Expr], bool]) -> Reader:
    """``read``, or its constant result when every column it reads is absent and reading
    nothing reports nothing (a required field still reports itself on every record)."""
    if not _lacks_all(spec, absent):
        return read
    out: list[Problem] = []
    value = read(_NOTHING, name, out)
    if out:
        return read
    return Constant(value)


def always_empty(read: Reader, name: str, spec: FieldSpec, absent: Callable[[Expr], bool]) -> bool:
    """Whether a group member's main field is empty on every record of the layout."""
    if not _lacks_all(spec, absent):
        return False
    out: list[Problem] = []
    return read(_NOTHING, name, out) is None and not out
