"""Queries on listings, their agencies and known images, and their domain views.

Reads and writes rows inside a caller's transaction; never commits, never decides what to
send (that is the planner, syncd.core.plan). One module per part of a listing's stored state;
every name is importable from here.
"""

from __future__ import annotations

from syncd.store.listings.agencies import (
    all_agencies,
    get_agency,
    known_agencies,
    save_agency,
    set_agency_hemnet_id,
)
from syncd.store.listings.desired import (
    DesiredRow,
    KnownRecord,
    KnownRecords,
    StoredDesired,
    agency_sources,
    desired_key_runs,
    desired_plain,
    has_listings,
    image_hosts_text,
    keys_with_desired,
    known_records,
    mark_missing_rows,
    save_desired_rows,
    set_record_fingerprints,
    stored_desired,
)
from syncd.store.listings.failures import (
    clear_failure,
    record_failure,
)
from syncd.store.listings.images import (
    delete_known_image,
    failed_images,
    known_images,
    save_known_image,
    set_image_state,
)
from syncd.store.listings.known import (
    forget_remote,
    record_image_right,
    record_remote_state,
    record_sale_deleted,
    record_seen_on_hemnet,
    record_sent,
    record_sent_hashes,
    record_sold,
)
from syncd.store.listings.reach import Reach, reach_of
from syncd.store.listings.reads import (
    all_listings,
    count_on_hemnet,
    desired_listing,
    earliest_next_poll_at,
    get_listing,
    get_listing_by_hemnet_id,
    keys_due_for_poll,
    keys_to_follow_unscheduled,
    known_listing,
    listings_by_stage,
    listings_of_agency,
    oldest_awaiting_approval_since,
)
from syncd.store.listings.stages import (
    record_stage,
    record_stages,
    set_next_poll_at,
    set_stage,
)

__all__ = [
    "DesiredRow",
    "KnownRecord",
    "KnownRecords",
    "Reach",
    "StoredDesired",
    "agency_sources",
    "all_agencies",
    "all_listings",
    "clear_failure",
    "count_on_hemnet",
    "delete_known_image",
    "desired_key_runs",
    "desired_listing",
    "desired_plain",
    "earliest_next_poll_at",
    "failed_images",
    "forget_remote",
    "get_agency",
    "get_listing",
    "get_listing_by_hemnet_id",
    "has_listings",
    "image_hosts_text",
    "keys_due_for_poll",
    "keys_to_follow_unscheduled",
    "keys_with_desired",
    "known_agencies",
    "known_images",
    "known_listing",
    "known_records",
    "listings_by_stage",
    "listings_of_agency",
    "mark_missing_rows",
    "oldest_awaiting_approval_since",
    "reach_of",
    "record_failure",
    "record_image_right",
    "record_remote_state",
    "record_sale_deleted",
    "record_seen_on_hemnet",
    "record_sent",
    "record_sent_hashes",
    "record_sold",
    "record_stage",
    "record_stages",
    "save_agency",
    "save_desired_rows",
    "save_known_image",
    "set_agency_hemnet_id",
    "set_image_state",
    "set_next_poll_at",
    "set_record_fingerprints",
    "set_stage",
    "stored_desired",
]
