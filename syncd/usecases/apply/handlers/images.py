"""add_image, delete_image and update_image.

An added image repeated after an unseen success is a second copy: an unknown outcome is
settled by looking for its URL among the listing's images. A delete Hemnet answers 404 to
already has what it wanted; an image move Hemnet answers 404 to is forgotten, so the plan
adds the image again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from syncd.core.domain import Image, ImageState, KnownImage
from syncd.core.ops import AddImage, DeleteImage, UpdateImage
from syncd.hemnet.models import RemoteImage
from syncd.store.listings import delete_known_image, known_images, save_known_image
from syncd.usecases.apply.handler import (
    Context,
    Done,
    Gone,
    ListingHandler,
    Reopen,
    Settled,
    registered,
)
from syncd.usecases.apply.record import Record, key_of

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class AddImageHandler(ListingHandler[AddImage]):
    op_type = AddImage
    settles_unknown = True

    def call(self, op: AddImage, key: str, hid: str, ctx: Context) -> Done:
        img = op.image
        remote = ctx.client.add_image(hid, img.url, img.caption, img.order, img.is_floor_plan)
        return Done(_image_added(key, img, remote), hid, {"image_id": remote.image_id})

    def settle(self, key: str | None, payload: dict[str, Any], ctx: Context) -> Settled | Reopen:
        assert key is not None
        hemnet_id = ctx.hemnet_id(key)
        ctx.spend()
        url = payload["image"]["url"]
        images = [img for img in ctx.client.list_images(hemnet_id) if img.url == url]
        if not images:
            return Reopen("image not on Hemnet: safe to add")
        return Settled(_image_added(key, Image(**payload["image"]), images[0]), hemnet_id)


@registered
class DeleteImageHandler(ListingHandler[DeleteImage]):
    op_type = DeleteImage
    gone_is_done = True

    def call(self, op: DeleteImage, key: str, hid: str, ctx: Context) -> Done:
        ctx.client.delete_image(hid, op.image_id)
        return Done(_image_deleted(op), hid)

    def when_gone(self, op: DeleteImage) -> Record:
        return _image_deleted(op)


@registered
class UpdateImageHandler(ListingHandler[UpdateImage]):
    op_type = UpdateImage

    def call(self, op: UpdateImage, key: str, hid: str, ctx: Context) -> Done:
        remote = ctx.client.update_image(hid, op.image_id, op.order, op.caption)
        return Done(_image_updated(key, op, remote), hid)

    def drifted(self, op: UpdateImage, key: str) -> Gone:
        def record(session: Session, now: datetime) -> None:
            delete_known_image(session, key, op.url)

        return Gone(record, f"image {op.url} is no longer on Hemnet; it is added again")


def _image_added(key: str, image: Image, remote: RemoteImage) -> Record:
    def record(session: Session, now: datetime) -> None:
        known = _held(image, remote.image_id, remote.state, remote.state_message)
        save_known_image(session, key, known, now, is_floor_plan=image.is_floor_plan)

    return record


def _image_deleted(op: DeleteImage) -> Record:
    key = key_of(op)

    def record(session: Session, now: datetime) -> None:
        # Only the row of this image: a duplicate with the same URL is not the one we track.
        for row in known_images(session, key):
            if row.url == op.url and row.hemnet_image_id == op.image_id:
                delete_known_image(session, key, op.url)

    return record


def _image_updated(key: str, op: UpdateImage, remote: RemoteImage) -> Record:
    def record(session: Session, now: datetime) -> None:
        for row in known_images(session, key):
            if row.url == op.url:
                moved = Image(
                    url=op.url,
                    caption=op.caption,
                    order=op.order,
                    is_floor_plan=row.is_floor_plan,
                    revision=row.revision,
                )
                known = _held(moved, op.image_id, remote.state, row.state_message)
                save_known_image(session, key, known, now, is_floor_plan=row.is_floor_plan)

    return record


def _held(image: Image, image_id: str, state: ImageState, message: str | None) -> KnownImage:
    """``image`` as Hemnet holds it, under ``image_id``."""
    return KnownImage(
        url=image.url,
        image_id=image_id,
        state=state,
        order=image.order,
        caption=image.caption,
        revision=image.revision,
        state_message=message,
    )
