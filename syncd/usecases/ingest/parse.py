"""Parsing one export file: every record validated on its own, the accepted ones spilled.

It reads the file and, for partial records, the stored listing; it writes nothing to the
store (the write transaction comes after, and stays short).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from syncd.config import Config
from syncd.core.domain import Listing, Problem, listing_from_plain
from syncd.core.packed_keys import KeyPositions
from syncd.formats import Mapping, ParseResult, RecordResult, parse_file
from syncd.formats.canonical import merge_partial
from syncd.formats.csv_reader import KnownRun
from syncd.formats.encoding import Utf8GuessWrong
from syncd.formats.fingerprint import Fingerprints
from syncd.formats.image_hosts import HostCheck, ImageHosts
from syncd.store.listings import KnownRecords, image_hosts_text
from syncd.store.skipped import SKIPPED_ERROR_PREFIX
from syncd.usecases.ingest.changes import shown
from syncd.usecases.ingest.findings import Findings, finding
from syncd.usecases.ingest.spill import BATCH, Spill, Spilled, dump_chunk, spilled, winners
from syncd.usecases.ingest.winning import AgencyOf

# Image URLs collected per file for [images] probe_new, before the known ones are left out.
_PROBE_CANDIDATES = 2_000


@dataclass
class Parsed:
    """The whole file read and validated, before any write (the write lock stays short).

    The accepted records wait in ``spill`` (a temporary file), not in memory: only their
    keys stay here, for duplicates and for what a full export leaves out.
    """

    mapping: Mapping
    full: bool
    encoding: str
    spill: IO[bytes]
    errors: Findings
    warnings: Findings
    # key -> agency of the record that wins (packed by the parse's key positions)
    agency_of: AgencyOf
    winner_index: dict[str, int] = field(default_factory=dict)  # duplicated keys only
    agency_keys: set[str] = field(default_factory=set)
    # agency key -> (name, organisation number), as the records carry them
    agency_names: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    skipped_keys: set[str] = field(default_factory=set)
    # skipped key -> its first error, as the listing's last error reads it
    skip_reasons: dict[str, str] = field(default_factory=dict)
    # (record, line, key, url) of images worth asking before the create ([images] probe_new)
    probe_candidates: list[tuple[int, int | None, str, str]] = field(default_factory=list)
    probe_findings: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    accepted: int = 0
    unchanged: int = 0  # accepted records taken unread: their listing's last record again
    ignored: int = 0  # records the mapping ignores on purpose
    # Records not yet in ``spill``: written a chunk at a time (see spill.dump_chunk).
    pending: list[tuple[Any, ...]] = field(default_factory=list)

    def spill_record(self, record: tuple[Any, ...]) -> None:
        self.pending.append(record)
        if len(self.pending) >= BATCH:
            self.flush_spill()

    def flush_spill(self) -> None:
        if self.pending:
            dump_chunk(self.spill, self.pending)
            self.pending = []

    def winners(self) -> Iterator[list[Spilled]]:
        """The spilled records in file order, in batches, without those a later one replaced."""
        self.flush_spill()
        return winners(self.spill, self.winner_index)

    @property
    def skipped(self) -> int:
        return self.records - self.accepted - self.ignored

    @property
    def listing_agencies(self) -> set[str]:
        return self.agency_of.agencies()


def fallback_agency(mapping: Mapping) -> str | None:
    """The agency key the mapping uses when a file names none (its default)."""
    spec = mapping.fields.get("agency_key")
    if spec is None or spec.value is not None or spec.default is None:
        return None
    return str(spec.default)


def parse(
    path: Path,
    mapping: Mapping,
    config: Config,
    spill: Spill,
    stored: Callable[[str], Listing | None],
    *,
    known: KnownRecords | None = None,
) -> Parsed:
    """Every record validated on its own; ParseError if the file breaks anywhere.

    A partial record is laid over the listing as this file left it so far, or as stored:
    only the fields it carries change (read before the write transaction; one ingest
    writes at a time). ``known``: the record each listing was last read from; a record
    that is that one again is taken unread (formats/fingerprint.py).
    """
    try:
        # A CSV export UTF-8 at first sight is read so, not decoded whole first: most of a
        # re-drop's rows are found by their bytes and never decoded.
        return _parse(path, mapping, config, spill, stored, known=known, guess_utf8=True)
    except Utf8GuessWrong:
        # Not UTF-8 further on: all that was read is let go, and the file read again as
        # reading it all first says (its encoding, and the warning that it guessed).
        return _parse(path, mapping, config, spill, stored, known=known, guess_utf8=False)


def _parse(
    path: Path,
    mapping: Mapping,
    config: Config,
    spill: Spill,
    stored: Callable[[str], Listing | None],
    *,
    known: KnownRecords | None,
    guess_utf8: bool,
) -> Parsed:
    fingerprints = None
    if known is not None:
        context = "" if config.agency is None else config.agency.key
        keys = known.positions()
        fingerprints = Fingerprints(
            mapping,
            known.fingerprint,
            context,
            any_known=bool(known),
            owner=None if keys is None else known.found,
            keys=keys,
            rows_of=None if keys is None else known.rows_of,
        )
    result = parse_file(path, mapping, fingerprints=fingerprints, guess_utf8=guess_utf8)
    parsed = Parsed(
        mapping=mapping,
        full=result.full,
        encoding=result.encoding,
        spill=spill.binary(),
        errors=Findings(spill),
        warnings=Findings(spill),
        agency_of=AgencyOf(result.keys),
    )
    for text in result.warnings:
        parsed.warnings.append({"reason": text})
    reader = _Reader(path.name, config, parsed, stored, known, keys=result.keys)
    for item in result.items:
        if isinstance(item, KnownRun):
            reader.take_run(item)
        else:
            reader.take(item)
    parsed.flush_spill()
    for text in result.closing_warnings():
        parsed.warnings.append({"reason": text})
    images = config.images
    check = HostCheck(resolve=images.resolve_hosts, timeout_s=images.host_lookup_timeout_s)
    for host_finding in reader.hosts.findings(check):
        parsed.warnings.append(host_finding)
    _name_agencies(parsed, result, reader.agency_of)
    return parsed


class _Reader:
    """The records of one file taken in turn into ``parsed``."""

    def __init__(
        self,
        file: str,
        config: Config,
        parsed: Parsed,
        stored: Callable[[str], Listing | None],
        known: KnownRecords | None,
        *,
        keys: KeyPositions,
    ) -> None:
        self._file = file
        self._keys = keys  # the parse's: a record's ``key_at`` is its key's position there
        self._known = known
        self._config = config
        self._parsed = parsed
        self._stored = stored
        self._fallback = fallback_agency(parsed.mapping)
        self._probing = config.images.probe_new
        # Only for mappings with partial records: this file's latest version of each listing.
        self._latest: dict[str, str] | None = {} if _can_be_partial(parsed.mapping) else None
        self.hosts = ImageHosts()

    def agency_of(self, key: str) -> str:
        # [agency] in the config names the agency of exports that do not name one.
        if self._config.agency is not None and key == self._fallback:
            return self._config.agency.key
        return key

    def take(self, record: RecordResult) -> None:
        parsed = self._parsed
        parsed.records += 1
        if record.problems:
            report(parsed, record, record.problems)
        if record.unchanged and record.listing_key:
            self._keep(record, record.listing_key)  # most of a CRM's export: kept lean
            return
        if record.ignored is not None:
            parsed.ignored += 1  # left out on purpose by the mapping: not an error
            return
        listing = self._listing_of(record)
        if listing is not None:
            self._accept(record, listing)

    def _base_of(self, key: str) -> Listing | None:
        if self._latest is not None and key in self._latest:
            return listing_from_plain(json.loads(self._latest[key]))
        return self._stored(key)

    def _listing_of(self, record: RecordResult) -> Listing | None:
        """The record's listing (a partial one laid over its base), or None when skipped."""
        listing = record.listing
        merged_problems: Sequence[Problem] = ()
        if record.patch is not None and record.listing_key:
            listing, merged_problems = merge_partial(
                self._base_of(record.listing_key),
                record.listing_key,
                record.patch,
                self._parsed.mapping.limits,
            )
            report(self._parsed, record, merged_problems)
        if listing is None and record.listing_key:
            self._parsed.skipped_keys.add(record.listing_key)
            self._parsed.skip_reasons.setdefault(
                record.listing_key,
                skip_reason(
                    self._file, record.index, record.line, [*record.problems, *merged_problems]
                ),
            )
        return listing

    def _keep(self, record: RecordResult, key: str) -> None:
        """An unchanged record: its listing stands as stored, with its agency and hosts."""
        parsed = self._parsed
        parsed.accepted += 1
        parsed.unchanged += 1
        assert record.key_at >= 0, "a record with a key has its position"
        known = self._known
        assert known is not None, "an unchanged record's fingerprint was found there"
        # Found by its digest (CSV): its key's position is its row there.
        found = known.shared_at(record.key_at) if known.by_digest else known.agency_and_hosts(key)
        assert found is not None, "an unchanged record's fingerprint was found there"
        agency, hosts = found
        if parsed.agency_of.put(record.key_at, agency):  # inline: most of a re-drop
            parsed.winner_index[key] = record.index
        for host, images in hosts:
            self.hosts.add_host(host, images, record.index, record.line, key)

    def take_run(self, run: KnownRun) -> None:
        """Rows found unchanged one after another, none of their keys had before (most of
        a re-dropped CSV export): each kept as ``_keep`` keeps it, a part of them with one
        agency and one set of image hosts at a time, with no Python per row."""
        parsed, known, rows = self._parsed, self._known, run.rows
        assert known is not None, "rows found by their digest were found there"
        parsed.records += len(rows)
        parsed.accepted += len(rows)
        parsed.unchanged += len(rows)
        for start, stop, (agency, hosts) in known.shared_runs(rows):
            part = rows[start:stop]
            for at in parsed.agency_of.put_all(part, agency):  # none: no key had before
                parsed.winner_index[self._keys.key(at)] = run.index + start + part.index(at)
            line = None if run.line is None else run.line + start
            key = self._keys.key(rows[start]) if hosts else None
            for host, images in hosts:
                self.hosts.add_host(host, images * (stop - start), run.index + start, line, key)

    def _won(self, record: RecordResult, key: str, agency: str) -> None:
        # Last one wins for a duplicate key, in the place of the last one (formats warns).
        parsed = self._parsed
        assert record.listing_key == key, "a record's listing has the record's key"
        assert record.key_at >= 0, "a record with a key has its position"
        if parsed.agency_of.put(record.key_at, agency):
            parsed.winner_index[key] = record.index

    def _accept(self, record: RecordResult, listing: Listing) -> None:
        parsed = self._parsed
        parsed.accepted += 1
        agency = sys.intern(self.agency_of(listing.agency_key))
        if listing.agency_key != agency:
            listing = dataclasses.replace(listing, agency_key=agency)
        key = listing.listing_key
        self._won(record, key, agency)
        hosts: dict[str, int] = {}
        for image in listing.images:
            host = self.hosts.add(image.url, record.index, record.line, key)
            if host is not None:
                hosts[host] = hosts.get(host, 0) + 1
            if self._probing and len(parsed.probe_candidates) < _PROBE_CANDIDATES:
                parsed.probe_candidates.append((record.index, record.line, key, image.url))
        # A record with problems keeps no fingerprint: read again, it says them again.
        fingerprint = record.fingerprint if self._latest is None else None
        encoded = spilled(record.index, listing, fingerprint, image_hosts_text(hosts))
        if self._latest is not None:
            self._latest[key] = encoded[5]  # its desired JSON
        parsed.spill_record(encoded)


