"""How far listings got towards Hemnet, as the store knows it: on Hemnet (a hemnet_id), a
create sent and not answered, or never sent. What ingest's history line for a listing a
full export left out says will happen to it (usecases/ingest/missing.py).

Reads only, inside the caller's transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from syncd.core.ops import CreateListing
from syncd.store.tables import ListingRow, OperationRow, OpStatus

# Keys bound in one statement, well under SQLite's limit on variables.
_KEYS_PER_STATEMENT = 500
# A create marked in flight, or whose answer was lost: it may have reached Hemnet. A plain
# intent has not been sent, and the next plan supersedes it (store/outbox.py).
_UNANSWERED = (OpStatus.IN_FLIGHT.value, OpStatus.UNKNOWN.value)


class Reach(enum.Enum):
    ON_HEMNET = "on_hemnet"  # Hemnet's id is known
    CREATE_UNANSWERED = "create_unanswered"  # no id, but a create may have reached Hemnet
    NEVER_SENT = "never_sent"


def reach_of(session: Session, listing_keys: Sequence[str]) -> dict[str, Reach]:
    """Each stored listing's reach, one statement per 500 keys (a key not stored is left out).

    Not scoped by a fleet's fence: a create another instance sent is as real as this one's.
    """
    listing, op = ListingRow, OperationRow
    create_unanswered = exists().where(
        op.listing_key == listing.listing_key,
        op.kind == CreateListing.kind,
        op.status.in_(_UNANSWERED),
    )
    found: dict[str, Reach] = {}
    for start in range(0, len(listing_keys), _KEYS_PER_STATEMENT):
        chunk = listing_keys[start : start + _KEYS_PER_STATEMENT]
        query = select(
            listing.listing_key, listing.hemnet_id.is_not(None), create_unanswered
        ).where(listing.listing_key.in_(chunk))
        for key, has_id, unanswered in session.execute(query):
            found[key] = (
                Reach.ON_HEMNET
                if has_id
                else Reach.CREATE_UNANSWERED
                if unanswered
                else Reach.NEVER_SENT
            )
    return found
