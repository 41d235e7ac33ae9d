"""Mapping files: how one export format's records become canonical listing fields.

Loads and validates a TOML mapping into frozen data (every problem named by file and key).
Reads no export files and converts no values; see ``assemble`` for that.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import logging
import re
import tomllib
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from syncd.domain import (
    HousingForm,
    ImageRightTerms,
    ListingStatus,
    PhotoAgency,
    SellerType,
    Tenure,
)
from syncd.errors import MappingError

log = logging.getLogger(__name__)

FORMATS = ("xml", "csv", "blm")

# Every canonical field a mapping can fill, with the kind of value it takes.
FIELD_KINDS: dict[str, str] = {
    "listing_key": "text",
    "agency_key": "text",
    # The agency's own facts, when the export carries them (OpenImmo's <firma>, say).
    "agency.name": "text",
    "agency.organisation_number": "text",
    "status": "enum",
    "address.street": "text",
    "address.postal_code": "text",
    "address.city": "text",
    "address.municipality": "text",
    "address.apartment_number": "text",
    "coordinates.latitude": "coordinate",
    "coordinates.longitude": "coordinate",
    "housing_form": "enum",
    "tenure": "enum",
    "asking_price": "int",
    "monthly_fee": "int",
    "operating_cost": "int",
    "living_area": "decimal",
    "supplemental_area": "decimal",
    "plot_area": "decimal",
    "rooms": "decimal",
    "floor": "int",
    "construction_year": "int",
    "energy_class": "text",
    "new_construction": "bool",
    "title": "text",
    "description": "text",
    "broker.name": "text",
    "broker.email": "text",
    "broker.phone": "text",
    "seller.name": "text",
    "seller.email": "text",
    "seller.identity_number": "text",
    "seller.seller_type": "enum",
    "billing.recipient_name": "text",
    "billing.street": "text",
    "billing.postal_code": "text",
    "billing.city": "text",
    "sale.price": "int",
    "sale.price_is_public": "bool",
    "sale.sold_on": "date",
    # Bildrätt: one per listing; sent when any of these is given (docs/mappings.md).
    "image_right.terms": "enum",
    "image_right.photo_agency": "enum",
    "image_right.photo_agency_name": "text",
    "image_right.photographer": "text",
    # Not a listing field: the currency of the money fields (SEK when not given).
    "currency": "text",
}
MONEY_FIELDS = ("asking_price", "monthly_fee", "operating_cost", "sale.price")
# The number fields a mapping may give its own plausibility limit (domain.PLAUSIBLE_MAX).
LIMIT_FIELDS = (*MONEY_FIELDS, "living_area", "supplemental_area", "plot_area", "rooms")
ENUMS: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in ListingStatus),
    "housing_form": tuple(s.value for s in HousingForm),
    "tenure": tuple(s.value for s in Tenure),
    "seller.seller_type": tuple(s.value for s in SellerType),
    "image_right.terms": tuple(s.value for s in ImageRightTerms),
    "image_right.photo_agency": tuple(s.value for s in PhotoAgency),
    "mode": ("full", "incremental"),
}
IMAGE_KINDS: dict[str, str] = {
    "url": "text",
    "caption": "text",
    "order": "order",  # a number; a non-numeric id orders by appearance
    "floor_plan": "bool",
    "revision": "text",
}
VIEWING_KINDS: dict[str, str] = {"starts_at": "datetime", "ends_at": "end_time", "note": "text"}
REQUIRED_FIELDS = ("listing_key", "agency_key", "status", "address.street")

_SPEC_KEYS = frozenset(
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
_MAPPING_KEYS = frozenset(
    {
        "name",
        "description",
        "format",
        "record",
        "namespaces",
        "encoding",
        "delimiter",
        "header",
        "base_url",
        "mode",
        "date_formats",
        "decimal_separator",
        "partial",
        "not_records",
        "limits",
        "currency_rates",
    }
)
_TYPE_KEYS = frozenset({"fields", "partial"})
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# The XPath variable holding the current date as a number (20261205): "upcoming until".
TODAY = "today"
# A map value (or map_default) that means "ignore this record on purpose": counted as
# ignored, not as an error (a rental in a feed of homes for sale).
IGNORE = "@ignore"
_REPEAT_INDEX = re.compile(r"\{n(?::(0?\d+)d?)?\}")

Expr = str | int  # XPath / column name, or a 1-based column position


@dataclass(frozen=True)
class FieldSpec:
    """Where one value comes from and how its text is read."""

    expr: Expr | None = None
    value: Any = None  # constant
    template: str | None = None  # "{geo/strasse} {geo/hausnummer}"
    concat: tuple[Expr, ...] = ()
    first_of: tuple[Expr, ...] = ()  # the first expression that gives a non-empty value
    separator: str = " "
    default: Any = None
    required: bool = False
    map: MappingABC[str, Any] | None = None  # raw value (case-insensitive) -> value
    map_default: Any = None  # for a raw value the map does not know; None: an error
    formats: tuple[str, ...] = ()
    decimal_separator: str | None = None
    html: bool = False
    multiple: str = "first"  # "first" non-empty value, or "join" them with separator

    def expressions(self) -> list[Expr]:
        """Every expression this spec reads (for validation)."""
        found: list[Expr] = [] if self.expr is None else [self.expr]
        found.extend(self.concat)
        found.extend(self.first_of)
        if self.template:
            found.extend(_PLACEHOLDER.findall(self.template))
        return found


@dataclass(frozen=True)
class GroupSpec:
    """A repeating group: images or viewings.

    XML: ``each`` selects the repeated elements and the field expressions are relative to
    each. CSV/BLM: the field expressions are column names with ``{n}`` (or ``{n:02}``) in
    them, for n in ``start`` .. ``start + repeat - 1``; without ``repeat`` the group is one
    set of columns.
    """

    fields: MappingABC[str, FieldSpec]
    each: str | None = None
    repeat: int = 1
    start: int = 1


@dataclass(frozen=True)
class Mapping:
    name: str
    source: str  # the file it was loaded from
    format: str
    fields: MappingABC[str, FieldSpec]
    record: str | None = None
    namespaces: MappingABC[str, str] = field(default_factory=dict)
    encoding: str = "auto"
    delimiter: str = "auto"
    header: bool = True
    base_url: str | None = None
    mode: FieldSpec = field(default_factory=lambda: FieldSpec(value="full"))
    images: tuple[GroupSpec, ...] = ()
    viewings: tuple[GroupSpec, ...] = ()
    date_formats: tuple[str, ...] = ()
    decimal_separator: str | None = None
    # Whether a record carries only its key and what changed (kind bool; None: never).
    partial: FieldSpec | None = None
    # XML: record element name -> the mapping for records of that type (its field overrides
    # and partial rule applied). Empty: one type, ``record``.
    types: MappingABC[str, Mapping] = field(default_factory=dict)
    # XML: elements beside the records that are not records (not reported as unmatched).
    not_records: tuple[str, ...] = ()
    # Largest plausible value by field, replacing the domain's defaults.
    limits: MappingABC[str, Decimal] = field(default_factory=dict)
    # SEK per unit of a currency the export may use (the "currency" field).
    currency_rates: MappingABC[str, Decimal] = field(default_factory=dict)

    @property
    def record_tag(self) -> str:
        """The element name iterparse waits for (last step of ``record``)."""
        assert self.record is not None
        return self.record.rstrip("/").rsplit("/", 1)[-1]

    @property
    def record_tags(self) -> tuple[str, ...]:
        """Every record element name: the types', or ``record``'s last step."""
        return tuple(self.types) if self.types else (self.record_tag,)

    def for_tag(self, tag: str) -> Mapping:
        """The mapping of one record type (this one when there are no types)."""
        return self.types.get(tag, self)


def bundled_mappings() -> list[str]:
    """Names of the mappings shipped with syncd."""
    root = importlib.resources.files("syncd.mappings")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A bundled mapping by name ("generic-csv") or a mapping file by path."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise MappingError(f"mapping file {text_name} does not exist", mapping=text_name)
        raw_bytes = path.read_bytes()
        source = str(path)
        default_name = path.stem
    else:
        resource = importlib.resources.files("syncd.mappings") / f"{text_name}.toml"
        if not resource.is_file():
            known = ", ".join(bundled_mappings())
            raise MappingError(
                f"no bundled mapping named {text_name!r} (bundled: {known})", mapping=text_name
            )
        raw_bytes = resource.read_bytes()
        source = f"syncd.mappings/{text_name}.toml"
        default_name = text_name
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"not valid TOML: {exc}", mapping=source) from None
    return mapping_from_dict(data, source, default_name)


class _Problems:
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


def mapping_from_dict(data: MappingABC[str, Any], source: str, default_name: str) -> Mapping:
    problems = _Problems(source)
    for key in data:
        if key not in ("mapping", "fields", "images", "viewings", "types"):
            problems.add(key, "unknown section (expected mapping, fields, images, viewings, types)")
    head = data.get("mapping")
    if not isinstance(head, dict):
        problems.add("mapping", "the [mapping] table is missing")
        problems.raise_any()
        head = {}  # unreachable: raise_any raised
    for key in head:
        if key not in _MAPPING_KEYS:
            problems.add(
                f"mapping.{key}", f"unknown key (known: {', '.join(sorted(_MAPPING_KEYS))})"
            )
    fmt = head.get("format")
    if fmt not in FORMATS:
        problems.add("mapping.format", f"must be one of {', '.join(FORMATS)}, not {fmt!r}")
    record = head.get("record")
    namespaces = head.get("namespaces", {})
    if not isinstance(namespaces, dict) or not all(isinstance(v, str) for v in namespaces.values()):
        problems.add("mapping.namespaces", "must be a table of prefix = URI strings")
        namespaces = {}
    types_raw = data.get("types", {})
    if not isinstance(types_raw, dict) or not all(isinstance(t, dict) for t in types_raw.values()):
        problems.add("types", "write each record type as a [types.ELEMENT] table")
        types_raw = {}
    if types_raw and fmt != "xml":
        problems.add("types", "only XML mappings name record types by element")
    elif types_raw and record is not None:
        problems.add("mapping.record", "give either record or [types.ELEMENT] tables, not both")
    elif fmt == "xml" and not types_raw:
        if not isinstance(record, str) or not re.fullmatch(r"/{1,2}[\w:./-]*[\w-]", record):
            problems.add(
                "mapping.record",
                "XML mappings need record = '//element' (a path) or [types.ELEMENT] tables",
            )
        else:
            last = record.rstrip("/").rsplit("/", 1)[-1]
            if ":" in last and last.split(":", 1)[0] not in namespaces:
                problems.add(
                    "mapping.record",
                    f"namespace prefix {last.split(':', 1)[0]!r} is not declared in "
                    "[mapping.namespaces]",
                )
    elif record is not None:
        problems.add("mapping.record", "only XML mappings select records with an XPath")
    for key, kind in (("encoding", str), ("delimiter", str), ("base_url", str), ("header", bool)):
        if key in head and not isinstance(head[key], kind):
            problems.add(f"mapping.{key}", f"must be a {kind.__name__}")
    delimiter = head.get("delimiter", "auto")
    if isinstance(delimiter, str) and delimiter != "auto" and len(delimiter) != 1:
        problems.add("mapping.delimiter", "must be 'auto' or one character")
    date_formats = head.get("date_formats", [])
    if not isinstance(date_formats, list) or not all(isinstance(f, str) for f in date_formats):
        problems.add("mapping.date_formats", "must be a list of strptime formats")
        date_formats = []
    dec_sep = head.get("decimal_separator")
    if dec_sep not in (None, ",", "."):
        problems.add("mapping.decimal_separator", "must be ',' or '.'")
    xml = fmt == "xml"
    ns = dict(namespaces)

    def spec(key: str, raw: Any, kind: str) -> FieldSpec:
        return _field_spec(problems, key, raw, kind, xml, ns)

    fields_raw = data.get("fields", {})
    fields: dict[str, FieldSpec] = {}
    if not isinstance(fields_raw, dict):
        problems.add("fields", "must be a table")
        fields_raw = {}
    for key, raw in _flatten(fields_raw).items():
        if key not in FIELD_KINDS:
            problems.add(f"fields.{key}", "not a canonical field (see docs/mappings.md)")
            continue
        fields[key] = spec(f"fields.{key}", raw, FIELD_KINDS[key])
    for key in REQUIRED_FIELDS:
        if key not in fields:
            problems.add(f"fields.{key}", "every mapping must say where this comes from")
    partial = _partial_spec(problems, "mapping.partial", head.get("partial"), spec)
    limits = _numbers(problems, "mapping.limits", head.get("limits", {}), LIMIT_FIELDS)
    rates = _numbers(problems, "mapping.currency_rates", head.get("currency_rates", {}), None)
    not_records = head.get("not_records", [])
    if not isinstance(not_records, list) or not all(isinstance(n, str) for n in not_records):
        problems.add("mapping.not_records", "must be a list of element names")
        not_records = []
    types: dict[str, dict[str, Any]] = {}
    for tag, raw_type in types_raw.items():
        where = f"types.{tag}"
        if not re.fullmatch(r"(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*", tag):
            problems.add(where, "must be an element name (prefix:name with a declared prefix)")
            continue
        if ":" in tag and tag.split(":", 1)[0] not in ns:
            problems.add(where, f"namespace prefix {tag.split(':', 1)[0]!r} is not declared")
        for name in raw_type:
            if name not in _TYPE_KEYS:
                problems.add(f"{where}.{name}", "unknown key (known: fields, partial)")
        overrides: dict[str, FieldSpec] = {}
        raw_fields = raw_type.get("fields", {})
        if not isinstance(raw_fields, dict):
            problems.add(f"{where}.fields", "must be a table")
            raw_fields = {}
        for key, raw in _flatten(raw_fields).items():
            if key not in FIELD_KINDS:
                problems.add(f"{where}.fields.{key}", "not a canonical field")
                continue
            overrides[key] = spec(f"{where}.fields.{key}", raw, FIELD_KINDS[key])
        types[tag] = {
            "fields": overrides,
            "partial": _partial_spec(problems, f"{where}.partial", raw_type.get("partial"), spec)
            if "partial" in raw_type
            else partial,
        }
    mode_raw = head.get("mode", "full")
    mode = spec(
        "mapping.mode", {"value": mode_raw} if isinstance(mode_raw, str) else mode_raw, "mode"
    )
    images = tuple(
        _group(problems, f"images[{i}]", raw, IMAGE_KINDS, "url", xml, spec, ns)
        for i, raw in enumerate(_tables(problems, "images", data.get("images", [])))
    )
    viewings = tuple(
        _group(problems, f"viewings[{i}]", raw, VIEWING_KINDS, "starts_at", xml, spec, ns)
        for i, raw in enumerate(_tables(problems, "viewings", data.get("viewings", [])))
    )
    problems.raise_any()
    mapping = Mapping(
        name=str(head.get("name", default_name)),
        source=source,
        format=str(fmt),
        fields=fields,
        record=record,
        namespaces=ns,
        encoding=str(head.get("encoding", "auto")),
        delimiter=str(delimiter),
        header=bool(head.get("header", True)),
        base_url=head.get("base_url"),
        mode=mode,
        images=images,
        viewings=viewings,
        date_formats=tuple(date_formats),
        decimal_separator=dec_sep,
        partial=partial,
        not_records=tuple(not_records),
        limits=limits,
        currency_rates={code.upper(): rate for code, rate in rates.items()},
    )
    if not types:
        return mapping
    typed = {
        tag: dataclasses.replace(
            mapping,
            record=f"//{tag}",
            fields={**fields, **found["fields"]},
            partial=found["partial"],
        )
        for tag, found in types.items()
    }
    return dataclasses.replace(mapping, types=typed)


def _numbers(
    problems: _Problems, key: str, raw: Any, known: tuple[str, ...] | None
) -> dict[str, Decimal]:
    """A table of positive numbers by name (``known``: the names allowed; None: any)."""
    if not isinstance(raw, dict):
        problems.add(key, "must be a table of name = number")
        return {}
    out: dict[str, Decimal] = {}
    for name, value in raw.items():
        if known is not None and name not in known:
            problems.add(f"{key}.{name}", f"unknown (known: {', '.join(known)})")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.add(f"{key}.{name}", "must be a number above 0")
        else:
            out[name] = Decimal(str(value))
    return out


def _partial_spec(problems: _Problems, key: str, raw: Any, spec: Any) -> FieldSpec | None:
    """``partial = true`` (every record), an expression or a table read as a yes/no."""
    if raw is None or raw is False:
        return None
    if isinstance(raw, str | dict):
        found: FieldSpec = spec(key, raw, "bool")
        return found
    if raw is True:
        return FieldSpec(value=True)
    problems.add(key, "must be true, false, an expression or a table")
    return None


def _flatten(table: MappingABC[str, Any], prefix: str = "") -> dict[str, Any]:
    """``[fields.address] street = ...`` and ``"address.street" = ...`` mean the same."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not (_SPEC_KEYS & value.keys()) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _tables(problems: _Problems, key: str, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        problems.add(key, f"write it as [[{key}]] tables")
        return []
    return raw


