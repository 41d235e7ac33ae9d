"""A real sandbox, a real state database and a movable clock, for poll and reconcile tests.

``put_on_hemnet`` does what apply would: creates the listing (and its images) through the
real client and, unless told otherwise, records the outcome in the store.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from syncd.config import Config
from syncd.core.domain import (
    Address,
    Agency,
    HousingForm,
    Image,
    ImageState,
    KnownAgency,
    KnownImage,
    Listing,
    ListingStatus,
    Tenure,
    normalise,
)
from syncd.core.ops import Plan
from syncd.core.plan import PlanPolicy, plan
from syncd.hemnet import HemnetClient
from syncd.hemnet.payload import listing_body
from syncd.sandbox.testing import SandboxHandle
from syncd.store import listings
from syncd.store.engine import Store
from tests.fakes.store_state import load_desired, load_known, save_desired

AGENCY = Agency("ag1", "Mäklarhuset Test AB", "556000-0001")
IMAGE = "https://images.example.test/{key}/{n}.jpg"


@dataclass
class MovableClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def a_listing(key: str, images: int = 1, *, urls: tuple[str, ...] = (), **extra: Any) -> Listing:
    pictures = [IMAGE.format(key=key, n=n) for n in range(images)] + list(urls)
    fields: dict[str, Any] = {
        "listing_key": key,
        "agency_key": AGENCY.key,
        "status": ListingStatus.FOR_SALE,
        "address": Address("Storgatan 1", "11122", "Stockholm", "Stockholm", "1102"),
        "housing_form": HousingForm.APARTMENT,
        "tenure": Tenure.CONDOMINIUM,
        "asking_price": 3_000_000,
        "living_area": Decimal("72.5"),
        "rooms": Decimal("3"),
        "title": "Ljus trea",
        "description": "Nära vatten.",
        "images": tuple(Image(url, f"Bild {n}", n) for n, url in enumerate(pictures)),
    }
    fields.update(extra)
    return normalise(Listing(**fields))


@dataclass
class World:
    sandbox: SandboxHandle
    store: Store
    client: HemnetClient
    config: Config
    clock: MovableClock
    agency_hemnet_id: str | None = None
    created: dict[str, str] = field(default_factory=dict)  # listing_key -> hemnet_id

    def agency_id(self) -> str:
        if self.agency_hemnet_id is None:
            remote = self.client.create_agency(AGENCY.name, AGENCY.organisation_number)
            self.agency_hemnet_id = remote.hemnet_id
            with self.store.transaction() as session:
                listings.save_agency(session, AGENCY, self.clock())
                listings.set_agency_hemnet_id(session, AGENCY.key, remote.hemnet_id, self.clock())
        return self.agency_hemnet_id

    def want(self, listing: Listing) -> None:
        """The CRM wants ``listing`` (what ingest records)."""
        with self.store.transaction() as session:
            listings.save_agency(session, AGENCY, self.clock())
            save_desired(session, listing, self.clock())

    def put_on_hemnet(self, listing: Listing, *, record: bool = True) -> str:
        """Create the listing and its images on the sandbox; ``record``: as apply would."""
        remote = self.client.create_listing(listing_body(listing, self.agency_id()))
        added = [
            self.client.add_image(remote.hemnet_id, img.url, img.caption, img.order)
            for img in listing.images
        ]
        self.created[listing.listing_key] = remote.hemnet_id
        if record:
            self.want(listing)
            now = self.clock()
            with self.store.transaction() as session:
                listings.record_sent(
                    session, listing.listing_key, now, hemnet_id=remote.hemnet_id, sent=listing
                )
                for img, got in zip(listing.images, added, strict=True):
                    known = KnownImage(img.url, got.image_id, got.state, img.order, img.caption)
                    listings.save_known_image(
                        session, listing.listing_key, known, now, is_floor_plan=False
                    )
        return remote.hemnet_id

    def wait_for_images(self, hemnet_id: str, timeout_s: float = 5.0) -> None:
        """Real time passes until the sandbox has processed every image of the listing."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            states = {img.state for img in self.client.list_images(hemnet_id)}
            if ImageState.IN_PROGRESS not in states:
                return
            time.sleep(0.05)
        raise AssertionError(f"images of {hemnet_id} still processing after {timeout_s}s")

    def plan(self, **policy: Any) -> Plan:
        """The plan the next apply would run, from what the store now holds."""
        with self.store.read() as session:
            desired = load_desired(session)
            known = load_known(session)
            agencies = {
                row.key: KnownAgency(row.key, row.hemnet_id)
                for row in listings.all_agencies(session)
                if row.hemnet_id
            }
        return plan(desired, known, agencies, PlanPolicy(**policy), self.clock())

    def row(self, key: str) -> Any:
        with self.store.read() as session:
            return listings.get_listing(session, key)

    def images(self, key: str) -> list[Any]:
        with self.store.read() as session:
            return listings.known_images(session, key)


def with_sync(config: Config, **changes: Any) -> Config:
    return dataclasses.replace(config, sync=dataclasses.replace(config.sync, **changes))
