"""Ingest: one export file in, the desired state of its listings stored, the file archived.

One file is one transaction, fed from a spill file in batches (memory stays flat); a bad record
is skipped, a bad file goes to rejected/ and changes nothing. Never talks to Hemnet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import marshal
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from syncd import metrics, reprocess
from syncd.config import Config, FormatRule
from syncd.domain import (
    LISTING_FIELDS,
    Agency,
    Hashes,
    Listing,
    Problem,
    listing_from_plain,
    to_plain,
)
from syncd.errors import ExportError, MappingError, ParseError
from syncd.formats import Mapping, RecordResult, load_mapping, parse_file
from syncd.formats.canonical import merge_partial
from syncd.formats.image_hosts import HostCheck, ImageHosts
from syncd.formats.image_probe import probe
from syncd.formats.mapping import FieldSpec
from syncd.store.checks import known_image_urls
from syncd.store.engine import Store
from syncd.store.events import NewEvent, record_event, record_events
from syncd.store.files import (
    TakenFile,
    claim_export_file,
    latest_copy_of,
    update_export_file,
)
from syncd.store.holds import add_hold
from syncd.store.listings import (
    DesiredRow,
    StoredDesired,
    agency_sources,
    desired_plain,
    get_agency,
    keys_with_desired,
    mark_missing_rows,
    save_agency,
    save_desired_rows,
    stored_desired,
)
from syncd.store.skipped import SKIPPED_ERROR_PREFIX, clear_skipped, record_skipped
from syncd.store.tables import FileOutcome

if TYPE_CHECKING:
    # For annotations only: the store's queries do every database access.
    from syncd.store.engine import Session

log = logging.getLogger(__name__)

RESULT_SUFFIX = ".result.json"
ERROR_SUFFIX = ".error.json"
# A file keeps its name in archive/ or rejected/, with a receipt named after it and a
# temporary dot-file while the receipt is written; file systems allow 255 bytes a name.
# Longer names are rejected (their copy in rejected/ is shortened to fit).
MAX_NAME_BYTES = 200
# The database row keeps a bounded excerpt; the receipt beside the file keeps everything.
_ROW_FINDINGS_MAX = 100
_EVENT_MESSAGE_MAX = 600
_MONEY_FIELDS = frozenset({"asking_price", "monthly_fee", "operating_cost"})
_LABELS = {"asking_price": "price", "construction_year": "built", "energy_class": "energy"}
# Values too long or too personal to repeat in events and receipts.
_UNSHOWN = frozenset({"description", "address", "viewings", "broker", "coordinates"})
# Records written per statement: one SELECT and one executemany each, in one transaction.
_BATCH = 1_000
# Image URLs collected per file for [images] probe_new, before the known ones are left out.
_PROBE_CANDIDATES = 2_000
# Compact UTF-8, not the JSON column type's default (ASCII escapes, blanks): a typical listing
# then takes half a 4 KiB page instead of a whole one, halving what is written. One encoder
# for every record: json.dumps with options builds a new one per call. No cycle check:
# to_plain's dicts and lists are fresh and never contain themselves, so it can find nothing.
_STORED_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


@dataclass(frozen=True)
class IngestResult:
    """What became of one export file: outcome "accepted", "rejected", "duplicate" or "held"."""

    export_file: str
    outcome: str
    records: int
    accepted: int
    skipped: int
    warnings: int
    changed_keys: tuple[str, ...]
    moved_to: Path | None
    reason: str | None

    @property
    def summary(self) -> str:
        """The outcome as an operator reads it: "accepted, 2 skipped" when records were."""
        if self.skipped and self.outcome in (FileOutcome.ACCEPTED, FileOutcome.HELD):
            return f"{self.outcome}, {self.skipped} skipped"
        return self.outcome


class _Spilled(NamedTuple):
    """One accepted record as ingest stores it, kept on disk between parsing and writing."""

    record: int  # the record's position in the file: of a duplicated key, the last wins
    listing_key: str
    agency_key: str
    status: str
    hashes: tuple[str, str, str | None, str | None, str | None, str | None]
    desired_json: str  # to_plain(listing) as JSON text
    street: str  # for the "new listing" event, without reading the JSON back
    asking_price: int | None


class _Spill(contextlib.ExitStack):
    """Unnamed temporary files beside the database for one export file: gone when closed, or
    when the process dies. Beside the database, not in /tmp, which may be RAM."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory

    def binary(self) -> IO[bytes]:
        return self.enter_context(tempfile.TemporaryFile(dir=self._directory, prefix=".ingest-"))

    def text(self) -> IO[str]:
        return self.enter_context(
            tempfile.TemporaryFile("w+", encoding="utf-8", dir=self._directory, prefix=".ingest-")
        )


