"""Planning agencies: the EnsureAgency ops that listings to be created need first.

Pure: no I/O; it only reads the desired and known state it is given.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncd.core.domain import ACTIVE_STATUSES, Desired, KnownAgency, KnownListing
from syncd.core.ops import EnsureAgency


def plan_agencies(
    desired: Desired, known: Mapping[str, KnownListing], agencies: Mapping[str, KnownAgency]
) -> tuple[list[EnsureAgency], dict[str, str]]:
    """EnsureAgency for each agency a listing to be created needs; listings that can't wait."""
    needed: set[str] = set()
    blocked: dict[str, str] = {}
    for key, listing in desired.listings.items():
        # Only a create needs the agency's id; a known listing already lives under it.
        if key in known or listing.status not in ACTIVE_STATUSES or listing.agency_key in agencies:
            continue
        if listing.agency_key in desired.agencies:
            needed.add(listing.agency_key)
        else:
            blocked[key] = (
                f"agency {listing.agency_key!r} has no name: map agency.name in the export's "
                f"mapping or add [agencies.{listing.agency_key}] to the config"
            )
    ops = [EnsureAgency(None, agency=desired.agencies[k]) for k in sorted(needed)]
    return ops, blocked
