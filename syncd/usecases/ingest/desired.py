"""The desired state an accepted file stores: changed listings in batches with their events,
what a full export leaves out, or the hold of an empty full export.

It runs inside the file's transaction; it neither commits nor moves the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from syncd.core.domain import listing_from_plain
from syncd.store.events import NewEvent, record_event, record_events
from syncd.store.holds import add_hold
from syncd.store.listings import (
    DesiredRow,
    StoredDesired,
    desired_key_runs,
    desired_plain,
    has_listings,
    keys_with_desired,
    mark_missing_rows,
    reach_of,
    save_desired_rows,
    set_record_fingerprints,
    stored_desired,
)
from syncd.usecases.ingest.agencies import agencies_fed
from syncd.usecases.ingest.changes import arrival, describe_change
from syncd.usecases.ingest.export import Take
from syncd.usecases.ingest.missing import missing_messages
from syncd.usecases.ingest.parse import Parsed
from syncd.usecases.ingest.spill import Spilled

if TYPE_CHECKING:
    # For annotations only: the store's queries do every database access.
    from syncd.store.engine import Session


@dataclass
class Applied:
    """What the transaction changed."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reappeared: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    hold_reason: str | None = None


def save_listings(
    session: Session, take: Take, parsed: Parsed, file_id: int, applied: Applied
) -> None:
    # Into an empty store (a first ingest) no listing has a stored side to compare with: the
    # winners' keys are distinct, so it stays so for every batch of this file.
    compare = has_listings(session)
    for batch in parsed.winners():
        _save_batch(session, take, batch, file_id, applied, compare=compare)
    if not parsed.full:
        return  # absence from an incremental export means nothing
    name, now = take.name, take.now
    file_data = {"file": name}  # one dict for every event: record_events encodes it once
    gone = _would_go(session, parsed)
    # How far each got towards Hemnet (read in the file's transaction) decides what its
    # history line says will happen to it.
    reach = reach_of(session, gone)
    mark_missing_rows(session, gone, now)
    applied.missing = gone
    record_events(
        session,
        [
            NewEvent("missing", message, listing_key=key, data=file_data)
            for key, message in missing_messages(name, gone, reach)
        ],
        now,
    )


def _save_batch(
    session: Session,
    take: Take,
    batch: list[Spilled],
    file_id: int,
    applied: Applied,
    *,
    compare: bool,
) -> None:
    """One SELECT of the stored hashes (``compare``: the store may have some), then one write
    of what changed and its events."""
    name, now = take.name, take.now
    keys = [spilled.listing_key for spilled in batch]
    stored = stored_desired(session, keys) if compare else {}
    changed = [s for s in batch if _differs(stored.get(s.listing_key), s)]
    # The same desired state read from another record (or before fingerprints were kept):
    # only the record it now comes from is noted, so that it is not read next time.
    set_record_fingerprints(
        session,
        [
            (s.listing_key, s.fingerprint, s.image_hosts)
            for s in batch
            if (before := stored.get(s.listing_key)) is not None
            and before.record_fingerprint != s.fingerprint
            and not _differs(before, s)
        ],
    )
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
            DesiredRow(
                s.listing_key,
                s.agency_key,
                s.status,
                s.hashes,
                s.desired_json,
                s.fingerprint,
                s.image_hosts,
            )
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
            message = arrival(name, status, street, price, reappeared=reappeared)
        else:
            new = listing_from_plain(json.loads(spilled.desired_json))
            message = describe_change(listing_from_plain(old), new, name, reappeared=reappeared)
        new_events.append(NewEvent("desired_changed", message, listing_key=key, data=file_data))
    record_events(session, new_events, now)


def _would_go(session: Session, parsed: Parsed) -> list[str]:
    """Listings of the export's agencies that a full export leaves out (and so has dropped).

    A record skipped for its errors still names its listing: that listing keeps its last
    good state rather than being taken off Hemnet because of a typo.
    """
    gone: list[str] = []
    for agency in sorted(parsed.agency_keys):
        gone.extend(
            key
            for key in parsed.agency_of.without_runs(desired_key_runs(session, agency))
            if key not in parsed.skipped_keys
        )
    return gone


def hold_empty_export(
    session: Session, take: Take, parsed: Parsed, file_id: int, applied: Applied
) -> None:
    """An empty full export changes no listing: what it would remove waits for an operator."""
    name, now = take.name, take.now
    total = 0
    for agency in sorted(parsed.agency_keys or agencies_fed(session, take, parsed)):
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


def _differs(stored: StoredDesired | None, spilled: Spilled) -> bool:
    """Only a change of a hash (or of status or agency) counts: rewriting is not a change."""
    if stored is None or not stored.has_desired:
        return True
    return (
        stored.hashes != spilled.hashes
        or stored.desired_status != spilled.status
        or stored.agency_key != spilled.agency_key
    )