class _Findings:
    """The errors (or warnings) of one file: the first ones in memory for the database row,
    the rest in a spill file for the receipt (a warning on every record must not cost RAM)."""

    def __init__(self, spill: _Spill) -> None:
        self.head: list[dict[str, Any]] = []
        self.count = 0
        self._spill = spill
        self._rest: IO[str] | None = None

    def append(self, finding: dict[str, Any]) -> None:
        self.count += 1
        if len(self.head) < _ROW_FINDINGS_MAX:
            self.head.append(finding)
            return
        if self._rest is None:
            self._rest = self._spill.text()
        self._rest.write(_json_line(finding) + "\n")

    def texts(self) -> Iterator[str]:
        """Every finding, in order, as one line of JSON."""
        yield from (_json_line(finding) for finding in self.head)
        if self._rest is not None:
            self._rest.flush()
            self._rest.seek(0)
            yield from (line.rstrip("\n") for line in self._rest)


@dataclass
class _Parsed:
    """The whole file read and validated, before any write (the write lock stays short).

    The accepted records wait in ``spill`` (a temporary file), not in memory: only their
    keys stay here, for duplicates and for what a full export leaves out.
    """

    mapping: Mapping
    full: bool
    encoding: str
    spill: IO[bytes]
    errors: _Findings
    warnings: _Findings
    # key -> agency of the record that wins, in the order of the winners
    agency_of: dict[str, str] = field(default_factory=dict)
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
    ignored: int = 0  # records the mapping ignores on purpose
    # Records not yet in ``spill``: written a chunk at a time (marshal.load reading one
    # record from a file calls read() per value; one chunk per load is ~10 us per record less).
    pending: list[tuple[Any, ...]] = field(default_factory=list)

    def spill_record(self, spilled: tuple[Any, ...]) -> None:
        self.pending.append(spilled)
        if len(self.pending) >= _BATCH:
            self.flush_spill()

    def flush_spill(self) -> None:
        if self.pending:
            marshal.dump(self.pending, self.spill)
            self.pending = []

    @property
    def skipped(self) -> int:
        return self.records - self.accepted - self.ignored

    @property
    def listing_agencies(self) -> set[str]:
        return set(self.agency_of.values())


@dataclass
class _Applied:
    """What the transaction changed."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reappeared: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    hold_reason: str | None = None


@dataclass(frozen=True)
class _Take:
    """One export file being taken: the file, its bytes' digest, and when."""

    store: Store
    config: Config
    path: Path
    sha256: str
    now: datetime
    again: bool = False  # sent back by 'syncd reprocess': read even if taken before
    reread: bool = False  # taken before, changed where it went: read again from there

    @property
    def name(self) -> str:
        return self.path.name


class _AlreadyTaken(Exception):
    """Another ingest recorded these bytes between our read and our write."""

    def __init__(self, first: TakenFile) -> None:
        super().__init__(first.name)
        self.first = first


def ingest_file(
    store: Store, config: Config, path: Path, now: datetime, *, read_again: bool = False
) -> IngestResult:
    """Take one export file; never raises for a bad file (it is rejected, with a reason).

    ``read_again``: the file was taken before and changed where it went (its writer was not
    done); it is taken like any file, and its receipt and an event say so.

    OSError (the file vanished, a full disk) is raised: that is not the file's fault and
    the caller may try again.
    """
    sha256 = _sha256_of(path)
    take = _Take(
        store, config, path, sha256, now, again=reprocess.asked(path, sha256), reread=read_again
    )
    try:
        return _ingest(take)
    finally:
        if take.again and not path.exists():
            reprocess.done(path)


def _ingest(take: _Take) -> IngestResult:
    store, config, path = take.store, take.config, take.path
    with store.read() as session:
        first = latest_copy_of(session, take.sha256)
    # Only a copy of the latest export of its source is a duplicate. A copy of an older one
    # is read again (a correct export after a broken one restores the listings), and so is
    # a rejected file dropped again: the mapping or config may have been fixed. So is one
    # an operator sent back with 'syncd reprocess' (take.again).
    if first is not None and not take.again:
        return _duplicate(take, first)
    name_bytes = len(os.fsencode(path.name))
    if name_bytes > MAX_NAME_BYTES:
        reason = (
            f"the file name is {name_bytes} bytes long, more than {MAX_NAME_BYTES}: "
            "too long to keep with its receipt; give the export a shorter name"
        )
        return _reject(take, ExportError(reason, path.name), None)
    rule = config.format_for(path.name)
    if rule is None:
        reason = f"no [[formats]] pattern matches {path.name}"
        return _reject(take, ExportError(reason, path.name), None)
    with _Spill(config.paths.database.parent) as spill:
        try:
            parsed = _parse(path, _mapping_for(rule), config, spill, _stored_listing(store))
        except ExportError as error:
            return _reject(take, error, rule.mapping)
        _probe_new_images(take, parsed)
        try:
            return _accept(take, parsed)
        except _AlreadyTaken as taken:
            return _duplicate(take, taken.first)


