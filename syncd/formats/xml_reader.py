"""Stream the records of an XML export, safely: no DTDs, no entities, no network.

Memory stays flat in file size (each record is cleared after use). Reads and locates
records only; turning them into listings is ``assemble``'s job.
"""

from __future__ import annotations

import codecs
import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from syncd.core.errors import ParseError
from syncd.formats.encoding import bom_encoding, utf8_in_single_byte_file, xml_declared_encoding
from syncd.formats.mapping import IDENTITY_FIELDS, TODAY, Expr, Mapping
from syncd.formats.xml_paths import PathWalk, element_text

log = logging.getLogger(__name__)

PROLOG_LIMIT_BYTES = 1 << 20
# The key of the identity fields' walk among a mapping's walks (keyed by a group's ``each``,
# which is XPath: this is none).
IDENTITY_WALK = "\0identity"
_ROOT_START = re.compile(r"<[A-Za-z_]")
# EXSLT's regular expressions: an expression can call them only through a prefix the
# mapping binds to this namespace.
EXSLT_REGEXP = "http://exslt.org/regular-expressions"


class XPathCache:
    """Compiled XPath expressions of one mapping, compiled once: every record asks the same."""

    def __init__(
        self,
        namespaces: dict[str, str],
        walks: dict[str | None, PathWalk] | None = None,
        today: date | None = None,
    ) -> None:
        self._namespaces = namespaces or None
        # lxml registers the EXSLT regular expression functions on every evaluation unless
        # told not to (0.3-1.5 µs a call); no expression can reach them without a prefix
        # bound to their namespace, so they are registered only for a mapping that binds one.
        self._regexp = EXSLT_REGEXP in (namespaces or {}).values()
        self._compiled: dict[Expr, Callable[[etree._Element], Any]] = {}
        # XPath variables every expression may use: $today as a number, 20261205.
        day = today or date.today()
        self.variables = {TODAY: float(day.year * 10_000 + day.month * 100 + day.day)}
        # The simple paths of the record (None) and of each group's elements, by its ``each``.
        self.walks = walks or {}

    def get(self, expr: Expr) -> Callable[[etree._Element], Any]:
        """``expr`` compiled: a function of the element it is evaluated on."""
        found = self._compiled.get(expr)
        if found is None:
            xpath = etree.XPath(
                str(expr),
                namespaces=self._namespaces,
                smart_strings=False,
                regexp=self._regexp,
            )
            # Variables are set up anew on every call that passes them: only for an
            # expression that can name one.
            found = xpath if "$" not in str(expr) else _with_variables(xpath, self.variables)
            self._compiled[expr] = found
        return found


def _with_variables(xpath: etree.XPath, variables: dict[str, float]) -> Callable[[Any], Any]:
    def evaluate(element: etree._Element) -> Any:
        return xpath(element, **variables)

    return evaluate


def _text(item: Any) -> str:
    if type(item) is str:  # text() and @attr results (smart_strings off): the common case
        return item
    if isinstance(item, etree._Element):
        return element_text(item)
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float):
        return str(int(item)) if item.is_integer() else repr(item)
    return str(item)


def mapping_walks(mapping: Mapping) -> dict[str | None, PathWalk]:
    """The simple paths a mapping reads from a record (key None) and from each group member
    (key: the group's ``each``), to be found in one walk each (over every record type)."""
    record: list[Expr] = list(mapping.mode.expressions())
    groups: dict[str | None, list[Expr]] = {}
    for typed in (mapping, *mapping.types.values()):
        if typed.partial is not None:
            record.extend(typed.partial.expressions())
        for spec in typed.fields.values():
            record.extend(spec.expressions())
    for group in (*mapping.images, *mapping.viewings):
        for spec in group.fields.values():
            groups.setdefault(group.each, []).extend(spec.expressions())
    walks: dict[str | None, PathWalk] = {
        each: PathWalk(exprs) for each, exprs in groups.items() if each is not None
    }
    walks[None] = PathWalk(record)
    # The identity fields alone: all a record taken unread is read for (fingerprint.py).
    walks[IDENTITY_WALK] = PathWalk(
        expr
        for typed in (mapping, *mapping.types.values())
        for name in IDENTITY_FIELDS
        if name in typed.fields
        for expr in typed.fields[name].expressions()
    )
    return walks


