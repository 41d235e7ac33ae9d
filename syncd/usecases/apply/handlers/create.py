"""create_listing: adopt the listing Hemnet already holds under our key, else create it.

Hemnet has no DELETE for listings, so a duplicate is permanent: an unknown outcome is
settled by looking the key up (and adopting what is found), never by creating again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from syncd.core.domain import Listing, listing_from_plain
from syncd.core.ops import CreateListing
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.payload import listing_body
from syncd.store.listings import record_sent
from syncd.usecases.adopt import oldest
from syncd.usecases.apply.handler import Context, Done, Handler, Reopen, Settled, registered
from syncd.usecases.apply.record import Record, adopted, key_of, remote_state

if TYPE_CHECKING:
    from syncd.store.engine import Session

log = logging.getLogger("syncd.usecases.apply")


@registered
class CreateListingHandler(Handler[CreateListing]):
    op_type = CreateListing
    settles_unknown = True
    spends_own = True  # its lookup may wait for another create's list of Hemnet's listings

    def prepare(self, op: CreateListing, ctx: Context) -> Callable[[], Done]:
        key = key_of(op)
        body = listing_body(op.listing, ctx.agency_id(op.listing.agency_key))

        def create() -> Done:
            # One Hemnet holds under our key already (another integration's, or made before
            # syncd ran) is adopted. The lookup is a read, so repeating it after a crash is
            # safe.
            found = _adopt_existing(key, op.listing, ctx)
            if found is not None:
                return found
            ctx.spend()
            remote = ctx.client.create_listing(body)
            return Done(_created(key, op.listing, remote), remote.hemnet_id)

        return create

    def settle(self, key: str | None, payload: dict[str, Any], ctx: Context) -> Settled | Reopen:
        assert key is not None
        ctx.spend()
        found = ctx.client.list_listings(external_id=key)
        if not found:
            return Reopen("not on Hemnet: safe to create")
        remote = oldest(found)
        if len(found) > 1:
            log.error(
                "listing_key=%s has %d listings on Hemnet; adopting %s (reconcile to "
                "remove the others)",
                key,
                len(found),
                remote.hemnet_id,
            )
        sent = listing_from_plain(payload["listing"])
        ctx.spend()
        images = ctx.client.list_images(remote.hemnet_id)
        record = adopted(key, sent, remote, images, "created earlier, answer lost")
        return Settled(record, remote.hemnet_id)


def _adopt_existing(key: str, want: Listing, ctx: Context) -> Done | None:
    """Hemnet's listing with our key as externalId, to be followed instead of created
    (the pass's list of Hemnet's listings takes its own tokens)."""
    found = ctx.on_hemnet(key)
    if found is None:
        ctx.spend()
        found = ctx.client.list_listings(external_id=key)
    if not found:
        return None
    remote = oldest(found)
    if len(found) > 1:
        log.error(
            "listing_key=%s has %d listings on Hemnet; adopting the oldest, %s "
            "(reconcile reports the others)",
            key,
            len(found),
            remote.hemnet_id,
        )
    ctx.spend()
    images = ctx.client.list_images(remote.hemnet_id)
    log.warning(
        "listing_key=%s is already on Hemnet as %s: adopted, not created again",
        key,
        remote.hemnet_id,
    )
    # Durable: a lost adoption would be settled by reading back anyway, but an operator
    # who saw "adopted" must not find it undone after a power loss.
    return Done(
        adopted(key, want, remote, images, "already on Hemnet before syncd created it"),
        remote.hemnet_id,
        {"adopted": remote.hemnet_id},
        durable=True,
        replan=True,
    )


def _created(key: str, sent: Listing, remote: RemoteListing) -> Record:
    def record(session: Session, now: datetime) -> None:
        record_sent(session, key, now, hemnet_id=remote.hemnet_id, sent=sent)
        remote_state(key, remote)(session, now)

    return record