def _name_agencies(parsed: Parsed, result: ParseResult, agency_of: Callable[[str], str]) -> None:
    """The agencies a full export speaks for, and the names the records give them."""
    # The agencies a full export speaks for are those of its usable records: a broken row
    # (say, split on the wrong delimiter) falls back to the default agency and must not
    # make every listing of that agency look dropped.
    parsed.agency_keys = parsed.listing_agencies
    parsed.agency_names = {agency_of(k): named for k, named in result.agency_names.items()}
    if not parsed.agency_keys:
        # Nothing usable: the hold names what the file would have covered. A file with no
        # record at all names no agency; the agencies its mapping feeds are found when it is
        # written (never the config's default agency, which may be another CRM's).
        parsed.agency_keys = {agency_of(key) for key in result.agency_keys if key}


def _can_be_partial(mapping: Mapping) -> bool:
    return any(m.partial is not None for m in (mapping, *mapping.types.values()))


def skip_reason(file: str, index: int, line: int | None, problems: Sequence[Problem]) -> str:
    """The last error of a listing whose record was skipped: where, and its first error."""
    where = f"record {index}" + (f", line {line}" if line is not None else "")
    first = next((p for p in problems if p.severity == "error"), None)
    if first is None:
        what = "not usable"
    else:
        said = finding(first)
        value = f" = {shown('', said['value'])!r}" if said["value"] is not None else ""
        what = f"{first.field}{value}: {first.reason}"
    return (
        f"{SKIPPED_ERROR_PREFIX} in {file} ({where}): {what}; "
        "the listing keeps its last good state until the CRM sends it fixed"
    )


def report(parsed: Parsed, record: RecordResult, problems: Iterable[Problem]) -> None:
    """A record's problems as the file's errors and warnings, each saying where it stands."""
    for problem in problems:
        found = {
            "record": record.index,
            "line": record.line,
            "listing_key": record.listing_key,
            **finding(problem),
        }
        target = parsed.errors if problem.severity == "error" else parsed.warnings
        target.append(found)
