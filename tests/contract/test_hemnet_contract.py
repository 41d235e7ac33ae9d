"""One contract, two Hemnets: the fake the property tests use and the sandbox over HTTP.

Each script sends the same ops to both and reads both back; the test passes when the
transcripts are equal, and each script also pins what ``/work/shared/hemnet-api.md`` (via
the sandbox) says Hemnet does, so a change that makes both wrong alike fails as well. The
sandbox is the reference: where the fake disagrees, the fake is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from syncd.core.domain import (
    Address,
    Agency,
    BillingInformation,
    HousingForm,
    Image,
    ImageRight,
    ImageRightTerms,
    ImageState,
    Listing,
    ListingStatus,
    MarketState,
    PhotoAgency,
    Sale,
    SellerInformation,
    Tenure,
)
from syncd.core.ops import (
    AddImage,
    CreateListing,
    DeleteImage,
    DeleteImageRight,
    MarkSold,
    Operation,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
)
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from tests.contract.sides import NO_SUCH_IMAGE, OK, FakeSide, SandboxSide, Seen, Side

FS, UP, TEASED = MarketState.FOR_SALE, MarketState.UPCOMING, MarketState.TEASED
DONE, FAILED = ImageState.COMPLETED, ImageState.FAILED
BROKEN = "https://unreachable.example.test/front.jpg"  # the sandbox cannot fetch it
SALE = Sale(3_100_000, True, date(2026, 11, 2))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with serve_sandbox() as handle:
        yield handle


@pytest.fixture(scope="module")
def client(sandbox: SandboxHandle) -> Iterator[HemnetClient]:
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as made:
        yield made


@dataclass
class Script:
    """Runs steps on one side, keeping what each answered: the transcript to compare."""

    side: Side
    prefix: str
    transcript: list[tuple[str, object]] = field(default_factory=list)

    def key(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def listing(self, name: str, **fields: object) -> Listing:
        base = Listing(
            listing_key=self.key(name),
            agency_key=self.prefix,
            status=ListingStatus.FOR_SALE,
            address=Address("Storgatan 1", "11122", "Stockholm"),
            housing_form=HousingForm.HOUSE,
            tenure=Tenure.FREEHOLD,
            asking_price=3_000_000,
            living_area=Decimal("120"),
        )
        return dataclasses.replace(base, **fields)  # type: ignore[arg-type]

    def send(self, step: str, op: Operation) -> str:
        outcome = self.side.run(op)
        self.transcript.append((step, outcome))
        return outcome

    def create(self, listing: Listing) -> str:
        return self.send(
            f"create {listing.listing_key}", CreateListing(listing.listing_key, listing=listing)
        )

    def add_image(self, name: str, url: str) -> str:
        return self.send(f"add {url}", AddImage(self.key(name), image=Image(url)))

    def processed(self) -> None:
        self.side.process_images()
        self.transcript.append(("images processed", None))

    def seen(self, name: str) -> Seen:
        seen = self.side.seen(self.key(name))
        self.transcript.append((f"seen {name}", seen))
        return seen

    def published_listing(self, name: str, **fields: object) -> Listing:
        """A listing with one processed image, published (not approved)."""
        listing = self.listing(name, **fields)
        assert self.create(listing) == OK
        assert self.add_image(name, f"https://img.example.test/{self.prefix}/{name}.jpg") == OK
        self.processed()
        assert self.send("publish", PublishListing(listing.listing_key)) == OK
        return listing


def duplicates(s: Script) -> None:
    """Hemnet keeps no uniqueness: a second create or image URL makes a second one."""
    listing = s.listing("A")
    assert s.create(listing) == OK
    assert s.create(listing) == OK
    url = "https://img.example.test/dup.jpg"
    assert s.add_image("A", url) == OK
    assert s.add_image("A", url) == OK
    s.processed()
    seen = s.seen("A")
    assert seen.copies == 2
    assert seen.images == ((url, DONE), (url, DONE))


def publishing_needs_a_processed_image(s: Script) -> None:
    assert s.create(s.listing("A")) == OK
    assert s.send("publish, no image", PublishListing(s.key("A"))) == "ChecksError"
    assert s.add_image("A", BROKEN) == OK
    s.processed()
    assert s.send("publish, image failed", PublishListing(s.key("A"))) == "ChecksError"
    assert s.seen("A").images == ((BROKEN, FAILED),)
    assert s.add_image("A", "https://img.example.test/ok.jpg") == OK
    assert s.send("publish, in progress", PublishListing(s.key("A"))) == "ChecksError"
    s.processed()
    assert s.send("publish", PublishListing(s.key("A"))) == OK
    assert s.seen("A").published


def publishing_checks_the_listing(s: Script) -> None:
    flat = s.listing("F", housing_form=HousingForm.APARTMENT, tenure=Tenure.CONDOMINIUM)
    unpriced = s.listing("U", asking_price=None)
    for name, listing in (("F", flat), ("U", unpriced)):
        assert s.create(listing) == OK
        assert s.add_image(name, f"https://img.example.test/{name}.jpg") == OK
    s.processed()
    assert s.send("publish, no apartment number", PublishListing(flat.listing_key)) == "ChecksError"
    assert s.send("publish, no price", PublishListing(unpriced.listing_key)) == "ChecksError"
    # UPCOMING needs no asking price.
    assert s.send("upcoming", SetMarketState(unpriced.listing_key, market_state=UP)) == OK
    assert s.send("publish upcoming", PublishListing(unpriced.listing_key)) == OK


def a_published_listing_is_checked_on_update(s: Script) -> None:
    listing = s.published_listing("A")
    no_price = dataclasses.replace(listing, asking_price=None)
    drop_price = UpdateListing(listing.listing_key, listing=no_price, changed=("asking_price",))
    assert s.send("take the price away", drop_price) == "ChecksError"
    assert s.send("upcoming", SetMarketState(listing.listing_key, market_state=UP)) == OK
    assert s.send("take the price away, upcoming", drop_price) == OK
    assert s.seen("A").market_state is UP


def market_states(s: Script) -> None:
    listing = s.listing("A")
    assert s.create(listing) == OK
    assert s.seen("A").allowed_market_states == {FS, UP, TEASED}
    assert s.send("teased", SetMarketState(listing.listing_key, market_state=TEASED)) == OK
    assert s.add_image("A", "https://img.example.test/t.jpg") == OK
    s.processed()
    assert s.send("publish", PublishListing(listing.listing_key)) == OK
    s.side.approve(listing.listing_key)
    seen = s.seen("A")
    assert (seen.published, seen.approved, seen.market_state) == (True, True, TEASED)
    assert TEASED in seen.allowed_market_states  # while it is TEASED
    assert s.send("for sale", SetMarketState(listing.listing_key, market_state=FS)) == OK
    # Visible as FOR_SALE: TEASED is gone for good.
    assert s.seen("A").allowed_market_states == {FS, UP}
    assert s.send("teased again", SetMarketState(listing.listing_key, market_state=TEASED)) == (
        "TransitionError"
    )
    new = s.listing("N", new_construction=True)
    assert s.create(new) == OK
    assert s.seen("N").allowed_market_states == {FS, UP}
    assert s.send(
        "new construction teased", SetMarketState(new.listing_key, market_state=TEASED)
    ) == ("TransitionError")


def auto_approval(s: Script) -> None:
    listing = s.listing("A")
    key = listing.listing_key
    assert s.create(listing) == OK
    assert s.send("teased", SetMarketState(key, market_state=TEASED)) == OK
    assert s.add_image("A", "https://img.example.test/a.jpg") == OK
    s.processed()
    auto = PublishListing(key, auto_approve=True)
    assert s.send("publish and approve, no seller", auto) == "AutoApproveError"
    assert not s.seen("A").published  # atomic: nothing published
    assert s.send("seller", SendSellerInformation(key, seller=SellerInformation("Anna"))) == OK
    assert s.send("billing", SendBillingInformation(key, billing=BillingInformation("Anna"))) == OK
    assert s.send("publish and approve", auto) == OK
    seen = s.seen("A")
    assert seen.published and seen.approved


def sold(s: Script) -> None:
    listing = s.published_listing("A")
    key = listing.listing_key
    s.side.approve(key)  # visible once: TEASED is not allowed after the republish
    assert s.send("mark sold", MarkSold(key, sale=SALE)) == OK
    seen = s.seen("A")
    assert (seen.sold_price, seen.published, seen.allowed_market_states) == (
        SALE.price,
        False,
        frozenset(),
    )
    assert s.send("mark sold again", MarkSold(key, sale=SALE)) == "ConflictError"
    cheaper = dataclasses.replace(listing, asking_price=2_000_000)
    update = UpdateListing(key, listing=cheaper, changed=("asking_price",))
    assert s.send("update sold", update) == "ConflictError"
    assert s.send("market state sold", SetMarketState(key, market_state=UP)) == "TransitionError"
    # Pictures, the seller and the image right still reach a sold listing.
    assert s.add_image("A", "https://img.example.test/after.jpg") == OK
    assert s.send("seller sold", SendSellerInformation(key, seller=SellerInformation("Bo"))) == OK
    right = ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE)
    assert s.send("image right sold", SetImageRight(key, image_right=right)) == OK
    s.processed()
    # Republished within six months: the sale is deleted.
    assert s.send("republish", PublishListing(key)) == OK
    seen = s.seen("A")
    assert (seen.sold_price, seen.published, seen.approved) == (None, True, True)
    assert seen.allowed_market_states == {FS, UP}


def unpublishing(s: Script) -> None:
    listing = s.published_listing("A")
    assert s.send("unpublish", UnpublishListing(listing.listing_key, reason="test")) == OK
    assert s.send("unpublish again", UnpublishListing(listing.listing_key, reason="test")) == OK
    assert not s.seen("A").published
    assert s.send("publish again", PublishListing(listing.listing_key)) == OK
    assert s.seen("A").published


def images_by_id(s: Script) -> None:
    listing = s.listing("A")
    key = listing.listing_key
    url = "https://img.example.test/one.jpg"
    assert s.create(listing) == OK
    assert s.add_image("A", url) == OK
    s.processed()
    (image_id,) = s.side.image_ids(key, url)
    move = UpdateImage(key, image_id=image_id, url=url, order=3, caption="Kök")
    assert s.send("move", move) == OK
    gone = UpdateImage(key, image_id=NO_SUCH_IMAGE, url=url, order=1, caption=None)
    assert s.send("move a missing image", gone) == "NotFoundError"
    assert s.send("delete", DeleteImage(key, image_id=image_id, url=url)) == OK
    assert s.send("delete again", DeleteImage(key, image_id=image_id, url=url)) == "NotFoundError"
    assert s.seen("A").images == ()


def approval_before_publishing(s: Script) -> None:
    """The broker may approve first (DOC): publishing then makes it visible at once."""
    listing = s.listing("A")
    assert s.create(listing) == OK
    s.side.approve(listing.listing_key)
    seen = s.seen("A")
    assert (seen.published, seen.approved) == (False, True)
    assert TEASED in seen.allowed_market_states  # approved, never visible
    assert s.add_image("A", "https://img.example.test/a.jpg") == OK
    s.processed()
    assert s.send("publish", PublishListing(listing.listing_key)) == OK
    seen = s.seen("A")
    assert (seen.published, seen.approved) == (True, True)
    assert TEASED not in seen.allowed_market_states  # visible now


def image_rights(s: Script) -> None:
    listing = s.listing("A")
    key = listing.listing_key
    assert s.create(listing) == OK
    assert s.seen("A").image_right is None
    assert s.send("delete none", DeleteImageRight(key, reason="test")) == "NotFoundError"
    first = ImageRight(ImageRightTerms.NO_LICENSE, PhotoAgency.FREELANCE, "Foto Fia", "Fia Ek")
    assert s.send("put", SetImageRight(key, image_right=first)) == OK
    assert s.seen("A").image_right == first
    # Partial: what a PUT does not give keeps its value.
    terms = ImageRight(ImageRightTerms.INDEFINITE_LICENSE)
    assert s.send("put terms", SetImageRight(key, image_right=terms)) == OK
    assert s.seen("A").image_right == dataclasses.replace(first, terms=terms.terms)
    assert s.send("delete", DeleteImageRight(key, reason="test")) == OK
    assert s.seen("A").image_right is None


SCRIPTS: dict[str, Callable[[Script], None]] = {
    f.__name__: f
    for f in (
        duplicates,
        publishing_needs_a_processed_image,
        publishing_checks_the_listing,
        a_published_listing_is_checked_on_update,
        market_states,
        auto_approval,
        sold,
        unpublishing,
        images_by_id,
        approval_before_publishing,
        image_rights,
    )
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_fake_and_the_sandbox_answer_alike(
    name: str, sandbox: SandboxHandle, client: HemnetClient
) -> None:
    transcripts = []
    for side in (FakeSide(fail_urls={BROKEN}), SandboxSide(sandbox, client)):
        script = Script(side, prefix=name)
        side.new_agency(Agency(name, f"Mäklare {name}"))
        try:
            SCRIPTS[name](script)
        except AssertionError as exc:
            raise AssertionError(f"the {side.name}: {exc}\n{script.transcript}") from exc
        transcripts.append(script.transcript)
    fake, real = transcripts
    assert fake == real
