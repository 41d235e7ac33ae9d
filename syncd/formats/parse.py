"""Parse one export file with its mapping into a stream of per-record results.

The entry point ingest and ``syncd check`` call. Streams: one record in memory at a time,
or one block's run of CSV rows found by their bytes (plus the set of keys seen, to report
duplicates). Stores nothing and moves no files.
"""

from __future__ import annotations

import logging
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from syncd.core.domain import Listing, Problem
from syncd.core.errors import ParseError
from syncd.core.packed_digests import DIGEST_BYTES
from syncd.core.packed_keys import KeyPositions
from syncd.formats.assemble import Assembled, Assembler, Record
from syncd.formats.blm_reader import BlmSource
from syncd.formats.csv_reader import CsvSource, KnownRow, KnownRun, TabularRecord
from syncd.formats.fingerprint import Fingerprints
from syncd.formats.mapping import IDENTITY_FIELDS, Mapping
from syncd.formats.xml_reader import XmlSource

log = logging.getLogger(__name__)

# A record as a reader gives it (or a CSV row found by its text, not read), its line, and
# what the reader found wrong with it.
_Item = tuple[Record | KnownRow | KnownRun, int | None, list[Problem]]


# Not frozen: one is made per record, 100,000 for a re-dropped export, and a frozen
# dataclass's __init__ (object.__setattr__ per field) cost four times a plain one's.
@dataclass(slots=True)
class RecordResult:
    """One record: its listing (None when it must be skipped) and what was wrong. Read,
    never changed, by what consumes the stream."""

    listing: Listing | None
    listing_key: str | None
    line: int | None  # where the record starts in the file
    index: int  # 1-based position among the file's records
    problems: list[Problem]
    filled: frozenset[str] = frozenset()
    # A partial record: the fields it carries, for ingest to merge onto the stored listing.
    patch: MappingABC[str, Any] | None = None
    ignored: str | None = None  # why the mapping ignores it on purpose (not an error)
    record_type: str | None = None  # XML: its [types.ELEMENT], when the mapping has types
    # With fingerprints: the record's (None when it had problems or is of no known kind),
    # and whether it is the one its listing's desired state was last read from (then it is
    # not read: ``listing`` is None, its listing as stored stands).
    fingerprint: str | None = None
    unchanged: bool = False
    key_at: int = -1  # its listing key's position in ParseResult.keys (-1: no key)

    @property
    def location(self) -> str:
        where = f"record {self.index}"
        return f"{where} (line {self.line})" if self.line else where

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass
class ParseResult:
    """File-level facts and the record stream.

    ``records`` can be consumed once. ``full``, ``encoding`` and the opening ``warnings``
    are known before the first record; ``agency_keys``, ``duplicates`` and ``record_count``
    are complete once ``records`` is exhausted. A duplicate listing key is reported on the
    later record and the LAST one wins (a consumer keeping a dict by key gets that for
    free). A file that breaks part-way raises ``ParseError`` from the iterator: callers
    must treat the whole file as unusable (one file, one transaction).
    """

    path: str
    mapping: str
    format: str
    encoding: str
    full: bool
    records: Iterator[RecordResult]
    # ``records`` with each run of CSV rows found one after another (a ``KnownRun``, its
    # ``index`` and ``line`` set) as one item, for a consumer that takes it at once; the
    # same stream: a caller reads one or the other.
    items: Iterator[RecordResult | KnownRun] = field(default_factory=lambda: iter(()))
    warnings: list[str] = field(default_factory=list)
    agency_keys: set[str] = field(default_factory=set)
    # agency key -> (name, organisation number) as the file's records give them
    agency_names: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # key -> record indexes
    # The listing keys of the records so far, packed, each at its position (a record's
    # ``key_at``): what a consumer keeps per key can go in an array by that position.
    keys: KeyPositions = field(default_factory=KeyPositions)
    record_count: int = 0
    # XML, complete once ``records`` is exhausted: elements beside the records that match no
    # record type (tag -> count), and the root element's tag ("{uri}local").
    unmatched: dict[str, int] = field(default_factory=dict)
    root: str | None = None

    def closing_warnings(self) -> list[str]:
        """What the whole file says once read: record types it holds that the mapping
        lacks, and for a file without records, what its root is."""
        said: list[str] = []
        if self.unmatched:
            counts = ", ".join(f"{tag} ×{n}" for tag, n in sorted(self.unmatched.items()))
            total = sum(self.unmatched.values())
            said.append(
                f"{total} element(s) beside the records match no record type of mapping "
                f"{self.mapping} and were not read: {counts} (add [types.ELEMENT] tables, "
                "or list them in not_records)"
            )
        if self.record_count == 0 and self.root is not None:
            uri, _, local = self.root[1:].partition("}") if self.root[0] == "{" else ("", "", "")
            local = local or self.root
            where = f" in namespace {uri!r}" if uri else " in no namespace"
            said.append(
                f"no record found: the file's root element is <{local}>{where}; check the "
                "mapping's record path and its [mapping.namespaces]"
            )
        return said


