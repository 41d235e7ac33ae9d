"""Ingest's desired side in batches: what is stored of the CRM's listings, upserted and
marked missing with Core statements. Never touches the known side, never commits.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, compress, count
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Dialect,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from syncd.core.packed_digests import DIGEST_BYTES, DigestIndex
from syncd.core.packed_keys import KeyPositions
from syncd.store.driver import execute_many
from syncd.store.plan_marks import mark_listings
from syncd.store.portable import json_text
from syncd.store.tables import ExportFile, ListingRow

# Core statements, not ORM objects: ingest writes up to 100,000 listings per export file, and
# building, tracking and flushing one ORM object each cost far more than the SQL. The rows
# written here are never in a session's identity map, so callers must not mix these with
# ORM reads of the same listings in one transaction.

_LISTINGS = cast(Table, ListingRow.__table__)
_INT32 = "i" if array("i").itemsize == 4 else "l"  # a 4-byte array item (a row, an index)
# What an unchanged record still tells: its listing's agency and (image host, count)s.
Shared = tuple[str, tuple[tuple[str, int], ...]]


# mark_missing_rows writes JSON null (the JSON type's None), save_desired_rows never NULL:
# a listing has a desired state when the column is neither. The terms of tables.py's
# HAS_DESIRED_* predicates, 'null' a literal: so the partial indexes
# ix_listings_desired_agency and ix_listings_known_record answer the queries below
# without reading the wide rows.
_HAS_DESIRED = _LISTINGS.c.desired_json.is_not(None) & (
    json_text(_LISTINGS.c.desired_json) != literal_column("'null'")
)


@dataclass(frozen=True, slots=True)
class StoredDesired:
    """What ingest compares a parsed listing with: the desired side's hashes, not its JSON."""

    listing_key: str
    agency_key: str
    has_desired: bool
    hashes: tuple[str | None, str | None, str | None, str | None, str | None, str | None]
    desired_status: str | None
    missing_since: datetime | None
    record_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class KnownRecord:
    """The record a listing's desired state was last read from: its fingerprint, and what
    an unchanged record still tells ingest without being read (agency, image hosts)."""

    fingerprint: str
    agency_key: str
    image_hosts: tuple[tuple[str, int], ...]


class DesiredRow(NamedTuple):
    """A listing's desired side ready to store: ``desired_json`` is the JSON text of
    ``to_plain(listing)``, ``hashes`` its content, images, sale, seller, billing and image
    right hashes. A tuple, not a frozen dataclass: ingest makes one per listing, and a frozen
    dataclass's ``__init__`` cost as much as the row's SQL."""

    listing_key: str
    agency_key: str
    desired_status: str
    hashes: tuple[str, str, str | None, str | None, str | None, str | None]
    desired_json: str
    # The record it was read from (None: read it again next time) and its image hosts.
    record_fingerprint: str | None = None
    record_image_hosts: str | None = None


def has_listings(session: Session) -> bool:
    """Whether the store has any listing row (a first ingest finds none, and need not look
    each of its listings up)."""
    return session.execute(select(_LISTINGS.c.listing_key).limit(1)).first() is not None


def stored_desired(session: Session, listing_keys: Collection[str]) -> dict[str, StoredDesired]:
    """The stored desired side of these listings (one SELECT; at most ~30,000 keys)."""
    if not listing_keys:
        return {}
    c = _LISTINGS.c
    query = select(
        c.listing_key,
        c.agency_key,
        _HAS_DESIRED,
        c.content_hash,
        c.images_hash,
        c.sale_hash,
        c.seller_hash,
        c.billing_hash,
        c.image_right_hash,
        c.desired_status,
        c.missing_since,
        c.record_fingerprint,
    ).where(c.listing_key.in_(listing_keys))
    found: dict[str, StoredDesired] = {}
    for key, agency, has_desired, *hashes, status, missing_since, fingerprint in session.execute(
        query
    ):
        found[key] = StoredDesired(
            key,
            agency,
            bool(has_desired),
            tuple(hashes),
            status,
            missing_since,
            fingerprint,
        )
    return found