class XmlRecord:
    """One record element; expressions are XPath 1.0 relative to it."""

    __slots__ = ("_found", "_walk", "_xpaths", "element", "record_type")

    def __init__(
        self,
        element: etree._Element,
        xpaths: XPathCache,
        group: str | None = None,
        record_type: str | None = None,
    ) -> None:
        self.element = element
        self.record_type = record_type
        self._xpaths = xpaths
        self._walk = xpaths.walks.get(group)
        self._found: list[list[Any]] | None = None  # the walk's nodes, once asked for

    def values(self, expr: Expr) -> list[str]:
        """The text of each node ``expr`` selects (callers must not change the list)."""
        walk = self._walk
        if walk is not None:
            slot = walk.slots.get(expr) if type(expr) is str else None
            if slot is not None:
                found = self._found
                if found is None:
                    found = self._found = walk.walk(self.element)
                return found[slot]  # texts already; no caller changes a record's values
        result: Any = self._xpaths.get(expr)(self.element)
        if type(result) is list:
            return [_text(item) for item in result]
        if isinstance(result, float) and math.isnan(result):  # number() of nothing
            return []
        return [_text(result)]

    def for_identity(self) -> XmlRecord:
        """This record for reading its identity fields only: its simple paths are found in
        a walk over just theirs, not every field's."""
        return XmlRecord(self.element, self._xpaths, IDENTITY_WALK, self.record_type)

    def each(self, expr: str) -> Sequence[XmlRecord]:
        result: Any = self._xpaths.get(expr)(self.element)
        if not isinstance(result, list):
            return []
        xpaths = self._xpaths
        return [XmlRecord(e, xpaths, expr) for e in result if isinstance(e, etree._Element)]


def check_prolog(path: Path) -> str:
    """Reject DTD tricks before lxml sees the file; returns the declared encoding.

    A DOCTYPE with an ENTITY declaration (billion laughs, XXE) is refused outright. A
    reference to an external DTD (``SYSTEM "x.dtd"``, ``PUBLIC ...``) is many CRMs'
    standard header and is harmless as long as it is never loaded: the parser is opened
    with ``load_dtd=False, no_network=True``, so nothing is read or fetched for it.
    """
    with path.open("rb") as stream:
        head = stream.read(PROLOG_LIMIT_BYTES)
    encoding = bom_encoding(head) or xml_declared_encoding(head) or "utf-8"
    try:
        text = head.decode(encoding if encoding.startswith("utf-") else "latin-1", "replace")
    except LookupError:
        raise ParseError(
            f"unknown encoding {encoding!r} in the XML declaration", str(path)
        ) from None
    text = text.lstrip("\ufeff")
    position = 0
    while True:  # skip the declaration, comments and processing instructions to the root
        found = _ROOT_START.search(text, position)
        doctype = text.find("<!DOCTYPE", position)
        if doctype == -1 or (found and found.start() < doctype):
            break
        prolog = text[doctype : found.start() if found else None]
        line = text.count("\n", 0, doctype) + 1
        if "<!ENTITY" in prolog:
            raise ParseError(
                "refused: the DOCTYPE declares entities (entity expansion / XXE attack "
                "pattern); exports must not carry a DTD",
                str(path),
                line,
            )
        if found is None:
            raise ParseError("refused: the DOCTYPE is larger than 1 MiB", str(path), line)
        position = doctype + len("<!DOCTYPE")
    return encoding


def record_tags(mapping: Mapping) -> dict[str, str]:
    """The qualified tag iterparse reports ("{uri}local") -> the record type's name."""
    tags: dict[str, str] = {}
    for name in mapping.record_tags:
        qualified = name
        if ":" in name:
            prefix, local = name.split(":", 1)
            uri = mapping.namespaces.get(prefix)
            if uri is None:
                raise ParseError(f"record {name!r} uses an undeclared namespace prefix")
            qualified = f"{{{uri}}}{local}"
        tags[qualified] = name
    return tags


