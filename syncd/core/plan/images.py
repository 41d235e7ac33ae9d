"""Planning a listing's images: adds, replacements, removals and reorders by source URL.

Pure: no I/O; it compares the CRM's images with the ones known on Hemnet.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncd.core.domain import Image, ImageState, KnownImage, Listing
from syncd.core.ops import AddImage, DeleteImage, Operation, UpdateImage
from syncd.core.plan.outcome import Out
from syncd.core.policy import PlanPolicy


def plan_images(
    want: Listing, have: Sequence[KnownImage], policy: PlanPolicy, out: Out
) -> list[ImageState]:
    """Image ops by source URL; returns the image states Hemnet will hold after them.

    Order: adds first, so a published listing never runs out of pictures; a replaced image
    (new revision, or a failed one under policy retry) is deleted before it is added again,
    because apply settles uncertain adds by URL and two images with one URL would confuse
    it; then removals; then position and caption changes of the images that stay.
    """
    key = want.listing_key
    wanted: dict[str, Image] = {}
    for img in want.images:
        wanted.setdefault(img.url, img)  # a repeated URL: the second is ignored (domain)
    held, extra = _held_images(have)
    adds: list[Operation] = []
    replaces: list[Operation] = []
    updates: list[Operation] = []
    after: list[ImageState] = []
    for url, img in wanted.items():
        kimg = held.get(url)
        if kimg is None:
            adds.append(AddImage(key, image=img))
            after.append(ImageState.IN_PROGRESS)
        elif kimg.revision != img.revision or (
            kimg.state is ImageState.FAILED and policy.failed_image_policy == "retry"
        ):
            replaces.append(DeleteImage(key, image_id=kimg.image_id, url=url))
            replaces.append(AddImage(key, image=img))
            after.append(ImageState.IN_PROGRESS)
        else:
            if kimg.order != img.order or kimg.caption != img.caption:
                updates.append(
                    UpdateImage(
                        key, image_id=kimg.image_id, url=url, order=img.order, caption=img.caption
                    )
                )
            after.append(kimg.state)
    removals = [
        DeleteImage(key, image_id=k.image_id, url=k.url)
        for k in [*extra, *(k for url, k in held.items() if url not in wanted)]
    ]
    out.ops.extend([*adds, *replaces, *removals, *updates])
    skipped = [
        held[url]
        for url in wanted
        if url in held
        and held[url].state is ImageState.FAILED
        and policy.failed_image_policy == "skip"
        and held[url].revision == wanted[url].revision
    ]
    if skipped:
        out.wait(key, "image(s) failed on Hemnet and are skipped: " + _failures(skipped))
    return after


def _held_images(have: Sequence[KnownImage]) -> tuple[dict[str, KnownImage], list[KnownImage]]:
    """The known images by URL, and the duplicates on Hemnet beside them."""
    held: dict[str, KnownImage] = {}
    extra: list[KnownImage] = []
    for known_img in sorted(have, key=lambda k: (k.order, k.image_id)):
        if known_img.url in held:
            extra.append(known_img)  # a duplicate on Hemnet: keep the first, drop the rest
        else:
            held[known_img.url] = known_img
    return held, extra


def _failures(images: Sequence[KnownImage]) -> str:
    return "; ".join(f"{k.url} ({k.state_message})" if k.state_message else k.url for k in images)