class KnownRecords:
    """Listing key -> the record its desired state was last read from, packed: 100,000 of
    them are held through a whole ingest, so each is one small bytes object (fingerprint
    and the index of its (agency, image hosts), which a CRM's listings mostly share).

    ``by_digest`` (CSV rows, formats/fingerprint.py row_digest): kept the other way round,
    fingerprint -> listing key, for records looked up by their fingerprint alone, packed
    in a ``DigestIndex`` (about 45 bytes a listing, not a dict's 150); a key then keeps
    only the index of its (agency, image hosts), and only when that is not the first one
    (most of an export shares it), and ``fingerprint(key)`` is None (its records are found
    by ``owner``; one looked up by key is read)."""

    def __init__(self, *, by_digest: bool = False) -> None:
        self._packed: dict[str, bytes] = {}
        self._shared: list[tuple[str, tuple[tuple[str, int], ...]]] = []
        self._index: dict[tuple[str, str], int] = {}
        self.by_digest = by_digest
        self._owners = DigestIndex() if by_digest else None
        # The listing whose record has this fingerprint (None: none, or not kept): the
        # index's own method, looked up once a row, with no call of this class between.
        self.owner: Callable[[bytes], str | None] = (
            _none if self._owners is None else self._owners.owner
        )
        # ``owner`` and its row, the key's position in ``positions()``.
        self.found: Callable[[bytes], tuple[str, int] | None] = (
            _none if self._owners is None else self._owners.found
        )
        # by_digest: by row (the order added), the index into _shared; none past its end
        # (most of an export shares the first one, so it is often empty).
        self._shared_at = array(_INT32)
        self._by_key: KeyPositions | None = None  # rows by key: only agency_and_hosts's
        self.rows_of: Callable[[bytes], array[int]] = (
            _no_rows if self._owners is None else self._owners.rows_of
        )

    def __len__(self) -> int:
        return len(self._owners) if self._owners is not None else len(self._packed)

    def add(self, key: str, fingerprint: str, agency_key: str, hosts: str) -> None:
        try:
            digest = bytes.fromhex(fingerprint)
        except ValueError:
            return  # not one ingest wrote: the record is read again
        index = self._shared_index(agency_key, hosts)
        if self._owners is None:
            self._packed[key] = digest + index.to_bytes(4, "big")
            return
        if len(digest) != DIGEST_BYTES:
            return  # not a row digest: the record is read again
        if index:
            self._share(len(self._owners), index)
        # Two listings with one fingerprint (not from one mapping's rows): neither is
        # found by it, so their records are read.
        self._owners.add(digest, key)

    def extend(self, rows: Sequence[tuple[str, str, str, str | None]]) -> None:
        """``add`` of many (key, fingerprint, agency key, image hosts): by_digest, their
        digests and keys taken C-level, a row at a time only for an agency and hosts
        other than the first (most of an export shares them) or a fingerprint that is
        not a digest ingest wrote."""
        if self._owners is None or not rows:
            for key, fingerprint, agency_key, hosts in rows:
                self.add(key, fingerprint, agency_key, hosts or "")
            return
        keys, fingerprints, agencies, host_texts = zip(*rows, strict=True)
        try:
            digests = b"".join(map(bytes.fromhex, fingerprints))
        except ValueError:
            digests = b""
        if len(digests) != DIGEST_BYTES * len(rows):  # one not ingest's: each on its own
            for key, fingerprint, agency_key, host_lines in rows:
                self.add(key, fingerprint, agency_key, host_lines or "")
            return
        # Each row's index into the shared (agency, hosts) C-level, by the pairs as they
        # come (hosts None or text); a row at a time only for one not the first.
        index_of = {
            (agency_key, host_lines): self._shared_index(agency_key, host_lines or "")
            for agency_key, host_lines in set(zip(agencies, host_texts, strict=True))
        }
        indexes = list(map(index_of.__getitem__, zip(agencies, host_texts, strict=True)))
        if any(indexes):
            numbered = zip(count(len(self._owners)), indexes, strict=False)
            for row, index in compress(numbered, indexes):
                self._share(row, index)
        self._owners.extend(digests, keys)

    def _share(self, row: int, index: int) -> None:
        at = self._shared_at
        if len(at) <= row:
            at.frombytes(bytes(at.itemsize * (row + 1 - len(at))))
        at[row] = index

    def _shared_index(self, agency_key: str, hosts: str) -> int:
        index = self._index.get((agency_key, hosts))
        if index is None:
            index = self._index[(agency_key, hosts)] = len(self._shared)
            self._shared.append((agency_key, _hosts_of(hosts)))
        return index

    def positions(self) -> KeyPositions | None:
        """by_digest: the keys, each at the row ``found`` gives (an export's keys start
        from them, so a row found by its digest has its key's position); else None."""
        return None if self._owners is None else self._owners.positions()

    def fingerprint(self, key: str) -> str | None:
        packed = self._packed.get(key)
        return None if packed is None else packed[:-4].hex()

    def agency_and_hosts(self, key: str) -> tuple[str, tuple[tuple[str, int], ...]] | None:
        """What an unchanged record of this listing still tells: its agency and image hosts.
        ``by_digest``: of a key ``owner`` gave (no other is kept)."""
        if self._owners is not None:
            if not self._shared:
                return None
            if self._by_key is None:
                self._by_key = self._owners.positions()
            return self.shared_at(self._by_key.find(key))
        packed = self._packed.get(key)
        return None if packed is None else self._shared[int.from_bytes(packed[-4:], "big")]

    def shared_at(self, row: int) -> tuple[str, tuple[tuple[str, int], ...]]:
        """by_digest: the agency and image hosts of the listing at ``row`` (``found``'s)."""
        at = self._shared_at
        return self._shared[at[row] if 0 <= row < len(at) else 0]

    def shared_runs(self, rows: Sequence[int]) -> Iterator[tuple[int, int, Shared]]:
        """by_digest: ``rows`` (``found``'s) cut where their agency and image hosts change:
        (start, stop, (agency, hosts)) of each part, one part for most runs of an export."""
        at, shared = self._shared_at, self._shared
        length = len(at)
        # Rows past the array's end share the first: most of an export, checked C-level.
        if not any(map(at.__getitem__, filter(length.__gt__, rows))):
            yield 0, len(rows), shared[0]
            return
        start, current = 0, 0
        for place, row in enumerate(rows):
            index = at[row] if row < length else 0
            if index != current and place > start:
                yield start, place, shared[current]
                start = place
            current = index
        yield start, len(rows), shared[current]

    def get(self, key: str) -> KnownRecord | None:
        fingerprint = self.fingerprint(key)
        found = self.agency_and_hosts(key)
        if fingerprint is None or found is None:
            return None
        return KnownRecord(fingerprint, *found)