# --- reading -------------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    # The same digest as watch.sha256_of; ingest sits below watch and must not import it.
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _mapping_for(rule: FormatRule) -> Mapping:
    mapping = load_mapping(rule.mapping_path)
    if rule.export_mode is not None:
        # The config's export_mode overrides whatever the mapping reads or assumes.
        mapping = dataclasses.replace(mapping, mode=FieldSpec(value=rule.export_mode))
    return mapping


def _fallback_agency(mapping: Mapping) -> str | None:
    """The agency key the mapping uses when a file names none (its default)."""
    spec = mapping.fields.get("agency_key")
    if spec is None or spec.value is not None or spec.default is None:
        return None
    return str(spec.default)


def _stored_listing(store: Store) -> Callable[[str], Listing | None]:
    """The stored desired listing of a key: what a partial record is laid over."""

    def stored(key: str) -> Listing | None:
        with store.read() as session:
            plain = desired_plain(session, [key]).get(key)
        return None if plain is None else listing_from_plain(plain)

    return stored


def _can_be_partial(mapping: Mapping) -> bool:
    return any(m.partial is not None for m in (mapping, *mapping.types.values()))


def _parse(
    path: Path,
    mapping: Mapping,
    config: Config,
    spill: _Spill,
    stored: Callable[[str], Listing | None],
) -> _Parsed:
    """Every record validated on its own; ParseError if the file breaks anywhere.

    A partial record is laid over the listing as this file left it so far, or as stored:
    only the fields it carries change (read before the write transaction; one ingest
    writes at a time).
    """
    result = parse_file(path, mapping)
    fallback = _fallback_agency(mapping)
    # Only for mappings with partial records: this file's latest version of each listing.
    latest: dict[str, str] | None = {} if _can_be_partial(mapping) else None

    def base_of(key: str) -> Listing | None:
        if latest is not None and key in latest:
            return listing_from_plain(json.loads(latest[key]))
        return stored(key)

    def agency_of(key: str) -> str:
        # [agency] in the config names the agency of exports that do not name one.
        if config.agency is not None and key == fallback:
            return config.agency.key
        return key

    parsed = _Parsed(
        mapping=mapping,
        full=result.full,
        encoding=result.encoding,
        spill=spill.binary(),
        errors=_Findings(spill),
        warnings=_Findings(spill),
    )
    for text in result.warnings:
        parsed.warnings.append({"reason": text})
    hosts = ImageHosts()
    probing = config.images.probe_new
    for record in result.records:
        parsed.records += 1
        _report(parsed, record, record.problems)
        if record.ignored is not None:
            parsed.ignored += 1  # left out on purpose by the mapping: not an error
            continue
        listing = record.listing
        merged_problems: Sequence[Problem] = ()
        if record.patch is not None and record.listing_key:
            listing, merged_problems = merge_partial(
                base_of(record.listing_key), record.listing_key, record.patch, mapping.limits
            )
            _report(parsed, record, merged_problems)
        if listing is None:
            if record.listing_key:
                parsed.skipped_keys.add(record.listing_key)
                parsed.skip_reasons.setdefault(
                    record.listing_key,
                    _skip_reason(
                        path.name, record.index, record.line, [*record.problems, *merged_problems]
                    ),
                )
            continue
        parsed.accepted += 1
        agency = sys.intern(agency_of(listing.agency_key))
        if listing.agency_key != agency:
            listing = dataclasses.replace(listing, agency_key=agency)
        key = listing.listing_key
        # Last one wins for a duplicate key, in the place of the last one (formats warns).
        if key in parsed.agency_of:
            del parsed.agency_of[key]
            parsed.winner_index[key] = record.index
        parsed.agency_of[key] = agency
        spilled = _spilled(record.index, listing)
        if latest is not None:
            latest[key] = spilled[5]  # its desired JSON
        parsed.spill_record(spilled)
        for image in listing.images:
            hosts.add(image.url, record.index, record.line, key)
            if probing and len(parsed.probe_candidates) < _PROBE_CANDIDATES:
                parsed.probe_candidates.append((record.index, record.line, key, image.url))
    parsed.flush_spill()
    for text in result.closing_warnings():
        parsed.warnings.append({"reason": text})
    images = config.images
    check = HostCheck(resolve=images.resolve_hosts, timeout_s=images.host_lookup_timeout_s)
    for finding in hosts.findings(check):
        parsed.warnings.append(finding)
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
    return parsed


