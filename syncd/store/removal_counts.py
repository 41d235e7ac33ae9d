"""What the mass-removal guard judges by, counted over every listing without decoding one:
each agency's live listings and the removals full exports asked for of them.

A full pass plans its listings a chunk at a time; these counts let each chunk's plan judge
as a plan of every listing would (``plan(..., live=, removals=)``). Counts; decides nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from syncd.core.plan import UNKNOWN_AGENCY, RemovalCounts
from syncd.store.fence import scope_of
from syncd.store.portable import json_text
from syncd.store.tables import ListingRow

# Fetched a batch at a time: an empty full export asks for the removal of every listing.
_ROWS_PER_FETCH = 5_000


@dataclass(frozen=True)
class GuardCounts:
    live: dict[str, int]  # listings published on Hemnet and not sold, by agency
    removals: dict[str, RemovalCounts]  # of those, the ones full exports dropped


def guard_counts(session: Session, released: Mapping[str, datetime]) -> GuardCounts:
    """The live listings and the removals asked for, by the agency they were last sent
    under (``UNKNOWN_AGENCY``: never sent by syncd), as ``plan()`` counts the listings it
    is given; ``released``: the absences operators released (a confirmed removal).

    In a fleet, of the agencies this instance holds, as its pass reads them.
    """
    agency = ListingRow.sent_json["agency_key"].as_string()
    is_live = (
        ListingRow.hemnet_id.is_not(None),
        ListingRow.is_published,
        # Both SQL NULL and the JSON null; a stored sale always has its price.
        ListingRow.sold_json["price"].as_string().is_(None),
    )
    live_query = select(agency, func.count()).where(*is_live).group_by(agency)
    # The JSON type stores None as the JSON text "null": SQL NULL or that is no listing.
    left_the_crm = or_(
        ListingRow.desired_json.is_(None), json_text(ListingRow.desired_json) == "null"
    )
    asked_query = select(ListingRow.listing_key, agency, ListingRow.missing_since).where(
        *is_live, ListingRow.missing_since.is_not(None), left_the_crm
    )
    scope = scope_of(session)
    if scope is not None:
        held = ListingRow.agency_key.in_(sorted(scope))
        live_query, asked_query = live_query.where(held), asked_query.where(held)
    live: dict[str, int] = {}
    for name, count in session.execute(live_query):
        live[_agency(name)] = live.get(_agency(name), 0) + int(count)
    unconfirmed: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    rows = session.execute(asked_query, execution_options={"yield_per": _ROWS_PER_FETCH})
    for key, sent_agency, missing_since in rows:
        tally = confirmed if released.get(key) == missing_since else unconfirmed
        name = _agency(sent_agency)
        tally[name] = tally.get(name, 0) + 1
    removals = {
        name: RemovalCounts(unconfirmed.get(name, 0), confirmed.get(name, 0))
        for name in sorted(unconfirmed.keys() | confirmed.keys())
    }
    return GuardCounts(live, removals)


def _agency(sent_agency: object) -> str:
    return UNKNOWN_AGENCY if sent_agency is None else str(sent_agency)
