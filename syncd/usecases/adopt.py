"""Adoption: following a listing Hemnet already has under our listing_key instead of creating it.

The one recording shared by apply (lookup before create, settling a lost create) and
reconcile: Hemnet's id, the body Hemnet holds as the known ``sent``, its images and its
publication state. It makes no API call and never decides what to send.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from syncd import metrics
from syncd.core.domain import KnownImage, Listing
from syncd.hemnet import wire
from syncd.hemnet.models import RemoteImage, RemoteListing
from syncd.hemnet.payload import listing_fields_from
from syncd.store import events, listings
from syncd.store.engine import Session
from syncd.store.remote import listed, listed_by_hemnet_id, record_listing_state

log = logging.getLogger(__name__)


def _created_order(remote: RemoteListing) -> tuple[str, int, str]:
    return created_order(created_stamp(remote), remote.hemnet_id)


def created_stamp(remote: RemoteListing) -> str:
    """When Hemnet says it created the listing, as its text ("" when it does not say)."""
    return str(remote.raw.get(wire.CREATED_AT) or "")


def created_order(stamp: str, hemnet_id: str) -> tuple[str, int, str]:
    """What ``oldest`` sorts by, for a listing kept without its body (reconcile's run)."""
    # ISO-8601 UTC stamps sort as text; numeric ids break ties the way they were issued.
    number = int(hemnet_id) if hemnet_id.isdigit() else 0
    return stamp, number, hemnet_id


def oldest(group: Sequence[RemoteListing]) -> RemoteListing:
    """The oldest of several listings with one externalId: the others came from retries."""
    return min(group, key=_created_order)


def agency_key_of(remote: RemoteListing, agencies: Mapping[str, str]) -> str | None:
    """Our key of the agency Hemnet keeps the listing under (``agencies``: hemnet_id -> key);
    None when Hemnet names no agency or one syncd does not know."""
    if remote.agency_id is None:
        return None
    return agencies.get(remote.agency_id)


def as_hemnet_has_it(
    desired: Listing | None, remote: RemoteListing, agency_key: str | None = None
) -> Listing | None:
    """The listing body Hemnet holds, as the known ``sent`` state: the next plan then
    updates only the fields that differ from the CRM's.

    ``agency_key`` is the agency Hemnet has it under, when syncd knows that agency: a
    listing the CRM has since moved to another agency then shows as moved.
    """
    if desired is None:
        return None
    try:
        fields = listing_fields_from(remote.raw)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s: Hemnet's listing body cannot be read (%s)", desired.listing_key, exc)
        return None
    if agency_key is not None:
        fields["agency_key"] = agency_key
    return dataclasses.replace(desired, **fields)


def save_images(
    session: Session,
    key: str,
    desired: Listing | None,
    images: Sequence[RemoteImage],
    now: datetime,
) -> None:
    """Record Hemnet's images of an adopted listing as known, one per source URL."""
    # Hemnet knows no revisions: an adopted image is taken as the one the CRM names now,
    # so it is not uploaded again (a lost create is minutes old, not a different picture).
    revisions = {img.url: img.revision for img in desired.images} if desired else {}
    seen: set[str] = set()
    for index, img in enumerate(images):
        if img.url in seen:
            continue  # a second copy of one URL: reconcile removes it (duplicate images)
        seen.add(img.url)
        known = KnownImage(
            url=img.url,
            image_id=img.image_id,
            state=img.state,
            order=img.position if img.position is not None else index,
            caption=img.caption,
            revision=revisions.get(img.url),
            state_message=img.state_message,
        )
        listings.save_known_image(session, key, known, now, is_floor_plan=img.is_floor_plan)


def record_adoption(
    session: Session,
    key: str,
    remote: RemoteListing,
    *,
    desired: Listing | None,
    images: Sequence[RemoteImage],
    now: datetime,
    why: str,
) -> None:
    """Follow Hemnet's ``remote`` listing as ``key``'s: id, body, images, state, an event.

    Runs inside the caller's transaction. When another listing already follows ``remote``
    (its externalId was changed on Hemnet), nothing is adopted: the listing is marked
    refused, so it is neither created nor looked up again until the CRM changes it or an
    operator runs 'syncd retry KEY'.
    """
    taken = listed_by_hemnet_id(session, remote.hemnet_id)
    if taken is not None and taken.listing_key != key:
        row = listed(session, key)
        why_not = (
            f"Hemnet's listing {remote.hemnet_id} carries this key as externalId, but syncd "
            f"follows it as {taken.listing_key}; not adopted and not created (resolve by hand)"
        )
        log.error("%s: %s", key, why_not)
        if row is not None:
            listings.record_failure(session, key, why_not, now, row.content_hash)
        events.record_event(session, "not_adopted", why_not, now, listing_key=key)
        return
    agencies = {
        agency.hemnet_id: agency.key for agency in listings.known_agencies(session).values()
    }
    sent = as_hemnet_has_it(desired, remote, agency_key_of(remote, agencies))
    listings.record_seen_on_hemnet(session, key, now, sent=sent, hemnet_id=remote.hemnet_id)
    save_images(session, key, desired, images, now)
    metrics.observe_visible(record_listing_state(session, key, remote, now).drop_to_visible_s)
    events.record_event(
        session,
        "adopted",
        f"adopted Hemnet listing {remote.hemnet_id} ({why}) with {len(images)} image(s) "
        "instead of creating it again",
        now,
        listing_key=key,
        data={"hemnet_id": remote.hemnet_id},
    )