def _skip_reason(file: str, index: int, line: int | None, problems: Sequence[Problem]) -> str:
    """The last error of a listing whose record was skipped: where, and its first error."""
    where = f"record {index}" + (f", line {line}" if line is not None else "")
    first = next((p for p in problems if p.severity == "error"), None)
    if first is None:
        what = "not usable"
    else:
        shown = _finding(first)
        value = f" = {_shown('', shown['value'])!r}" if shown["value"] is not None else ""
        what = f"{first.field}{value}: {first.reason}"
    return (
        f"{SKIPPED_ERROR_PREFIX} in {file} ({where}): {what}; "
        "the listing keeps its last good state until the CRM sends it fixed"
    )


def _probe_new_images(take: _Take, parsed: _Parsed) -> None:
    """Ask the images Hemnet does not have yet what Hemnet will find there (bounded)."""
    images = take.config.images
    if not parsed.probe_candidates:
        return
    with take.store.read() as session:
        known = known_image_urls(session, {key for _, _, key, _ in parsed.probe_candidates})
    new = [c for c in parsed.probe_candidates if (c[2], c[3]) not in known]
    new = new[: images.probe_max_per_file]
    problems = probe([url for _, _, _, url in new], images.probe_timeout_s)
    for record, line, key, url in new:
        if url in problems:
            finding = {
                "record": record,
                "line": line,
                "listing_key": key,
                "severity": "warning",
                "field": "images.url",
                "value": url,
                "reason": problems[url],
            }
            parsed.warnings.append(finding)
            parsed.probe_findings.append(finding)


def _spilled(index: int, listing: Listing) -> tuple[Any, ...]:
    """The record as marshal writes it (a plain tuple: marshal takes no classes)."""
    plain = to_plain(listing)
    hashes = Hashes.of_plain(plain)
    text = _STORED_JSON.encode(plain)
    return (
        index,
        listing.listing_key,
        listing.agency_key,
        listing.status.value,
        (
            hashes.content,
            hashes.images,
            hashes.sale,
            hashes.seller,
            hashes.billing,
            hashes.image_right,
        ),
        text,
        listing.address.street,
        listing.asking_price,
    )


def _winners(parsed: _Parsed) -> Iterator[list[_Spilled]]:
    """The spilled records in file order, in batches, without those a later one replaced."""
    parsed.flush_spill()
    parsed.spill.flush()
    parsed.spill.seek(0)
    batch: list[_Spilled] = []
    while True:
        try:
            # An unnamed file this process wrote a moment ago: no one else can feed it.
            chunk = marshal.load(parsed.spill)  # noqa: S302
        except EOFError:
            break
        for fields in chunk:
            spilled = _Spilled(*fields)
            if parsed.winner_index.get(spilled.listing_key, spilled.record) != spilled.record:
                continue
            batch.append(spilled)
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _report(parsed: _Parsed, record: RecordResult, problems: Iterable[Problem]) -> None:
    """A record's problems as the file's errors and warnings, each saying where it stands."""
    for problem in problems:
        finding = {
            "record": record.index,
            "line": record.line,
            "listing_key": record.listing_key,
            **_finding(problem),
        }
        target = parsed.errors if problem.severity == "error" else parsed.warnings
        target.append(finding)


def _finding(problem: Problem) -> dict[str, Any]:
    # Personal identity numbers never leave the CRM's file: not in receipts, rows or logs.
    value = None if "identity_number" in problem.field else problem.value
    return {
        "severity": problem.severity,
        "field": problem.field,
        "value": value,
        "reason": problem.reason,
    }


# --- writing -------------------------------------------------------------------------------


