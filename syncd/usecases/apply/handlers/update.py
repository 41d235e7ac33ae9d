"""update_listing: the changed fields only; re-sent as it is after an unknown outcome."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.domain import listing_from_plain
from syncd.core.ops import UpdateListing
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.payload import update_body
from syncd.store.listings import get_listing, record_sent
from syncd.usecases.apply.handler import Context, Done, ListingHandler, registered
from syncd.usecases.apply.record import Record, key_of, remote_state

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class UpdateListingHandler(ListingHandler[UpdateListing]):
    op_type = UpdateListing

    def call(self, op: UpdateListing, key: str, hid: str, ctx: Context) -> Done:
        body = update_body(op.listing, op.changed)
        return Done(_updated(op, ctx.client.update_listing(hid, body)), hid)


def _updated(op: UpdateListing, remote: RemoteListing) -> Record:
    key = key_of(op)

    def record(session: Session, now: datetime) -> None:
        row = get_listing(session, key)
        before = None if row is None or row.sent_json is None else listing_from_plain(row.sent_json)
        changed = {name: getattr(op.listing, name) for name in op.changed}
        sent = op.listing if before is None else dataclasses.replace(before, **changed)
        record_sent(session, key, now, sent=sent)
        remote_state(key, remote)(session, now)

    return record
