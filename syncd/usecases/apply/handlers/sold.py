"""mark_sold: irreversible on Hemnet, so an unknown outcome is settled by reading the
listing back for its sale."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from syncd.core.domain import Sale
from syncd.core.ops import MarkSold
from syncd.hemnet.models import RemoteListing
from syncd.store.listings import record_sold
from syncd.usecases.apply.handler import Context, Done, ReadBackListing, registered
from syncd.usecases.apply.record import Record, remote_state

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class MarkSoldHandler(ReadBackListing[MarkSold]):
    op_type = MarkSold

    def call(self, op: MarkSold, key: str, hid: str, ctx: Context) -> Done:
        sale = op.sale
        remote = ctx.client.mark_sold(hid, sale.price, sale.price_is_public, sale.sold_on)
        return Done(_sold(key, sale), hid, {"sale_id": remote.sale_id})

    def shown(self, key: str, payload: dict[str, Any], remote: RemoteListing) -> Record | None:
        if remote.sale is None:
            return None
        data = payload["sale"]
        sale = Sale(
            int(data["price"]), bool(data["price_is_public"]), date.fromisoformat(data["sold_on"])
        )

        def record(session: Session, now: datetime) -> None:
            remote_state(key, remote)(session, now)
            record_sold(session, key, sale, now)

        return record


def _sold(key: str, sale: Sale) -> Record:
    def record(session: Session, now: datetime) -> None:
        record_sold(session, key, sale, now)

    return record