def _group(  # noqa: PLR0917
    problems: _Problems,
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
            _check_xpath(problems, f"{key}.each", each, ns or {})
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


def _field_spec(  # noqa: PLR0917
    problems: _Problems, key: str, raw: Any, kind: str, xml: bool, ns: dict[str, str]
) -> FieldSpec:
    if isinstance(raw, bool):
        return FieldSpec(value=raw)
    if isinstance(raw, str | int):
        raw = {"expr": raw}
    if not isinstance(raw, dict):
        problems.add(key, "must be an expression, a column position or a table")
        return FieldSpec()
    for name in raw:
        if name not in _SPEC_KEYS:
            problems.add(f"{key}.{name}", f"unknown key (known: {', '.join(sorted(_SPEC_KEYS))})")
    sources = [n for n in ("expr", "value", "template", "concat", "first_of") if n in raw]
    if len(sources) != 1 and not (not sources and "default" in raw):
        problems.add(key, "give exactly one of expr, value, template, concat, first_of")
    concat, first_of = raw.get("concat", []), raw.get("first_of", [])
    if not isinstance(concat, list):
        problems.add(f"{key}.concat", "must be a list of expressions")
        concat = []
    if not isinstance(first_of, list):
        problems.add(f"{key}.first_of", "must be a list of expressions")
        first_of = []
    mapping = raw.get("map")
    if mapping is not None and not isinstance(mapping, dict):
        problems.add(f"{key}.map", "must be a table of raw value = value")
        mapping = None
    folded = {str(k).strip().lower(): v for k, v in (mapping or {}).items()}
    if kind in ("enum", "mode"):
        allowed = ENUMS.get(re.sub(r"^(?:types\.[^.]+\.)?fields\.|^mapping\.", "", key))
        for name in ("value", "default", "map_default"):
            ignoring = name == "map_default" and raw.get(name) == IGNORE
            if name in raw and raw[name] not in (allowed or ()) and not ignoring:
                problems.add(f"{key}.{name}", f"must be one of {', '.join(allowed or ())}")
        for raw_value, value in folded.items():
            if value not in (allowed or ()) and value != IGNORE:
                problems.add(
                    f"{key}.map.{raw_value}", f"{value!r} is not one of {', '.join(allowed or ())}"
                )
    formats = raw.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        problems.add(f"{key}.formats", "must be a list of strptime formats")
        formats = []
    dec_sep = raw.get("decimal_separator")
    if dec_sep not in (None, ",", "."):
        problems.add(f"{key}.decimal_separator", "must be ',' or '.'")
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
    for expr in result.expressions():
        if isinstance(expr, bool) or not isinstance(expr, str | int):
            problems.add(key, f"expression {expr!r} must be text or a column position")
        elif xml and isinstance(expr, int):
            problems.add(key, "XML mappings use XPath expressions, not column positions")
        elif isinstance(expr, int) and expr < 1:
            problems.add(key, "column positions start at 1")
        elif xml and isinstance(expr, str):
            _check_xpath(problems, key, _REPEAT_INDEX.sub("1", expr), ns)
    return result


# An element to evaluate each expression on once at load: lxml reports an undeclared
# namespace prefix or an unknown function only when an expression is evaluated.
_PROBE = etree.Element("probe")


def _check_xpath(problems: _Problems, key: str, expr: str, ns: dict[str, str]) -> None:
    try:
        etree.XPath(expr, namespaces=ns or None)(_PROBE, **{TODAY: 0.0})
    except etree.XPathError as exc:
        hint = ""
        if "namespace prefix" in str(exc):
            declared = ", ".join(sorted(ns)) or "none"
            hint = f" (declare it in [mapping.namespaces]; declared: {declared})"
        problems.add(key, f"invalid XPath {expr!r}: {exc}{hint}")


def expand_repeat(expr: Expr, n: int) -> Expr:
    """Put the repeat index into a column name: "bild_{n}" -> "bild_3", "{n:02}" -> "03"."""
    if not isinstance(expr, str):
        return expr

    def fill(match: re.Match[str]) -> str:
        width = match.group(1)
        return f"{n:0{int(width)}d}" if width else str(n)

    return _REPEAT_INDEX.sub(fill, expr)
