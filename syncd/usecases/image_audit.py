"""Reconcile's look at each listing's images on Hemnet: copies the store cannot see.

The store holds one image per source URL, so a second copy on Hemnet (two writers on one
state, a retried add) is invisible to the planner. This finds them, deletes the copies
syncd does not follow (a DELETE of an image is safe to repeat) and records images Hemnet
has that syncd never heard of, so that the next plan deletes those the CRM does not want.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from syncd.core.domain import KnownImage, Listing
from syncd.core.errors import ApiError
from syncd.hemnet.client import HemnetClient
from syncd.hemnet.models import RemoteImage
from syncd.store import events, listings
from syncd.store.engine import Store
from syncd.store.remote import listed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtraImages:
    """A listing with more images on Hemnet than syncd follows."""

    listing_key: str
    hemnet_id: str
    on_hemnet: int  # images Hemnet holds
    wanted: int  # images the CRM wants
    copies: tuple[str, ...]  # Hemnet image ids: second copies of a source URL
    untracked: tuple[str, ...]  # source URLs Hemnet has that syncd never recorded
    removed: tuple[str, ...] = ()  # copies deleted (not in a dry run)
    not_removed: str | None = None  # why a deletion failed, if one did


def find_extra(
    key: str,
    hemnet_id: str,
    desired: Listing | None,
    known: Sequence[KnownImage],
    remote: Sequence[RemoteImage],
) -> ExtraImages | None:
    """Copies and unrecorded images among ``remote``; None when Hemnet has just what syncd
    follows. The copy kept of a URL is the one syncd follows, else the first Hemnet lists."""
    followed = {img.url: img.image_id for img in known}
    kept: dict[str, str] = {}
    for img in remote:
        if followed.get(img.url) == img.image_id:
            kept[img.url] = img.image_id
    for img in remote:
        kept.setdefault(img.url, img.image_id)
    copies = tuple(img.image_id for img in remote if kept[img.url] != img.image_id)
    untracked = tuple(url for url in kept if url not in followed)
    if not copies and not untracked:
        return None
    wanted = len({img.url for img in desired.images}) if desired else len(kept)
    return ExtraImages(key, hemnet_id, len(remote), wanted, copies, untracked)


def repair(
    store: Store,
    client: HemnetClient,
    found: ExtraImages,
    *,
    remote: Sequence[RemoteImage],
    desired: Listing | None,
    now: datetime,
    spend: Callable[[], None],
) -> ExtraImages:
    """Delete the copies, record the untracked images as known, and say so in an event.

    ``spend`` takes one request from the budget before each call.

    An untracked image the CRM names is taken as the CRM's current revision, as an adopted
    one is (``adopt.save_images``): it is usually an add whose answer was lost, and Hemnet
    knows no revisions, so anything else would upload it once more.
    """
    revisions = {img.url: img.revision for img in desired.images} if desired else {}
    removed: list[str] = []
    failure = None
    for image_id in found.copies:
        try:
            spend()
            client.delete_image(found.hemnet_id, image_id)
        except ApiError as exc:
            if exc.context.status != 404:  # already gone is what we wanted
                failure = str(exc)
                log.warning(
                    "%s: could not delete copy %s of an image: %s", found.listing_key, image_id, exc
                )
                break
        removed.append(image_id)
    by_url = {img.url: img for img in remote if img.image_id not in found.copies}
    with store.transaction() as session:
        row = listed(session, found.listing_key)
        if row is None or row.hemnet_id != found.hemnet_id:
            return found
        recorded = {img.url for img in listings.known_images(session, found.listing_key)}
        for url in found.untracked:
            img = by_url.get(url)
            if img is None or url in recorded:
                continue  # apply recorded it meanwhile
            known = KnownImage(
                url=img.url,
                image_id=img.image_id,
                state=img.state,
                order=img.position if img.position is not None else 0,
                caption=img.caption,
                revision=revisions.get(url),
                state_message=img.state_message,
            )
            listings.save_known_image(
                session, found.listing_key, known, now, is_floor_plan=img.is_floor_plan
            )
        events.record_event(
            session,
            "duplicate_images",
            describe(found, len(removed), failure),
            now,
            listing_key=found.listing_key,
            data={
                "on_hemnet": found.on_hemnet,
                "wanted": found.wanted,
                "copies": list(found.copies),
                "removed": removed,
                "untracked": list(found.untracked),
            },
        )
    return ExtraImages(
        found.listing_key,
        found.hemnet_id,
        found.on_hemnet,
        found.wanted,
        found.copies,
        found.untracked,
        tuple(removed),
        failure,
    )


def describe(found: ExtraImages, removed: int | None = None, failure: str | None = None) -> str:
    """One line for the log, the event and the report."""
    parts = [f"Hemnet holds {found.on_hemnet} image(s), the CRM wants {found.wanted}"]
    if found.copies:
        what = f"{len(found.copies)} second cop{'y' if len(found.copies) == 1 else 'ies'}"
        if removed is None:
            parts.append(f"{what} of a source URL (would be deleted)")
        else:
            parts.append(f"{what} of a source URL, {removed} deleted")
    if found.untracked:
        parts.append(
            f"{len(found.untracked)} image(s) syncd never recorded (recorded now; the next "
            "plan deletes those the CRM does not want)"
            if removed is not None
            else f"{len(found.untracked)} image(s) syncd never recorded"
        )
    if failure:
        parts.append(f"a deletion failed: {failure}")
    return "; ".join(parts)
