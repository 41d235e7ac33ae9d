"""send_seller_information and send_billing_information: write-only on Hemnet, so what
was sent is remembered by its hash; re-sent as they are after an unknown outcome."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.domain import billing_hash, seller_hash
from syncd.core.ops import SendBillingInformation, SendSellerInformation
from syncd.store.listings import record_sent_hashes
from syncd.usecases.apply.handler import Context, Done, ListingHandler, registered
from syncd.usecases.apply.record import Record

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class SellerHandler(ListingHandler[SendSellerInformation]):
    op_type = SendSellerInformation

    def call(self, op: SendSellerInformation, key: str, hid: str, ctx: Context) -> Done:
        ctx.client.put_seller_information(hid, op.seller)
        return Done(_hashes(key, seller=seller_hash(op.seller)), hid)


@registered
class BillingHandler(ListingHandler[SendBillingInformation]):
    op_type = SendBillingInformation

    def call(self, op: SendBillingInformation, key: str, hid: str, ctx: Context) -> Done:
        ctx.client.put_billing_information(hid, op.billing)
        return Done(_hashes(key, billing=billing_hash(op.billing)), hid)


def _hashes(key: str, *, seller: str | None = None, billing: str | None = None) -> Record:
    def record(session: Session, now: datetime) -> None:
        record_sent_hashes(session, key, now, seller_hash=seller, billing_hash=billing)

    return record
