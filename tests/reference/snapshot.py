"""The listings of one parsed export file, all at once: what ingest keeps of a file's
stream of records (the last duplicate wins; partial and ignored records are no rejects)."""

from __future__ import annotations

from dataclasses import dataclass

from syncd.core.domain import Listing
from syncd.formats import ParseResult, RecordResult


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The listings parsed from one export file."""

    export_file: str
    full: bool  # a full export lists every current listing of its agencies
    agency_keys: frozenset[str]
    listings: tuple[Listing, ...]


def snapshot(result: ParseResult) -> tuple[Snapshot, list[RecordResult]]:
    """Consume ``result.records``: the whole listings (last duplicate wins) and the rejects."""
    listings: dict[str, Listing] = {}
    rejected: list[RecordResult] = []
    for record in result.records:
        if record.listing is None:
            # A partial record needs the stored listing (ingest merges it); an ignored
            # one is left out on purpose: neither is a reject.
            if record.ignored is None and record.patch is None:
                rejected.append(record)
        else:
            listings.pop(record.listing.listing_key, None)  # keep file order of winners
            listings[record.listing.listing_key] = record.listing
    whole = Snapshot(
        export_file=result.path,
        full=result.full,
        agency_keys=frozenset(result.agency_keys),
        listings=tuple(listings.values()),
    )
    return whole, rejected
