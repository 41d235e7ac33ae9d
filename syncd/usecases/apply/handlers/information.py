"""send_seller_information and send_billing_information: write-only on Hemnet, so what
was sent is remembered by its hash; re-sent as they are after an unknown outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.domain import billing_hash, seller_hash
from syncd.core.ops import SendBillingInformation, SendSellerInformation
from syncd.store.listings import record_sent_hashes
from syncd.usecases.apply.handler import Context, Done, Handler, registered
from syncd.usecases.apply.record import Record, key_of

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class SellerHandler(Handler[SendSellerInformation]):
    op_type = SendSellerInformation

    def prepare(self, op: SendSellerInformation, ctx: Context) -> Callable[[], Done]:
        key = key_of(op)
        hid = ctx.hemnet_id(key)

        def seller() -> Done:
            ctx.client.put_seller_information(hid, op.seller)
            return Done(_hashes(key, seller=seller_hash(op.seller)), hid)

        return seller


@registered
class BillingHandler(Handler[SendBillingInformation]):
    op_type = SendBillingInformation

    def prepare(self, op: SendBillingInformation, ctx: Context) -> Callable[[], Done]:
        key = key_of(op)
        hid = ctx.hemnet_id(key)

        def billing() -> Done:
            ctx.client.put_billing_information(hid, op.billing)
            return Done(_hashes(key, billing=billing_hash(op.billing)), hid)

        return billing


def _hashes(key: str, *, seller: str | None = None, billing: str | None = None) -> Record:
    def record(session: Session, now: datetime) -> None:
        record_sent_hashes(session, key, now, seller_hash=seller, billing_hash=billing)

    return record