def _accept(take: _Take, parsed: _Parsed) -> IngestResult:
    path, now = take.path, take.now
    empty_full = parsed.full and not parsed.agency_of
    outcome = FileOutcome.HELD if empty_full else FileOutcome.ACCEPTED
    archive = take.config.paths.archive / f"{now:%Y/%m/%d}"
    target = _free_path(archive, path.name, RESULT_SUFFIX)
    counts = {
        "records": parsed.records,
        "accepted": parsed.accepted,
        "skipped": parsed.skipped,
        "warnings": parsed.warnings.count,
    }
    applied = _Applied()
    # Durable: the file moves right after this commit, so the commit must outlive power loss.
    with take.store.transaction(durable=True) as session:
        file_id = _claim(
            session,
            name=path.name,
            sha256=take.sha256,
            again=take.again,
            size_bytes=path.stat().st_size,
            received_at=now,
            outcome=outcome,
            mapping=parsed.mapping.name,
            export_mode="full" if parsed.full else "incremental",
            archived_path=str(target),
            **counts,
        )
        if empty_full:
            _hold_empty_export(session, take, parsed, file_id, applied)
        else:
            _save_agencies(session, take.config, parsed, now)
            _save_listings(session, take, parsed, file_id, applied)
        _note_skipped(session, take, parsed)
        record_events(
            session,
            [
                NewEvent(
                    "image_unreachable",
                    f"image {f['value']} {f['reason']} (checked at ingest of {take.name})",
                    listing_key=f["listing_key"],
                    data={"file": take.name, "url": f["value"]},
                )
                for f in parsed.probe_findings
            ],
            now,
        )
        if take.reread:
            record_event(
                session,
                "export_changed",
                f"{path.name} changed after it was taken (its writer was not done): read again",
                now,
                data={"file": path.name, "read_again_from": str(path)},
            )
        receipt = _receipt(take, parsed, outcome, applied)
        update_export_file(session, file_id, result=_bounded(receipt))
    _write_receipt(target.with_name(target.name + RESULT_SUFFIX), receipt)
    _move(path, target)
    metrics.EXPORT_FILES.labels(outcome.value).inc()
    metrics.RECORDS.labels("accepted").inc(parsed.accepted)
    metrics.RECORDS.labels("skipped").inc(parsed.skipped)
    log.info(
        "ingest %s: %s, %s export via %s, %d record(s), %d accepted, %d skipped, "
        "%d warning(s), %d changed, %d missing, %d held",
        path.name,
        _summary(outcome, parsed.skipped),
        "full" if parsed.full else "incremental",
        parsed.mapping.name,
        parsed.records,
        parsed.accepted,
        parsed.skipped,
        parsed.warnings.count,
        len(applied.changed),
        len(applied.missing),
        len(applied.held),
    )
    return IngestResult(
        export_file=path.name,
        outcome=outcome.value,
        changed_keys=tuple(applied.changed),
        moved_to=target,
        reason=applied.hold_reason,
        **counts,
    )


def _claim(session: Session, *, sha256: str, again: bool = False, **fields: Any) -> int:
    """Record these bytes as taken (see ``claim_export_file``); their export file's id.

    Raises _AlreadyTaken when they are a copy of their source's latest export, unless an
    operator sent them back with 'syncd reprocess' (``again``).
    """
    latest = latest_copy_of(session, sha256)
    if latest is not None and not again:
        raise _AlreadyTaken(latest)
    return claim_export_file(session, sha256=sha256, again=again, **fields)


def _note_skipped(session: Session, take: _Take, parsed: _Parsed) -> None:
    """A skipped record is news on its listing: an event, and its last error until a later
    export brings the record usable again (which clears it)."""
    clear_skipped(session, parsed.agency_of, take.now)
    # A key skipped once and usable in another record of the file was not skipped.
    reasons = {k: v for k, v in parsed.skip_reasons.items() if k not in parsed.agency_of}
    if not reasons:
        return
    record_skipped(session, reasons, take.now)
    file_data = {"file": take.name}
    record_events(
        session,
        [
            NewEvent("record_skipped", message, listing_key=key, data=file_data)
            for key, message in reasons.items()
        ],
        take.now,
    )


def _save_agencies(session: Session, config: Config, parsed: _Parsed, now: datetime) -> None:
    """Each agency's name and organisation number: the config's, else the export's.

    An agency neither names is not saved: its new listings wait, saying how to name it
    (plan.py), rather than reaching Hemnet under the CRM's key as its name.
    """
    for key in sorted(parsed.listing_agencies):
        configured = config.agency_named(key)
        name, org = parsed.agency_names.get(key, (None, None))
        if configured is not None:
            wanted = Agency(key, configured.name, configured.organisation_number or org)
        elif name:
            wanted = Agency(key, name, org)
        else:
            continue
        row = get_agency(session, key)
        if row is None or (row.name, row.organisation_number) != (
            wanted.name,
            wanted.organisation_number,
        ):
            save_agency(session, wanted, now)


def _save_listings(
    session: Session, take: _Take, parsed: _Parsed, file_id: int, applied: _Applied
) -> None:
    for batch in _winners(parsed):
        _save_batch(session, take, batch, file_id, applied)
    if not parsed.full:
        return  # absence from an incremental export means nothing
    name, now = take.name, take.now
    file_data = {"file": name}  # one dict for every event: record_events encodes it once
    gone = _would_go(session, parsed)
    mark_missing_rows(session, gone, now)
    applied.missing = gone
    message = f"missing from full export {name}; unpublished after the removal grace"
    record_events(
        session,
        [NewEvent("missing", message, listing_key=key, data=file_data) for key in gone],
        now,
    )


