"""What a sample export holds, for ``syncd mapping new``: its record element and every field
path with its fill rate and example values.

Reads the sample only (safely: no DTD, no entities, no network); proposes nothing. The
proposal from this survey is ``formats/draft.py``'s.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from syncd.core.errors import ParseError
from syncd.formats.csv_reader import sniff_delimiter
from syncd.formats.encoding import detect_text_encoding
from syncd.formats.xml_reader import check_prolog

SAMPLE_LIMIT_BYTES = 50 * 2**20  # a sample, not a whole export: a few hundred records do
EXAMPLES = 3
SHAPE_VALUES = 40  # values kept per path to judge their shape
RECORD_SHARE = 0.75  # the record holds at least this share of the file's distinct fields
_ROW_INDEX = re.compile(r"^(.*?)(\d+)$")


@dataclass
class FieldPath:
    """One field path inside a record (an XPath relative to the record, or a column)."""

    path: str
    filled: int = 0  # records with a non-empty value
    most_per_record: int = 0  # > 1: the path repeats inside one record
    examples: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def add(self, values: list[str]) -> None:
        present = [v for v in values if v]
        if present:
            self.filled += 1
        self.most_per_record = max(self.most_per_record, len(present))
        for value in present:
            if len(self.values) < SHAPE_VALUES:
                self.values.append(value)
            if value not in self.examples and len(self.examples) < EXAMPLES:
                self.examples.append(value[:60])


@dataclass
class Survey:
    """A sample export as the mapping generator sees it."""

    path: Path
    format: str  # "xml" or "csv"
    record_count: int
    fields: list[FieldPath]
    record: str | None = None  # XPath of the record element (XML)
    namespaces: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None  # CSV
    encoding: str | None = None
    repeating: dict[str, int] = field(default_factory=dict)  # element path -> most per record
    # Fields outside the records (a file header: the agency, its contact), as XPaths
    # from a record through its nearest ancestor holding the field: ancestor::agent/id.
    outside: list[FieldPath] = field(default_factory=list)

    def fill(self, item: FieldPath) -> float:
        return item.filled / self.record_count if self.record_count else 0.0


def survey(path: Path) -> Survey:
    """Read ``path`` (XML or CSV, told apart by its first character) and describe it."""
    if path.stat().st_size > SAMPLE_LIMIT_BYTES:
        raise ParseError(
            f"a sample of at most {SAMPLE_LIMIT_BYTES // 2**20} MiB, please: cut the export "
            "to a few hundred records",
            str(path),
        )
    with path.open("rb") as stream:
        head = stream.read(512).lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if head.startswith(b"<"):
        return _survey_xml(path)
    return _survey_csv(path)


# --- XML -------------------------------------------------------------------------------------


Step = tuple[str | None, str]  # (namespace URI, local name), or (None, "@attr")


def _survey_xml(path: Path) -> Survey:
    root = _parse_sample(path)
    prefixes = _prefixes(root)
    record = _record_path(root)
    records = [e for e in root.iter(etree.Element) if _path(e) == record]
    found: dict[tuple[Step, ...], FieldPath] = {}
    repeating: Counter[str] = Counter()
    for element in records:
        _survey_record(element, record, prefixes, found, repeating)
    return Survey(
        path=path,
        format="xml",
        record_count=len(records),
        fields=sorted(found.values(), key=lambda f: f.path),
        record="//" + _xpath(record[-1:], prefixes),
        namespaces={p: uri for uri, p in prefixes.items()},
        repeating={k: v for k, v in repeating.items() if v > 1},
        outside=_outside(root, record, prefixes),
    )


def _parse_sample(path: Path) -> Any:
    """The sample's root element, parsed safely; a ParseError with the line when it cannot."""
    check_prolog(path)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
        remove_pis=True, huge_tree=False,
    )  # fmt: skip
    try:
        return etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise ParseError(str(exc.msg or exc), str(path), line, column) from None


def _record_path(root: Any) -> tuple[Step, ...]:
    """The path of the record element. The deepest element that still holds most of the
    file's distinct fields (its ancestors only add the file's header); among equals, the one
    that repeats most."""
    fields_of: dict[tuple[Step, ...], set[tuple[Step, ...]]] = defaultdict(set)
    counts: Counter[tuple[Step, ...]] = Counter()
    for element in root.iter(etree.Element):
        counts[_path(element)] += 1
    root_path = _path(root)
    for leaf, _ in _leaves(root, ()):
        full = root_path + leaf
        for depth in range(1, len(full)):
            fields_of[full[:depth]].add(full[depth:])
    total = len(fields_of[root_path]) or 1
    return max(
        (p for p in fields_of if len(fields_of[p]) >= RECORD_SHARE * total),
        key=lambda p: (len(p), counts[p]),
    )


