"""set_market_state, publish and unpublish: what the listing read back shows settles an
unknown outcome."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from syncd.core.ops import Consequence, PublishListing, SetMarketState, UnpublishListing
from syncd.hemnet.models import RemoteListing
from syncd.store.listings import record_sale_deleted
from syncd.usecases.apply.handler import Context, Done, ReadBackListing, registered
from syncd.usecases.apply.record import Record, remote_state

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class SetMarketStateHandler(ReadBackListing[SetMarketState]):
    op_type = SetMarketState

    def call(self, op: SetMarketState, key: str, hid: str, ctx: Context) -> Done:
        return Done(remote_state(key, ctx.client.update_market_state(hid, op.market_state)), hid)

    def shown(self, key: str, payload: dict[str, Any], remote: RemoteListing) -> Record | None:
        state = remote.market_state
        if state is None or state.value != payload.get("market_state"):
            return None
        return remote_state(key, remote)


@registered
class PublishHandler(ReadBackListing[PublishListing]):
    op_type = PublishListing

    def call(self, op: PublishListing, key: str, hid: str, ctx: Context) -> Done:
        auto = True if op.auto_approve else None  # the planner decided where it may
        deletes_sale = Consequence.DELETES_SALE in op.consequences
        remote = ctx.client.publish(hid, auto)
        return Done(_published(key, remote, deletes_sale=deletes_sale), hid)

    def shown(self, key: str, payload: dict[str, Any], remote: RemoteListing) -> Record | None:
        return remote_state(key, remote) if remote.is_published else None


@registered
class UnpublishHandler(ReadBackListing[UnpublishListing]):
    op_type = UnpublishListing

    def call(self, op: UnpublishListing, key: str, hid: str, ctx: Context) -> Done:
        return Done(remote_state(key, ctx.client.unpublish(hid)), hid)

    def shown(self, key: str, payload: dict[str, Any], remote: RemoteListing) -> Record | None:
        return None if remote.is_published else remote_state(key, remote)


def _published(key: str, remote: RemoteListing, *, deletes_sale: bool) -> Record:
    def record(session: Session, now: datetime) -> None:
        remote_state(key, remote)(session, now)
        if deletes_sale:  # a sold listing published again: Hemnet deleted the sale
            record_sale_deleted(session, key, now)

    return record
