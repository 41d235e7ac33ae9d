"""The spill: accepted records kept on disk between parsing and writing, so memory stays flat.

It encodes and reads records back; it decides nothing about them and touches no database.
"""

from __future__ import annotations

import contextlib
import marshal
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

from syncd.core.domain import HashTuple, Listing, hashes_of_plain, plain_json, to_plain

# Records written per statement: one SELECT and one executemany each, in one transaction.
BATCH = 1_000
# A spilled chunk's length, ahead of its marshal bytes.
_LENGTH_BYTES = 8
# The desired JSON is stored compact and in UTF-8 (plain_json), not with the JSON column type's
# default (ASCII escapes, blanks): a typical listing then takes half a 4 KiB page instead of a
# whole one, halving what is written.


class Spilled(NamedTuple):
    """One accepted record as ingest stores it, kept on disk between parsing and writing."""

    record: int  # the record's position in the file: of a duplicated key, the last wins
    listing_key: str
    agency_key: str
    status: str
    hashes: HashTuple
    desired_json: str  # to_plain(listing) as JSON text
    street: str  # for the "new listing" event, without reading the JSON back
    asking_price: int | None
    fingerprint: str | None  # of the record it was read from (None: read it again next time)
    image_hosts: str  # its images per host (store.listings.image_hosts_text)


class Spill(contextlib.ExitStack):
    """Unnamed temporary files beside the database for one export file: gone when closed, or
    when the process dies. Beside the database, not in /tmp, which may be RAM. With the state
    on PostgreSQL no SQLite file made that folder, so the spill makes it itself."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._directory = directory

    def binary(self) -> IO[bytes]:
        return self.enter_context(tempfile.TemporaryFile(dir=self._directory, prefix=".ingest-"))

    def text(self) -> IO[str]:
        return self.enter_context(
            tempfile.TemporaryFile("w+", encoding="utf-8", dir=self._directory, prefix=".ingest-")
        )


def spilled(
    index: int, listing: Listing, fingerprint: str | None = None, image_hosts: str = ""
) -> tuple[Any, ...]:
    """The record as marshal writes it (a plain tuple: marshal takes no classes)."""
    plain = to_plain(listing)
    text = plain_json(plain).decode("utf-8")
    return (
        index,
        listing.listing_key,
        listing.agency_key,
        listing.status.value,
        hashes_of_plain(plain),
        text,
        listing.address.street,
        listing.asking_price,
        fingerprint,
        image_hosts,
    )


def dump_chunk(stream: IO[bytes], chunk: list[tuple[Any, ...]]) -> None:
    """Records written a chunk at a time, each chunk one block of marshal bytes behind its
    length: marshal.load from a file calls read() per value (six a record), marshal.loads of
    a block read at once calls none."""
    block = marshal.dumps(chunk)
    stream.write(len(block).to_bytes(_LENGTH_BYTES, "big"))
    stream.write(block)


def _chunks(stream: IO[bytes]) -> Iterator[list[tuple[Any, ...]]]:
    """The chunks ``dump_chunk`` wrote, in order."""
    while head := stream.read(_LENGTH_BYTES):
        block = stream.read(int.from_bytes(head, "big"))
        # An unnamed file this process wrote a moment ago: no one else can feed it.
        yield marshal.loads(block)  # noqa: S302


def winners(stream: IO[bytes], winner_index: Mapping[str, int]) -> Iterator[list[Spilled]]:
    """The spilled records in file order, in batches, without those a later one replaced
    (``winner_index``: the record that wins, of each duplicated key)."""
    stream.flush()
    stream.seek(0)
    batch: list[Spilled] = []
    for chunk in _chunks(stream):
        for fields in chunk:
            record = Spilled(*fields)
            if winner_index.get(record.listing_key, record.record) != record.record:
                continue
            batch.append(record)
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch
