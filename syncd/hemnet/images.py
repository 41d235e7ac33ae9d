"""The Hemnet client's image endpoints: a listing's images.

One method per endpoint over ``HttpCalls``; no paging or sending of its own, no decisions.
"""

from __future__ import annotations

from syncd.hemnet import payload, wire
from syncd.hemnet.http import HttpCalls
from syncd.hemnet.models import (
    RemoteImage,
)


class ImageEndpoints(HttpCalls):
    """A listing's images."""

    # --- images ----------------------------------------------------------------------------

    def add_image(
        self,
        listing_id: str,
        url: str,
        caption: str | None = None,
        position: int = 0,
        is_floor_plan: bool = False,
    ) -> RemoteImage:
        """Ask Hemnet to fetch ``url``. Not idempotent: settle unknown outcomes by listing
        the images and matching the URL before sending again."""
        body = payload.image_body(url, caption, position, is_floor_plan)
        return self._one(
            "POST",
            wire.IMAGES,
            {"listing_id": listing_id},
            wire.IMAGE_ONE,
            payload.image_from,
            body=body,
        )

    def list_images(self, listing_id: str, limit: int = wire.MAX_PAGE_SIZE) -> list[RemoteImage]:
        """Every image of the listing, all pages (Hemnet's default page holds only 20)."""
        # Strict: an image left out would look deleted, and be added a second time.
        images, _ = self._list(
            wire.IMAGES,
            {"listing_id": listing_id},
            wire.IMAGE_MANY,
            payload.image_from,
            skip_unreadable=False,
            limit=limit,
        )
        return images

    def get_image(self, listing_id: str, image_id: str) -> RemoteImage:
        """One image, with ``state_message`` when it failed (only here, not in the list)."""
        args = {"listing_id": listing_id, "image_id": image_id}
        return self._one("GET", wire.IMAGE, args, wire.IMAGE_ONE, payload.image_from)

    def update_image(
        self, listing_id: str, image_id: str, position: int, caption: str | None
    ) -> RemoteImage:
        args = {"listing_id": listing_id, "image_id": image_id}
        body = payload.image_update_body(position, caption)
        return self._one("PATCH", wire.IMAGE, args, wire.IMAGE_ONE, payload.image_from, body=body)

    def delete_image(self, listing_id: str, image_id: str) -> None:
        self._request("DELETE", wire.IMAGE, {"listing_id": listing_id, "image_id": image_id})
