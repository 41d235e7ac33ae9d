"""Check one table of a mapping file, a field spec or a repeated group (images, viewings),
into a ``FieldSpec`` or ``GroupSpec``, each problem collected under its key.

Never raises for a bad table (``mapping_file`` reports every problem at once) and reads no
export files.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from syncd.core.errors import MappingError
from syncd.formats.mapping import ENUMS, IGNORE, REPEAT_INDEX, TODAY, FieldSpec, GroupSpec

SPEC_KEYS = frozenset(
    {
        "expr",
        "value",
        "template",
        "concat",
        "first_of",
        "separator",
        "default",
        "required",
        "map",
        "map_default",
        "formats",
        "decimal_separator",
        "html",
        "multiple",
    }
)
_SOURCES = ("expr", "value", "template", "concat", "first_of")


class Problems:
    """Every problem of one mapping file, by key, in the order found."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[str, str]] = []

    def add(self, key: str, reason: str) -> None:
        self.items.append((key, reason))

    def raise_any(self) -> None:
        if not self.items:
            return
        text = "; ".join(f"{key}: {reason}" for key, reason in self.items)
        raise MappingError(
            f"{len(self.items)} problem(s) in mapping {self.source}: {text}",
            mapping=self.source,
            field=self.items[0][0],
        )


def string_list(problems: Problems, key: str, raw: Any, reason: str) -> list[str]:
    """``raw`` when it is a list of strings, else [] and ``reason`` under ``key``."""
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        problems.add(key, reason)
        return []
    return raw


def check_decimal_separator(problems: Problems, key: str, raw: Any) -> None:
    if raw not in (None, ",", "."):
        problems.add(key, "must be ',' or '.'")


def group(  # noqa: PLR0917
    problems: Problems,
    key: str,
    raw: dict[str, Any],
    kinds: dict[str, str],
    needed: str,
    xml: bool,
    spec: Any,
    ns: dict[str, str] | None = None,
) -> GroupSpec:
    fields: dict[str, FieldSpec] = {}
    for name, value in raw.items():
        if name in ("each", "repeat", "start"):
            continue
        if name not in kinds:
            problems.add(
                f"{key}.{name}", f"unknown key (known: each, repeat, start, {', '.join(kinds)})"
            )
            continue
        fields[name] = spec(f"{key}.{name}", value, kinds[name])
    if needed not in fields:
        problems.add(f"{key}.{needed}", "missing")
    each = raw.get("each")
    if xml:
        if not isinstance(each, str):
            problems.add(f"{key}.each", "XML groups need each = XPath of the repeated element")
            each = None
        else:
            check_xpath(problems, f"{key}.each", each, ns or {})
    elif each is not None:
        problems.add(f"{key}.each", "only XML groups use each; CSV/BLM groups use repeat")
    repeat, start = raw.get("repeat", 1), raw.get("start", 1)
    if not isinstance(repeat, int) or not 1 <= repeat <= 1000:
        problems.add(f"{key}.repeat", "must be a whole number from 1 to 1000")
        repeat = 1
    if not isinstance(start, int) or start < 0:
        problems.add(f"{key}.start", "must be a whole number, 0 or more")
        start = 1
    return GroupSpec(fields=fields, each=each, repeat=repeat, start=start)


