"""set_image_right and delete_image_right: a PUT and a DELETE, re-sent as they are after
an unknown outcome. A delete Hemnet answers 404 to already has what it wanted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.ops import DeleteImageRight, SetImageRight
from syncd.hemnet.payload import image_right_of
from syncd.store.listings import record_image_right
from syncd.usecases.apply.handler import Context, Done, Handler, registered
from syncd.usecases.apply.record import Record, key_of

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class SetImageRightHandler(Handler[SetImageRight]):
    op_type = SetImageRight

    def prepare(self, op: SetImageRight, ctx: Context) -> Callable[[], Done]:
        key = key_of(op)
        hid = ctx.hemnet_id(key)

        def set_right() -> Done:
            ctx.client.put_image_right(hid, image_right_of(op.image_right))
            return Done(_image_right(key, op), hid)

        return set_right


@registered
class DeleteImageRightHandler(Handler[DeleteImageRight]):
    op_type = DeleteImageRight
    gone_is_done = True

    def prepare(self, op: DeleteImageRight, ctx: Context) -> Callable[[], Done]:
        key = key_of(op)
        hid = ctx.hemnet_id(key)

        def delete_right() -> Done:
            ctx.client.delete_image_right(hid)
            return Done(_image_right(key, op), hid)

        return delete_right

    def when_gone(self, op: DeleteImageRight) -> Record:
        return _image_right(key_of(op), op)


def _image_right(key: str, op: SetImageRight | DeleteImageRight) -> Record:
    # What was sent, not Hemnet's answer: Hemnet may override the terms (DOC), and the
    # planner compares the CRM's right with what syncd last asked for.
    right = op.image_right if isinstance(op, SetImageRight) else None

    def record(session: Session, now: datetime) -> None:
        record_image_right(session, key, right, now)

    return record
