"""Finding copies of an image on Hemnet and images syncd never recorded (pure part)."""

from __future__ import annotations

from syncd.core.domain import Address, Image, ImageState, KnownImage, Listing, ListingStatus
from syncd.hemnet.models import RemoteImage
from syncd.usecases.image_audit import describe, find_extra

A, B, C = (f"https://crm.example/{n}.jpg" for n in "abc")
DONE = ImageState.COMPLETED


def wanting(*urls: str) -> Listing:
    return Listing(
        listing_key="K1",
        agency_key="AG1",
        status=ListingStatus.FOR_SALE,
        address=Address(street="Storgatan 2"),
        images=tuple(Image(url=u, order=i) for i, u in enumerate(urls)),
    )


def remote(image_id: str, url: str, position: int) -> RemoteImage:
    return RemoteImage(image_id=image_id, url=url, state=DONE, position=position)


def known(image_id: str, url: str) -> KnownImage:
    return KnownImage(url=url, image_id=image_id, state=DONE)


def test_just_what_syncd_follows_is_nothing_to_report() -> None:
    have = [remote("1", A, 0), remote("2", B, 1)]
    assert find_extra("K1", "h1", wanting(A, B), [known("1", A), known("2", B)], have) is None


def test_the_followed_copy_is_kept_wherever_hemnet_lists_it() -> None:
    have = [remote("7", A, 0), remote("1", A, 1), remote("8", A, 2), remote("2", B, 3)]
    found = find_extra("K1", "h1", wanting(A, B), [known("1", A), known("2", B)], have)
    assert found is not None
    assert found.copies == ("7", "8")
    assert found.untracked == ()
    assert (found.on_hemnet, found.wanted) == (4, 2)
    assert "Hemnet holds 4 image(s), the CRM wants 2" in describe(found)
    assert "2 second copies of a source URL (would be deleted)" in describe(found)


def test_without_a_followed_copy_the_first_listed_is_kept_and_recorded() -> None:
    have = [remote("5", A, 0), remote("6", A, 1), remote("9", C, 2)]
    found = find_extra("K1", "h1", wanting(A), [], have)
    assert found is not None
    assert found.copies == ("6",)
    assert found.untracked == (A, C)  # recorded, so the plan deletes C (not wanted)
    assert "2 image(s) syncd never recorded" in describe(found)


def test_a_listing_that_left_the_crm_counts_what_hemnet_should_hold() -> None:
    have = [remote("1", A, 0), remote("3", A, 1)]
    found = find_extra("K1", "h1", None, [known("1", A)], have)
    assert found is not None
    assert (found.copies, found.wanted) == (("3",), 1)