def field_spec(  # noqa: PLR0917
    problems: Problems, key: str, raw: Any, kind: str, xml: bool, ns: dict[str, str]
) -> FieldSpec:
    if isinstance(raw, bool):
        return FieldSpec(value=raw)
    if isinstance(raw, str | int):
        raw = {"expr": raw}
    if not isinstance(raw, dict):
        problems.add(key, "must be an expression, a column position or a table")
        return FieldSpec()
    _check_spec_keys(problems, key, raw)
    concat = _expression_list(problems, f"{key}.concat", raw.get("concat", []))
    first_of = _expression_list(problems, f"{key}.first_of", raw.get("first_of", []))
    mapping = raw.get("map")
    if mapping is not None and not isinstance(mapping, dict):
        problems.add(f"{key}.map", "must be a table of raw value = value")
        mapping = None
    folded = {str(k).strip().lower(): v for k, v in (mapping or {}).items()}
    if kind in ("enum", "mode"):
        _check_enum_values(problems, key, raw, folded)
    formats = string_list(
        problems, f"{key}.formats", raw.get("formats", []), "must be a list of strptime formats"
    )
    dec_sep = raw.get("decimal_separator")
    check_decimal_separator(problems, f"{key}.decimal_separator", dec_sep)
    multiple = raw.get("multiple", "first")
    if multiple not in ("first", "join"):
        problems.add(f"{key}.multiple", "must be 'first' or 'join'")
    result = FieldSpec(
        expr=raw.get("expr"),
        value=raw.get("value"),
        template=raw.get("template"),
        concat=tuple(concat),
        first_of=tuple(first_of),
        separator=str(raw.get("separator", " ")),
        default=raw.get("default"),
        required=bool(raw.get("required", False)),
        map=folded if mapping is not None else None,
        map_default=raw.get("map_default"),
        formats=tuple(formats),
        decimal_separator=dec_sep,
        html=bool(raw.get("html", False)),
        multiple=str(multiple),
    )
    _check_expressions(problems, key, result, xml, ns)
    return result


def _check_spec_keys(problems: Problems, key: str, raw: dict[str, Any]) -> None:
    """Every key known, and one source (none at all only beside a default)."""
    for name in raw:
        if name not in SPEC_KEYS:
            problems.add(f"{key}.{name}", f"unknown key (known: {', '.join(sorted(SPEC_KEYS))})")
    sources = [n for n in _SOURCES if n in raw]
    if len(sources) != 1 and not (not sources and "default" in raw):
        problems.add(key, "give exactly one of expr, value, template, concat, first_of")


def _expression_list(problems: Problems, key: str, raw: Any) -> list[Any]:
    """concat and first_of: a list (its items are checked with every other expression)."""
    if not isinstance(raw, list):
        problems.add(key, "must be a list of expressions")
        return []
    return raw


def _check_enum_values(
    problems: Problems, key: str, raw: dict[str, Any], folded: dict[str, Any]
) -> None:
    """An enum field's constant, default, map_default and map values are its enum's."""
    allowed = ENUMS.get(re.sub(r"^(?:types\.[^.]+\.)?fields\.|^mapping\.", "", key)) or ()
    for name in ("value", "default", "map_default"):
        ignoring = name == "map_default" and raw.get(name) == IGNORE
        if name in raw and raw[name] not in allowed and not ignoring:
            problems.add(f"{key}.{name}", f"must be one of {', '.join(allowed)}")
    for raw_value, value in folded.items():
        if value not in allowed and value != IGNORE:
            problems.add(f"{key}.map.{raw_value}", f"{value!r} is not one of {', '.join(allowed)}")


def _check_expressions(
    problems: Problems, key: str, spec: FieldSpec, xml: bool, ns: dict[str, str]
) -> None:
    """Text or column positions from 1 (CSV, BLM); XPaths that lxml compiles (XML)."""
    for expr in spec.expressions():
        if isinstance(expr, bool) or not isinstance(expr, str | int):
            problems.add(key, f"expression {expr!r} must be text or a column position")
        elif xml and isinstance(expr, int):
            problems.add(key, "XML mappings use XPath expressions, not column positions")
        elif isinstance(expr, int) and expr < 1:
            problems.add(key, "column positions start at 1")
        elif xml and isinstance(expr, str):
            check_xpath(problems, key, REPEAT_INDEX.sub("1", expr), ns)


# An element to evaluate each expression on once at load: lxml reports an undeclared
# namespace prefix or an unknown function only when an expression is evaluated.
_PROBE = etree.Element("probe")


def check_xpath(problems: Problems, key: str, expr: str, ns: dict[str, str]) -> None:
    try:
        etree.XPath(expr, namespaces=ns or None)(_PROBE, **{TODAY: 0.0})
    except etree.XPathError as exc:
        hint = ""
        if "namespace prefix" in str(exc):
            declared = ", ".join(sorted(ns)) or "none"
            hint = f" (declare it in [mapping.namespaces]; declared: {declared})"
        problems.add(key, f"invalid XPath {expr!r}: {exc}{hint}")
