"""set_image_right and delete_image_right: a PUT and a DELETE, re-sent as they are after
an unknown outcome. A delete Hemnet answers 404 to already has what it wanted."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.ops import DeleteImageRight, SetImageRight
from syncd.hemnet.payload import image_right_of
from syncd.store.listings import record_image_right
from syncd.usecases.apply.handler import Context, Done, ListingHandler, registered
from syncd.usecases.apply.record import Record, key_of

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class SetImageRightHandler(ListingHandler[SetImageRight]):
    op_type = SetImageRight

    def call(self, op: SetImageRight, key: str, hid: str, ctx: Context) -> Done:
        ctx.client.put_image_right(hid, image_right_of(op.image_right))
        return Done(_image_right(key, op), hid)


@registered
class DeleteImageRightHandler(ListingHandler[DeleteImageRight]):
    op_type = DeleteImageRight
    gone_is_done = True

    def call(self, op: DeleteImageRight, key: str, hid: str, ctx: Context) -> Done:
        ctx.client.delete_image_right(hid)
        return Done(_image_right(key, op), hid)

    def when_gone(self, op: DeleteImageRight) -> Record:
        return _image_right(key_of(op), op)


def _image_right(key: str, op: SetImageRight | DeleteImageRight) -> Record:
    # What was sent, not Hemnet's answer: Hemnet may override the terms (DOC), and the
    # planner compares the CRM's right with what syncd last asked for.
    right = op.image_right if isinstance(op, SetImageRight) else None

    def record(session: Session, now: datetime) -> None:
        record_image_right(session, key, right, now)

    return record