def parse_file(
    path: str | Path,
    mapping: Mapping,
    today: date | None = None,
    *,
    coverage: bool = False,
    fingerprints: Fingerprints | None = None,
    guess_utf8: bool = False,
) -> ParseResult:
    """Open ``path`` for streaming with ``mapping``; raises ParseError if it cannot be read.

    ``today``: the date XML expressions see as ``$today`` (default: the local date).
    ``coverage``: each record's ``filled`` leaves out what only a default filled.
    ``fingerprints``: each record gets its fingerprint, and one its listing was last read
    from is not read but marked ``unchanged`` (see fingerprint.py).
    ``guess_utf8``: a CSV file that is UTF-8 at first sight is read so without decoding
    all of it first; reading its records may then raise encoding.Utf8GuessWrong (read it
    again without).
    """
    file = Path(path)
    if not file.is_file():
        raise ParseError("no such file", str(file))
    source: XmlSource | CsvSource | BlmSource
    if mapping.format == "xml":
        source = XmlSource(file, mapping, today)
    elif mapping.format == "csv":
        source = CsvSource(file, mapping, guess_utf8=guess_utf8)
    else:
        source = BlmSource(file, mapping)
    assembler = Assembler(mapping, exact_filled=coverage)
    assemblers = {
        tag: Assembler(typed, exact_filled=coverage) for tag, typed in mapping.types.items()
    }
    stream = _stream(source, fingerprints)
    try:
        first = next(stream)
    except StopIteration:
        first = None
    warnings = source.warnings
    if first is not None and not isinstance(first[0], KnownRow | KnownRun):  # the first is read
        full = assembler.mode(first[0]) == "full"
    elif mapping.mode.value is not None:
        full = mapping.mode.value == "full"
    else:
        # The mode is read from a record and there is none: an empty file must not be
        # taken as "every listing has left the CRM".
        full = False
        warnings.append("no records, so the export mode could not be read; taken as incremental")
    result = ParseResult(
        path=str(file),
        mapping=mapping.name,
        format=mapping.format,
        encoding=source.encoding,
        full=full,
        records=iter(()),
        warnings=warnings,
    )
    if fingerprints is not None and fingerprints.keys is not None:
        result.keys = fingerprints.keys  # the known keys, at the rows their owner gives

    def pick(record: Record) -> Assembler:
        return assemblers.get(getattr(record, "record_type", None) or "", assembler)

    result.items = _results(first, stream, pick, result, source, fingerprints=fingerprints)
    result.records = _one_each(result.items, result.keys)
    return result


def _stream(
    source: XmlSource | CsvSource | BlmSource, fingerprints: Fingerprints | None
) -> Iterator[_Item]:
    if isinstance(source, XmlSource):
        for record, line in source.records():
            yield record, line, []
    elif isinstance(source, CsvSource):
        if fingerprints is None:
            yield from source.records()
        else:
            yield from source.records(fingerprints.row_finder, fingerprints.block_finder)
    else:
        yield from source.records()


