"""Lifecycle stages, publish blockers, poll timing and operator hints."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from syncd.core.domain import (
    Address,
    HousingForm,
    Image,
    ImageState,
    KnownImage,
    KnownListing,
    Listing,
    ListingStatus,
    Sale,
    Tenure,
)
from syncd.core.stages import (
    FAST_APPROVAL_WINDOW,
    Stage,
    awaiting_approval_for,
    conflicts,
    next_action,
    next_poll_time,
    publish_blockers,
    stage_of,
)

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
SALE = Sale(price=2_000_000, price_is_public=False, sold_on=date(2026, 5, 1))


def listing(**kw: object) -> Listing:
    base = Listing(
        listing_key="A1",
        agency_key="AG1",
        status=ListingStatus.FOR_SALE,
        address=Address(street="Storgatan 2"),
        asking_price=1_500_000,
        images=(Image(url="https://crm.example/1.jpg"),),
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def image(state: ImageState) -> KnownImage:
    return KnownImage(url=f"https://crm.example/{state}.jpg", image_id=str(state), state=state)


def known(*states: ImageState, **kw: object) -> KnownListing:
    base = KnownListing(
        listing_key="A1",
        hemnet_id="h1",
        sent=listing(),
        images=tuple(image(s) for s in states),
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


DONE, BUSY, BAD = ImageState.COMPLETED, ImageState.IN_PROGRESS, ImageState.FAILED

STAGES = {
    "desired, nothing planned: new": (listing(), None, {}, Stage.NEW),
    "desired, create pending: creating": (listing(), None, {"pending_ops": 3}, Stage.CREATING),
    "sold before reaching Hemnet: sold": (
        listing(status=ListingStatus.SOLD, sale=SALE),
        None,
        {},
        Stage.SOLD,
    ),
    "withdrawn before reaching Hemnet: withdrawn": (
        listing(status=ListingStatus.WITHDRAWN),
        None,
        {},
        Stage.WITHDRAWN,
    ),
    "image in progress: images_processing": (
        listing(),
        known(DONE, BUSY),
        {},
        Stage.IMAGES_PROCESSING,
    ),
    "images added, none back yet: images_processing": (
        listing(),
        known(),
        {"pending_ops": 1},
        Stage.IMAGES_PROCESSING,
    ),
    "image failed: image_failed": (listing(), known(DONE, BAD), {}, Stage.IMAGE_FAILED),
    "asking price missing: waiting_for_data": (
        listing(asking_price=None),
        known(DONE),
        {},
        Stage.WAITING_FOR_DATA,
    ),
    "all processed: ready_to_publish": (listing(), known(DONE), {}, Stage.READY_TO_PUBLISH),
    "published, not approved: awaiting_approval": (
        listing(),
        known(DONE, is_published=True),
        {},
        Stage.AWAITING_APPROVAL,
    ),
    "published and approved: visible": (
        listing(),
        known(DONE, is_published=True, is_approved=True),
        {},
        Stage.VISIBLE,
    ),
    "withdrawn and off Hemnet: withdrawn": (
        listing(status=ListingStatus.WITHDRAWN),
        known(DONE),
        {},
        Stage.WITHDRAWN,
    ),
    "sold in CRM, sale not yet reported: unpublished": (
        listing(status=ListingStatus.SOLD, sale=SALE),
        known(DONE),
        {"pending_ops": 1},
        Stage.UNPUBLISHED,
    ),
    "sale reported: sold": (
        listing(status=ListingStatus.SOLD, sale=SALE),
        known(DONE, sold=SALE),
        {},
        Stage.SOLD,
    ),
    "absent from full export, still published: missing": (
        None,
        known(DONE, is_published=True),
        {},
        Stage.MISSING,
    ),
    "absent and unpublished: unpublished": (None, known(DONE), {}, Stage.UNPUBLISHED),
    # Not "new" (which says syncd creates it on the next run): it left the CRM first.
    "absent before it was ever sent: unpublished": (None, None, {}, Stage.UNPUBLISHED),
    "rejected by Hemnet: failed": (listing(), known(DONE), {"failed": True}, Stage.FAILED),
}


@pytest.mark.parametrize(("want", "have", "flags", "stage"), STAGES.values(), ids=STAGES.keys())
def test_stage_of(
    want: Listing | None, have: KnownListing | None, flags: dict[str, object], stage: Stage
) -> None:
    args: dict[str, object] = {"failed": False, "pending_ops": 0, **flags}
    assert stage_of(want, have, **args) is stage  # type: ignore[arg-type]


BLOCKERS = {
    "complete for_sale house: none": (listing(), []),
    "condominium apartment without number": (
        listing(housing_form=HousingForm.APARTMENT, tenure=Tenure.CONDOMINIUM),
        ["apartment number"],
    ),
    "condominium apartment with number: none": (
        listing(
            housing_form=HousingForm.APARTMENT,
            tenure=Tenure.CONDOMINIUM,
            address=Address(street="Storgatan 2", apartment_number="1102"),
        ),
        [],
    ),
    "rental apartment needs no number": (
        listing(housing_form=HousingForm.APARTMENT, tenure=Tenure.RENTAL),
        [],
    ),
    "no street": (listing(address=Address(street="")), ["street address"]),
    "for_sale without price": (listing(asking_price=None), ["asking price"]),
    "upcoming without price: none": (
        listing(status=ListingStatus.UPCOMING, asking_price=None),
        [],
    ),
    "no images": (listing(images=()), ["no images"]),
    "several at once, all named": (
        listing(address=Address(street=""), asking_price=None, images=()),
        ["street address", "asking price", "no images"],
    ),
}


@pytest.mark.parametrize(("want", "expected"), BLOCKERS.values(), ids=BLOCKERS.keys())
def test_publish_blockers(want: Listing, expected: list[str]) -> None:
    found = publish_blockers(want)
    assert len(found) == len(expected), found
    for text, part in zip(found, expected, strict=True):
        assert part in text


def test_poll_intervals() -> None:
    fast, slow = NOW + timedelta(seconds=10), NOW + timedelta(seconds=600)
    just = NOW - timedelta(minutes=1)
    long_ago = NOW - FAST_APPROVAL_WINDOW - timedelta(seconds=1)

    def when(processing: bool, awaiting: bool, since: datetime, sold: bool = False) -> object:
        return next_poll_time(
            images_in_progress=processing,
            awaiting_approval=awaiting,
            published_at=since,
            sold=sold,
            now=NOW,
            fast_s=10,
            slow_s=600,
        )

    assert when(True, False, long_ago) == fast
    assert when(False, True, just) == fast
    assert when(False, True, long_ago) == slow
    assert when(False, False, long_ago) is None
    assert when(True, True, just, sold=True) is None


def test_awaiting_approval_for_counts_from_publishing_and_never_goes_negative() -> None:
    assert awaiting_approval_for(NOW - timedelta(hours=26), NOW) == timedelta(hours=26)
    assert awaiting_approval_for(NOW + timedelta(seconds=5), NOW) == timedelta(0)


def test_every_stage_has_a_one_line_hint() -> None:
    for stage in Stage:
        hint = next_action(stage)
        assert hint
        assert "\n" not in hint
    assert "approval URL" in next_action(Stage.AWAITING_APPROVAL)
    assert next_action(Stage.WAITING_FOR_DATA).startswith("fix the CRM data")


def test_stage_words_are_the_operator_words() -> None:
    assert [s.value for s in Stage] == [
        "new",
        "creating",
        "images_processing",
        "image_failed",
        "waiting_for_data",
        "ready_to_publish",
        "awaiting_approval",
        "visible",
        "unpublished",
        "withdrawn",
        "sold",
        "missing",
        "failed",
        "conflict",
    ]


# --- conflicts: what no op can settle --------------------------------------------------------

SOLD_LISTING = listing(status=ListingStatus.SOLD, sale=SALE)
CONFLICTS = {
    "sold, CRM agrees: none": (SOLD_LISTING, known(sold=SALE), []),
    # Back on sale in the CRM: the planner publishes it again (deleting the sale) or says
    # why it cannot; not a conflict.
    "sold, CRM for sale again: republished": (listing(), known(sold=SALE), []),
    "sold, CRM withdrew it": (
        dataclasses.replace(SOLD_LISTING, status=ListingStatus.WITHDRAWN, sale=None),
        known(sold=SALE),
        ["CRM now says withdrawn"],
    ),
    "sold, published again on Hemnet, CRM for sale: none": (
        listing(),
        known(sold=SALE, is_published=True, is_approved=True),
        [],
    ),
    "sold, CRM sale differs": (
        dataclasses.replace(SOLD_LISTING, sale=dataclasses.replace(SALE, price=1)),
        known(sold=SALE),
        ["differs from the one reported"],
    ),
    "sold, published again on Hemnet": (
        SOLD_LISTING,
        known(sold=SALE, is_published=True, is_approved=True),
        ["sale reported to Hemnet is gone"],
    ),
    "sold, republished, CRM left": (
        None,
        known(sold=SALE, is_published=True),
        ["sale reported to Hemnet is gone"],
    ),
    "moved to another agency": (
        listing(agency_key="AG2"),
        known(DONE),
        ["moved to agency AG2 in the CRM, but Hemnet keeps it under AG1"],
    ),
    "adopted without a body: agency unknown, none": (
        listing(agency_key="AG2"),
        known(sent=None),
        [],
    ),
    "not on Hemnet: none": (listing(), None, []),
}


@pytest.mark.parametrize(("want", "have", "expected"), CONFLICTS.values(), ids=CONFLICTS.keys())
def test_conflicts_name_what_no_op_can_settle(
    want: Listing | None, have: KnownListing | None, expected: list[str]
) -> None:
    found = conflicts(want, have)
    assert len(found) == len(expected)
    for text, part in zip(found, expected, strict=True):
        assert part in text
    stage = stage_of(want, have, failed=False, pending_ops=0)
    assert (stage is Stage.CONFLICT) == bool(expected)
    if expected:
        assert "resolve by hand" in next_action(stage)