def _save_batch(
    session: Session, take: _Take, batch: list[_Spilled], file_id: int, applied: _Applied
) -> None:
    """One SELECT of the stored hashes, then one write of what changed and its events."""
    name, now = take.name, take.now
    stored = stored_desired(session, [spilled.listing_key for spilled in batch])
    changed = [s for s in batch if _differs(stored.get(s.listing_key), s)]
    if not changed:
        return
    # The old JSON only for the listings whose event says what changed (not new ones).
    old_plain = desired_plain(
        session,
        [s.listing_key for s in changed if s.listing_key in stored],
    )
    save_desired_rows(
        session,
        [
            DesiredRow(s.listing_key, s.agency_key, s.status, s.hashes, s.desired_json)
            for s in changed
        ],
        now,
        source_file_id=file_id,
    )
    file_data = {"file": name}  # one dict for every event: record_events encodes it once
    new_events: list[NewEvent] = []
    for spilled in changed:
        key = spilled.listing_key
        before = stored.get(key)
        reappeared = before is not None and before.missing_since is not None
        applied.changed.append(key)
        if reappeared:
            applied.reappeared.append(key)
        old = old_plain.get(key)
        if old is None:
            status, street, price = spilled.status, spilled.street, spilled.asking_price
            message = _arrival(name, status, street, price, reappeared=reappeared)
        else:
            new = listing_from_plain(json.loads(spilled.desired_json))
            message = describe_change(listing_from_plain(old), new, name, reappeared=reappeared)
        new_events.append(NewEvent("desired_changed", message, listing_key=key, data=file_data))
    record_events(session, new_events, now)


def _would_go(session: Session, parsed: _Parsed) -> list[str]:
    """Listings of the export's agencies that a full export leaves out (and so has dropped).

    A record skipped for its errors still names its listing: that listing keeps its last
    good state rather than being taken off Hemnet because of a typo.
    """
    gone: list[str] = []
    for agency in sorted(parsed.agency_keys):
        gone.extend(
            key
            for key in keys_with_desired(session, agency)
            if key not in parsed.agency_of and key not in parsed.skipped_keys
        )
    return gone


def _hold_empty_export(
    session: Session, take: _Take, parsed: _Parsed, file_id: int, applied: _Applied
) -> None:
    """An empty full export changes no listing: what it would remove waits for an operator."""
    name, now = take.name, take.now
    total = 0
    for agency in sorted(parsed.agency_keys or _agencies_fed(session, take, parsed)):
        keys = [key for key in keys_with_desired(session, agency) if key not in parsed.skipped_keys]
        if not keys:
            continue
        total += len(keys)
        reason = (
            f"full export {name} has no usable listing: it would remove all {len(keys)} "
            f"listing(s) of agency {agency}"
        )
        add_hold(session, agency, reason, keys, now, export_file_id=file_id)
        applied.held.extend(keys)
    applied.hold_reason = (
        f"empty full export: {total} listing(s) would go; held, no listing changed"
        if total
        else "empty full export: no listing changed"
    )
    record_event(session, "export_held", f"{name}: {applied.hold_reason}", now, data={"file": name})


def _agencies_fed(session: Session, take: _Take, parsed: _Parsed) -> set[str]:
    """The agencies an export naming none covers: those fed by files of its [[formats]] entry.

    Never simply the config's [agency]: another CRM's exports may be the ones that feed it.
    """
    config = take.config
    rule = config.format_for(take.name)
    fed = {agency for agency, name in agency_sources(session) if config.format_for(name) == rule}
    fallback = _fallback_agency(parsed.mapping)
    if fallback and config.agency is None:
        fed.add(fallback)  # the mapping's own default, not taken over by the config
    return fed


def _differs(stored: StoredDesired | None, spilled: _Spilled) -> bool:
    """Only a change of a hash (or of status or agency) counts: rewriting is not a change."""
    if stored is None or not stored.has_desired:
        return True
    return (
        stored.hashes != spilled.hashes
        or stored.desired_status != spilled.status
        or stored.agency_key != spilled.agency_key
    )


def _arrival(
    file: str, status: str, street: str, asking_price: int | None, *, reappeared: bool
) -> str:
    """The event line of a listing new to syncd, or back after it went missing."""
    head = f"back in {file}" if reappeared else f"new listing from {file}"
    price = f", price {_shown('asking_price', asking_price)}" if asking_price else ""
    return f"{head}: {status}, {street}{price}"