def _none(_digest: bytes) -> None:
    return None


def _no_rows(digests: bytes) -> array[int]:
    return array(_INT32, [-1]) * (len(digests) // DIGEST_BYTES)


def known_records(session: Session, *, by_digest: bool = False) -> KnownRecords:
    """The record each listing was last read from, for every listing that has a desired
    state and such a record (one SELECT); ``by_digest``: found by fingerprint too."""
    c = _LISTINGS.c
    query = select(c.listing_key, c.record_fingerprint, c.agency_key, c.record_image_hosts).where(
        c.record_fingerprint.is_not(None), _HAS_DESIRED
    )
    found = KnownRecords(by_digest=by_digest)
    # In chunks, not all rows at once: at 100,000 listings the rows' strings would stand
    # above what the packed records hold. The driver's own rows (plain tuples of text,
    # which these columns are on either engine): SQLAlchemy's Row a row cost as much as
    # packing it.
    result = session.connection().execute(query)
    try:
        while chunk := result.cursor.fetchmany(_KNOWN_CHUNK):
            found.extend(chunk)
    finally:
        result.close()
    return found


_KNOWN_CHUNK = 2_000


def _hosts_of(text: str) -> tuple[tuple[str, int], ...]:
    """``record_image_hosts`` read back: "host count" lines."""
    pairs = (line.rpartition(" ") for line in text.splitlines() if line)
    return tuple((host, int(count)) for host, _, count in pairs)


def image_hosts_text(counts: dict[str, int]) -> str:
    """``record_image_hosts`` of a record: its images per host, "host count" lines."""
    return "".join(f"{host} {count}\n" for host, count in counts.items())


def set_record_fingerprints(
    session: Session, rows: Sequence[tuple[str, str | None, str | None]]
) -> None:
    """(listing key, fingerprint, image hosts) of listings whose desired state is as
    stored but was read from another record (or before fingerprints were kept)."""
    if rows:
        execute_many(
            session.connection(),
            "UPDATE listings SET record_fingerprint = ?, record_image_hosts = ? "
            "WHERE listing_key = ?",
            [(fingerprint, hosts, key) for key, fingerprint, hosts in rows],
        )


def desired_plain(session: Session, listing_keys: Collection[str]) -> dict[str, dict[str, Any]]:
    """The stored ``to_plain`` form of these listings' desired state (those that have one)."""
    if not listing_keys:
        return {}
    c = _LISTINGS.c
    query = select(c.listing_key, c.desired_json).where(
        c.listing_key.in_(listing_keys), _HAS_DESIRED
    )
    return {key: data for key, data in session.execute(query) if data is not None}


def save_desired_rows(
    session: Session, rows: Sequence[DesiredRow], now: datetime, source_file_id: int | None
) -> None:
    """Insert or update the desired side of many listings in one executemany.

    missing_since is cleared, first_seen_at is only set for a new listing, the known side
    is left alone.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    # Every row has the same time and file: converted once, as the column types would each
    # time, then plain tuples straight to the driver (SQLAlchemy's per-row work on a
    # compiled upsert was two thirds of this call's cost).
    at = _bind_value(_LISTINGS.c.desired_at, now, dialect)
    unset = _bind_value(_LISTINGS.c.is_published, False, dialect)
    execute_many(
        connection,
        _UPSERT_DESIRED_SQL,
        [
            (
                row.listing_key,
                row.agency_key,
                row.desired_json,  # already JSON text: the JSON type must not encode it again
                *row.hashes,
                row.desired_status,
                row.record_fingerprint,
                row.record_image_hosts,
                source_file_id,
                at,  # desired_at
                None,  # missing_since
                at,  # first_seen_at
                unset,  # is_published (the column default of a new row)
                unset,  # is_approved
                at,  # updated_at
            )
            for row in rows
        ],
    )
    mark_listings(session, [row.listing_key for row in rows], now)


def _bind_value(column: ColumnElement[Any], value: Any, dialect: Dialect) -> Any:
    """``value`` as the column's type would send it to the driver."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


_UPSERTED = (
    "agency_key",
    "desired_json",
    "content_hash",
    "images_hash",
    "sale_hash",
    "seller_hash",
    "billing_hash",
    "image_right_hash",
    "desired_status",
    "record_fingerprint",
    "record_image_hosts",
    "source_file_id",
    "desired_at",
    "missing_since",
    "updated_at",
)


# What SQLAlchemy compiles for the upsert (tests compare the rows both write).
_UPSERT_DESIRED_SQL = (
    "INSERT INTO listings (listing_key, agency_key, desired_json, content_hash, images_hash, "
    "sale_hash, seller_hash, billing_hash, image_right_hash, desired_status, "
    "record_fingerprint, record_image_hosts, source_file_id, "
    "desired_at, missing_since, first_seen_at, is_published, is_approved, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (listing_key) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPSERTED)
)


def keys_with_desired(session: Session, agency_key: str) -> list[str]:
    """The listing keys of an agency that have a desired state, in key order (no rows)."""
    return list(chain.from_iterable(desired_key_runs(session, agency_key)))


def desired_key_runs(session: Session, agency_key: str) -> Iterator[list[str]]:
    """``keys_with_desired`` a chunk at a time, from the driver's cursor (as known_records
    reads: no SQLAlchemy Row a key); the statement stays open until the last is read."""
    c = _LISTINGS.c
    query = (
        select(c.listing_key)
        .where(c.agency_key == agency_key, _HAS_DESIRED)
        .order_by(c.listing_key)
    )
    result = session.connection().execute(query)
    try:
        while chunk := result.cursor.fetchmany(_KNOWN_CHUNK):
            yield [key for (key,) in chunk]
    finally:
        result.close()


def agency_sources(session: Session) -> set[tuple[str, str]]:
    """(agency key, export file name) for every file a listing's desired state came from."""
    c = _LISTINGS.c
    query = (
        select(c.agency_key, ExportFile.name)
        .distinct()
        .join(ExportFile, ExportFile.id == c.source_file_id)
        .where(_HAS_DESIRED)
    )
    return {(agency, name) for agency, name in session.execute(query)}


def mark_missing_rows(session: Session, listing_keys: Sequence[str], now: datetime) -> None:
    """Listings (known to exist) absent from a full export, in one executemany: desired
    becomes JSON null, missing_since is kept from the first absence (the removal grace
    counts from there)."""
    if not listing_keys:
        return
    c = _LISTINGS.c
    at = bindparam("now", now, type_=c.updated_at.type)
    statement = (
        update(_LISTINGS)
        .where(c.listing_key == bindparam("key"))
        .values(desired_json=JSON.NULL, missing_since=func.coalesce(c.missing_since, at))
        .values(updated_at=at)
    )
    session.execute(statement, [{"key": key} for key in listing_keys])
    mark_listings(session, listing_keys, now)
