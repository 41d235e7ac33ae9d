"""Mapping files: load a TOML mapping (bundled or a path) and validate it into the frozen
``Mapping`` data, every problem named by file and key, all reported at once.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import logging
import re
import tomllib
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncd.core.errors import MappingError
from syncd.formats.mapping import (
    FIELD_KINDS,
    FORMATS,
    IMAGE_KINDS,
    LIMIT_FIELDS,
    REQUIRED_FIELDS,
    VIEWING_KINDS,
    FieldSpec,
    GroupSpec,
    Mapping,
)
from syncd.formats.mapping_specs import (
    SPEC_KEYS,
    Problems,
    check_decimal_separator,
    field_spec,
    group,
    string_list,
)

log = logging.getLogger(__name__)

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


def mapping_from_dict(data: MappingABC[str, Any], source: str, default_name: str) -> Mapping:
    """The checked ``Mapping`` of a mapping file's tables; a MappingError naming every
    problem (by file and key, in the order of the sections) when there is any."""
    problems = Problems(source)
    head = _head(problems, data)
    fmt = head.get("format")
    if fmt not in FORMATS:
        problems.add("mapping.format", f"must be one of {', '.join(FORMATS)}, not {fmt!r}")
    record = head.get("record")
    namespaces = _namespaces(problems, head)
    types_raw = _types_tables(problems, data)
    _check_record(problems, fmt, record, types_raw, namespaces)
    delimiter = _check_reading(problems, head)
    date_formats = string_list(
        problems,
        "mapping.date_formats",
        head.get("date_formats", []),
        "must be a list of strptime formats",
    )
    dec_sep = head.get("decimal_separator")
    check_decimal_separator(problems, "mapping.decimal_separator", dec_sep)
    xml = fmt == "xml"
    ns = dict(namespaces)

    def spec(key: str, raw: Any, kind: str) -> FieldSpec:
        return field_spec(problems, key, raw, kind, xml, ns)

    unknown = "not a canonical field (see docs/mappings.md)"
    fields = _field_specs(problems, "fields", data.get("fields", {}), spec, unknown)
    for key in REQUIRED_FIELDS:
        if key not in fields:
            problems.add(f"fields.{key}", "every mapping must say where this comes from")
    partial = _partial_spec(problems, "mapping.partial", head.get("partial"), spec)
    limits = _numbers(problems, "mapping.limits", head.get("limits", {}), LIMIT_FIELDS)
    rates = _numbers(problems, "mapping.currency_rates", head.get("currency_rates", {}), None)
    not_records = string_list(
        problems,
        "mapping.not_records",
        head.get("not_records", []),
        "must be a list of element names",
    )
    types = _record_types(problems, types_raw, ns, spec, partial)
    mode_raw = head.get("mode", "full")
    mode = spec(
        "mapping.mode", {"value": mode_raw} if isinstance(mode_raw, str) else mode_raw, "mode"
    )
    images = _groups(problems, data, "images", IMAGE_KINDS, "url", xml, spec, ns)
    viewings = _groups(problems, data, "viewings", VIEWING_KINDS, "starts_at", xml, spec, ns)
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
    return _with_types(mapping, types)


# --- the sections of a mapping file, each checked on its own ------------------------------


def _head(problems: Problems, data: MappingABC[str, Any]) -> dict[str, Any]:
    """The [mapping] table (raised at once when missing), its sections and keys known."""
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
    return head


def _namespaces(problems: Problems, head: dict[str, Any]) -> dict[str, str]:
    namespaces = head.get("namespaces", {})
    if not isinstance(namespaces, dict) or not all(isinstance(v, str) for v in namespaces.values()):
        problems.add("mapping.namespaces", "must be a table of prefix = URI strings")
        return {}
    return namespaces


def _types_tables(problems: Problems, data: MappingABC[str, Any]) -> dict[str, Any]:
    types_raw = data.get("types", {})
    if not isinstance(types_raw, dict) or not all(isinstance(t, dict) for t in types_raw.values()):
        problems.add("types", "write each record type as a [types.ELEMENT] table")
        return {}
    return types_raw


def _check_record(
    problems: Problems,
    fmt: Any,
    record: Any,
    types_raw: dict[str, Any],
    namespaces: dict[str, str],
) -> None:
    """How records are found: XML by ``record`` or by [types.ELEMENT], never both; only XML."""
    if types_raw and fmt != "xml":
        problems.add("types", "only XML mappings name record types by element")
    elif types_raw and record is not None:
        problems.add("mapping.record", "give either record or [types.ELEMENT] tables, not both")
    elif fmt == "xml" and not types_raw:
        _check_record_path(problems, record, namespaces)
    elif record is not None:
        problems.add("mapping.record", "only XML mappings select records with an XPath")


def _check_record_path(problems: Problems, record: Any, namespaces: dict[str, str]) -> None:
    if not isinstance(record, str) or not re.fullmatch(r"/{1,2}[\w:./-]*[\w-]", record):
        problems.add(
            "mapping.record",
            "XML mappings need record = '//element' (a path) or [types.ELEMENT] tables",
        )
        return
    last = record.rstrip("/").rsplit("/", 1)[-1]
    if ":" in last and last.split(":", 1)[0] not in namespaces:
        problems.add(
            "mapping.record",
            f"namespace prefix {last.split(':', 1)[0]!r} is not declared in [mapping.namespaces]",
        )


def _check_reading(problems: Problems, head: dict[str, Any]) -> Any:
    """The keys that say how a file is read (encoding, delimiter, base_url, header); the
    delimiter."""
    for key, kind in (("encoding", str), ("delimiter", str), ("base_url", str), ("header", bool)):
        if key in head and not isinstance(head[key], kind):
            problems.add(f"mapping.{key}", f"must be a {kind.__name__}")
    delimiter = head.get("delimiter", "auto")
    if isinstance(delimiter, str) and delimiter != "auto" and len(delimiter) != 1:
        problems.add("mapping.delimiter", "must be 'auto' or one character")
    return delimiter


def _record_types(
    problems: Problems,
    types_raw: dict[str, Any],
    ns: dict[str, str],
    spec: Callable[[str, Any, str], FieldSpec],
    partial: FieldSpec | None,
) -> dict[str, dict[str, Any]]:
    """[types.ELEMENT] tables: element name -> its field overrides and partial rule."""
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
        raw_fields = raw_type.get("fields", {})
        overrides = _field_specs(
            problems, f"{where}.fields", raw_fields, spec, "not a canonical field"
        )
        types[tag] = {
            "fields": overrides,
            "partial": _partial_spec(problems, f"{where}.partial", raw_type.get("partial"), spec)
            if "partial" in raw_type
            else partial,
        }
    return types


def _groups(  # noqa: PLR0917
    problems: Problems,
    data: MappingABC[str, Any],
    section: str,
    kinds: dict[str, str],
    needed: str,
    xml: bool,
    spec: Callable[[str, Any, str], FieldSpec],
    ns: dict[str, str],
) -> tuple[GroupSpec, ...]:
    """The [[images]] or [[viewings]] tables."""
    return tuple(
        group(problems, f"{section}[{i}]", raw, kinds, needed, xml, spec, ns)
        for i, raw in enumerate(_tables(problems, section, data.get(section, [])))
    )


def _with_types(mapping: Mapping, types: dict[str, dict[str, Any]]) -> Mapping:
    """``mapping`` with one mapping per record type: its fields overridden, its partial rule."""
    if not types:
        return mapping
    typed = {
        tag: dataclasses.replace(
            mapping,
            record=f"//{tag}",
            fields={**mapping.fields, **found["fields"]},
            partial=found["partial"],
        )
        for tag, found in types.items()
    }
    return dataclasses.replace(mapping, types=typed)


def _field_specs(
    problems: Problems,
    where: str,
    raw: Any,
    spec: Callable[[str, Any, str], FieldSpec],
    unknown: str,
) -> dict[str, FieldSpec]:
    """A table of fields: the spec of each canonical field; any other name is ``unknown``."""
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        raw = {}
    found: dict[str, FieldSpec] = {}
    for key, value in _flatten(raw).items():
        if key not in FIELD_KINDS:
            problems.add(f"{where}.{key}", unknown)
            continue
        found[key] = spec(f"{where}.{key}", value, FIELD_KINDS[key])
    return found


def _numbers(
    problems: Problems, key: str, raw: Any, known: tuple[str, ...] | None
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


def _partial_spec(problems: Problems, key: str, raw: Any, spec: Any) -> FieldSpec | None:
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
        if isinstance(value, dict) and not (SPEC_KEYS & value.keys()) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _tables(problems: Problems, key: str, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        problems.add(key, f"write it as [[{key}]] tables")
        return []
    return raw