def _one_each(
    items: Iterator[RecordResult | KnownRun], keys: KeyPositions
) -> Iterator[RecordResult]:
    """Each record on its own: a run's rows as ``_Seen.found`` gives a row found alone."""
    for item in items:
        if not isinstance(item, KnownRun):
            yield item
            continue
        digests, line = item.digests, item.line
        for place, row in enumerate(item.rows):
            digest = digests[place * DIGEST_BYTES : (place + 1) * DIGEST_BYTES]
            yield RecordResult(
                None,
                keys.key(row),
                None if line is None else line + place,
                item.index + place,
                [],
                fingerprint=digest.hex(),
                unchanged=True,
                key_at=row,
            )


def _results(
    first: _Item | None,
    stream: Iterator[_Item],
    pick: Callable[[Record], Assembler],
    result: ParseResult,
    source: XmlSource | CsvSource | BlmSource,
    *,
    fingerprints: Fingerprints | None,
) -> Iterator[RecordResult | KnownRun]:
    yield from _each_result(first, stream, pick, result, fingerprints)
    if isinstance(source, XmlSource):
        result.unmatched, result.root = dict(source.unmatched), source.root


def _read(
    assembler: Assembler,
    record: Record,
    reader_problems: list[Problem],
    fingerprints: Fingerprints | None,
) -> tuple[Assembled, str | None, bool]:
    """The record assembled, its fingerprint, and whether it is unchanged: then only its
    identity is read (its listing as stored stands)."""
    if fingerprints is None or reader_problems:
        return assembler.assemble(record), None, False
    if fingerprints.owner is not None and isinstance(record, TabularRecord):
        # Not found by its digest (_known_row): read, with the digest to keep.
        return assembler.assemble(record), fingerprints.row_digest(record).hex(), False
    if not fingerprints.any_known:  # nothing to compare with: a fingerprint to keep, only
        built = assembler.assemble(record)
        return built, fingerprints.of(record, built.identity) if built.identity else None, False
    identity, problems = assembler.identity(record)
    key = identity.get("listing_key")
    if problems or not key:
        return assembler.assemble(record), None, False
    fingerprint = fingerprints.of(record, [identity.get(name) for name in IDENTITY_FIELDS])
    if fingerprint is None or fingerprints.known(key) != fingerprint:
        return assembler.assemble(record), fingerprint, False
    agency = identity.get("agency_key")
    named = identity.get("agency.name"), identity.get("agency.organisation_number")
    return Assembled(None, key, agency, frozenset(), [], *named), fingerprint, True


def _known_row(
    record: Record | KnownRow, reader_problems: list[Problem], fingerprints: Fingerprints | None
) -> tuple[str, bytes, int] | None:
    """(listing key, digest, the key's position) of a row found by its digest alone: the
    very row its listing was last read from, which stands as stored (nothing of it is
    read, its identity neither; its agency is the stored listing's, which ingest has)."""
    if isinstance(record, KnownRow):  # found by the reader before it read the row
        return record.key, record.digest, record.row
    if fingerprints is None or fingerprints.owner is None or reader_problems:
        return None
    if not fingerprints.any_known:  # a first export: nothing to find
        return None
    if not isinstance(record, TabularRecord):
        return None
    digest = fingerprints.row_digest(record)
    found = fingerprints.owner(digest)
    return None if found is None else (found[0], digest, found[1])


_UNSEEN = -1  # ``_Seen.latest`` of a known key no record has had yet (indexes are 1-based)