class XmlSource:
    """An XML export opened for streaming: file-level facts, then ``records()``."""

    def __init__(self, path: Path, mapping: Mapping, today: date | None = None) -> None:
        self.path = path
        self.mapping = mapping
        self.today = today
        self.warnings: list[str] = []
        # Elements beside the records that match no record type, by tag (complete once
        # ``records()`` is exhausted): a record type the mapping lacks must not vanish unsaid.
        self.unmatched: dict[str, int] = {}
        self.root: str | None = None  # the root element's tag, once a record or the end is read
        declared = check_prolog(path)
        # The mapping may override a declaration known to lie (see docs/mappings.md).
        self.forced = None if mapping.encoding == "auto" else mapping.encoding
        self.encoding = self.forced or declared
        mismatch = None if self.forced else utf8_in_single_byte_file(path, declared)
        if mismatch:
            log.warning("%s: %s", path, mismatch)
            self.warnings.append(mismatch)

    def records(self) -> Iterator[tuple[XmlRecord, int | None]]:
        """Each record element with its line; raises ParseError where the XML breaks."""
        xpaths = XPathCache(dict(self.mapping.namespaces), mapping_walks(self.mapping), self.today)
        tags = record_tags(self.mapping)
        with self.path.open("rb") as stream:
            yield from self._parse(stream, xpaths, tags)

    def _unmatched(self, siblings: Iterator[Any], tags: dict[str, str]) -> None:
        """Count the elements among ``siblings`` (up to the next record) that look like
        records (they have elements of their own) but are of no type. They stay in the
        tree: a record may read them (Kyero's agent, before its properties)."""
        for child in siblings:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag in tags:
                return
            if len(child) == 0:
                continue
            name = etree.QName(child).localname
            if name in self.mapping.not_records or tag in self.mapping.not_records:
                continue
            self.unmatched[name] = self.unmatched.get(name, 0) + 1

    def _parse(
        self, stream: BinaryIO, xpaths: XPathCache, tags: dict[str, str]
    ) -> Iterator[tuple[XmlRecord, int | None]]:
        context = etree.iterparse(
            stream,
            events=("end",),
            tag=list(tags),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            encoding=self.forced,
        )
        last: etree._Element | None = None  # the previous record
        last_parent: etree._Element | None = None
        try:
            for _event, element in context:
                parent = element.getparent()
                if last is not None and parent is not last_parent:
                    self._unmatched(last.itersiblings(), tags)  # the rest of its parent
                # What came since the previous record of this parent (or since its start);
                # right after another record (the common case) there is nothing to look at.
                previous = element.getprevious()
                if previous is not None and previous.tag not in tags:
                    self._unmatched(element.itersiblings(preceding=True), tags)
                last, last_parent = element, parent
                if self.root is None:
                    self.root = element.getroottree().getroot().tag
                yield XmlRecord(element, xpaths, record_type=tags[element.tag]), element.sourceline
                # Free the record and earlier records; keep other siblings (OpenImmo's
                # <anbieter> holds the agency id before its records).
                element.clear(keep_tail=False)
                previous = element.getprevious()
                while previous is not None and previous.tag in tags:
                    up = previous.getparent()
                    assert up is not None
                    up.remove(previous)
                    previous = element.getprevious()
            if last is not None:
                self._unmatched(last.itersiblings(), tags)
            elif context.root is not None:
                # No record at all: what the file holds instead is the hint to give.
                self.root = context.root.tag
                self._unmatched(iter(context.root), tags)
        except etree.XMLSyntaxError as exc:
            line, column = exc.position if exc.position else (None, None)
            reason = _explain(str(exc.msg or exc), self.encoding)
            raise ParseError(reason, str(self.path), line, column) from None
        finally:
            del context


def _explain(message: str, encoding: str) -> str:
    """libxml2's words, plus what an operator should suspect."""
    message = re.sub(r",? line \d+, column \d+\)?$", "", message).strip()
    if "not proper UTF-8" in message or "Invalid bytes in character encoding" in message:
        guess = "ISO-8859-1/cp1252" if codecs.lookup(encoding).name == "utf-8" else "another"
        return f"not well-formed: declared {encoding} but the bytes look like {guess} ({message})"
    return f"not well-formed XML: {message}"