def describe_change(old: Listing | None, new: Listing, file: str, *, reappeared: bool) -> str:
    """One line for the listing's history: what this export changed, old → new."""
    if old is None:
        status, street = new.status.value, new.address.street
        return _arrival(file, status, street, new.asking_price, reappeared=reappeared)
    parts: list[str] = []
    if old.status is not new.status:
        parts.append(f"status {old.status.value} → {new.status.value}")
    if old.agency_key != new.agency_key:
        parts.append(f"agency {old.agency_key} → {new.agency_key}")
    for name in LISTING_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        label = _LABELS.get(name, name.replace("_", " "))
        if name in _UNSHOWN:
            parts.append(f"{label} changed")
        else:
            parts.append(f"{label} {_shown(name, before)} → {_shown(name, after)}")
    if old.images != new.images:
        parts.append(f"images ({len(old.images)} → {len(new.images)})")
    if old.sale != new.sale:
        parts.append("sale changed" if old.sale and new.sale else "sale " + _sale_text(new))
    if old.seller != new.seller:
        parts.append("seller information changed")  # never the identity number
    if old.billing != new.billing:
        parts.append("billing information changed")
    if old.image_right != new.image_right:
        parts.append("image right " + ("removed" if new.image_right is None else "changed"))
    message = f"desired state changed by {file}: " + "; ".join(parts or ["details changed"])
    return message if len(message) <= _EVENT_MESSAGE_MAX else message[:_EVENT_MESSAGE_MAX] + "…"


