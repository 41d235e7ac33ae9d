"""update_listing: the changed fields only; re-sent as it is after an unknown outcome."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.domain import listing_from_plain
from syncd.core.ops import UpdateListing
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.payload import update_body
from syncd.store.listings import get_listing, record_sent
from syncd.usecases.apply.handler import Context, Done, Handler, registered
from syncd.usecases.apply.record import Record, key_of, remote_state

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class UpdateListingHandler(Handler[UpdateListing]):
    op_type = UpdateListing

    # Not a ListingHandler: the body is built here, before the op is marked in flight, so a
    # field it cannot carry fails with nothing marked.
    def prepare(self, op: UpdateListing, ctx: Context) -> Callable[[], Done]:
        hid = ctx.hemnet_id(key_of(op))
        body = update_body(op.listing, op.changed)
        return lambda: Done(_updated(op, ctx.client.update_listing(hid, body)), hid)


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