def _survey_record(
    element: Any,
    record: tuple[Step, ...],
    prefixes: dict[str, str],
    found: dict[tuple[Step, ...], FieldPath],
    repeating: Counter[str],
) -> None:
    """Add one record's field values to ``found`` and its repeated elements to ``repeating``
    (element path -> most per record)."""
    per_record: dict[tuple[Step, ...], list[str]] = defaultdict(list)
    elements: Counter[tuple[Step, ...]] = Counter()
    for leaf, value in _leaves(element, ()):
        per_record[leaf].append(value)
    for child in element.iter(etree.Element):
        if child is not element:
            elements[_path(child)[len(record) :]] += 1
    for relative, n in elements.items():
        key = _xpath(relative, prefixes)
        repeating[key] = max(repeating[key], n)
    for leaf, values in per_record.items():
        item = found.setdefault(leaf, FieldPath(_xpath(leaf, prefixes)))
        item.add(values)


def _outside(root: Any, record: tuple[Step, ...], prefixes: dict[str, str]) -> list[FieldPath]:
    found: dict[str, FieldPath] = {}
    for leaf, value in _leaves(root, ()):
        full = _path(root) + leaf
        if full[: len(record)] == record:
            continue  # inside a record
        shared = 0
        while shared < min(len(full), len(record)) and full[shared] == record[shared]:
            shared += 1
        if shared == 0 or not value:
            continue
        holder = _xpath(full[shared - 1 : shared], prefixes)
        path = f"ancestor::{holder}/{_xpath(full[shared:], prefixes)}"
        found.setdefault(path, FieldPath(path)).add([value])
    return list(found.values())


def _path(element: Any) -> tuple[Step, ...]:
    steps: list[Step] = []
    while element is not None:
        name = etree.QName(element)
        steps.append((name.namespace, name.localname))
        element = element.getparent()
    return tuple(reversed(steps))


def _leaves(element: Any, prefix: tuple[Step, ...]) -> list[tuple[tuple[Step, ...], str]]:
    """(path below ``element``, text) of every attribute and text-only element under it."""
    out: list[tuple[tuple[Step, ...], str]] = []
    for name, value in element.attrib.items():
        out.append(((*prefix, (None, "@" + etree.QName(name).localname)), value.strip()))
    children = [c for c in element if isinstance(c.tag, str)]
    if not children and prefix:
        out.append((prefix, (element.text or "").strip()))
    for child in children:
        name = etree.QName(child)
        out.extend(_leaves(child, (*prefix, (name.namespace, name.localname))))
    return out


def _prefixes(root: Any) -> dict[str, str]:
    """Namespace URI -> prefix for the draft: the file's own prefix, or ns, ns2 ... for a
    default namespace (XPath 1.0 has no default namespace)."""
    out: dict[str, str] = {}
    for element in root.iter(etree.Element):
        for prefix, uri in element.nsmap.items():
            if uri not in out:
                out[uri] = prefix or ("ns" if "ns" not in out.values() else f"ns{len(out) + 1}")
    return out


def _xpath(steps: tuple[Step, ...], prefixes: dict[str, str]) -> str:
    parts = []
    for namespace, local in steps:
        if local.startswith("@") or namespace is None:
            parts.append(local)
        else:
            parts.append(f"{prefixes[namespace]}:{local}")
    return "/".join(parts)


# --- CSV -------------------------------------------------------------------------------------


def _survey_csv(path: Path) -> Survey:
    try:
        encoding, _ = detect_text_encoding(path)
    except ValueError as exc:
        raise ParseError(str(exc), str(path)) from None
    with path.open(encoding=encoding, errors="replace", newline="") as stream:
        delimiter = sniff_delimiter(stream.read(64 * 1024))
        stream.seek(0)
        try:
            rows = list(csv.reader(stream, delimiter=delimiter))
        except csv.Error as exc:
            raise ParseError(f"not readable as CSV: {exc}", str(path)) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ParseError("the sample has no rows", str(path))
    header = [name.strip().lstrip("\ufeff") for name in rows[0]]
    found = [FieldPath(name) for name in header if name]
    positions = [i for i, name in enumerate(header) if name]
    for row in rows[1:]:
        for item, position in zip(found, positions, strict=True):
            item.add([row[position].strip()] if position < len(row) else [])
    return Survey(
        path=path,
        format="csv",
        record_count=len(rows) - 1,
        fields=found,
        delimiter=delimiter,
        encoding=encoding,
    )


def numbered_columns(names: list[str]) -> dict[str, list[int]]:
    """Columns that repeat with a number (``bild_1`` .. ``bild_12``): stem -> the numbers."""
    groups: dict[str, list[int]] = defaultdict(list)
    for name in names:
        match = _ROW_INDEX.match(name)
        if match and match.group(1):
            groups[match.group(1)].append(int(match.group(2)))
    return {stem: sorted(numbers) for stem, numbers in groups.items() if len(numbers) > 1}