def _shown(name: str, value: object) -> str:
    if value is None:
        return "—"
    if name in _MONEY_FIELDS and isinstance(value, int):
        return f"{value:,}".replace(",", " ")  # 3 495 000, as Swedish listings print it
    text = str(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _sale_text(listing: Listing) -> str:
    if listing.sale is None:
        return "removed"
    return f"recorded: {_shown('asking_price', listing.sale.price)} on {listing.sale.sold_on}"


# --- receipts, rejects, duplicates -------------------------------------------------------


def _receipt(
    take: _Take, parsed: _Parsed, outcome: FileOutcome, applied: _Applied
) -> dict[str, Any]:
    return {
        "file": take.name,
        "sha256": take.sha256,
        "received_at": take.now.isoformat(),
        "outcome": outcome.value,
        "summary": _summary(outcome, parsed.skipped),
        "read_again_from": str(take.path) if take.reread else None,
        "reason": applied.hold_reason,
        "mapping": parsed.mapping.name,
        "format": parsed.mapping.format,
        "encoding": parsed.encoding,
        "export_mode": "full" if parsed.full else "incremental",
        "agencies": sorted(parsed.agency_keys),
        "records": parsed.records,
        "accepted": parsed.accepted,
        "skipped": parsed.skipped,
        "ignored": parsed.ignored,
        "listings": len(parsed.agency_of),
        "changed_keys": applied.changed,
        "missing_keys": applied.missing,
        "reappeared_keys": applied.reappeared,
        "held_keys": applied.held,
        "errors": parsed.errors,
        "warnings": parsed.warnings,
    }


def _summary(outcome: FileOutcome, skipped: int) -> str:
    return f"{outcome.value}, {skipped} skipped" if skipped else outcome.value


def _bounded(receipt: dict[str, Any]) -> dict[str, Any]:
    out = dict(receipt)
    for key in ("errors", "warnings"):
        findings: _Findings = receipt[key]
        out[key] = findings.head
        if findings.count > _ROW_FINDINGS_MAX:
            out[f"{key}_not_shown"] = findings.count - _ROW_FINDINGS_MAX
    return out


def _reject(take: _Take, error: ExportError, mapping: str | None) -> IngestResult:
    path, now, sha256 = take.path, take.now, take.sha256
    said = _without_path(error)
    target = _free_path(take.config.paths.rejected, path.name, ERROR_SUFFIX)
    details: dict[str, Any] = {
        "file": path.name,
        "sha256": sha256,
        "received_at": now.isoformat(),
        "outcome": FileOutcome.REJECTED.value,
        "summary": FileOutcome.REJECTED.value,
        "reason": error.reason,
        # A rejected file is used whole or not at all: nothing read before the break counts.
        "records": 0,
        "accepted": 0,
        "skipped": 0,
        "error": type(error).__name__,
        "mapping": mapping,
        "line": error.line if isinstance(error, ParseError) else None,
        "column": error.column if isinstance(error, ParseError) else None,
    }
    if isinstance(error, MappingError):
        details["mapping_field"] = error.field
        details["record_key"] = error.record_key
    try:
        with take.store.transaction(durable=True) as session:
            _claim(
                session,
                name=path.name,
                sha256=sha256,
                again=take.again,
                size_bytes=path.stat().st_size,
                received_at=now,
                outcome=FileOutcome.REJECTED,
                mapping=mapping,
                result=details,
                archived_path=str(target),
            )
            record_event(
                session,
                "export_rejected",
                f"{path.name} rejected: {said}",
                now,
                data={"file": path.name},
            )
    except _AlreadyTaken as taken:
        return _duplicate(take, taken.first)
    receipt = target.with_name(target.name + ERROR_SUFFIX)
    return _set_aside(
        path, target, receipt, details, FileOutcome.REJECTED, said, f"rejected: {said}"
    )


def _without_path(error: ExportError) -> str:
    """The error as one line without the file's path (the inbox path means nothing later)."""
    text = str(error)
    prefix = f"{error.path}: " if error.path else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _duplicate(take: _Take, first: TakenFile) -> IngestResult:
    """The same bytes again: no listing changes, the file is archived with a receipt."""
    path, now = take.path, take.now
    recorded = Path(first.archived_path) if first.archived_path else None
    interrupted = recorded is not None and first.name == path.name and not recorded.exists()
    if interrupted and recorded is not None:
        # The file's transaction committed but the move did not happen (a crash): finish it.
        target = recorded
        receipt = dict(first.result or {})
        receipt["completed_at"] = now.isoformat()
        reason = f"already taken at {first.received_at.isoformat()}; finished moving it"
        suffix = ERROR_SUFFIX if first.outcome == FileOutcome.REJECTED else RESULT_SUFFIX
    else:
        archive = take.config.paths.archive / f"{now:%Y/%m/%d}"
        target = _free_path(archive, path.name, RESULT_SUFFIX)
        reason = f"duplicate of {first.name} (received {first.received_at.isoformat()})"
        receipt = {
            "file": path.name,
            "sha256": take.sha256,
            "received_at": now.isoformat(),
            "outcome": FileOutcome.DUPLICATE.value,
            "reason": reason,
            "duplicate_of": first.name,
            "first_received_at": first.received_at.isoformat(),
            "first_outcome": first.outcome,
            "first_archived_path": first.archived_path,
            "changed_keys": [],
        }
        suffix = RESULT_SUFFIX
    with take.store.transaction(durable=True) as session:
        record_event(
            session, "export_duplicate", f"{path.name}: {reason}", now, data={"file": path.name}
        )
    receipt_path = target.with_name(target.name + suffix)
    told = f"duplicate, {reason}"
    return _set_aside(path, target, receipt_path, receipt, FileOutcome.DUPLICATE, reason, told)


def _set_aside(  # noqa: PLR0917
    path: Path,
    target: Path,
    receipt_path: Path,
    receipt: dict[str, Any],
    outcome: FileOutcome,
    reason: str,
    told: str,
) -> IngestResult:
    """A file no listing was taken from: moved to ``target``, its receipt beside it."""
    _write_json(receipt_path, receipt)
    _move(path, target)
    metrics.EXPORT_FILES.labels(outcome.value).inc()
    log.info("ingest %s: %s", path.name, told)
    return IngestResult(
        export_file=path.name,
        outcome=outcome.value,
        records=0,
        accepted=0,
        skipped=0,
        warnings=0,
        changed_keys=(),
        moved_to=target,
        reason=reason,
    )


def _free_path(directory: Path, name: str, receipt_suffix: str) -> Path:
    """``directory/name``, or ``name-2``, ``name-3``… when that (or its receipt) is taken."""
    name = _fitting_name(name)
    candidate = directory / name
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    number = 1
    while candidate.exists() or candidate.with_name(candidate.name + receipt_suffix).exists():
        number += 1
        candidate = directory / f"{stem}-{number}{dot}{ext}"
    return candidate


def _fitting_name(name: str) -> str:
    """``name``, or when longer than MAX_NAME_BYTES its start, a digest of the whole name
    (two long names sharing a start stay apart) and its extension."""
    encoded = os.fsencode(name)
    if len(encoded) <= MAX_NAME_BYTES:
        return name
    stem, ext = os.path.splitext(name)
    ext_bytes = os.fsencode(ext)
    if len(ext_bytes) > 16:
        ext_bytes = b""
    digest = hashlib.sha256(encoded).hexdigest()[:12].encode()
    keep = MAX_NAME_BYTES - len(ext_bytes) - len(digest) - 1
    # Cut on a character boundary where the bytes are UTF-8; other bytes stay as they were.
    start = os.fsencode(stem)[:keep].decode("utf-8", "ignore").encode("utf-8")
    if not os.fsencode(stem).startswith(start):
        start = os.fsencode(stem)[:keep]
    return os.fsdecode(start + b"~" + digest + ext_bytes)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _write_receipt(path: Path, receipt: dict[str, Any]) -> None:
    """``_write_json`` for an accepted file's receipt, written as it goes: one line per list
    item or finding, so 100,000 keys or warnings never become one string in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        separator = "{"
        for key, value in receipt.items():
            out.write(f"{separator}\n  {json.dumps(key)}: ")
            separator = ","
            if isinstance(value, _Findings | list):
                texts = value.texts() if isinstance(value, _Findings) else map(_json_line, value)
                opening = "["
                for text in texts:
                    out.write(f"{opening}\n    {text}")
                    opening = ","
                out.write("[]" if opening == "[" else "\n  ]")
            else:
                out.write(_json_line(value))
        out.write("\n}\n")
    os.replace(temporary, path)


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)