class _Seen:
    """The duplicate check: each key's latest record index, in an array by the key's
    position (a key seen again is rare; no int object is kept per key). The keys may start
    with the known ones (``Fingerprints.keys``), which no record has had yet."""

    def __init__(self, result: ParseResult) -> None:
        self._result = result
        self.place = result.keys.place
        self.latest = array("i", [_UNSEEN]) * len(result.keys)  # record index, by position

    def again(self, key: str, index: int) -> tuple[int, list[Problem]]:
        """The key's position, and the warning of a key an earlier record had (the last
        one wins)."""
        at = self.place(key)
        if at < 0:
            self.latest.append(index)
            return -1 - at, []
        if self.latest[at] == _UNSEEN:
            self.latest[at] = index
            return at, []
        return at, self.duplicate(key, at, index)

    def found(self, key: str, digest: bytes, at: int, line: int | None, index: int) -> RecordResult:
        """A row found by its digest (``at``: its key's position, the keys starting from
        the known ones; -1: not known), with the warning of a key an earlier record had."""
        latest = self.latest
        said: list[Problem] = []
        if at < 0:
            at = self.place(key)
        if at < 0:
            at = -1 - at
            latest.append(index)
        elif latest[at] == _UNSEEN:
            latest[at] = index
        else:
            said = self.duplicate(key, at, index)
        fingerprint = None if said else digest.hex()
        return RecordResult(
            None, key, line, index, said, fingerprint=fingerprint, unchanged=True, key_at=at
        )

    def run(self, run: KnownRun, line: int | None, index: int) -> Iterator[RecordResult | KnownRun]:
        """Rows found one after another, the first after record ``index``: the run whole
        when none of its keys was had before (in it either), the check C-level; else each
        row as ``found`` takes it (a duplicate is rare)."""
        rows, latest = run.rows, self.latest
        self._result.record_count = index + len(rows)
        if max(map(latest.__getitem__, rows)) == _UNSEEN and len(set(rows)) == len(rows):
            deque(map(latest.__setitem__, rows, range(index + 1, index + 1 + len(rows))), 0)
            run.index, run.line = index + 1, line
            yield run
            return
        key, digests = self._result.keys.key, run.digests
        for place, row in enumerate(rows):
            digest = digests[place * DIGEST_BYTES : (place + 1) * DIGEST_BYTES]
            line_of = None if line is None else line + place
            yield self.found(key(row), digest, row, line_of, index + 1 + place)

    def duplicate(self, key: str, at: int, index: int) -> list[Problem]:
        """The warning of a key (at position ``at``) an earlier record had."""
        earlier = self.latest[at]
        self.latest[at] = index
        self._result.duplicates.setdefault(key, [earlier]).append(index)
        reason = f"the same listing key as record {earlier}; the last one wins"
        return [Problem("listing_key", key, reason, "warning")]


def _each_result(
    first: _Item | None,
    stream: Iterator[_Item],
    pick: Callable[[Record], Assembler],
    result: ParseResult,
    fingerprints: Fingerprints | None,
) -> Iterator[RecordResult | KnownRun]:
    if first is None:
        return
    seen = _Seen(result)
    index = 0

    def all_records() -> Iterator[_Item]:
        yield first
        yield from stream

    for record, line, reader_problems in all_records():
        if isinstance(record, KnownRun):  # most of a re-dropped CSV export
            yield from seen.run(record, line, index)
            index += len(record)
            continue
        index += 1
        result.record_count = index
        known = _known_row(record, reader_problems, fingerprints)
        if known is not None:
            yield seen.found(*known, line, index)
            continue
        assert not isinstance(record, KnownRow), "_known_row takes every KnownRow"
        built, fingerprint, unchanged = _read(pick(record), record, reader_problems, fingerprints)
        found = [*reader_problems, *built.problems]
        key = built.listing_key
        at = -1
        if key:
            at, said = seen.again(key, index)
            found.extend(said)
        # A record the reader already found broken (e.g. a misaligned CSV row) is skipped,
        # and its agency (probably read from the wrong column) does not count for the file.
        unreadable = bool(reader_problems) and any(p.severity == "error" for p in reader_problems)
        if built.agency_key and not unreadable:
            result.agency_keys.add(built.agency_key)
            if built.agency_name or built.agency_organisation_number:
                named = (built.agency_name, built.agency_organisation_number)
                result.agency_names.setdefault(built.agency_key, named)
        listing = None if unreadable else built.listing
        patch = None if unreadable else built.patch
        ignored = None if unreadable else built.ignored
        record_type = getattr(record, "record_type", None)
        yield RecordResult(
            listing,
            key,
            line,
            index,
            found,
            built.filled,
            patch,
            ignored,
            record_type,
            None if found else fingerprint,
            unchanged,
            at,
        )
    log.info(
        "parsed %s: %d record(s), %d duplicate key(s)",
        result.path,
        index,
        len(result.duplicates),
    )
